// 日日学 without the network: today's set kept on this device, and answers given offline queued
// until the network returns.
//  - The kept set holds the questions as the API gives them before an answer (stem, options — no
//    key, no explanation) and, for answered ones, only whether they were right.
//  - A queued answer keeps the set's day and the time it was given; it is sent (oldest first) on the
//    page's load and when the browser comes back online. The server grades it as usual, for that
//    day only, and once: re-sending after a lost response returns the first result.
// Both live in localStorage under the signed-in person's id (a shared phone keeps them apart).
const csrfMeta = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";
let csrfToken = csrfMeta();

const setKey = (user) => `quizapp.daily.set.${user}`;
const queueKey = (user) => `quizapp.daily.queue.${user}`;

function read(key, fallback) {
  try {
    return JSON.parse(window.localStorage.getItem(key)) ?? fallback;
  } catch {
    return fallback;
  }
}

function write(key, value) {
  try {
    if (value === null) window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // private mode or a full store: nothing kept, the page still works online
  }
}

// The device's calendar day, as the set's date is written (2026-03-01).
export function deviceToday() {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

const verdictOf = (feedback) => (!feedback || feedback.sealed ? null
  : feedback.correct ? "right" : feedback.partial ? "partial" : "wrong");

// Keep today's set: the questions without anything an answer reveals.
export function keepSet(user, state) {
  write(setKey(user), {
    date: state.date,
    size: state.size,
    items: state.items.map((item) => ({
      item_id: item.item_id,
      position: item.position,
      reason: item.reason,
      question: item.question,
      answered: item.answered,
      verdict: item.answered ? verdictOf(item.feedback) : null,
    })),
  });
}

export function keptSet(user) {
  return read(setKey(user), null);
}

export function queued(user) {
  return read(queueKey(user), []);
}

const same = (a, b) => a.day === b.day && a.question_id === b.question_id;

export function enqueue(user, entry) {
  const queue = queued(user).filter((other) => !same(other, entry));
  queue.push(entry);
  write(queueKey(user), queue);
}

function drop(user, entry) {
  const queue = queued(user).filter((other) => !same(other, entry));
  write(queueKey(user), queue.length ? queue : null);
}

async function freshToken() {
  try {
    const page = await (await fetch("/daily", { credentials: "same-origin", cache: "no-store" })).text();
    const found = page.match(/name="csrf-token" content="([^"]+)"/);
    if (found) csrfToken = found[1];
  } catch {
    // still offline: the next attempt tries again
  }
}

// One queued answer: {ok, data} graded; {refused, message} the server will never take it (another
// day, not in the set…); {later, message} not now (offline, signed out, the server busy).
async function send(entry, retried = false) {
  let response;
  try {
    response = await fetch("/api/v1/daily/answers", {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken },
      body: JSON.stringify({ question_id: entry.question_id, answer: entry.answer, day: entry.day,
        answered_at: entry.answered_at }),
    });
  } catch {
    return { later: true, message: "网络仍未连接" };
  }
  const data = await response.json().catch(() => ({}));
  const code = data.error?.code;
  if (response.ok) return { ok: true, data };
  if (code === "csrf" && !retried) {
    await freshToken();
    return send(entry, true);
  }
  if (response.status === 401) return { later: true, message: "登录已过期，请重新登录后再发送" };
  if (response.status >= 500 || response.status === 429 || code === "password_change_required" || code === "csrf") {
    return { later: true, message: data.error?.message ?? "服务器暂时无法处理，稍后自动重试" };
  }
  return { refused: true, message: data.error?.message ?? `请求失败（${response.status}）` };
}

let running = null;

// Send what waits, oldest first; stops at the first "not now". Resolves to [{entry, ok|refused|later,
// data, message}] (one sync at a time: a second call joins the running one).
export function flush(user) {
  if (!running) {
    running = (async () => {
      const results = [];
      for (const entry of queued(user)) {
        const outcome = await send(entry);
        results.push({ entry, ...outcome });
        if (outcome.later) break;
        drop(user, entry);
      }
      return results;
    })().finally(() => {
      running = null;
    });
  }
  return running;
}
