// Web Push subscribe / unsubscribe (DESIGN.md §6) for the element carrying data-push-topics:
// a community's notices on its public board, or a signed-in user's own alerts on /notifications
// (empty topics: the server adds user:<id>). Best-effort: Chrome's push needs Google's service.
(function () {
  "use strict";
  var box = document.querySelector("[data-push-topics]");
  if (!box) {
    return;
  }
  var on = box.querySelector("[data-push-on]");
  var off = box.querySelector("[data-push-off]");
  var state = box.querySelector("[data-push-state]");
  var topics = box.getAttribute("data-push-topics").split(" ").filter(Boolean);
  var flag = "gridrounds-push:" + (topics.join(" ") || "me");
  var API = "/api/v1/push/subscriptions";

  function say(key) {
    state.textContent = box.getAttribute("data-say-" + key) || "";
    box.setAttribute("data-push-state-now", key);
  }

  function show(subscribed) {
    on.hidden = subscribed;
    off.hidden = !subscribed;
  }

  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    on.hidden = off.hidden = true;
    say("unsupported");
    return;
  }

  function call(method, body) {
    return fetch(API, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-GridRounds-Client": "1" },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (!response.ok) {
        throw new Error("push subscription answered " + response.status);
      }
      return response;
    });
  }

  function keyBytes(text) {
    var base64 = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes;
  }

  function browserSubscription(registration) {
    return registration.pushManager.getSubscription().then(function (existing) {
      if (existing) {
        return existing;
      }
      return fetch("/api/v1/push/key").then(function (response) {
        if (!response.ok) {
          throw new Error("no push key");
        }
        return response.json();
      }).then(function (body) {
        return registration.pushManager.subscribe({
          userVisibleOnly: true,
          applicationServerKey: keyBytes(body.public_key)
        });
      });
    });
  }

  function subscribe() {
    on.disabled = true;
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") {
        say("denied");
        return null;
      }
      return navigator.serviceWorker.ready.then(browserSubscription).then(function (subscription) {
        var json = subscription.toJSON();
        return call("POST", { endpoint: json.endpoint, keys: json.keys, topics: topics });
      }).then(function () {
        localStorage.setItem(flag, "1");
        show(true);
        say("on");
      });
    }).catch(function () {
      say("failed");
    }).then(function () {
      on.disabled = false;
    });
  }

  function othersKept() {
    for (var i = 0; i < localStorage.length; i += 1) {
      var key = localStorage.key(i);
      if (key !== flag && key.indexOf("gridrounds-push:") === 0) {
        return true;
      }
    }
    return false;
  }

  function unsubscribe() {
    off.disabled = true;
    navigator.serviceWorker.ready.then(function (registration) {
      return registration.pushManager.getSubscription();
    }).then(function (subscription) {
      localStorage.removeItem(flag);
      if (!subscription) {
        return null;
      }
      var body = { endpoint: subscription.endpoint };
      if (othersKept()) {
        body.topics = topics.length ? topics : ["user:" + box.getAttribute("data-push-user")];
        return call("DELETE", body);
      }
      return call("DELETE", body).then(function () { return subscription.unsubscribe(); });
    }).then(function () {
      show(false);
      say("off");
    }).catch(function () {
      say("failed");
    }).then(function () {
      off.disabled = false;
    });
  }

  on.addEventListener("click", subscribe);
  off.addEventListener("click", unsubscribe);
  navigator.serviceWorker.ready.then(function (registration) {
    return registration.pushManager.getSubscription();
  }).then(function (subscription) {
    var subscribed = Boolean(subscription) && localStorage.getItem(flag) === "1" &&
      Notification.permission === "granted";
    show(subscribed);
    say(subscribed ? "on" : "off");
  });
})();
