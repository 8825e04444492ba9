// Draft review: pick in bulk, count what is picked, and post a draft's fields only once it is opened
// to edit (closed drafts post nothing, so a long document stays under the form's field limit).
const form = document.querySelector("[data-drafts]");
if (form) {
  const boxes = () => [...form.querySelectorAll('input[name="pick"]')];
  const count = form.querySelector("[data-picked]");
  const update = () => { count.textContent = boxes().filter((box) => box.checked).length; };
  form.querySelectorAll("[data-pick]").forEach((button) => {
    button.addEventListener("click", () => {
      const what = button.dataset.pick;
      for (const box of boxes()) {
        const type = box.closest("[data-type]").dataset.type;
        if (what === "all") box.checked = true;
        else if (what === "none") box.checked = false;
        else if (type === what) box.checked = true;
      }
      update();
    });
  });
  form.addEventListener("change", (event) => { if (event.target.name === "pick") update(); });
  form.querySelectorAll("details.draft-edit").forEach((details) => {
    details.addEventListener("toggle", () => {
      if (!details.open) return;
      details.querySelectorAll("input, textarea").forEach((field) => { field.disabled = false; });
      const pick = details.closest("[data-type]").querySelector('input[name="pick"]');
      pick.checked = true;  // editing a draft means keeping it
      update();
    });
  });
  update();
}
