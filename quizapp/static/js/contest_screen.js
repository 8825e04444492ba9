// 现场比武 big screen: question, countdown, who buzzed first, the answer after judging, the
// scoreboard with changes, and the podium at the end. No sign-in; it only listens.
import { h, clear } from "./dom.js";
import { live, scoreboard, questionBlock, buzzList, verdicts, phaseLabel, secondsLeft } from "./contest_live.js";

const root = document.querySelector("[data-contest]");
const el = (name) => root.querySelector(`[data-role="${name}"]`);
let current = null;
let clock = () => Date.now();

function draw(state, now) {
  current = state;
  clock = now;
  root.dataset.phase = state.phase ?? "";
  root.dataset.status = state.status;
  el("segment").textContent = state.segment
    ? `${state.segment.title} · 第 ${state.question.index + 1}/${state.segment.questions} 题` : state.title;
  el("phase").textContent = phaseLabel(state);
  el("floor").textContent = state.floor_name
    ? (state.segment.kind === "buzz" || state.segment.kind === "tiebreak" ? `${state.floor_name} 抢到！` : `请 ${state.floor_name} 作答`)
    : "";
  el("stake").textContent = state.stake ? `风险分值 ${state.stake} 分` : "";
  clear(el("question")).append(questionBlock(state, { large: true }));
  clear(el("buzzes")).append(buzzList(state), ...verdicts(state));
  scoreboard(el("scores"), state);
  const podium = el("podium");
  podium.hidden = !state.podium;
  if (state.podium) {
    clear(podium).append(h("h2", {}, "比赛结果"),
      h("ol", { class: "podium-list" }, state.podium.map((t) =>
        h("li", { class: `place-${t.rank}` }, h("span", { class: "place" }, `第${t.rank}名`), h("b", {}, t.name), h("span", {}, `${t.score} 分`)))));
  }
  tick();
}

function tick() {
  if (!current) return;
  const left = secondsLeft(current, clock);
  el("clock").textContent = left === null ? "" : `${left}`;
  el("clock").classList.toggle("urgent", left !== null && left <= 5);
}

live(root.dataset.stream, draw, el("connection"));
setInterval(tick, 250);
