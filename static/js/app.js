// GridRounds page glue. Loaded with `defer` on every page; no inline script anywhere (CSP).
"use strict";

(function () {
  // Ask before a form marked data-confirm is submitted (destructive actions).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
