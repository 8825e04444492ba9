// 对战: the battle page. Everything it shows comes from the server's view of the battle (the page's
// first one, then the event stream's): the phase and its times on the server's clock (corrected for
// this device's clock by each event's `now`), the question (its key only once it has ended), every
// player's progress. A tap answers once; the server decides whether it was in time.
import { api } from "./api.js";
import { clear, h } from "./dom.js";

const root = document.querySelector(".battle");
const el = (name) => root.querySelector(`[data-role="${name}"]`);
const { events: eventsUrl, answers: answersUrl, card: cardUrl, hub: hubUrl, battle: battleId } = root.dataset;
const OUTCOME = { win: "胜", draw: "平", loss: "负" };
const HEADLINE = { win: "胜利！", draw: "平局", loss: "惜败" };
const JUDGE = [{ key: "true", text: "正确" }, { key: "false", text: "错误" }];

let state = null;
let offset = 0; // the server's clock − this device's, in ms
let stageKey = null;
let picked = new Set(); // a multiple-choice question's options ticked, not yet sent
let pickedFor = null;
let sent = null; // {index, result | error} of this page's own answer
let source = null;
const answeredSeen = new Set(); // "seat:index" seen answered while the question was open

const serverNow = () => Date.now() + offset;
const keysOf = (value) => (value === null || value === undefined ? [] : Array.isArray(value) ? value.map(String) : [String(value)]);
const over = (view) => view.status === "finished" || view.status === "declined";

function nameParts(name) {
  const match = /^(.*?)（(.*)）$/.exec(name);
  return match ? [match[1], match[2]] : [name, ""];
}

function receive(view) {
  if (view.now) offset = Date.parse(view.now) - Date.now();
  state = view;
  draw();
  if (over(view) && source) { source.close(); source = null; el("offline").hidden = true; }
}

// ---- players: progress, never another's option before the key shows ------------------------------

// "A. 三十日；C. 六十日" → "A、C" (the options are on the screen); 正确 / 错误 as they are.
function shortChoice(text) {
  const keys = [...text.matchAll(/(?:^|；)([A-Z])\. /g)].map((match) => match[1]);
  return keys.length ? keys.join("、") : text;
}

function playerState(player, view) {
  const kind = view.phase.kind;
  if (view.status === "finished") return h("span", { class: `player-outcome outcome-${player.outcome}` }, `第 ${player.place} 名 · ${OUTCOME[player.outcome] ?? ""}`);
  if (player.forfeited) return h("span", { class: "player-gone" }, "已离开");
  if (kind === "invited") return h("span", { class: "muted" }, player.accepted ? "已就位" : "等待接受");
  if (kind === "question") {
    return player.answered_current
      ? h("span", { class: "player-done" }, "✓ 已答")
      : h("span", { class: "player-waiting" }, "… 作答中");
  }
  if (kind === "reveal") {
    const chosen = view.current?.chosen?.[player.seat];
    if (chosen === undefined) {  // the machine chooses no option: whether it answered, as this page saw
      const answered = player.machine && answeredSeen.has(`${player.seat}:${view.phase.index}`);
      return h("span", { class: "muted" }, player.machine ? (answered ? "已作答" : "—") : "未作答");
    }
    const right = chosen === view.current.key;
    return h("span", { class: right ? "player-right" : "player-wrong", title: chosen }, `${right ? "✓" : "✗"} ${shortChoice(chosen)}`);
  }
  return h("span", { class: "muted" }, "准备");
}

function drawPlayers(view) {
  if (view.phase.kind === "question") {
    for (const p of view.players) if (p.answered_current) answeredSeen.add(`${p.seat}:${view.phase.index}`);
  }
  const list = clear(el("players"));
  list.classList.toggle("four", view.players.length > 2);
  for (const player of view.players) {
    const [name, unit] = nameParts(player.name);
    const mine = player.seat === view.me;
    list.append(h("li", { class: `battle-player${mine ? " mine" : ""}${player.forfeited ? " gone" : ""}`, "data-seat": player.seat },
      h("span", { class: "player-avatar", "aria-hidden": "true" }, player.machine ? "机" : name.slice(0, 1)),
      h("span", { class: "player-body" },
        h("span", { class: "player-name" }, name, mine ? h("span", { class: "tag tag-soft" }, "我") : null),
        unit ? h("span", { class: "player-unit" }, unit) : null,
        playerState(player, view)),
      view.phase.kind === "invited" ? null : h("span", { class: "player-figures" },
        h("b", { class: "player-score" }, String(player.score)),
        h("span", { class: "player-right-count" }, `答对 ${player.right}`)),
    ));
  }
}

// ---- the clock: the server's times, this device's offset --------------------------------------

function tick() {
  if (!state) return;
  const phase = state.phase;
  const clock = el("clock");
  const target = phase.kind === "question" ? phase.deadline : phase.next_at;
  if (!target || !["lead", "question", "reveal"].includes(phase.kind)) { clock.hidden = true; return; }
  clock.hidden = false;
  const left = Math.max(0, Date.parse(target) - serverNow());
  const seconds = Math.ceil(left / 1000);
  const last = phase.index + 1 >= state.count;
  el("clock-label").textContent = phase.kind === "lead" ? "即将开始" : phase.kind === "question" ? "剩余" : last ? "即将揭晓结果" : "下一题";
  el("clock-value").textContent = `${seconds} 秒`;
  clock.dataset.urgent = phase.kind === "question" && seconds <= 5 ? "true" : "false";
  const bar = el("clock-bar");
  bar.hidden = phase.kind !== "question";
  bar.value = Math.round((1000 * left) / (state.question_seconds * 1000));
}

// ---- the stage: waiting, the question, its key, the result ------------------------------------

function choicesOf(question) {
  return question.type === "judge" && !question.options.length ? JUDGE : question.options;
}

function optionButtons(view, { answerable }) {
  const current = view.current;
  const question = current.question;
  const multiple = question.type === "multiple";
  const key = view.phase.kind === "question" ? [] : keysOf(current.answer);
  const mine = keysOf(current.mine?.response);
  const list = h("div", { class: "battle-options", role: multiple ? "group" : "radiogroup", "aria-label": "选项" });
  for (const choice of choicesOf(question)) {
    const chosen = mine.includes(choice.key) || (answerable && picked.has(choice.key));
    const marks = [];
    if (key.length && key.includes(choice.key)) marks.push("right");
    else if (key.length && chosen) marks.push("wrong");
    const button = h("button", {
      type: "button",
      class: ["battle-option", ...marks].join(" "),
      "data-key": choice.key,
      "aria-pressed": chosen ? "true" : "false",
      disabled: !answerable,
    }, question.type === "judge" ? null : h("span", { class: "choice-key" }, choice.key), h("span", { class: "option-text" }, choice.text),
    key.length && mine.includes(choice.key) ? h("span", { class: "option-mine" }, "我的选择") : null);
    button.addEventListener("click", () => {
      if (multiple) {
        if (picked.has(choice.key)) picked.delete(choice.key);
        else picked.add(choice.key);
        button.setAttribute("aria-pressed", picked.has(choice.key) ? "true" : "false");
        list.parentElement.querySelector(".battle-submit").disabled = picked.size === 0;
      } else {
        button.setAttribute("aria-pressed", "true");
        send(view.current.index, choice.key);
      }
    });
    list.append(button);
  }
  return list;
}

function verdict(view) {
  const index = view.current.index;
  const mine = view.current.mine ?? (sent?.index === index ? sent.result : null);
  if (mine) {
    return h("p", { class: `battle-verdict ${mine.correct ? "right" : "wrong"}` },
      mine.correct ? `答对 +${mine.points} 分` : "答错了", view.phase.kind === "question" ? h("span", { class: "muted small" }, "  等待其他选手…") : null);
  }
  if (sent?.index === index && sent.error) return h("p", { class: "battle-verdict wrong" }, sent.error);
  if (view.phase.kind === "reveal") return h("p", { class: "battle-verdict missed" }, "本题未作答");
  return null;
}

function questionStage(view, me) {
  const current = view.current;
  const question = current.question;
  const index = current.index;
  if (pickedFor !== index) { picked = new Set(); pickedFor = index; }
  const open = view.phase.kind === "question";
  const answerable = open && !current.mine && sent?.index !== index && !me.forfeited;
  const stage = [
    h("div", { class: "question-meta" },
      h("span", { class: "tag" }, question.type_label),
      h("span", { class: "muted small" }, `第 ${index + 1} 题`)),
    question.case ? h("p", { class: "battle-case" }, question.case.body) : null,
    h("p", { class: "battle-stem" }, question.stem),
    optionButtons(view, { answerable }),
  ];
  if (answerable && question.type === "multiple") stage.splice(-1, 0, h("p", { class: "hint" }, "多选题：选出全部正确选项后提交，少选、错选不得分"));
  if (answerable && question.type === "multiple") {
    stage.push(h("button", { type: "button", class: "btn btn-primary btn-block battle-submit", disabled: picked.size === 0, onclick: () => send(index, [...picked].sort()) }, "提交答案（多选）"));
  }
  if (me.forfeited && open) stage.push(h("p", { class: "battle-verdict wrong" }, "您已离开超过 10 秒，本场剩余题目作废"));
  stage.push(h("div", { "data-role": "verdict" }, verdict(view)));
  if (!open) {
    stage.push(h("dl", { class: "answer-facts battle-key" }, h("dt", {}, "正确答案"), h("dd", { class: "key" }, current.key)));
    if (current.explanation) stage.push(h("div", { class: "explanation" }, h("h3", {}, "解析"), h("p", {}, current.explanation)));
  }
  return stage;
}

function resultStage(view, me) {
  const ranked = [...view.players].sort((a, b) => a.place - b.place || a.seat - b.seat);
  const saveButton = h("button", { type: "button", class: "btn btn-primary", "data-role": "save" }, "保存图片");
  saveButton.addEventListener("click", () => savePicture(saveButton));
  return [
    h("div", { class: `battle-result outcome-${me.outcome}` },
      h("span", { class: "battle-result-mark", "aria-hidden": "true" }, OUTCOME[me.outcome] ?? ""),
      h("h2", { class: "battle-result-title" }, HEADLINE[me.outcome] ?? "对战结束"),
      h("p", {}, `第 ${me.place} 名 · 得分 ${me.score} · 答对 ${me.right}/${view.count}`),
      me.forfeited ? h("p", { class: "muted small" }, "中途离开超过 10 秒，之后的题目未计分") : null),
    h("ol", { class: "battle-ranking" }, ranked.map((p) => h("li", { class: p.seat === view.me ? "mine" : "" },
      h("span", { class: "rank-place" }, `第 ${p.place} 名`),
      h("span", { class: "rank-name" }, nameParts(p.name)[0]),
      h("span", { class: "rank-outcome" }, OUTCOME[p.outcome] ?? ""),
      h("b", { class: "rank-score" }, `${p.score} 分`)))),
    h("figure", { class: "battle-card" },
      h("img", { src: cardUrl, alt: "对战战绩卡", width: "600", height: "800" }),
      h("figcaption", { class: "muted small" }, "战绩卡：保存后可分享给同事")),
    h("div", { class: "actions" }, saveButton, h("a", { class: "btn", href: hubUrl }, "再来一局")),
    h("p", { class: "status", role: "status", "data-role": "save-status" }),
  ];
}

function invitedStage(view) {
  const mine = view.players.find((p) => p.seat === view.me);
  if (view.status === "declined") {
    return [h("p", { class: "battle-wait" }, "挑战未被接受"), h("a", { class: "btn btn-block", href: hubUrl }, "返回对战大厅")];
  }
  if (!mine.accepted) {
    const respond = (accept) => async () => {
      try {
        await api("POST", `/api/v1/battles/${battleId}/response`, { accept });
        if (!accept) window.location.assign(hubUrl);
      } catch (error) {
        el("stage").append(h("p", { class: "status status-error" }, error.message));
      }
    };
    const from = view.players.find((p) => p.seat === 1);
    return [h("p", { class: "battle-wait" }, `${nameParts(from.name)[0]} 向您发起挑战`),
      h("div", { class: "actions" },
        h("button", { type: "button", class: "btn btn-primary", onclick: respond(true) }, "接受"),
        h("button", { type: "button", class: "btn", onclick: respond(false) }, "拒绝"))];
  }
  const others = view.players.filter((p) => !p.accepted).map((p) => nameParts(p.name)[0]).join("、");
  return [h("p", { class: "battle-wait" }, `等待 ${others} 接受挑战…`),
    h("p", { class: "muted small" }, "对方在“对战”页接受后立即开始，10 分钟内未接受自动失效。"),
    h("a", { class: "btn btn-block", href: hubUrl }, "返回对战大厅")];
}

function draw() {
  const view = state;
  const me = view.players.find((p) => p.seat === view.me);
  const kind = view.phase.kind;
  el("progress").textContent = ["question", "reveal"].includes(kind) ? `第 ${view.phase.index + 1} / ${view.count} 题` : kind === "finished" ? "对战结束" : "";
  drawPlayers(view);
  tick();
  const key = [view.status, kind, view.phase.index, view.current?.mine ? 1 : 0, me.forfeited, me.accepted].join("|");
  if (key === stageKey) return;
  stageKey = key;
  const stage = clear(el("stage"));
  stage.dataset.phase = view.status === "finished" ? "finished" : kind;
  stage.dataset.index = view.phase.index ?? "";
  let parts;
  if (view.status === "finished") parts = resultStage(view, me);
  else if (kind === "invited" || kind === "declined") parts = invitedStage(view);
  else if (kind === "lead") {
    parts = [h("p", { class: "battle-wait" }, "对战即将开始"),
      h("p", { class: "muted small" }, `共 ${view.count} 题，每题 ${view.question_seconds} 秒。答对得 10 分，越快加分越多。`)];
  } else if (kind === "finished") parts = [h("p", { class: "battle-wait" }, "正在结算成绩…")]; // the finish is being written
  else parts = questionStage(view, me);
  stage.append(...parts.filter((part) => part !== null)); // Node.append would write out a null
}

// ---- answering: once per question --------------------------------------------------------------

async function send(index, answer) {
  if (sent?.index === index) return;
  sent = { index };
  for (const button of el("stage").querySelectorAll(".battle-option, .battle-submit")) button.disabled = true;
  const slot = el("stage").querySelector('[data-role="verdict"]');
  if (slot) clear(slot).append(h("p", { class: "battle-verdict" }, "已提交…"));
  try {
    sent.result = await api("POST", answersUrl, { position: index, answer }, { retries: 1 });
  } catch (error) {
    if (error.status === 0 && state.phase.kind === "question" && state.phase.index === index) {
      sent = null; // the network failed, the answer never arrived: the options again, while time is left
      stageKey = null;
      draw();
      const note = el("stage").querySelector('[data-role="verdict"]');
      note?.append(h("p", { class: "battle-verdict wrong" }, error.message));
      return;
    }
    sent.error = error.message; // 409: the question has ended (a late answer is void), or answered already
  }
  if (state.current?.index === index && slot?.isConnected) clear(slot).append(verdict(state) ?? "");
}

// ---- the result card as a PNG: the SVG drawn on a canvas ---------------------------------------

async function savePicture(button) {
  const note = el("stage").querySelector('[data-role="save-status"]');
  button.disabled = true;
  try {
    const image = new Image();
    image.src = cardUrl;
    await image.decode();
    const canvas = h("canvas", { width: "1200", height: "1600" });
    canvas.getContext("2d").drawImage(image, 0, 0, 1200, 1600);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
    const url = URL.createObjectURL(blob);
    const link = h("a", { href: url, download: `对战战绩-${battleId}.png`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 30000);
    note.textContent = "图片已保存";
  } catch {
    note.textContent = "图片生成失败，可长按战绩卡保存";
  } finally {
    button.disabled = false;
  }
}

// ---- the stream: EventSource reconnects by itself; the server sends the view first each time ----

function connect() {
  source = new EventSource(eventsUrl);
  source.addEventListener("state", (event) => {
    el("offline").hidden = true;
    receive(JSON.parse(event.data));
  });
  source.addEventListener("open", () => { el("offline").hidden = true; });
  source.addEventListener("error", () => {
    if (!source) return;
    const offline = el("offline");
    offline.hidden = false;
    if (source.readyState === EventSource.CLOSED) {
      offline.textContent = "连接已断开，";
      offline.append(h("a", { href: window.location.href }, "点此刷新"));
    } else offline.textContent = "连接中断，正在重连…";
  });
}

receive(JSON.parse(document.getElementById("battle-initial").textContent));
if (!over(state)) connect();
setInterval(tick, 200);
