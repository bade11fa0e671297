// GridRounds page glue. Loaded with `defer` on every page; no inline script anywhere (CSP).
"use strict";

(function () {
  // A record's UUID is made here, at submit time, never rendered into a form a cache may keep:
  // a retried submission then carries the same id and the server answers it once.
  function newUuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // randomUUID needs a secure context; plain-HTTP intranets still have getRandomValues.
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" +
      hex.slice(16, 20) + "-" + hex.slice(20);
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    if (form.hasAttribute && form.hasAttribute("data-record-form")) {
      var idField = form.querySelector("input[name=record_id]");
      if (idField && !idField.value) {
        idField.value = newUuid();
      }
      var submit = form.querySelector("button[type=submit]");
      if (submit) {
        submit.disabled = true; // one tap, one record
      }
    }
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
