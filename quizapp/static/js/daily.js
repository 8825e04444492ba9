// 日日学: one question at a time, feedback after each, a finishing screen.
import { api } from "./api.js";
import { clear, h } from "./dom.js";
import { renderFeedback, renderQuestion } from "./quiz.js";

const root = document.getElementById("daily");
const progress = document.getElementById("daily-progress");
let state;

function showProgress() {
  const done = state.items.filter((item) => item.answered).length;
  progress.textContent = `${done}/${state.size}`;
  document.getElementById("daily-bar").value = done;
  document.getElementById("daily-bar").max = state.size;
}

function nextUnanswered() {
  return state.items.find((item) => !item.answered);
}

function showItem(item) {
  renderQuestion(root, item.question, {
    meta: [h("span", { class: "muted small" }, `第 ${item.position} 题`),
      item.reason === "mistake" ? h("span", { class: "tag tag-warn" }, "错题复习") : null],
    onSubmit: async (answer, onRetry) => {
      const result = await api("POST", "/api/v1/daily/answers", { question_id: item.question.id, answer }, { onRetry });
      item.answered = true;
      item.feedback = result.feedback;
      Object.assign(state, { finished: result.set.finished, star: result.set.star, held: result.set.held,
        points_today: result.set.points_today, streak: result.set.streak });
      showProgress();
      const next = nextUnanswered();
      const button = h("button", { class: "btn btn-primary btn-block", type: "button" }, next ? "下一题" : "查看今日成绩");
      button.addEventListener("click", () => (next ? showItem(next) : showSummary()));
      renderFeedback(root, item.question, result.feedback, {
        pointsAwarded: result.points_awarded - result.finish_points, // this answer's own, not the finish's
        finishPoints: result.finish_points,
        actions: [button],
      });
      button.focus();
    },
  });
}

function showSummary() {
  clear(root);
  const right = state.items.filter((item) => item.feedback?.correct).length;
  root.append(
    h("div", { class: "summary" },
      h("p", { class: "summary-emoji", "aria-hidden": "true" }, state.star ? "★" : "✓"),
      h("h2", {}, state.star ? "今日全对，获得“日日学之星”！" : "今日学习已完成"),
      state.held
        ? h("p", { class: "notice" }, "今日成绩待核：作答记录需要单位管理员核实，核实前今日的积分、参与和“日日学之星”暂不计入。")
        : null,
      h("div", { class: "stats stats-3" },
        h("div", { class: "stat" }, h("span", { class: "stat-value" }, `${right}/${state.size}`), h("span", { class: "stat-label" }, "答对")),
        h("div", { class: "stat" }, h("span", { class: "stat-value" }, String(state.points_today)), h("span", { class: "stat-label" }, "今日积分")),
        h("div", { class: "stat" }, h("span", { class: "stat-value" }, `${state.streak} 天`), h("span", { class: "stat-label" }, "连续学习"))),
      h("ol", { class: "review-list" }, ...state.items.map((item) => {
        const detail = h("div", { class: "feedback" });
        renderFeedback(detail, item.question, item.feedback);
        const kind = item.feedback?.correct ? "ok" : item.feedback?.partial ? "partial" : "bad";
        return h("li", { class: kind },
          h("span", { class: "mark", title: { ok: "正确", partial: "部分正确", bad: "错误" }[kind] },
            { ok: "✓", partial: "½", bad: "✗" }[kind]),
          h("details", {}, h("summary", {}, item.question.stem), detail));
      })),
      h("div", { class: "actions" },
        h("a", { class: "btn", href: "/mistakes" }, "错题本"),
        h("a", { class: "btn btn-primary", href: "/practice" }, "继续专项练习"))),
  );
}

async function start() {
  try {
    state = await api("GET", "/api/v1/daily");
  } catch (error) {
    clear(root).append(h("div", { class: "empty" }, h("p", { class: "empty-title" }, "无法加载今日题目"), h("p", { class: "muted" }, error.message)));
    return;
  }
  showProgress();
  const next = nextUnanswered();
  if (next) showItem(next);
  else showSummary();
}

start();
