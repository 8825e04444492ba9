// The attempt page: server deadline countdown, question navigator, autosave with retry, submit.
import { api, ApiError } from "./api.js";
import { clear, h } from "./dom.js";
import { casePanel, numberField } from "./quiz.js";

const root = document.getElementById("attempt");
const attemptId = root.dataset.attemptId;
const resultUrl = root.dataset.resultUrl;
const saveState = document.getElementById("save-state");
const countdown = document.getElementById("countdown");

let state;
let current = 0;
let endsAt = 0; // performance.now() timestamp of the deadline (immune to the phone's clock)
let submitting = false;
const answers = new Map(); // question id → answer in display form
const pending = new Map(); // question id → answer not yet acknowledged by the server
const failed = new Set();

// How often and how long this page was hidden (another app or tab in front): reported to the server
// when the page comes back and with the hand-in; an integrity signal, counted per page load.
const focus = { page: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`, hidden: 0, seconds: 0 };
let hiddenSince = null;

function focusReport() {
  const now = hiddenSince === null ? 0 : (performance.now() - hiddenSince) / 1000;
  return { page: focus.page, hidden: focus.hidden, hidden_seconds: Math.round(focus.seconds + now) };
}

function reportFocus() {
  api("POST", `/api/v1/attempts/${attemptId}/focus`, focusReport()).catch(() => {});
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") {
    hiddenSince = performance.now();
    focus.hidden += 1;
  } else if (hiddenSince !== null) {
    focus.seconds += (performance.now() - hiddenSince) / 1000;
    hiddenSince = null;
    if (!submitting) reportFocus();
  }
});

function isAnswered(question) {
  const value = answers.get(String(question.id));
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) return value.length > 0 && value.some((v) => String(v).trim() !== "");
  return String(value).trim() !== "";
}

function showSaveState(text, kind = "") {
  saveState.textContent = text;
  saveState.className = `small save-${kind || "idle"}`;
}

async function save(questionId) {
  const value = pending.get(questionId);
  showSaveState("保存中…", "busy");
  try {
    const body = { answer: value === undefined ? null : value };
    const result = await api("PUT", `/api/v1/attempts/${attemptId}/answers/${questionId}`, body, {
      onRetry: (n) => showSaveState(`网络不稳定，正在重试保存（第 ${n} 次）…`, "warn"),
    });
    if (pending.get(questionId) === value) pending.delete(questionId);
    failed.delete(questionId);
    const time = new Date(result.saved_at).toLocaleTimeString("zh-CN", { hour12: false });
    showSaveState(failed.size ? `有 ${failed.size} 题未保存，稍后自动重试` : `已保存 ${time}`, failed.size ? "warn" : "ok");
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) {
      showSaveState(error.message, "error");
      window.location.assign(resultUrl);
      return;
    }
    failed.add(questionId);
    showSaveState(`保存失败：${error.message}（${failed.size} 题待重试）`, "error");
  }
  renderNavigator();
}

const timers = new Map();
function queueSave(questionId, value, delay = 0) {
  pending.set(questionId, value);
  clearTimeout(timers.get(questionId));
  timers.set(questionId, setTimeout(() => save(questionId), delay));
}

// Failed saves are retried every few seconds until they succeed.
setInterval(() => {
  for (const questionId of failed) save(questionId);
}, 5000);

async function flushSaves() {
  for (const [questionId] of pending) {
    clearTimeout(timers.get(questionId));
    await save(questionId);
  }
}

function renderNavigator() {
  const nav = document.getElementById("navigator");
  if (!nav) return;
  nav.querySelectorAll("button").forEach((button, index) => {
    const question = state.questions[index];
    button.classList.toggle("answered", isAnswered(question));
    button.classList.toggle("unsaved", failed.has(String(question.id)) || pending.has(String(question.id)));
    button.classList.toggle("current", index === current);
    button.setAttribute("aria-current", index === current ? "true" : "false");
  });
  const done = state.questions.filter(isAnswered).length;
  document.getElementById("answered-count").textContent = `已答 ${done}/${state.questions.length}`;
}

function renderQuestion() {
  const question = state.questions[current];
  const id = String(question.id);
  const panel = document.getElementById("question");
  clear(panel);
  panel.append(
    h("div", { class: "question-meta" },
      h("span", { class: "tag" }, question.type_label),
      h("span", { class: "muted small" }, `第 ${current + 1} / ${state.questions.length} 题`)),
    casePanel(question),
    h("p", { class: "stem" }, question.stem),
  );
  const value = answers.get(id);
  if (question.type === "calc") {
    panel.append(numberField(question, value, (typed, ok) => {
      if (typed !== "" && !ok) return; // not a number yet: keep the last saved answer
      const answer = typed === "" ? null : typed;
      answers.set(id, answer);
      queueSave(id, answer, 700);
      renderNavigator();
    }));
  } else if (question.type === "fill") {
    const values = Array.isArray(value) ? [...value] : Array(question.blanks).fill("");
    for (let i = 0; i < question.blanks; i += 1) {
      const input = h("input", { class: "input", type: "text", maxlength: "200", autocomplete: "off",
        "aria-label": `第${i + 1}空`, placeholder: question.blanks > 1 ? `第${i + 1}空` : "请填写答案" });
      input.value = values[i] ?? "";
      input.addEventListener("input", () => {
        values[i] = input.value;
        const answer = values.every((v) => v.trim() === "") ? null : values.map((v) => v ?? "");
        answers.set(id, answer);
        queueSave(id, answer, 700);
        renderNavigator();
      });
      panel.append(h("label", { class: "field" }, input));
    }
  } else {
    const multiple = question.type === "multiple";
    const choices = question.type === "judge"
      ? [{ key: "true", text: "正确" }, { key: "false", text: "错误" }]
      : question.options;
    const chosen = new Set(multiple ? value ?? [] : value === undefined || value === null ? [] : [String(value)]);
    const list = h("div", { class: "choices", role: multiple ? "group" : "radiogroup" });
    for (const choice of choices) {
      const button = h("button", { type: "button", class: "choice", "aria-pressed": chosen.has(choice.key) ? "true" : "false" },
        question.type === "judge" ? null : h("span", { class: "choice-key" }, choice.key), h("span", {}, choice.text));
      button.addEventListener("click", () => {
        if (multiple) {
          if (chosen.has(choice.key)) chosen.delete(choice.key);
          else chosen.add(choice.key);
        } else {
          chosen.clear();
          chosen.add(choice.key);
        }
        list.querySelectorAll(".choice").forEach((b, i) => b.setAttribute("aria-pressed", chosen.has(choices[i].key) ? "true" : "false"));
        const answer = multiple ? (chosen.size ? [...chosen].sort() : null) : choice.key;
        answers.set(id, answer);
        queueSave(id, answer);
        renderNavigator();
      });
      list.append(button);
    }
    if (multiple) panel.append(h("p", { class: "hint" }, "多选题：少选得一半分，错选不得分"));
    panel.append(list);
  }
  document.getElementById("prev").disabled = current === 0;
  document.getElementById("next").textContent = current === state.questions.length - 1 ? "交卷" : "下一题";
  renderNavigator();
}

function go(index) {
  // Leaving a question saves what is typed at once instead of waiting for the typing pause.
  const leaving = state.questions[current] && String(state.questions[current].id);
  if (leaving && pending.has(leaving)) {
    clearTimeout(timers.get(leaving));
    save(leaving);
  }
  current = Math.max(0, Math.min(state.questions.length - 1, index));
  renderQuestion();
  window.scrollTo({ top: 0 });
}

function confirmSubmit() {
  const unanswered = state.questions.map((q, i) => (isAnswered(q) ? null : i + 1)).filter(Boolean);
  const dialog = document.getElementById("confirm");
  clear(dialog.querySelector(".dialog-body")).append(
    unanswered.length
      ? h("p", {}, `还有 ${unanswered.length} 题未作答：第 ${unanswered.join("、")} 题。`)
      : h("p", {}, "全部题目已作答。"),
    h("p", { class: "muted small" }, "交卷后不能再修改答案。"),
  );
  dialog.showModal();
}

async function submit(auto = false) {
  if (submitting) return;
  submitting = true;
  showSaveState(auto ? "时间到，正在自动交卷…" : "正在交卷…", "busy");
  await flushSaves();
  try {
    await api("POST", `/api/v1/attempts/${attemptId}/submit`, { time_up: auto, focus: focusReport() }, { retries: 6 });
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 409)) {
      submitting = false;
      showSaveState(`交卷失败：${error.message}，请重试`, "error");
      return;
    }
  }
  window.location.assign(resultUrl);
}

function tick() {
  const left = Math.max(0, Math.round((endsAt - performance.now()) / 1000));
  const minutes = String(Math.floor(left / 60)).padStart(2, "0");
  const seconds = String(left % 60).padStart(2, "0");
  countdown.textContent = `${minutes}:${seconds}`;
  countdown.classList.toggle("urgent", left <= 60);
  if (left === 0) submit(true);
}

function layout() {
  clear(root).append(
    h("nav", { id: "navigator", class: "navigator", "aria-label": "题号" },
      ...state.questions.map((q, i) => h("button", { type: "button", onclick: () => go(i), "aria-label": `第 ${i + 1} 题` }, String(i + 1)))),
    h("p", { class: "muted small", id: "answered-count" }),
    h("section", { class: "card", id: "question", "aria-live": "polite" }),
    h("div", { class: "attempt-actions" },
      h("button", { class: "btn", id: "prev", type: "button", onclick: () => go(current - 1) }, "上一题"),
      h("button", { class: "btn btn-primary", id: "next", type: "button",
        onclick: () => (current === state.questions.length - 1 ? confirmSubmit() : go(current + 1)) }, "下一题")),
    h("button", { class: "btn btn-block submit-all", type: "button", onclick: confirmSubmit }, "交卷"),
    h("dialog", { id: "confirm", class: "dialog" },
      h("h2", {}, "确认交卷？"),
      h("div", { class: "dialog-body" }),
      h("div", { class: "actions" },
        h("button", { class: "btn", type: "button", onclick: () => document.getElementById("confirm").close() }, "继续作答"),
        h("button", { class: "btn btn-primary", type: "button", onclick: () => { document.getElementById("confirm").close(); submit(false); } }, "确认交卷"))),
  );
}

async function start() {
  try {
    state = await api("GET", `/api/v1/attempts/${attemptId}`);
  } catch (error) {
    clear(root).append(h("p", { class: "status-error" }, `无法加载试卷：${error.message}`));
    return;
  }
  if (state.status !== "in_progress") {
    window.location.assign(resultUrl);
    return;
  }
  for (const [questionId, saved] of Object.entries(state.answers)) answers.set(questionId, saved.answer);
  endsAt = performance.now() + state.remaining_seconds * 1000;
  layout();
  const firstOpen = state.questions.findIndex((q) => !isAnswered(q));
  go(firstOpen === -1 ? 0 : firstOpen);
  showSaveState(Object.keys(state.answers).length ? `已恢复 ${Object.keys(state.answers).length} 道已保存的答案` : "答案会自动保存", "ok");
  tick();
  setInterval(tick, 1000);
  reportFocus();
}

window.addEventListener("beforeunload", (event) => {
  if (pending.size && !submitting) {
    event.preventDefault();
  }
});

start();
