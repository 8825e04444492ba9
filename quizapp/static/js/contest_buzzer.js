// 现场比武 buzzer (a contestant's phone): one big button, the team's score, the result of a buzz
// (已抢到 / 慢了 0.21 秒 / 犯规), the stake for a 风险题 and the options when the team answers here.
import { h, clear } from "./dom.js";
import { live, post, questionBlock, phaseLabel, secondsLeft } from "./contest_live.js";

const root = document.querySelector("[data-contest]");
const el = (name) => root.querySelector(`[data-role="${name}"]`);
const playUrl = root.dataset.play;
let current = null;
let clock = () => Date.now();
let chosen = new Set();

function message(text, kind = "") {
  el("message").textContent = text;
  el("message").dataset.kind = kind;
}

function buzzText(buzz) {
  if (!buzz) return "";
  if (buzz.result === "first") return "已抢到！请作答";
  if (buzz.result === "late") return `慢了 ${(buzz.behind_ms / 1000).toFixed(2)} 秒（第 ${buzz.rank} 位）`;
  if (buzz.result === "foul") return `犯规：提前抢答 −${buzz.penalty} 分`;
  return "";
}

async function act(body) {
  try {
    const data = await post(playUrl, body);
    if (data.outcome) message(buzzText(data.outcome), data.outcome.result);
  } catch (error) {
    message(error.message, "error");
  }
}

function draw(state, now) {
  const questionChanged = current?.question?.index !== state.question?.index || current?.segment?.index !== state.segment?.index;
  current = state;
  clock = now;
  if (questionChanged) chosen = new Set();
  const me = state.me;
  el("team").textContent = `${me.team_name} · ${me.member ?? root.dataset.member}`;
  el("score").textContent = `${me.score} 分`;
  el("phase").textContent = state.segment ? `${state.segment.title} · ${phaseLabel(state)}` : phaseLabel(state);
  const buzzable = state.segment && (state.segment.kind === "buzz" || state.segment.kind === "tiebreak");
  const button = el("buzz");
  button.hidden = !buzzable || !me.eligible;
  button.disabled = !me.can_buzz;
  button.textContent = me.buzz ? (me.buzz.result === "first" ? "已抢到" : me.buzz.result === "foul" ? "犯规" : "慢了") : "抢答";
  button.dataset.result = me.buzz?.result ?? "";
  if (me.buzz) message(buzzText(me.buzz), me.buzz.result);
  else if (questionChanged) message(state.segment && !me.eligible ? "本环节你的队伍不作答" : "");
  // 风险题: the stake
  const stakes = clear(el("stakes"));
  if (me.can_stake) {
    stakes.append(h("p", {}, "请选择本题分值："), ...state.segment.stakes.map((s) =>
      h("button", { type: "button", class: "btn btn-primary stake", onclick: () => act({ action: "stake", stake: s }) }, `${s} 分`)));
  }
  // The question, and its options to answer here when it is this team's turn
  clear(el("question")).append(questionBlock(state));
  const answer = clear(el("answer"));
  if (me.can_answer) answer.append(answerForm(state.question));
  else if (state.floor === me.team_id && state.phase === "open") answer.append(h("p", { class: "notice" }, "请口头作答，由主持人判定"));
  tick();
}

function answerForm(q) {
  const submit = (value) => act({ action: "answer", answer: value });
  if (q.type === "judge") {
    return h("div", { class: "answer-buttons" },
      h("button", { type: "button", class: "btn btn-primary", onclick: () => submit(true) }, "✓ 正确"),
      h("button", { type: "button", class: "btn btn-primary", onclick: () => submit(false) }, "✗ 错误"));
  }
  if (q.type === "single") {
    return h("div", { class: "answer-buttons" }, q.options.map((o) =>
      h("button", { type: "button", class: "btn btn-primary", onclick: () => submit(o.key) }, o.key)));
  }
  const boxes = q.options.map((o) => h("button", {
    type: "button", class: "btn option-toggle", "aria-pressed": "false",
    onclick: (event) => {
      chosen.has(o.key) ? chosen.delete(o.key) : chosen.add(o.key);
      event.currentTarget.setAttribute("aria-pressed", String(chosen.has(o.key)));
    },
  }, o.key));
  return h("div", { class: "answer-buttons" }, boxes,
    h("button", { type: "button", class: "btn btn-primary btn-block", onclick: () => submit([...chosen]) }, "提交答案"));
}

function tick() {
  if (!current) return;
  const left = secondsLeft(current, clock);
  el("clock").textContent = left === null ? "" : `${left} 秒`;
}

el("buzz").addEventListener("pointerdown", (event) => {
  event.preventDefault();
  if (!el("buzz").disabled) act({ action: "buzz" });
});
el("buzz").addEventListener("keydown", (event) => {
  if ((event.key === "Enter" || event.key === " ") && !el("buzz").disabled) { event.preventDefault(); act({ action: "buzz" }); }
});
live(root.dataset.stream, draw, el("connection"));
setInterval(tick, 250);
