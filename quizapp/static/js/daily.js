// 日日学: one question at a time, feedback after each, a finishing screen. Works offline too: the set
// is kept on the device when opened (no keys), answers given offline wait in a queue (shown as
// "N 条答案待发送") and are sent when the network returns, their feedback shown then.
import { api } from "./api.js";
import { deviceToday, enqueue, flush, keepSet, keptSet, queued } from "./daily_queue.js";
import { clear, h } from "./dom.js";
import { renderFeedback, renderQuestion } from "./quiz.js";

const root = document.getElementById("daily");
const progress = document.getElementById("daily-progress");
const pendingBox = document.getElementById("daily-pending");
const syncedBox = document.getElementById("daily-synced");
const user = root.dataset.user;
let state;
let offline = false; // showing the set kept on this device
let screen = "question"; // what `root` shows: "question" (one to answer), "feedback" or "summary"
let currentId = null; // the question on screen

const settled = (item) => item.answered || item.pending;

function showProgress() {
  const done = state.items.filter(settled).length;
  progress.textContent = `${done}/${state.size}`;
  document.getElementById("daily-bar").value = done;
  document.getElementById("daily-bar").max = state.size;
}

function showPending() {
  const waiting = queued(user).filter((entry) => entry.day === state?.date).length;
  clear(pendingBox);
  pendingBox.hidden = waiting === 0;
  if (!waiting) return;
  const button = h("button", { class: "btn", type: "button" }, "立即发送");
  button.addEventListener("click", () => sync());
  const connected = navigator.onLine && !offline;
  pendingBox.append(
    h("strong", { class: "pending-count" }, `${waiting} 条答案待发送`),
    connected ? " " : h("span", {}, "（当前没有网络，联网后自动发送）"),
    connected ? button : "",
  );
}

function nextUnanswered() {
  return state.items.find((item) => !settled(item));
}

function showNext() {
  const next = nextUnanswered();
  if (next) showItem(next);
  else showSummary();
}

function nextButton() {
  const button = h("button", { class: "btn btn-primary btn-block", type: "button" }, nextUnanswered() ? "下一题" : "查看今日成绩");
  button.addEventListener("click", showNext); // the set as it is then (a sync may have come in between)
  return button;
}

function applyProgress(set) {
  Object.assign(state, { answered: set.answered, correct: set.correct, finished: set.finished, star: set.star,
    held: set.held, points_today: set.points_today, streak: set.streak });
}

// Offline, or the network failed past its retries: keep the answer here to send later.
function queueAnswer(item, answer) {
  enqueue(user, { day: state.date, question_id: item.question.id, position: item.position, answer,
    answered_at: new Date().toISOString() });
  item.pending = true;
  showProgress();
  showPending();
  screen = "feedback";
  const button = nextButton();
  clear(root).append(
    h("div", { class: "verdict verdict-sealed", role: "status" }, h("strong", {}, "已保存在本机，待发送")),
    h("p", { class: "stem stem-answered" }, item.question.stem),
    h("p", { class: "notice" }, "当前没有网络。答案已保存在这台设备上，联网后自动发送，届时显示对错、正确答案和解析。"),
    h("div", { class: "actions feedback-actions" }, button),
  );
  button.focus();
}

function showItem(item) {
  screen = "question";
  currentId = item.question.id;
  renderQuestion(root, item.question, {
    meta: [h("span", { class: "muted small" }, `第 ${item.position} 题`),
      item.reason === "mistake" ? h("span", { class: "tag tag-warn" }, "错题复习") : null],
    onSubmit: async (answer, onRetry) => {
      if (!navigator.onLine) {
        queueAnswer(item, answer);
        return;
      }
      let result;
      try {
        // Showing the set kept here: one try, then the queue (no retries to wait through).
        result = await api("POST", "/api/v1/daily/answers", { question_id: item.question.id, answer, day: state.date },
          { onRetry, retries: offline ? 0 : 3 });
      } catch (error) {
        if (error.code !== "network") throw error;
        queueAnswer(item, answer);
        return;
      }
      item.answered = true;
      item.feedback = result.feedback;
      applyProgress(result.set);
      if (!offline) keepSet(user, state);
      showProgress();
      screen = "feedback";
      const button = nextButton();
      renderFeedback(root, item.question, result.feedback, {
        pointsAwarded: result.points_awarded - result.finish_points, // this answer's own, not the finish's
        finishPoints: result.finish_points,
        actions: [button],
      });
      button.focus();
    },
  });
}

const MARKS = { right: ["ok", "✓", "正确"], partial: ["partial", "½", "部分正确"], wrong: ["bad", "✗", "错误"] };

function verdictOf(item) {
  if (item.feedback) return item.feedback.correct ? "right" : item.feedback.partial ? "partial" : "wrong";
  return item.verdict ?? null;
}

function showSummary() {
  screen = "summary";
  clear(root);
  const waiting = state.items.filter((item) => item.pending && !item.answered).length;
  if (waiting || offline) {
    // Answers still on this device (or a set shown from it): the results come with the network.
    root.append(h("div", { class: "summary" },
      h("p", { class: "summary-emoji", "aria-hidden": "true" }, "✓"),
      h("h2", {}, "今日题目已全部作答"),
      h("p", { class: "notice" }, waiting
        ? `还有 ${waiting} 条答案保存在本机，联网后自动发送，届时显示成绩和积分。`
        : "当前没有网络，联网后显示今日成绩和积分。")));
    return;
  }
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
        const [kind, mark, title] = MARKS[verdictOf(item) ?? "wrong"];
        return h("li", { class: kind },
          h("span", { class: "mark", title }, mark),
          h("details", {}, h("summary", {}, item.question.stem), detail));
      })),
      h("div", { class: "actions" },
        h("a", { class: "btn", href: "/mistakes" }, "错题本"),
        h("a", { class: "btn btn-primary", href: "/practice" }, "继续专项练习"))),
  );
}

// What the queue's sending gave: each answer's verdict, key and explanation, or why it was refused.
function showSynced(results) {
  const done = results.filter((result) => !result.later);
  if (!done.length) return;
  const points = done.reduce((sum, result) => sum + (result.data?.points_awarded ?? 0), 0);
  const list = h("ol", { class: "review-list" }, ...done.map(({ entry, ok, data, message }) => {
    const item = state?.items.find((candidate) => candidate.question.id === entry.question_id);
    const label = `第 ${entry.position} 题`;
    if (!ok) {
      return h("li", { class: "bad refused" }, h("span", { class: "mark", title: "未被接受" }, "!"),
        h("div", {}, h("strong", {}, `${label}未被接受：`), message));
    }
    const [kind, mark, title] = MARKS[data.feedback.sealed ? "right"
      : data.feedback.correct ? "right" : data.feedback.partial ? "partial" : "wrong"];
    const detail = h("div", { class: "feedback" });
    if (item) renderFeedback(detail, item.question, data.feedback);
    const key = data.feedback.sealed ? "" : ` · 正确答案：${data.feedback.correct_answer_text}`;
    return h("li", { class: kind }, h("span", { class: "mark", title }, mark),
      h("details", {}, h("summary", {}, `${label} · ${title}${key}`), detail)); // the explanation: one tap
  }));
  clear(syncedBox).append(
    h("h2", {}, "离线答案已发送"),
    points > 0 ? h("p", { class: "notice-ok" }, `共获得 ${points} 积分`) : "",
    list,
  );
  syncedBox.hidden = false;
}

// Send what waits; then take the set as the server has it now (the sent answers graded in it).
async function sync() {
  if (!queued(user).length) return;
  const results = await flush(user);
  showSynced(results);
  if (results.some((result) => !result.later)) await refresh();
  showPending();
}

async function load() {
  try {
    return await api("GET", "/api/v1/daily", undefined, { retries: navigator.onLine ? 1 : 0 });
  } catch (error) {
    if (error.code !== "network") throw error;
    return null;
  }
}

// The set from the server (or, without the network, the one kept here), with what still waits.
async function refresh() {
  const fresh = await load();
  if (fresh) {
    state = fresh;
    offline = false;
    keepSet(user, state);
  } else {
    const kept = keptSet(user);
    if (!kept || kept.date !== deviceToday()) return false;
    state = { ...kept, points_today: 0, streak: 0 };
    offline = true;
  }
  const waiting = new Set(queued(user).filter((entry) => entry.day === state.date).map((entry) => entry.question_id));
  for (const item of state.items) item.pending = !item.answered && waiting.has(item.question.id);
  showProgress();
  const current = state.items.find((item) => item.question.id === currentId);
  if (screen === "summary" || (screen === "question" && !(current && !settled(current)))) showNext();
  return true; // a feedback on screen stays: its 下一题 goes on from the set as it is now
}

async function start() {
  try {
    const shown = await refresh();
    if (navigator.onLine) await sync(); // offline, the "online" event sends what waits
    if (!shown && !state) {
      clear(root).append(h("div", { class: "empty" }, h("p", { class: "empty-title" }, "无法加载今日题目"),
        h("p", { class: "muted" }, "当前没有网络，这台设备上也没有今天的题目。请联网后再打开日日学。")));
      return;
    }
  } catch (error) {
    clear(root).append(h("div", { class: "empty" }, h("p", { class: "empty-title" }, "无法加载今日题目"), h("p", { class: "muted" }, error.message)));
    return;
  }
  showPending();
}

window.addEventListener("online", () => {
  showPending();
  sync();
});
window.addEventListener("offline", showPending);
// A weak signal may never say "online": while answers wait, try again now and then, and on coming back to the page.
setInterval(() => {
  if (document.visibilityState === "visible" && navigator.onLine) sync();
}, 20000);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && navigator.onLine) sync();
});

start();
