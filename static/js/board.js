// Triage board: the list refreshes itself every 30 s (htmx polling), but not while the clerk has
// cases ticked for a bulk assignment — a refresh would silently untick them.
"use strict";

document.addEventListener("htmx:beforeRequest", function (event) {
  var board = event.detail.elt;
  if (board && board.hasAttribute && board.hasAttribute("data-pause-when-ticked") &&
      board.querySelector("input[type=checkbox]:checked")) {
    event.preventDefault();
  }
});
