// archiver's pages: copy buttons beside citations. The pages work without this script: the
// citation text stays selectable, and the buttons stay hidden.
"use strict";

function copyText(button) {
  const target = document.getElementById(button.dataset.copy);
  if (!target) return;
  const text = target.textContent;
  const done = () => {
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = "Copy"; }, 1500);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => selectText(target));
  } else {
    selectText(target);
    try { if (document.execCommand("copy")) done(); } catch (e) { /* the text stays selected */ }
  }
}

function selectText(element) {
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", () => copyText(button));
  }
});
