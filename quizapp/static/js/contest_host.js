// 现场比武 host console: the run-sheet and every action of the host (the server checks each one).
import { h, clear } from "./dom.js";
import { live, post, scoreboard, questionBlock, buzzList, verdicts, phaseLabel, secondsLeft } from "./contest_live.js";

const root = document.querySelector("[data-contest]");
const el = (name) => root.querySelector(`[data-role="${name}"]`);
const actUrl = root.dataset.act;
let current = null;
let clock = () => Date.now();

async function act(action, extra = {}) {
  el("message").textContent = "";
  try {
    await post(actUrl, { action, ...extra });
  } catch (error) {
    el("message").textContent = error.message;
  }
}

function draw(state, now) {
  current = state;
  clock = now;
  el("phase").textContent = phaseLabel(state);
  el("segment").textContent = state.segment
    ? `${state.segment.title}（${state.segment.kind_label}）第 ${state.question.index + 1}/${state.segment.questions} 题`
      + (state.question.team_name ? ` · ${state.question.team_name}作答` : "")
    : "尚未开始";
  el("next-label").textContent = state.next ? `下一题：${state.next.segment} 第 ${state.next.question} 题` : "已是最后一题";
  clear(el("question")).append(questionBlock(state));
  clear(el("key")).append(state.key ? h("p", {}, h("b", {}, "答案："), state.key.text, h("br"), h("span", { class: "muted" }, state.key.explanation)) : "");
  clear(el("buzzes")).append(...[buzzList(state), ...verdicts(state),
    state.floor_name ? h("p", { class: "floor" }, `待判定：${state.floor_name}`) : null,
    state.stake ? h("p", {}, `风险分值：${state.stake} 分`) : null].filter(Boolean));
  scoreboard(el("scores"), state);
  const sheet = clear(el("run-sheet"));
  state.run_sheet.forEach((s, i) => sheet.append(h("li", { class: state.segment?.index === i ? "current" : "" }, `${s.title} · ${s.questions} 题`)));
  const stakes = clear(el("stakes"));
  if (state.phase === "staking" && state.status === "running") {
    stakes.append(h("span", {}, `代${state.question.team_name}选分：`), ...state.segment.stakes.map((s) =>
      h("button", { type: "button", class: "btn", onclick: () => act("stake", { team_id: state.question.team_id, stake: s }) }, `${s}`)));
  }
  const buttons = {
    next: state.status !== "finished" && state.status !== "paused" && (!state.question || state.phase === "judged") && !!state.next,
    show: state.phase === "staking" && !!state.stake,
    open: state.phase === "shown" && state.status === "running",
    right: (state.phase === "open" || state.phase === "shown") && !!state.floor,
    wrong: (state.phase === "open" || state.phase === "shown") && !!state.floor,
    reveal: state.phase === "open" || state.phase === "shown",
    pause: state.status === "running",
    resume: state.status === "paused",
    undo: state.can_undo && state.status !== "finished",
    finish: state.status === "running" || state.status === "paused",
  };
  for (const [name, enabled] of Object.entries(buttons)) root.querySelector(`[data-act="${name}"]`).disabled = !enabled;
  root.querySelector('[data-act="open"]').textContent =
    state.segment && (state.segment.kind === "buzz" || state.segment.kind === "tiebreak") ? "开放抢答" : "开始计时";
  // Phones joined per team: the stream carries them as they join.
  for (const cell of root.querySelectorAll("[data-devices]")) {
    if (state.devices) cell.textContent = state.devices[cell.dataset.devices] ?? 0;
  }
  const select = el("adjust-team");
  if (!select.options.length) state.team_order.forEach((id) => {
    const team = state.teams.find((t) => t.team_id === id);
    select.append(h("option", { value: id }, team.name));
  });
  tick();
}

function tick() {
  if (!current) return;
  const left = secondsLeft(current, clock);
  el("clock").textContent = left === null ? "" : `${left} 秒`;
}

const actions = {
  next: () => act("next"),
  show: () => act("show"),
  open: () => act("open"),
  right: () => act("judge", { correct: true }),
  wrong: () => act("judge", { correct: false }),
  reveal: () => act("reveal"),
  pause: () => act("pause"),
  resume: () => act("resume"),
  undo: () => act("undo"),
  finish: () => { if (window.confirm("确定结束比赛？结束后将显示最终名次。")) act("finish"); },
};
for (const [name, run] of Object.entries(actions)) root.querySelector(`[data-act="${name}"]`).addEventListener("click", run);
el("adjust-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  act("adjust", { team_id: Number(form.team.value), delta: Number(form.delta.value), reason: form.reason.value })
    .then(() => { if (!el("message").textContent) form.reset(); });
});
live(root.dataset.stream, draw, el("connection"));
setInterval(tick, 250);
