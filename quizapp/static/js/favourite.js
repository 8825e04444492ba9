// 收藏: a star on a question the learner has answered. starButton() builds one for the pages drawn
// by script (日日学, 练习, 复习); buttons the server drew (错题本, 我的收藏, 成绩) are wired on load.
import { api } from "./api.js";
import { h } from "./dom.js";

function show(button, starred) {
  button.setAttribute("aria-pressed", starred ? "true" : "false");
  button.textContent = starred ? "★ 已收藏" : "☆ 收藏";
  button.title = starred ? "取消收藏" : "收藏这道题";
}

function wire(button, questionId, onChange) {
  button.addEventListener("click", async () => {
    const starred = button.getAttribute("aria-pressed") !== "true";
    button.disabled = true;
    try {
      await api(starred ? "PUT" : "DELETE", `/api/v1/questions/${questionId}/favourite`);
      show(button, starred);
      onChange?.(starred);
    } catch (error) {
      button.textContent = error.message;
    } finally {
      button.disabled = false;
    }
  });
}

// onChange(starred) keeps the caller's copy of the state (a feedback drawn again later) in step.
export function starButton(questionId, starred, onChange) {
  const button = h("button", { class: "btn star-toggle", type: "button" });
  show(button, Boolean(starred));
  wire(button, questionId, onChange);
  return button;
}

for (const button of document.querySelectorAll("button[data-favourite]")) {
  show(button, button.getAttribute("aria-pressed") === "true");
  wire(button, button.dataset.favourite);
}
