// A practice sitting (专项练习, 错题复习) as a 答题卡: every question served on this page, in order,
// each answered (right / partly / wrong) or not yet, with the learner's 标记. Kept in this tab's
// sessionStorage, so a reload comes back to the same sitting; only the feedback already shown is kept.
import { answerCard, flagButton, flagStore } from "./answer_card.js";
import { h } from "./dom.js";

const KEPT = 200; // questions kept per sitting; older ones drop off the card

function verdictOf(result) {
  if (!result || result.feedback.sealed) return null;
  if (result.feedback.correct) return "right";
  return result.feedback.partial ? "partial" : "wrong";
}

// show(item, result): draws one question (result null) or its feedback; next(): serves a new one.
export function practiceSession({ root, key, show, next, counter }) {
  const storeKey = `quizapp:practice:${key}`;
  const flags = flagStore(`${storeKey}:flags`, window.sessionStorage);
  let entries = [];
  try {
    entries = JSON.parse(sessionStorage.getItem(storeKey) || "[]");
  } catch {
    entries = [];
  }
  let current = entries.length - 1;
  const intro = counter?.textContent ?? "";

  const keep = () => {
    try {
      sessionStorage.setItem(storeKey, JSON.stringify(entries));
    } catch {
      // a full store: the sitting lasts as long as the page
    }
  };
  const indexOf = (item) => entries.findIndex((entry) => entry.item.item_id === item.item_id);

  function tally() {
    if (!counter) return;
    const done = entries.filter((entry) => entry.result);
    const right = done.filter((entry) => entry.result.feedback.correct).length;
    counter.textContent = done.length ? `本次已答 ${done.length} 题，答对 ${right} 题` : intro;
  }

  function pick(index) {
    current = index;
    const entry = entries[index];
    show(entry.item, entry.result);
    card.render();
    window.scrollTo({ top: 0 });
  }

  const card = answerCard({
    count: () => entries.length,
    stateOf: (i) => ({
      answered: Boolean(entries[i].result),
      flagged: flags.has(entries[i].item.item_id),
      current: i === current,
      verdict: verdictOf(entries[i].result),
    }),
    onPick: pick,
  });
  root.before(h("div", { class: "card-strip practice-card" }, card.strip, card.openButton));
  root.after(card.sheet, card.backdrop);

  function flag(item) {
    return flagButton(flags.has(item.item_id), () => {
      const on = flags.toggle(item.item_id);
      card.render();
      return on;
    });
  }

  return {
    served(item) {
      entries.push({ item, result: null });
      entries = entries.slice(-KEPT);
      current = entries.length - 1;
      keep();
      card.render();
    },
    // A written question's text is kept: its self-marking step (the keypoints) survives a reload.
    pending(item, step) {
      const index = indexOf(item);
      if (index === -1) return;
      entries[index].item.self_mark = step;
      item.self_mark = step;
      keep();
    },
    answered(item, result) {
      const index = indexOf(item);
      if (index === -1) return;
      entries[index].result = result;
      keep();
      tally();
      card.render();
    },
    // What the button under a feedback does: the newest question serves the next one; an older
    // one goes back to the newest.
    onward(item) {
      const index = indexOf(item);
      const last = entries.length - 1;
      if (index === -1 || index === last) return { label: "下一题", go: next };
      return { label: `回到第 ${last + 1} 题`, go: () => pick(last) };
    },
    flag,
    // The 标记 toggle on a feedback, beside the verdict.
    decorate(item) {
      root.querySelector(".verdict")?.append(flag(item));
    },
    // After a reload: the sitting as it was, on its newest question. False when there is none.
    resume() {
      tally();
      if (!entries.length) {
        card.render();
        return false;
      }
      pick(entries.length - 1);
      return true;
    },
  };
}
