// The unit picker: a search box over unit names (with the units above each) in place of a box for
// unit codes. The form still submits codes: the original input stays in the form, hidden, holding
// the chosen codes ("many": space-separated). Matches come a few at a time from the server, so a
// province of 10,000 units costs no more than a county. Without JavaScript the code box remains.
import { clear, h } from "./dom.js";

let pickers = 0;

function enhance(input) {
  const many = input.dataset.unitPicker === "many";
  const searchUrl = input.dataset.searchUrl;
  let chosen = JSON.parse(input.dataset.chosen || "[]");
  const id = `unit-picker-${(pickers += 1)}`;
  const label = input.getAttribute("aria-label") || input.closest("label")?.querySelector(".field-label")?.textContent || "单位";

  const chips = h("ul", { class: "unit-chips", "aria-label": `已选${label}` });
  const listbox = h("ul", { class: "unit-options", role: "listbox", id: `${id}-list`, hidden: true });
  const box = h("input", {
    type: "search",
    class: "input unit-search",
    role: "combobox",
    autocomplete: "off",
    "aria-autocomplete": "list",
    "aria-expanded": "false",
    "aria-controls": listbox.id,
    "aria-label": label,
    placeholder: many ? "输入单位名称搜索，可选多个" : "输入单位名称搜索",
  });
  const picker = h("div", { class: "unit-picker" }, chips, box, listbox);
  // A <label> around the field would pass every click inside it to its first button (a chip's ×):
  // the field becomes a plain box, and the search box carries the label's words.
  const wrapper = input.closest("label");
  if (wrapper) {
    const field = h("div", { class: wrapper.className });
    field.append(...wrapper.childNodes);
    wrapper.replaceWith(field);
  }
  input.type = "hidden";
  input.removeAttribute("aria-label");
  input.after(picker);

  let options = [];
  let active = -1;
  let asked = 0;
  let timer = null;

  function store() {
    input.value = chosen.map((unit) => unit.code).join(" ");
    clear(chips);
    for (const unit of chosen) {
      chips.append(
        h(
          "li",
          { class: "unit-chip", title: unit.path ? `${unit.path} › ${unit.name}` : unit.name, "data-code": unit.code },
          h("span", {}, unit.name),
          h("button", { type: "button", class: "unit-chip-remove", "aria-label": `移除${unit.name}`, onclick: () => remove(unit.code) }, "×"),
        ),
      );
    }
    chips.hidden = chosen.length === 0;
  }

  function remove(code) {
    chosen = chosen.filter((unit) => unit.code !== code);
    store();
    box.focus();
  }

  function choose(unit) {
    chosen = many ? [...chosen.filter((other) => other.code !== unit.code), unit] : [unit];
    store();
    box.value = "";
    close();
    box.focus();
  }

  function close() {
    listbox.hidden = true;
    box.setAttribute("aria-expanded", "false");
    box.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function highlight(index) {
    active = index;
    options.forEach((option, position) => option.setAttribute("aria-selected", String(position === index)));
    if (index >= 0) {
      box.setAttribute("aria-activedescendant", options[index].id);
      options[index].scrollIntoView({ block: "nearest" });
    }
  }

  function show(units) {
    clear(listbox);
    options = units.map((unit, index) =>
      h(
        "li",
        {
          role: "option",
          id: `${id}-option-${index}`,
          class: "unit-option",
          "aria-selected": "false",
          "data-code": unit.code,
          onmousedown: (event) => event.preventDefault(), // keep the focus in the box
          onclick: () => choose(unit),
        },
        h("span", { class: "unit-option-name" }, unit.name),
        h("span", { class: "unit-option-path" }, [unit.path, unit.level].filter(Boolean).join(" › ")),
      ),
    );
    if (!options.length) listbox.append(h("li", { class: "unit-option-none" }, "没有找到名称含此文字的单位"));
    listbox.append(...options);
    listbox.hidden = false;
    box.setAttribute("aria-expanded", "true");
    active = -1;
  }

  async function search() {
    const ask = (asked += 1);
    const response = await fetch(`${searchUrl}?q=${encodeURIComponent(box.value.trim())}`, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).catch(() => null);
    if (ask !== asked) return; // a later search has been sent: its answer counts
    if (!response || !response.ok) {
      clear(listbox).append(h("li", { class: "unit-option-none" }, "搜索失败，请稍后再试"));
      listbox.hidden = false;
      return;
    }
    show((await response.json()).units);
  }

  box.addEventListener("input", () => {
    asked += 1; // what is on its way, or shown, is for text no longer in the box
    options = [];
    clear(listbox);
    close();
    clearTimeout(timer);
    timer = setTimeout(search, 150);
  });
  box.addEventListener("focus", () => {
    if (listbox.hidden) search();
  });
  box.addEventListener("blur", () => setTimeout(close, 150));
  box.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (listbox.hidden) return void search();
      const step = event.key === "ArrowDown" ? 1 : -1;
      if (options.length) highlight((active + step + options.length) % options.length);
    } else if (event.key === "Enter") {
      if (box.value.trim()) event.preventDefault(); // a name being searched is not a submission
      if (!listbox.hidden && options.length) {
        event.preventDefault(); // choosing is not submitting either
        options[Math.max(active, 0)].click();
      }
    } else if (event.key === "Escape") {
      close();
    } else if (event.key === "Backspace" && !box.value && chosen.length) {
      remove(chosen[chosen.length - 1].code);
    }
  });
  store();
}

document.querySelectorAll("input[data-unit-picker]").forEach(enhance);
