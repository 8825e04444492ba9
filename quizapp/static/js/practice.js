// 专项练习 and 错题复习: an endless series of questions with the same feedback as 日日学, and a 答题卡
// of this sitting's questions (answered right / wrong, 标记, the one on screen) to go back to any.
import { api } from "./api.js";
import { clear, h } from "./dom.js";
import { practiceSession } from "./practice_session.js";
import { renderFeedback, renderQuestion } from "./quiz.js";
import { selfMarkForm } from "./written.js";

const root = document.getElementById("practice");
const mode = root.dataset.mode; // "practice" | "review"
const filters = JSON.parse(root.dataset.filters || "{}");
const counter = document.getElementById("practice-count");
const session = practiceSession({ root, key: `${mode}:${JSON.stringify(filters)}`, show, next, counter });

// One question of the sitting: the question to answer, its self-marking (a written question whose
// text is sent), or its feedback once answered.
function show(item, result) {
  const onward = session.onward(item);
  if (result) {
    const button = h("button", { class: "btn btn-primary btn-block", type: "button" }, onward.label);
    button.addEventListener("click", onward.go);
    renderFeedback(root, item.question, result.feedback,
      { pointsAwarded: result.points_awarded, actions: [button], covered: result.covered ?? null });
    session.decorate(item);
    button.focus();
    return;
  }
  if (item.self_mark) {
    selfMark(item);
    return;
  }
  renderQuestion(root, item.question, {
    meta: [session.flag(item)],
    onSubmit: async (answer, onRetry) => {
      const answered = await api("POST", `/api/v1/items/${item.item_id}/answer`, { answer }, { onRetry });
      if (answered.self_mark) { // 简答, 情景应答: the text is kept; now the keypoints to tick
        session.pending(item, answered.self_mark);
        selfMark(item);
        return;
      }
      session.answered(item, { feedback: answered.feedback, points_awarded: answered.points_awarded });
      show(item, answered);
    },
  });
}

// 自评: tick the keypoints the written answer covered; the score, the model answer and the
// explanation come back.
function selfMark(item) {
  clear(root).append(selfMarkForm(item.question, item.self_mark, async (covered) => {
    const marked = await api("POST", `/api/v1/items/${item.item_id}/answer`, { covered });
    const result = { feedback: marked.feedback, points_awarded: marked.points_awarded, covered: marked.covered ?? covered };
    session.answered(item, result);
    show(item, result);
  }));
  window.scrollTo({ top: 0 });
}

async function next() {
  clear(root).append(h("p", { class: "muted" }, "正在出题…"));
  let item;
  try {
    const result = mode === "review"
      ? await api("POST", "/api/v1/mistakes/review", {})
      : await api("POST", "/api/v1/practice/items", filters);
    item = result.item;
  } catch (error) {
    clear(root).append(h("div", { class: "empty" }, h("p", { class: "empty-title" }, error.message)));
    return;
  }
  if (!item) {
    clear(root).append(h("div", { class: "empty" },
      h("p", { class: "empty-title" }, "今天没有需要复习的错题了"),
      h("p", { class: "muted" }, "错题会按间隔安排复习，到期后会出现在这里和日日学中。"),
      h("a", { class: "btn", href: "/mistakes" }, "返回错题本")));
    return;
  }
  session.served(item);
  show(item);
}

if (!session.resume()) next();
