// 对战 hub: join a mode's queue and wait ("匹配中… n 秒", the server's count), cancel, challenge a
// colleague by login name, accept or decline a challenge. A battle found goes straight to its page.
import { api } from "./api.js";

const root = document.querySelector(".battle-hub");
const el = (name) => root.querySelector(`[data-role="${name}"]`);
const QUEUE = "/api/v1/battles/queue";
const POLL_MS = 1000;
let waiting = false;
let timer = null;

function status(text, error = false) {
  el("status").textContent = text;
  el("status").classList.toggle("status-error", error);
}

function go(battleId) {
  waiting = false;
  window.location.assign(`/battles/${battleId}`);
}

function showWaiting(on, seconds = 0) {
  waiting = on;
  el("matching").hidden = !on;
  for (const button of root.querySelectorAll("[data-mode]")) button.disabled = on;
  if (on) el("matching-text").textContent = `匹配中… ${Math.floor(seconds)} 秒`;
  clearTimeout(timer);
  if (on) timer = setTimeout(poll, POLL_MS);
}

async function poll() {
  if (!waiting) return;
  try {
    const result = await api("GET", QUEUE);
    if (!waiting) return;
    if (result.battle) go(result.battle);
    else showWaiting(true, result.waiting);
  } catch (error) {
    if (error.status === 404) showWaiting(false);
    else { status(error.message, true); timer = setTimeout(poll, POLL_MS * 2); }
  }
}

async function join(mode) {
  status("");
  for (const button of root.querySelectorAll("[data-mode]")) button.disabled = true;
  try {
    const result = await api("POST", QUEUE, { mode });
    if (result.battle) go(result.battle);
    else showWaiting(true, result.waiting);
  } catch (error) {
    showWaiting(false);
    status(error.message, true);
  }
}

async function cancel() {
  showWaiting(false);
  try {
    await api("DELETE", QUEUE);
    // Matched just before the cancel: the battle is there all the same, and it is theirs.
    const result = await api("GET", QUEUE, undefined, { retries: 0 });
    if (result.battle) go(result.battle);
  } catch (error) {
    if (error.status !== 404) status(error.message, true);
  }
}

for (const button of root.querySelectorAll("[data-mode]")) {
  button.addEventListener("click", () => join(button.dataset.mode));
}
el("cancel").addEventListener("click", cancel);
// Leaving the page while waiting leaves the queue: nobody is matched with an empty seat.
window.addEventListener("pagehide", () => {
  if (waiting) api("DELETE", QUEUE, undefined, { retries: 0, keepalive: true }).catch(() => {});
});

el("challenge").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = event.target.elements.username;
  const username = input.value.trim();
  if (!username) { status("请输入同事的登录名", true); input.focus(); return; }
  const button = event.target.querySelector("button");
  button.disabled = true;
  status("");
  try {
    const result = await api("POST", "/api/v1/battles/challenges", { username });
    go(result.battle);
  } catch (error) {
    status(error.message, true);
    button.disabled = false;
  }
});

for (const item of root.querySelectorAll(".invitation")) {
  for (const button of item.querySelectorAll("[data-accept]")) {
    button.addEventListener("click", async () => {
      const accept = button.dataset.accept === "true";
      item.querySelectorAll("button").forEach((b) => { b.disabled = true; });
      const note = el("invitation-status");
      try {
        await api("POST", `/api/v1/battles/${item.dataset.battle}/response`, { accept });
        if (accept) go(item.dataset.battle);
        else { item.remove(); note.textContent = "已拒绝挑战"; }
      } catch (error) {
        note.textContent = error.message;
        note.classList.add("status-error");
        item.querySelectorAll("button").forEach((b) => { b.disabled = false; });
      }
    });
  }
}
