// The outbox (DESIGN.md §5): every field write is an op kept in IndexedDB until the server has
// answered it. Shared by the pages (<script>) and the service worker (importScripts), so a flush
// runs the same code whichever of them starts it. Needs the vendored idb-keyval (UMD) first.
"use strict";

(function (root) {
  var kv = root.idbKeyval;
  var OUTBOX_DB = "gridrounds";
  var META_DB = "gridrounds-meta";
  var COPY_DB = "gridrounds-copy"; // the grid's data (grid-store.js), wiped with the rest
  var PUSH_URL = "/api/v1/sync/push";
  var MAX_OPS = 100; // the server takes 500; smaller batches answer sooner on a weak signal
  var MAX_BYTES = 1500000; // the server takes 2 MB
  var PUSH_TIMEOUT = 30000;
  var UPLOAD_TIMEOUT = 90000;
  var stores = {};

  // idb-keyval keeps one connection open per store. When another tab or the worker deletes the
  // database (logout) this connection must close, or the deletion waits forever; the next call
  // then opens a fresh one.
  function store(db, name) {
    if (!stores[db]) {
      var opened = kv.createStore(db, name);
      stores[db] = opened;
      opened("readonly", function (objectStore) {
        var connection = objectStore.transaction.db;
        connection.onversionchange = function () {
          connection.close();
          if (stores[db] === opened) {
            delete stores[db];
          }
        };
      });
    }
    return stores[db];
  }
  function outbox() { return store(OUTBOX_DB, "outbox"); }
  function metaStore() { return store(META_DB, "meta"); }

  function newUuid() {
    var c = root.crypto;
    if (c.randomUUID) {
      return c.randomUUID();
    }
    // randomUUID needs a secure context; plain-HTTP intranets still have getRandomValues.
    var b = c.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  var channel = root.BroadcastChannel ? new root.BroadcastChannel("gridrounds-outbox") : null;
  function changed() {
    if (channel) {
      channel.postMessage("changed");
    }
    if (root.dispatchEvent && root.CustomEvent) {
      root.dispatchEvent(new root.CustomEvent("outbox-changed"));
    }
  }

  function getMeta(key) { return kv.get(key, metaStore()); }
  function setMeta(key, value) { return kv.set(key, value, metaStore()); }

  function all() { return kv.values(outbox()); }
  function get(id) { return kv.get(id, outbox()); }
  function put(item) { return kv.set(item.op_id, item, outbox()).then(changed); }
  function remove(id) { return kv.del(id, outbox()).then(changed); }
  function patch(item, fields) {
    Object.keys(fields).forEach(function (key) { item[key] = fields[key]; });
    return put(item);
  }

  // The signed-in user's items, oldest first: the server sees them in the order they were made
  // (an elderly check "not reached" twice running depends on it).
  function mine() {
    return Promise.all([getMeta("user"), all()]).then(function (found) {
      var user = found[0];
      return found[1].filter(function (item) { return user && item.user === user; })
        .sort(function (a, b) { return a.created - b.created; });
    });
  }

  function deviceId() {
    return getMeta("device_id").then(function (id) {
      if (id) {
        return id;
      }
      id = newUuid();
      return setMeta("device_id", id).then(function () { return id; });
    });
  }

  function backoff(attempts) {
    var delay = Math.min(5000 * Math.pow(2, attempts - 1), 15 * 60000);
    return Math.round(delay * (0.8 + Math.random() * 0.4));
  }

  function fail(item, error) {
    var attempts = (item.attempts || 0) + 1;
    return patch(item, {
      state: "failed", attempts: attempts, error: error, next_try: Date.now() + backoff(attempts)
    });
  }

  function request(url, options, timeout) {
    var controller = root.AbortController ? new root.AbortController() : null;
    var timer = controller && setTimeout(function () { controller.abort(); }, timeout);
    options.credentials = "same-origin";
    options.cache = "no-store";
    if (controller) {
      options.signal = controller.signal;
    }
    return fetch(url, options).then(function (response) {
      clearTimeout(timer);
      return response;
    }, function (error) {
      clearTimeout(timer);
      throw error;
    });
  }

  function errorOf(response) {
    return response.json().then(function (body) {
      return (body && body.error) || {};
    }, function () { return {}; }).then(function (error) {
      return {
        code: error.code || "http_" + response.status,
        message: error.message || "",
        fields: error.fields || null,
        status: response.status
      };
    });
  }

  var NETWORK = { code: "network", message: "" };

  // Photos go first, each under its own id; the op names them in payload.photo_ids. Once the
  // server has one, its bytes are dropped from the phone. Resolves to "ok", "auth" or "skip".
  function uploadPhotos(item) {
    var photos = item.photos || [];
    var index = 0;
    function next() {
      while (index < photos.length && photos[index].uploaded) {
        index += 1;
      }
      if (index >= photos.length) {
        return Promise.resolve("ok");
      }
      var photo = photos[index];
      var url = "/api/v1/attachments/" + photo.id + (item.grid_id ? "?grid_id=" + item.grid_id : "");
      var headers = { "Content-Type": photo.type || "application/octet-stream", "X-GridRounds-Client": "1" };
      return request(url, { method: "PUT", headers: headers, body: photo.blob }, UPLOAD_TIMEOUT)
        .then(function (response) {
          if (response.ok) {
            photo.uploaded = true;
            photo.blob = null;
            return put(item).then(next);
          }
          if (response.status === 401) {
            return "auth";
          }
          return errorOf(response).then(function (error) {
            error.code = error.code === "http_" + response.status ? "photo" : error.code;
            if (response.status >= 500 || response.status === 429 || response.status === 408) {
              return fail(item, error).then(function () { return "skip"; });
            }
            photo.refused = true; // "edit and resubmit" leaves this one out
            return patch(item, { state: "rejected", error: error }).then(function () { return "skip"; });
          });
        }, function () {
          return fail(item, NETWORK).then(function () { return "skip"; });
        });
    }
    return next();
  }

  function settle(item, result, summary) {
    summary.results[item.op_id] = result;
    var status = result.status;
    if (status === "applied" || status === "duplicate") {
      summary.done += 1;
      return remove(item.op_id);
    }
    var error = result.error || { code: status, message: "" };
    if (status === "conflict" || status === "rejected") {
      return patch(item, { state: "rejected", error: error, current: result.current || null });
    }
    if (status === "quarantined") {
      return patch(item, { state: "quarantined", error: error });
    }
    return fail(item, { code: "no_result", message: "" });
  }

  function push(batch, summary) {
    return deviceId().then(function (device) {
      var headers = { "Content-Type": "application/json", "X-GridRounds-Client": "1" };
      var body = JSON.stringify({ device_id: device, ops: batch.map(function (item) { return item.op; }) });
      return request(PUSH_URL, { method: "POST", headers: headers, body: body }, PUSH_TIMEOUT);
    }).then(function (response) {
      if (response.status === 401) {
        summary.auth = true;
        return Promise.all(batch.map(function (item) { return patch(item, { state: "pending" }); }));
      }
      if (response.status === 413 && batch.length > 1) {
        var half = Math.ceil(batch.length / 2);
        return push(batch.slice(0, half), summary).then(function () {
          return summary.auth ? null : push(batch.slice(half), summary);
        });
      }
      if (!response.ok) {
        return errorOf(response).then(function (error) {
          return Promise.all(batch.map(function (item) {
            return response.status === 413 ? patch(item, { state: "rejected", error: error }) : fail(item, error);
          }));
        });
      }
      return response.json().then(function (body) {
        var byId = {};
        (body.results || []).forEach(function (result) { byId[result.op_id] = result; });
        return Promise.all(batch.map(function (item) {
          return settle(item, byId[item.op_id] || {}, summary);
        }));
      });
    }, function () {
      return Promise.all(batch.map(function (item) { return fail(item, NETWORK); }));
    });
  }

  function batches(items) {
    var out = [];
    var current = [];
    var bytes = 0;
    items.forEach(function (item) {
      var size = JSON.stringify(item.op).length;
      if (current.length && (current.length >= MAX_OPS || bytes + size > MAX_BYTES)) {
        out.push(current);
        current = [];
        bytes = 0;
      }
      current.push(item);
      bytes += size;
    });
    if (current.length) {
      out.push(current);
    }
    return out;
  }

  function due(item, now, force) {
    return item.state === "pending" || (item.state === "failed" && (force || !item.next_try || item.next_try <= now));
  }

  function flushNow(options) {
    var summary = { results: {}, done: 0, auth: false, waiting: 0 };
    var force = options && options.force;
    return mine().then(function (items) {
      var now = Date.now();
      // Nothing else flushes while we hold the lock: "sending" is left over from a flush that
      // was cut off (a closed tab). The server answers a repeat by op_id, so send it again.
      var stale = items.filter(function (item) { return item.state === "sending"; });
      return Promise.all(stale.map(function (item) { return patch(item, { state: "pending" }); }))
        .then(function () {
          var queue = items.filter(function (item) { return due(item, now, force); });
          var ready = [];
          var index = 0;
          function photosOfNext() {
            if (index >= queue.length || summary.auth) {
              return null;
            }
            var item = queue[index++];
            return uploadPhotos(item).then(function (outcome) {
              if (outcome === "auth") {
                summary.auth = true;
              } else if (outcome === "ok") {
                ready.push(item);
              }
              return photosOfNext();
            });
          }
          return Promise.resolve(photosOfNext()).then(function () {
            if (summary.auth) {
              return null;
            }
            return batches(ready).reduce(function (chain, batch) {
              return chain.then(function () {
                if (summary.auth) {
                  return null;
                }
                return Promise.all(batch.map(function (item) {
                  return patch(item, { state: "sending" });
                })).then(function () { return push(batch, summary); });
              });
            }, Promise.resolve());
          });
        });
    }).then(function () {
      if (summary.auth) {
        return setMeta("auth_needed", true);
      }
      // Only an answer from the server proves the login works again.
      return Object.keys(summary.results).length ? setMeta("auth_needed", false) : null;
    }).then(function () {
      return mine();
    }).then(function (left) {
      summary.waiting = left.filter(function (item) {
        return item.state === "pending" || item.state === "failed";
      }).length;
      return summary;
    });
  }

  var chain = Promise.resolve();
  // One flush at a time per browser: the page and the service worker may both start one (a tap
  // on "sync now" while Background Sync fires). Web Locks span both; without them, one per context.
  function flush(options) {
    if (root.navigator && root.navigator.onLine === false) {
      return Promise.resolve({ results: {}, done: 0, auth: false, offline: true });
    }
    var run = function () { return flushNow(options); };
    var locks = root.navigator && root.navigator.locks;
    var result = locks ? locks.request("gridrounds-outbox-flush", run) : (chain = chain.then(run, run));
    return result.catch(function (error) {
      // An IndexedDB failure must not leave the page with an unhandled rejection; items stay put.
      return { results: {}, done: 0, auth: false, error: String(error) };
    });
  }

  function deleteDatabase(name) {
    return new Promise(function (resolve) {
      var request = root.indexedDB.deleteDatabase(name);
      request.onsuccess = request.onerror = function () { resolve(); };
      // Blocked: another context has not closed yet; it does on versionchange, then this succeeds.
      setTimeout(resolve, 4000);
    });
  }

  // Logout: the outbox, the device's bookkeeping and every cache of ours go; the worker stays.
  function wipe() {
    var waits = [OUTBOX_DB, META_DB, COPY_DB].map(function (name) {
      var open = stores[name];
      delete stores[name];
      var closed = open ? open("readonly", function (s) { s.transaction.db.close(); }).catch(function () {}) : Promise.resolve();
      return closed.then(function () { return deleteDatabase(name); });
    });
    var caches = root.caches ? root.caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) { return name.indexOf(CACHE_PREFIX) === 0; })
        .map(function (name) { return root.caches.delete(name); }));
    }) : Promise.resolve();
    return Promise.all(waits.concat([caches]));
  }

  var CACHE_PREFIX = "gridrounds-";

  root.GridOutbox = {
    CACHE_PREFIX: CACHE_PREFIX,
    PAGES_CACHE: CACHE_PREFIX + "pages-v1",
    COPY_DB: COPY_DB,
    store: store,
    newUuid: newUuid,
    all: all,
    mine: mine,
    get: get,
    put: put,
    remove: remove,
    patch: patch,
    getMeta: getMeta,
    setMeta: setMeta,
    flush: flush,
    wipe: wipe,
    channel: channel
  };
})(self);
