// 背题模式: 已掌握 on and off without leaving the page (the form posts by itself without script).
const forms = document.querySelectorAll("form.mastered-form");

async function toggle(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector("button");
  const field = form.querySelector('input[name="mastered"]');
  const item = form.closest(".recite-item");
  button.disabled = true;
  try {
    const response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!response.ok) throw new Error(`请求失败（${response.status}）`);
    const result = await response.json();
    item.classList.toggle("is-mastered", result.mastered);
    field.value = result.mastered ? "0" : "1";
    button.textContent = result.mastered ? "✓ 已掌握（点此取消）" : "标记为已掌握";
    button.setAttribute("aria-pressed", result.mastered ? "true" : "false");
  } catch (error) {
    form.querySelector(".status").textContent = error.message;
  } finally {
    button.disabled = false;
  }
}

forms.forEach((form) => form.addEventListener("submit", toggle));
