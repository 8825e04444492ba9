// 专项练习 and 错题复习: an endless series of questions with the same feedback as 日日学.
import { api } from "./api.js";
import { clear, h } from "./dom.js";
import { renderFeedback, renderQuestion } from "./quiz.js";

const root = document.getElementById("practice");
const mode = root.dataset.mode; // "practice" | "review"
const filters = JSON.parse(root.dataset.filters || "{}");
const counter = document.getElementById("practice-count");
let answered = 0;
let right = 0;

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
  renderQuestion(root, item.question, {
    onSubmit: async (answer, onRetry) => {
      const result = await api("POST", `/api/v1/items/${item.item_id}/answer`, { answer }, { onRetry });
      answered += 1;
      right += result.feedback.correct ? 1 : 0;
      counter.textContent = `本次已答 ${answered} 题，答对 ${right} 题`;
      const button = h("button", { class: "btn btn-primary btn-block", type: "button" }, "下一题");
      button.addEventListener("click", next);
      renderFeedback(root, item.question, result.feedback, { pointsAwarded: result.points_awarded, actions: [button] });
      button.focus();
    },
  });
}

next();
