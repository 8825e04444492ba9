// A table wider than its box says so: the cue above a .scroll-x box shows only while it scrolls
// sideways (a phone, or every column shown), and follows the box as it is resized or toggled.
const check = (box) => {
  const scroller = box.querySelector(".scroll-x");
  if (scroller) box.toggleAttribute("data-overflows", scroller.scrollWidth > scroller.clientWidth + 1);
};
const observer = new ResizeObserver((entries) => {
  for (const entry of entries) check(entry.target.closest(".scroll-box"));
});
for (const box of document.querySelectorAll(".scroll-box")) {
  observer.observe(box);
  const content = box.querySelector(".scroll-x > *");
  if (content) observer.observe(content);
  check(box);
}
