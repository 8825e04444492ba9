// The attempt page: server deadline countdown, 答题卡 with 标记, autosave with retry, submit.
//
// Saving: every change is written at once to a local draft (localStorage, per attempt) and sent to
// the server (typing after a short pause); the header says 已保存 only when the server has the
// latest value of every question. When the page is hidden or unloaded the unsent values go out as
// keepalive requests, and a draft the server never acknowledged is sent again on the next load.
import { answerCard, flagButton, flagStore } from "./answer_card.js";
import { api, ApiError } from "./api.js";
import { clear, h } from "./dom.js";
import { casePanel, numberField } from "./quiz.js";
import { isWritten, saysQuote, writtenField } from "./written.js";

const root = document.getElementById("attempt");
const attemptId = root.dataset.attemptId;
const resultUrl = root.dataset.resultUrl;
const saveState = document.getElementById("save-state");
const countdown = document.getElementById("countdown");

let state;
let current = 0;
let endsAt = 0; // performance.now() timestamp of the deadline (immune to the phone's clock)
let submitting = false;
let leaving = false; // the page is going to the result on purpose: no "leave this page?" warning
let lastSavedAt = null;
const answers = new Map(); // question id → answer in display form
const pending = new Map(); // question id → answer not yet acknowledged by the server
const inflight = new Set(); // question ids with a save on the way (one at a time, in order)
const failed = new Set();
const flags = flagStore(`quizapp:attempt:${attemptId}:flags`);
const draftKey = `quizapp:attempt:${attemptId}:drafts`;
let card;

function readDrafts() {
  try {
    return JSON.parse(localStorage.getItem(draftKey) || "{}");
  } catch {
    return {};
  }
}

function writeDrafts(drafts) {
  try {
    if (Object.keys(drafts).length) localStorage.setItem(draftKey, JSON.stringify(drafts));
    else localStorage.removeItem(draftKey);
  } catch {
    // no local storage: the server copy is the only one
  }
}

function keepDraft(questionId, value) {
  writeDrafts({ ...readDrafts(), [questionId]: value });
}

function dropDraft(questionId, value) {
  const drafts = readDrafts();
  if (questionId in drafts && JSON.stringify(drafts[questionId]) === JSON.stringify(value)) {
    delete drafts[questionId];
    writeDrafts(drafts);
  }
}

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

// The header tells the truth: 已保存 only when nothing is waiting for the server.
function refreshSaveState() {
  if (failed.size) {
    showSaveState(`有 ${failed.size} 题未保存，稍后自动重试`, "warn");
  } else if (pending.size) {
    showSaveState("保存中…", "busy");
  } else if (lastSavedAt) {
    showSaveState(`已保存 ${new Date(lastSavedAt).toLocaleTimeString("zh-CN", { hour12: false })}`, "ok");
  }
}

async function save(questionId) {
  if (inflight.has(questionId) || !pending.has(questionId)) return; // the running save sends the rest
  const value = pending.get(questionId);
  inflight.add(questionId);
  refreshSaveState();
  try {
    const body = { answer: value === undefined ? null : value };
    const result = await api("PUT", `/api/v1/attempts/${attemptId}/answers/${questionId}`, body, {
      onRetry: (n) => showSaveState(`网络不稳定，正在重试保存（第 ${n} 次）…`, "warn"),
    });
    inflight.delete(questionId);
    failed.delete(questionId);
    lastSavedAt = result.saved_at;
    if (pending.get(questionId) === value) {
      pending.delete(questionId);
      dropDraft(questionId, value ?? null);
    } else if (!timers.get(questionId)) {
      save(questionId); // typed on while this one travelled: send the newer value now
    }
    refreshSaveState();
  } catch (error) {
    inflight.delete(questionId);
    if (error instanceof ApiError && error.status === 409) {
      showSaveState(error.message, "error");
      leaving = true;
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
  keepDraft(questionId, value ?? null);
  clearTimeout(timers.get(questionId));
  refreshSaveState();
  timers.set(questionId, setTimeout(() => {
    timers.delete(questionId);
    save(questionId);
  }, delay));
}

// The page is being hidden (another app, a locked phone) or unloaded (reload, closed tab): what is
// still waiting goes out now, as requests that outlive the page.
function flushOnLeave() {
  if (submitting) return;
  for (const [questionId, value] of pending) {
    clearTimeout(timers.get(questionId));
    timers.delete(questionId);
    if (inflight.has(questionId)) continue;
    inflight.add(questionId);
    api("PUT", `/api/v1/attempts/${attemptId}/answers/${questionId}`, { answer: value ?? null },
      { retries: 0, keepalive: true })
      .then((result) => {
        lastSavedAt = result.saved_at;
        if (pending.get(questionId) === value) {
          pending.delete(questionId);
          dropDraft(questionId, value ?? null);
        }
        failed.delete(questionId);
      })
      .catch(() => failed.add(questionId))
      .finally(() => {
        inflight.delete(questionId);
        if (pending.has(questionId) && !failed.has(questionId)) save(questionId);
        refreshSaveState();
        renderNavigator();
      });
  }
}
window.addEventListener("pagehide", flushOnLeave);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") flushOnLeave();
});

// Failed saves are retried every few seconds until they succeed.
setInterval(() => {
  for (const questionId of failed) save(questionId);
}, 5000);

async function flushSaves() {
  for (const [questionId] of pending) {
    clearTimeout(timers.get(questionId));
    timers.delete(questionId);
    await save(questionId);
  }
  // a save still on its way when the hand-in began: wait for it (and the value typed after it)
  for (let wait = 0; (inflight.size || pending.size) && wait < 100; wait += 1) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (const [questionId] of pending) if (!inflight.has(questionId)) await save(questionId);
  }
}

function renderNavigator() {
  if (!card) return;
  card.render();
}

function renderQuestion() {
  const question = state.questions[current];
  const id = String(question.id);
  const panel = document.getElementById("question");
  clear(panel);
  panel.append(
    h("div", { class: "question-meta" },
      h("span", { class: "tag" }, question.type_label),
      h("span", { class: "muted small" }, `第 ${current + 1} / ${state.questions.length} 题`),
      flagButton(flags.has(id), () => {
        const on = flags.toggle(id);
        renderNavigator();
        return on;
      })),
    casePanel(question),
    h("p", { class: "stem" }, question.stem),
    saysQuote(question),
  );
  const value = answers.get(id);
  if (isWritten(question)) {
    // 简答, 情景应答: saved after a pause in the typing; an emptied box clears the answer.
    panel.append(writtenField(question, value, (text) => {
      const answer = text.trim() === "" ? null : text;
      answers.set(id, answer);
      queueSave(id, answer, 1000);
      renderNavigator();
    }));
  } else if (question.type === "calc") {
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
    timers.delete(leaving);
    save(leaving);
  }
  current = Math.max(0, Math.min(state.questions.length - 1, index));
  renderQuestion();
  window.scrollTo({ top: 0 });
}

function confirmSubmit() {
  const unanswered = state.questions.map((q, i) => (isAnswered(q) ? null : i + 1)).filter(Boolean);
  const flagged = state.questions.map((q, i) => (flags.has(q.id) ? i + 1 : null)).filter(Boolean);
  const dialog = document.getElementById("confirm");
  clear(dialog.querySelector(".dialog-body")).append(
    unanswered.length
      ? h("p", {}, `还有 ${unanswered.length} 题未作答：第 ${unanswered.join("、")} 题。`)
      : h("p", {}, "全部题目已作答。"),
    flagged.length ? h("p", { class: "flagged-note" }, `您标记了 ${flagged.length} 题待检查：第 ${flagged.join("、")} 题。`) : "",
    h("p", { class: "muted small" }, "交卷后不能再修改答案。"),
  );
  dialog.showModal();
}

async function submit(auto = false) {
  if (submitting) return;
  submitting = true;
  card?.close();
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
  flags.clear();
  writeDrafts({});
  leaving = true;
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
  card = answerCard({
    count: () => state.questions.length,
    stateOf: (i) => {
      const id = String(state.questions[i].id);
      return { answered: isAnswered(state.questions[i]), flagged: flags.has(id), current: i === current,
        unsaved: failed.has(id) || pending.has(id) };
    },
    onPick: (i) => go(i),
  });
  clear(root).append(
    h("div", { class: "attempt-main" },
      h("div", { class: "card-strip" }, card.strip, card.openButton),
      h("section", { class: "card", id: "question", "aria-live": "polite" }),
      h("div", { class: "attempt-actions" },
        h("button", { class: "btn", id: "prev", type: "button", onclick: () => go(current - 1) }, "上一题"),
        h("button", { class: "btn btn-primary", id: "next", type: "button",
          onclick: () => (current === state.questions.length - 1 ? confirmSubmit() : go(current + 1)) }, "下一题")),
      h("button", { class: "btn btn-block submit-all", type: "button", onclick: confirmSubmit }, "交卷")),
    card.sheet,
    card.backdrop,
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
  // What this browser typed that the server never acknowledged (a reload too quick for the save):
  // shown again and sent again.
  const known = new Set(state.questions.map((q) => String(q.id)));
  const unsent = [];
  for (const [questionId, value] of Object.entries(readDrafts())) {
    if (!known.has(questionId)) continue;
    if (JSON.stringify(state.answers[questionId]?.answer ?? null) === JSON.stringify(value)) {
      dropDraft(questionId, value);
      continue;
    }
    answers.set(questionId, value);
    unsent.push([questionId, value]);
  }
  endsAt = performance.now() + state.remaining_seconds * 1000;
  layout();
  const firstOpen = state.questions.findIndex((q) => !isAnswered(q));
  go(firstOpen === -1 ? 0 : firstOpen);
  const restored = Object.keys(state.answers).length;
  showSaveState(restored ? `已恢复 ${restored} 道已保存的答案` : "答案会自动保存", "ok");
  for (const [questionId, value] of unsent) queueSave(questionId, value);
  tick();
  setInterval(tick, 1000);
  reportFocus();
}

// Leaving a running attempt (a link, a reload, closing the tab) asks first: the clock keeps running.
window.addEventListener("beforeunload", (event) => {
  if (!state || state.status !== "in_progress" || submitting || leaving) return;
  event.preventDefault();
  event.returnValue = ""; // older browsers need a value to ask
});

start();
