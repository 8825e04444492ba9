// 政策原文: a link to an article (#第十条) with a quote to mark (?hl=…) lands on the marked words,
// not only on the article's first line (an article can run for a screen or more).
const doc = document.querySelector(".reading-doc");
const hash = decodeURIComponent(window.location.hash.slice(1));
const target = hash ? document.getElementById(hash) : null;
const mark = (target && target.querySelector("mark")) || (!target && doc?.querySelector("mark"));
if (mark) {
  target?.classList.add("is-target");
  mark.scrollIntoView({ block: "center" });
}
