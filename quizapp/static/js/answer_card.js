// 答题卡: the question numbers of an attempt or a practice session, each showing answered / flagged /
// unanswered, one tap away. On a phone: a scrolling strip of numbers and a sheet with the whole grid,
// opened by the 答题卡 button; on a desktop the grid stands in a side panel.
import { h } from "./dom.js";

// Flags ("标记", to come back to) live in this browser (localStorage for an attempt, sessionStorage
// for a practice sitting) under one key each: the taker's own notes, never sent to the server and
// never part of the answers.
export function flagStore(key, store = window.localStorage) {
  let flags;
  try {
    flags = new Set(JSON.parse(store.getItem(key) || "[]").map(String));
  } catch {
    flags = new Set();
  }
  const keep = () => {
    try {
      if (flags.size) store.setItem(key, JSON.stringify([...flags]));
      else store.removeItem(key);
    } catch {
      // private mode or a full store: the flags last as long as the page
    }
  };
  return {
    has: (id) => flags.has(String(id)),
    get size() { return flags.size; },
    toggle(id) {
      const name = String(id);
      if (flags.has(name)) flags.delete(name);
      else flags.add(name);
      keep();
      return flags.has(name);
    },
    clear() {
      flags.clear();
      keep();
    },
  };
}

// The 标记 toggle shown beside a question's type.
export function flagButton(flagged, onToggle) {
  const button = h("button", { type: "button", class: "flag-toggle", "aria-pressed": flagged ? "true" : "false",
    title: "标记这道题，稍后回来检查" });
  const paint = (on) => {
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = on ? "⚑ 已标记" : "⚐ 标记";
  };
  paint(flagged);
  button.addEventListener("click", () => paint(onToggle()));
  return button;
}

const LEGEND = [
  ["answered", "已答"],
  ["flagged", "标记"],
  ["open", "未答"],
];

// count(): how many numbers; stateOf(i): {answered, flagged, current, unsaved, verdict};
// onPick(i): jump there. render() repaints every number from stateOf.
export function answerCard({ count, stateOf, onPick }) {
  const strip = h("nav", { class: "navigator", "aria-label": "题号" });
  const grid = h("div", { class: "answer-card", role: "group", "aria-label": "答题卡题号" });
  const tally = h("p", { class: "card-tally small", role: "status" });
  const closeButton = h("button", { type: "button", class: "btn sheet-close" }, "关闭");
  const backdrop = h("div", { class: "sheet-backdrop", hidden: true });
  const sheet = h("aside", { class: "card-sheet", id: "answer-card", "aria-label": "答题卡" },
    h("div", { class: "sheet-head" }, h("h2", {}, "答题卡"), closeButton),
    h("ul", { class: "card-legend small", "aria-label": "图例" },
      ...LEGEND.map(([kind, label]) => h("li", {}, h("span", { class: `legend-swatch ${kind}`, "aria-hidden": "true" }), label))),
    grid,
    tally);
  const openButton = h("button", { type: "button", class: "btn card-open", "aria-controls": "answer-card",
    "aria-expanded": "false" }, "答题卡");

  const isOpen = () => sheet.classList.contains("open");
  function close() {
    if (!isOpen()) return;
    sheet.classList.remove("open");
    backdrop.hidden = true;
    openButton.setAttribute("aria-expanded", "false");
    openButton.focus();
  }
  function open() {
    render();
    sheet.classList.add("open");
    backdrop.hidden = false;
    openButton.setAttribute("aria-expanded", "true");
    (grid.querySelector("button.current") || grid.querySelector("button"))?.focus();
  }
  openButton.addEventListener("click", () => (isOpen() ? close() : open()));
  closeButton.addEventListener("click", close);
  backdrop.addEventListener("click", close);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });

  function numbers(container, { inSheet }) {
    const total = count();
    while (container.children.length > total) container.lastChild.remove();
    for (let i = container.children.length; i < total; i += 1) {
      container.append(h("button", { type: "button", onclick: () => {
        if (inSheet) close();
        onPick(i);
      } }, String(i + 1)));
    }
    [...container.children].forEach((button, i) => {
      const state = stateOf(i);
      button.classList.toggle("answered", Boolean(state.answered));
      button.classList.toggle("flagged", Boolean(state.flagged));
      button.classList.toggle("unsaved", Boolean(state.unsaved));
      button.classList.toggle("current", Boolean(state.current));
      for (const verdict of ["right", "partial", "wrong"]) button.classList.toggle(verdict, state.verdict === verdict);
      button.setAttribute("aria-current", state.current ? "true" : "false");
      const words = [state.answered ? "已答" : "未答", state.flagged ? "已标记" : null].filter(Boolean).join("，");
      button.setAttribute("aria-label", `第 ${i + 1} 题（${words}）`);
    });
  }

  function render() {
    numbers(strip, { inSheet: false });
    numbers(grid, { inSheet: true });
    const total = count();
    let answered = 0;
    let flagged = 0;
    for (let i = 0; i < total; i += 1) {
      const state = stateOf(i);
      answered += state.answered ? 1 : 0;
      flagged += state.flagged ? 1 : 0;
    }
    tally.textContent = `已答 ${answered} · 标记 ${flagged} · 未答 ${total - answered}`;
    openButton.textContent = `答题卡 ${answered}/${total}`;
    strip.querySelector("button.current")?.scrollIntoView({ block: "nearest", inline: "nearest" });
  }

  return { strip, openButton, sheet, backdrop, render, close };
}
