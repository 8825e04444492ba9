// 现场比武: the state stream (server-sent events) and what the three screens draw alike.
import { h, clear } from "./dom.js";

const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

// The page's state now (from the page itself), then every change from the stream. EventSource
// reconnects by itself; the server sends the current state first on every connection.
export function live(url, onState, statusEl) {
  const root = document.querySelector("[data-initial]");
  let offset = 0; // server clock − this device's clock, ms
  const deliver = (state) => {
    if (state.now) offset = Date.parse(state.now) - Date.now();
    onState(state, () => Date.now() + offset);
  };
  if (root) deliver(JSON.parse(root.dataset.initial));
  const source = new EventSource(url);
  source.addEventListener("state", (event) => {
    if (statusEl) { statusEl.textContent = "已连接"; statusEl.dataset.state = "online"; }
    deliver(JSON.parse(event.data));
  });
  source.addEventListener("error", () => {
    if (statusEl) { statusEl.textContent = "连接中断，正在重连…"; statusEl.dataset.state = "offline"; }
  });
  return source;
}

export async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken },
    body: JSON.stringify(body),
  });
  let data = {};
  try { data = await response.json(); } catch { data = {}; }
  if (!response.ok) throw new Error(data.error?.message ?? "操作失败，请重试");
  return data;
}

// Seconds left on the clock (null when it is not running).
export function secondsLeft(state, now) {
  if (!state.opened_at || state.phase !== "open" || !state.segment) return null;
  const paused = state.paused_at ? now() - Date.parse(state.paused_at) : 0;
  const used = (now() - Date.parse(state.opened_at) - paused) / 1000 - state.paused_seconds;
  return Math.max(0, Math.ceil(state.segment.time_limit - used));
}

const previous = new Map();

// The scoreboard: teams by score, a change shown as +10 / −5 beside the score for a moment.
export function scoreboard(el, state, { highlight } = {}) {
  clear(el);
  for (const team of state.teams) {
    const before = previous.get(team.team_id);
    const delta = before === undefined ? 0 : team.score - before;
    previous.set(team.team_id, team.score);
    el.append(
      h("li", { class: `score-row${team.team_id === highlight ? " mine" : ""}${delta ? " changed" : ""}`, "data-team": team.team_id },
        h("span", { class: "score-rank" }, team.rank),
        h("span", { class: "score-name" }, team.name),
        h("span", { class: "score-value" }, team.score),
        delta ? h("span", { class: `score-delta ${delta > 0 ? "up" : "down"}` }, delta > 0 ? `+${delta}` : `${delta}`) : null,
      ),
    );
  }
}

export function questionBlock(state, { large = false } = {}) {
  const q = state.question;
  if (!q) return h("p", { class: "muted" }, state.status === "finished" ? "比赛已结束" : "比赛即将开始");
  if (!q.stem) {
    return h("p", { class: "contest-waiting" }, `风险题：请${q.team_name}选择分值（${state.segment.stakes.join(" / ")} 分）`);
  }
  const key = state.answer?.key;
  const keys = Array.isArray(key) ? key : [key === true ? "true" : key === false ? "false" : key];
  return h("div", { class: `contest-question${large ? " large" : ""}` },
    q.case ? h("div", { class: "contest-case" }, h("strong", {}, q.case.title), h("p", {}, q.case.body)) : null,
    h("p", { class: "contest-stem" }, h("span", { class: "contest-type" }, q.type_label), q.stem),
    q.options.length
      ? h("ol", { class: "contest-options" }, q.options.map((o) =>
          h("li", { class: state.answer && keys.includes(o.key) ? "right" : "" }, h("b", {}, o.key), " ", o.text)))
      : null,
    q.type === "judge" && !q.options.length
      ? h("ol", { class: "contest-options" },
          h("li", { class: state.answer && key === true ? "right" : "" }, h("b", {}, "✓"), " 正确"),
          h("li", { class: state.answer && key === false ? "right" : "" }, h("b", {}, "✗"), " 错误"))
      : null,
    state.answer ? h("p", { class: "contest-answer" }, `答案：${state.answer.text}`) : null,
    state.answer && large ? h("p", { class: "contest-explanation" }, state.answer.explanation) : null,
  );
}

export function buzzList(state) {
  return h("div", {},
    h("ol", { class: "buzz-list" },
      state.buzzes.map((b, i) => h("li", { class: i === 0 ? "first" : "" },
        h("b", {}, b.name), ` ${b.member} `, i === 0 ? "抢到" : `慢 ${(b.behind_ms / 1000).toFixed(2)} 秒`))),
    state.fouls.map((f) => h("p", { class: "buzz-foul" }, h("b", {}, f.name), ` 提前抢答犯规 −${f.penalty}`)),
  );
}

export function verdicts(state) {
  return state.judgements.map((j) => h("p", { class: `verdict ${j.correct ? "ok" : "bad"}` },
    `${j.name} ${j.correct ? "答对" : "答错"} ${j.delta > 0 ? "+" : ""}${j.delta}`));
}

export function phaseLabel(state) {
  if (state.status === "waiting") return "等待开始";
  if (state.status === "paused") return "暂停中";
  if (state.status === "finished") return "比赛结束";
  return { staking: "选择分值", shown: "读题", open: "作答中", judged: "已判定" }[state.phase] ?? "";
}
