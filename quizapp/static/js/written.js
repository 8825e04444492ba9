// 简答 and 情景应答: the public's words under the scene, the answer box with its character count, and
// 专项练习's self-marking (tick the keypoints the answer covered, then see the model answer). Every
// text a person typed or the bank holds goes in through textContent (dom.h), never as HTML.
import { h } from "./dom.js";

const WRITTEN_TYPES = new Set(["short", "situation"]);
const MAX_DEFAULT = 2000;

export function isWritten(question) {
  return WRITTEN_TYPES.has(question.type);
}

// A number of points as a person writes it: 2, 1.5.
export function pointsText(points) {
  return String(Math.round(points * 100) / 100);
}

// 情景应答: what the member of the public says, quoted under the scene. "" for a 简答.
export function saysQuote(question) {
  if (!question.says) return "";
  return h("blockquote", { class: "says" }, h("span", { class: "says-who" }, "群众说："), `“${question.says}”`);
}

// The answer box with "已写 n / 2000 字" above it (below, a phone's keyboard and the sticky buttons
// would hide it while typing); onInput(text) on every change.
export function writtenField(question, value, onInput) {
  const max = question.max_length || MAX_DEFAULT;
  const box = h("textarea", {
    class: "input written-answer", rows: "8", maxlength: String(max), "aria-label": "作答内容",
    placeholder: question.type === "situation" ? "请写下您会怎样回应这位群众" : "请写下您的回答",
  });
  box.value = value ?? "";
  const counter = h("p", { class: "char-count small", "aria-live": "polite" });
  const count = () => {
    const used = box.value.length;
    counter.textContent = `已写 ${used} / ${max} 字`;
    counter.classList.toggle("near-limit", used >= max * 0.9);
  };
  count();
  box.addEventListener("input", () => {
    count();
    onInput(box.value);
  });
  return h("div", { class: "field written-field" },
    h("div", { class: "written-head" }, h("span", { class: "written-label" }, "作答"), counter), box);
}

// Self-marking: the learner's own text, then each keypoint with its points as a checkbox.
// onSubmit(covered indexes) sends them; it may throw (the message is shown, the form stays).
export function selfMarkForm(question, step, onSubmit) {
  const boxes = step.keypoints.map((_, index) => h("input", { type: "checkbox", value: String(index) }));
  const send = h("button", { class: "btn btn-primary btn-block", type: "submit" }, "提交自评");
  const status = h("p", { class: "status", role: "status" });
  const form = h("form", { class: "question self-mark", novalidate: true },
    h("div", { class: "question-meta" },
      h("span", { class: "tag" }, question.type_label),
      question.category ? h("span", { class: "tag tag-soft" }, question.category) : null),
    h("p", { class: "stem stem-answered" }, question.stem),
    saysQuote(question),
    h("h3", {}, "你的作答"),
    h("p", { class: "written-text" }, step.answer),
    h("fieldset", { class: "keypoints" },
      h("legend", {}, `对照评分要点自评（满分 ${pointsText(step.max_points)} 分）`),
      h("p", { class: "hint" }, "勾选您的回答中答到的要点，提交后显示参考答案"),
      ...step.keypoints.map((keypoint, index) => h("label", { class: "keypoint" },
        boxes[index],
        h("span", { class: "keypoint-text" }, keypoint.point),
        h("span", { class: "keypoint-points" }, `${pointsText(keypoint.points)} 分`)))),
    send,
    status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    send.disabled = true;
    send.textContent = "提交中…";
    status.textContent = "";
    status.classList.remove("status-error");
    try {
      await onSubmit(boxes.filter((box) => box.checked).map((box) => Number(box.value)));
    } catch (error) {
      status.textContent = error.message;
      status.classList.add("status-error");
      send.disabled = false;
      send.textContent = "提交自评";
    }
  });
  return form;
}

// A self-marked answer's feedback: the points, the learner's text, the keypoints (✓ those ticked,
// when known), the model answer. The explanation and the source follow (quiz.renderFeedback).
export function writtenFacts(feedback, covered) {
  const ticked = new Set(covered ?? []);
  const got = feedback.max_points * feedback.score;
  return [
    h("p", { class: "written-marks" }, "自评得分 ", h("strong", {}, pointsText(got)), ` / ${pointsText(feedback.max_points)} 分`),
    h("h3", {}, "你的作答"),
    h("p", { class: "written-text" }, feedback.your_answer_text),
    h("h3", {}, "评分要点"),
    h("ol", { class: "keypoint-list" }, ...feedback.rubric.map((keypoint, index) => h("li",
      { class: covered ? (ticked.has(index) ? "covered" : "missed") : "" },
      h("span", { class: "keypoint-mark", "aria-label": covered ? (ticked.has(index) ? "已答到" : "未答到") : null },
        covered ? (ticked.has(index) ? "✓" : "✗") : `${index + 1}.`),
      h("span", { class: "keypoint-text" }, keypoint.point),
      h("span", { class: "keypoint-points" }, `${pointsText(keypoint.points)} 分`)))),
    feedback.deductions?.length
      ? h("p", { class: "muted small" }, `扣分项：${feedback.deductions.map((d) => `${d.point}（扣 ${pointsText(d.points)} 分）`).join("；")}`)
      : "",
    h("h3", {}, "参考答案"),
    h("p", { class: "written-text key" }, feedback.model_answer),
  ];
}
