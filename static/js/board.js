// Triage board: the list refreshes itself every 30 s (htmx polling), but not while the clerk has
// cases ticked for a bulk assignment — a refresh would silently untick them. The bulk bar shows
// only while something is ticked, so on a phone it never hides the list for nothing.
"use strict";

document.addEventListener("htmx:beforeRequest", function (event) {
  var board = event.detail.elt;
  if (board && board.hasAttribute && board.hasAttribute("data-pause-when-ticked") &&
      board.querySelector("input[type=checkbox]:checked")) {
    event.preventDefault();
  }
});

function showBulkBar() {
  var bar = document.querySelector(".bulk-bar");
  if (!bar) { return; }
  var ticked = document.querySelectorAll("input[name=case_ids]:checked").length;
  bar.hidden = ticked === 0;
  var count = bar.querySelector("[data-ticked-count]");
  if (count) { count.textContent = ticked ? "(" + ticked + ")" : ""; }
}

document.addEventListener("change", function (event) {
  if (event.target && event.target.name === "case_ids") { showBulkBar(); }
});
document.addEventListener("htmx:afterSwap", showBulkBar);
document.addEventListener("DOMContentLoaded", showBulkBar);
