// One question and its feedback, shared by 日日学, 专项练习 and 错题复习.
import { api } from "./api.js";
import { clear, h } from "./dom.js";
import { starButton } from "./favourite.js";
import { isWritten, saysQuote, writtenFacts, writtenField } from "./written.js";

// 纠错: a learner reports a question they believe is wrong, right from the feedback.
function reportBox(questionId) {
  const text = h("textarea", { class: "input", rows: "3", maxlength: "1000", "aria-label": "纠错说明",
    placeholder: "请写明哪里有误，例如答案与原文不符" });
  const status = h("p", { class: "status", role: "status" });
  const send = h("button", { class: "btn", type: "button" }, "提交纠错");
  send.addEventListener("click", async () => {
    send.disabled = true;
    try {
      const result = await api("POST", `/api/v1/questions/${questionId}/reports`, { reason: text.value });
      status.textContent = result.message;
      text.disabled = true;
    } catch (error) {
      status.textContent = error.message;
      status.classList.add("status-error");
      send.disabled = false;
    }
  });
  return h("details", { class: "report-box" }, h("summary", {}, "题目有误？纠错"), text, send, status);
}

// A case's material above each of its sub-questions: open on the first, folded on the others
// (already read, one tap away). "" when there is none (Node.append would write out a null).
export function casePanel(question) {
  const material = question.case;
  if (!material) return "";
  return h("details", { class: "case-panel", open: material.position === 1 },
    h("summary", {}, h("span", { class: "tag tag-soft" }, "案例"), ` ${material.title}`),
    ...material.body.split(/\n+/).map((line) => h("p", {}, line)));
}

// A calculation's answer as the server reads it: a number (1,234.5 / １２３４.５), then at most a unit.
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)/;
export function isNumber(text) {
  const plain = text.normalize("NFKC").replace(/[,\s]/g, "");
  return NUMBER.test(plain) && plain.length <= 40;
}

// The answer box of a calculation: a number with the question's unit beside it.
export function numberField(question, value, onInput) {
  const input = h("input", {
    class: "input", type: "text", inputmode: "decimal", autocomplete: "off", maxlength: "40",
    "aria-label": `计算结果（单位：${question.unit || "无"}）`, placeholder: "填写计算结果",
  });
  input.value = value ?? "";
  const hint = h("p", { class: "field-hint", role: "status" });
  input.addEventListener("input", () => {
    const typed = input.value.trim();
    const ok = typed === "" || isNumber(typed);
    hint.textContent = ok ? "" : "请填写数字，如 1234.5（可用全角数字，千位可加逗号）";
    input.setAttribute("aria-invalid", ok ? "false" : "true");
    onInput(typed, ok && typed !== "");
  });
  return h("div", { class: "field" },
    h("div", { class: "number-field" }, input, question.unit ? h("span", { class: "unit" }, question.unit) : null),
    hint);
}

const JUDGE_CHOICES = [
  { key: "true", text: "正确" },
  { key: "false", text: "错误" },
];

// Renders the question; calls onSubmit(answer) with the API's answer format. A written question
// (专项练习 only) is answered with its text, then self-marked: its button says 自评.
export function renderQuestion(root, question, { onSubmit, meta = [] }) {
  clear(root);
  const chosen = new Set();
  const written = isWritten(question);
  const label = written ? "自评" : "提交答案";
  const submit = h("button", { class: "btn btn-primary btn-block", type: "submit", disabled: true }, label);
  const form = h("form", { class: "question", novalidate: true });
  form.append(
    h("div", { class: "question-meta" },
      h("span", { class: "tag" }, question.type_label),
      question.category ? h("span", { class: "tag tag-soft" }, question.category) : null,
      ...meta),
    casePanel(question),
    h("p", { class: "stem" }, question.stem),
    saysQuote(question),
  );

  const inputs = [];
  let typedNumber = "";
  let typedText = "";
  if (written) {
    form.append(writtenField(question, "", (text) => {
      typedText = text;
      submit.disabled = text.trim() === "";
    }));
  } else if (question.type === "calc") {
    form.append(numberField(question, "", (typed, ok) => {
      typedNumber = typed;
      submit.disabled = !ok;
    }));
  } else if (question.type === "fill") {
    for (let i = 0; i < question.blanks; i += 1) {
      const input = h("input", {
        class: "input", type: "text", autocomplete: "off", maxlength: "200",
        "aria-label": `第${i + 1}空`, placeholder: question.blanks > 1 ? `第${i + 1}空` : "请填写答案",
      });
      input.addEventListener("input", () => {
        submit.disabled = inputs.some((field) => field.value.trim() === "");
      });
      inputs.push(input);
      form.append(h("label", { class: "field" }, input));
    }
  } else {
    const multiple = question.type === "multiple";
    const choices = question.type === "judge" ? JUDGE_CHOICES : question.options;
    const list = h("div", { class: "choices", role: multiple ? "group" : "radiogroup" });
    for (const choice of choices) {
      const button = h("button", {
        type: "button", class: "choice", "aria-pressed": "false", "data-key": choice.key,
      }, question.type === "judge" ? null : h("span", { class: "choice-key" }, choice.key), h("span", {}, choice.text));
      button.addEventListener("click", () => {
        if (!multiple) {
          chosen.clear();
          list.querySelectorAll(".choice").forEach((b) => b.setAttribute("aria-pressed", "false"));
        }
        if (chosen.has(choice.key)) chosen.delete(choice.key);
        else chosen.add(choice.key);
        button.setAttribute("aria-pressed", chosen.has(choice.key) ? "true" : "false");
        submit.disabled = chosen.size === 0;
      });
      list.append(button);
    }
    if (multiple) form.append(h("p", { class: "hint" }, "多选题：选出全部正确选项，少选得一半分，错选不得分"));
    form.append(list);
  }
  const status = h("p", { class: "status", role: "status" });
  form.append(submit, status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let answer;
    if (written) answer = typedText;
    else if (question.type === "calc") answer = typedNumber;
    else if (question.type === "fill") answer = inputs.map((input) => input.value);
    else if (question.type === "multiple") answer = [...chosen].sort();
    else answer = [...chosen][0];
    submit.disabled = true;
    submit.textContent = "提交中…";
    status.textContent = "";
    try {
      await onSubmit(answer, (attempt) => {
        status.textContent = `网络不稳定，正在重试（第 ${attempt} 次）…`;
      });
    } catch (error) {
      status.textContent = error.message;
      status.classList.add("status-error");
      submit.disabled = false;
      submit.textContent = written ? label : "重新提交";
    }
  });
  root.append(form);
  return form;
}

// A question's 出处 as a link to its article in 政策原文, with the quote marked there.
export function sourceLink(source) {
  const label = `《${source.title}》${source.locator}`;
  if (!source.source_id) return label;
  const query = new URLSearchParams({ at: source.locator, hl: source.quote });
  return h("a", { class: "source-link", href: `/reading/at/${source.source_id}?${query}` }, label);
}

// covered: a self-marked written answer's ticked keypoints, when this page knows them.
export function renderFeedback(root, question, feedback, { pointsAwarded = 0, finishPoints = 0, actions = [], covered = null } = {}) {
  clear(root);
  if (feedback.sealed) {  // the question is on the paper of a contest still running
    root.append(
      h("div", { class: "verdict verdict-sealed", role: "status" }, h("strong", {}, "已提交")),
      h("p", { class: "stem stem-answered" }, question.stem),
      h("p", { class: "notice" }, feedback.message),
      h("div", { class: "actions" }, ...actions),
    );
    return;
  }
  const written = "model_answer" in feedback;
  const verdict = written
    ? (feedback.correct ? "自评：答到全部要点" : feedback.partial ? "自评：答到部分要点" : "自评：未答到要点")
    : feedback.correct ? "回答正确" : feedback.partial ? "部分正确" : "回答错误";
  const kind = feedback.correct ? "right" : feedback.partial ? "partial" : "wrong";
  root.append(
    h("div", { class: `verdict verdict-${kind}`, role: "status" },
      h("strong", {}, verdict),
      pointsAwarded > 0 ? h("span", { class: "points-badge" }, `+${pointsAwarded} 积分`) : null),
    finishPoints > 0 ? h("p", { class: "notice-ok finish-points" }, `完成今日学习 +${finishPoints} 积分`) : "",
    "favourite" in feedback ? h("div", { class: "feedback-tools" }, starButton(question.id, feedback.favourite, (starred) => { feedback.favourite = starred; })) : "",
    h("p", { class: "stem stem-answered" }, question.stem),
    saysQuote(question),
    written
      ? h("section", { class: "written-review" }, ...writtenFacts(feedback, covered))
      : h("dl", { class: "answer-facts" },
        h("dt", {}, "你的答案"), h("dd", {}, feedback.your_answer_text),
        h("dt", {}, "正确答案"), h("dd", { class: "key" }, feedback.correct_answer_text)),
    h("section", { class: "explanation" }, h("h3", {}, "解析"),
      ...feedback.explanation.split(/\n+/).map((line) => h("p", {}, line))),
    feedback.note ? h("aside", { class: "note", role: "note" }, h("strong", {}, "提示 "), feedback.note) : "",
    h("section", { class: "source" },
      h("h3", {}, "出处"),
      ...(feedback.source.quote  // 无出处: a unit's own question, imported without a source document
        ? [h("p", { class: "source-title" }, sourceLink(feedback.source)), h("blockquote", {}, feedback.source.quote)]
        : [h("p", { class: "source-title" }, h("span", { class: "tag tag-warn unsourced" }, "无出处"), " ",
          h("span", { class: "muted small" }, "本题来自单位自有题库，尚未标注政策出处"))])),
    h("div", { class: "actions feedback-actions" }, ...actions),
    reportBox(question.id),
  );
}
