// GridRounds page glue. Loaded with `defer` on every page; no inline script anywhere (CSP).
"use strict";

(function () {
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
    // Field forms (record and profile edits) are saved by outbox.js, through the outbox.
  });

  // "Add my location": asks the phone for a fix only when the worker taps, never on load.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-locate]");
    if (!button) {
      return;
    }
    var box = button.closest("[data-location]");
    var status = box.querySelector("[data-location-status]");
    if (!navigator.geolocation) {
      status.textContent = button.getAttribute("data-unavailable") || "—";
      return;
    }
    status.textContent = "…";
    navigator.geolocation.getCurrentPosition(function (position) {
      box.querySelector("input[name=lat]").value = position.coords.latitude.toFixed(6);
      box.querySelector("input[name=lng]").value = position.coords.longitude.toFixed(6);
      box.querySelector("input[name=accuracy_m]").value = Math.round(position.coords.accuracy);
      status.textContent = "±" + Math.round(position.coords.accuracy) + " m ✓";
    }, function () {
      status.textContent = button.getAttribute("data-failed") || "✗";
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  });
})();
