// GridRounds service worker (DESIGN.md §5). Served at /sw.js by webapp/pwa/views.py, which puts
// VERSION, PRECACHE, OFFLINE_URL, START_FALLBACK and OFFLINE_ROUTES above this line. Outbox items live in
// IndexedDB, never in a cache, so installing a new version cannot lose them.
/* global VERSION, PRECACHE, OFFLINE_URL, START_FALLBACK, OFFLINE_ROUTES, GridOutbox */
"use strict";

importScripts("/static/vendor/idb-keyval.js", "/static/js/outbox-core.js");

var PREFIX = GridOutbox.CACHE_PREFIX;
var SHELL = PREFIX + "shell-" + VERSION;
var PAGES = GridOutbox.PAGES_CACHE;
var PAGE_TIMEOUT = 3000;
var SEARCH_URL = "/search";
// The field pages' shells (webapp/pwa/offline_pages.py): offline, a navigation to one of these
// routes gets its shell, which offline-pages.js fills from the phone's copy of the grid.
var SHELLS = OFFLINE_ROUTES.map(function (route) {
  return { pattern: new RegExp(route[0]), url: "/pwa/shell/" + route[1] };
});
// Never answered from a cache: the login pages, the API, the worker itself, other JSON.
var PASS_THROUGH = /^\/(api\/|login|logout|sw\.js|pwa\/)/;

function precache() {
  return caches.open(SHELL).then(function (cache) {
    // `reload`: a stale copy in the HTTP cache must not become this version's shell.
    var urls = PRECACHE.concat(SHELLS.map(function (shell) { return shell.url; }));
    return cache.addAll(urls.map(function (url) { return new Request(url, { cache: "reload" }); }));
  });
}

// A new version installs and then waits: the page offers "update" and only a tap activates it,
// so a form half filled in is never reloaded from under the worker.
self.addEventListener("install", function (event) {
  event.waitUntil(precache());
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf(PREFIX) === 0 && name !== SHELL && name !== PAGES;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("message", function (event) {
  var type = event.data && event.data.type;
  if (type === "skip-waiting") {
    self.skipWaiting();
  } else if (type === "claim") {
    // A page whose load was under way while this worker activated is missed by the claim in
    // `activate`; it asks again, so the first page after login works offline at once.
    event.waitUntil(self.clients.claim());
  } else if (type === "wipe") {
    // Logout (see outbox.js): this worker's own connections close and whatever a flush of its
    // opened meanwhile is deleted too; no Background Sync retry runs until someone signs in.
    signedOut = true;
    event.waitUntil(GridOutbox.wipe());
  } else if (type === "ensure-shell") {
    // Logout wiped every cache; the next signed-in page asks for the shell back.
    signedOut = false;
    event.waitUntil(caches.has(SHELL).then(function (present) { return present ? null : precache(); }));
  }
});

function pageKey(url) {
  var parsed = new URL(url);
  parsed.searchParams.delete("source"); // the installed app's start_url marker
  parsed.hash = "";
  return parsed.href;
}

function cacheablePage(response) {
  var type = response.headers.get("Content-Type") || "";
  var control = response.headers.get("Cache-Control") || "";
  return response.status === 200 && response.type === "basic" && !response.redirected &&
    type.indexOf("text/html") === 0 && control.indexOf("no-store") < 0;
}

// Offline: a field page is rendered from the copy (its shell); any other page is the copy kept
// from the last visit, if there is one.
function cachedPage(key) {
  var path = new URL(key).pathname;
  path = START_FALLBACK[path] || path;
  for (var i = 0; i < SHELLS.length; i += 1) {
    if (SHELLS[i].pattern.test(path)) {
      return caches.match(SHELLS[i].url, { cacheName: SHELL });
    }
  }
  return caches.open(PAGES).then(function (cache) {
    return cache.match(key, { ignoreVary: true }).then(function (found) {
      var path = new URL(key).pathname;
      if (found || !START_FALLBACK[path]) {
        return found;
      }
      return cache.match(new URL(START_FALLBACK[path], key).href, { ignoreVary: true });
    });
  });
}

function offlinePage() {
  return caches.match(OFFLINE_URL, { cacheName: SHELL }).then(function (page) {
    return page || new Response("当前离线", { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" } });
  });
}

// Pages: the network first, so a worker online always sees today's data; after a few seconds
// without an answer, or with none at all, the copy kept from the last visit or download.
function navigate(event) {
  var key = pageKey(event.request.url);
  var network = fetch(event.request);
  event.waitUntil(network.then(function (response) {
    if (!cacheablePage(response)) {
      return null;
    }
    var copy = response.clone();
    return caches.open(PAGES).then(function (cache) { return cache.put(key, copy); });
  }).catch(function () {}));
  return new Promise(function (resolve) {
    var answered = false;
    function answer(response) {
      if (response && !answered) {
        answered = true;
        resolve(response);
      }
    }
    var timer = setTimeout(function () { cachedPage(key).then(answer); }, PAGE_TIMEOUT);
    network.then(function (response) {
      clearTimeout(timer);
      if (response.status >= 500) { // the server is down: yesterday's page beats an error
        return cachedPage(key).then(function (cached) { answer(cached || response); });
      }
      answer(response);
    }, function () {
      clearTimeout(timer);
      return cachedPage(key).then(function (cached) { return cached || offlinePage(); }).then(answer);
    });
  });
}

// Static files: their names do not change between versions, but VERSION does, and each version
// precaches its own copies, so cache-first is safe. After a logout wiped the caches nothing is
// stored again until a signed-in page asks for the shell ("ensure-shell").
function staticFile(request) {
  return caches.match(request, { cacheName: SHELL }).then(function (found) {
    return found || fetch(request).then(function (response) {
      if (response.status === 200 && response.type === "basic") {
        var copy = response.clone();
        caches.has(SHELL).then(function (kept) {
          return kept && caches.open(SHELL).then(function (cache) { return cache.put(request, copy); });
        });
      }
      return response;
    });
  });
}

// Search is a POST (no names in URLs). Without an answer it goes to the search shell, the words
// in the fragment, which never leaves the phone; offline-pages.js searches the copy.
function search(request) {
  var copy = request.clone();
  var offline = function () {
    return copy.formData().then(function (form) {
      var words = String(form.get("q") || "");
      return Response.redirect(self.location.origin + SEARCH_URL + "#q=" + encodeURIComponent(words), 303);
    });
  };
  return new Promise(function (resolve) {
    var answered = false;
    function answer(promise) {
      if (!answered) {
        answered = true;
        resolve(promise);
      }
    }
    var timer = setTimeout(function () { answer(offline()); }, PAGE_TIMEOUT);
    fetch(request).then(function (response) {
      clearTimeout(timer);
      answer(response.status >= 500 ? offline() : response);
    }, function () {
      clearTimeout(timer);
      answer(offline());
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method === "POST" && request.mode === "navigate" && url.origin === self.location.origin &&
      url.pathname === SEARCH_URL) {
    event.respondWith(search(request));
    return;
  }
  if (request.method !== "GET" || url.origin !== self.location.origin || request.headers.get("HX-Request")) {
    return; // POSTs, other sites and htmx fragments go straight to the network, never cached
  }
  if (request.mode === "navigate") {
    if (PASS_THROUGH.test(url.pathname)) {
      event.respondWith(fetch(request).catch(offlinePage));
    } else {
      event.respondWith(navigate(event));
    }
  } else if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(staticFile(request));
  }
});

// Background Sync (Chromium): flush even when no page of ours is open. A rejection asks the
// browser to try again later, which we want while items are still waiting.
// A retry the browser queued before a logout must not open (and so re-create) the databases the
// logout just wiped: with no outbox database there is nothing waiting.
var signedOut = false;

function outboxExists() {
  if (signedOut) {
    return Promise.resolve(false);
  }
  if (!self.indexedDB || !indexedDB.databases) {
    return Promise.resolve(true);
  }
  return indexedDB.databases().then(function (list) {
    return list.some(function (db) { return db.name === "gridrounds"; });
  });
}

self.addEventListener("sync", function (event) {
  if (event.tag === "outbox") {
    event.waitUntil(outboxExists().then(function (exists) {
      if (!exists) {
        return undefined;
      }
      return GridOutbox.flush().then(function (summary) {
        if (summary.waiting && !summary.auth) {
          throw new Error("outbox items are still waiting");
        }
      });
    }));
  }
});

// Web Push (DESIGN.md §6). The payload is JSON {title, body, url, tag} from webapp/push; a push
// without one still shows something, since browsers penalise a push that shows nothing.
function pushMessage(event) {
  var message = {};
  try {
    message = event.data ? event.data.json() : {};
  } catch (error) {
    message = { body: event.data ? event.data.text() : "" };
  }
  return {
    title: message.title || "网格通",
    options: {
      body: message.body || "",
      tag: message.tag || undefined,
      data: { url: sameOriginPath(message.url) },
      icon: "/static/icons/icon-192.png",
      badge: "/static/icons/icon-192.png"
    }
  };
}

// Only our own pages are opened from a notification, whatever a payload says.
function sameOriginPath(url) {
  try {
    var parsed = new URL(url || "/notifications", self.location.origin);
    return parsed.origin === self.location.origin ? parsed.pathname + parsed.search + parsed.hash : "/";
  } catch (error) {
    return "/";
  }
}

self.addEventListener("push", function (event) {
  var shown = pushMessage(event);
  event.waitUntil(self.registration.showNotification(shown.title, shown.options));
});

// Tapping a notification shows its page: an app window already open is sent there (navigate
// needs no user gesture, so this path is also what the browser test drives), else a new one opens.
function openNotificationTarget(url) {
  var target = new URL(sameOriginPath(url), self.location.origin).href;
  // Only windows this worker controls can be navigated; any other case opens a new window.
  return self.clients.matchAll({ type: "window" }).then(function (windows) {
    var open = windows[0];
    if (!open) {
      return self.clients.openWindow(target);
    }
    return open.navigate(target).then(function (client) {
      return (client || open).focus ? (client || open).focus().catch(function () {}) : client;
    });
  });
}
self.openNotificationTarget = openNotificationTarget;

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  event.waitUntil(openNotificationTarget(event.notification.data && event.notification.data.url));
});
