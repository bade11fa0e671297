// The phone's copy of the worker's grids (DESIGN.md §5): the sync pull kept in IndexedDB, one
// key per entity holding {id: row}. Pulled with the cursor after login and whenever the app opens
// online, so a refresh with nothing new is one small request. Entities the server adds later
// (a `report`, say) are kept the same way without a change here. Wiped at logout by
// GridOutbox.wipe(), which deletes this database with the outbox.
"use strict";

(function (root) {
  const kv = root.idbKeyval;
  const OB = root.GridOutbox;
  const PULL_URL = "/api/v1/sync/pull";
  const PAGE = 1000; // rows per request: fewer round trips on a 400 ms link
  const AUTO_EVERY = 60000; // an app opened twice a minute pulls once
  const LAST_TRY = "gridrounds.copyTried";

  function db() { return OB.store(OB.COPY_DB, "copy"); }
  function meta() { return kv.get("meta", db()).then((m) => m || {}); }

  // Everything, as {meta, rows: {entity: {id: data}}}: a grid is a few hundred KB in memory.
  async function load() {
    const info = await meta();
    const names = info.entities || [];
    const maps = names.length ? await kv.getMany(names, db()) : [];
    const rows = {};
    names.forEach((name, i) => { rows[name] = maps[i] || {}; });
    return { meta: info, rows: rows };
  }

  async function apply(changes, info) {
    const names = Array.from(new Set(changes.map((c) => c.entity)));
    const maps = await kv.getMany(names, db());
    const byName = {};
    names.forEach((name, i) => { byName[name] = maps[i] || {}; });
    changes.forEach((change) => {
      const rows = byName[change.entity];
      if (change.deleted) delete rows[change.id];
      else rows[change.id] = Object.assign({ id: change.id, version: change.version }, change.data);
    });
    info.entities = Array.from(new Set((info.entities || []).concat(names)));
    await kv.setMany(names.map((name) => [name, byName[name]]).concat([["meta", info]]), db());
  }

  async function clear() {
    await kv.clear(db());
  }

  let running = null;

  // Resolves to {ok, changes} or {auth: true} / {offline: true}; `progress(n)` after each page.
  function pull(user, progress) {
    if (!running) {
      running = pullAll(String(user), progress || (() => {})).finally(() => { running = null; });
    }
    return running;
  }

  async function pullAll(user, progress) {
    let info = await meta();
    if (info.user !== user) { // someone else's copy never mixes with this worker's
      await clear();
      info = { user: user };
    }
    let received = 0;
    let restarted = false;
    for (;;) {
      const query = "?limit=" + PAGE + (info.cursor ? "&cursor=" + encodeURIComponent(info.cursor) : "");
      let response;
      try {
        response = await fetch(PULL_URL + query, {
          credentials: "same-origin",
          cache: "no-store",
          headers: { "X-GridRounds-Client": "1", Accept: "application/json" }
        });
      } catch (error) {
        return { offline: true };
      }
      if (response.status === 401) return { auth: true };
      if (response.status === 400 && info.cursor && !restarted) {
        // A cursor the server no longer reads (restored database): start the copy over.
        restarted = true;
        await clear();
        info = { user: user };
        continue;
      }
      if (!response.ok) return { offline: true, status: response.status };
      const page = await response.json();
      info.cursor = page.next_cursor;
      if (!page.has_more) {
        info.complete = true;
        info.refreshed_at = new Date().toISOString();
      }
      await apply(page.changes, info);
      received += page.changes.length;
      progress(received);
      if (!page.has_more) return { ok: true, changes: received };
    }
  }

  // Pages kept as pages (case pages waiting on the worker, 消息): their areas have no shells yet.
  async function keepPages() {
    if (!root.caches) return;
    try {
      const response = await fetch("/pwa/offline-urls", { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok || response.redirected) return;
      const cache = await caches.open(OB.PAGES_CACHE);
      await Promise.all((await response.json()).urls.map(async (url) => {
        const page = await fetch(url, { credentials: "same-origin" });
        if (page.status === 200 && !page.redirected) await cache.put(url, page);
      }));
    } catch (error) { /* the data copy is what matters; these come next time */ }
  }

  function counts(copy) {
    const residents = Object.values(copy.rows.resident || {}).filter((r) => !r.moved_out);
    return { households: Object.keys(copy.rows.household || {}).length, residents: residents.length };
  }

  root.GridStore = { load: load, pull: pull, counts: counts, meta: meta };

  // --- the card on 我的网格, and the automatic refresh on every worker page ----------------------

  if (!root.document) return;
  const strings = JSON.parse((document.getElementById("gridrounds-strings") || {}).textContent || "{}");
  function t(key, values) {
    let text = strings[key] || key;
    Object.keys(values || {}).forEach((name) => { text = text.split("{" + name + "}").join(values[name]); });
    return text;
  }
  function localTime(moment) {
    return new Date(moment).toLocaleString(document.documentElement.lang || "zh-CN",
      { dateStyle: "short", timeStyle: "short", timeZone: "Asia/Shanghai" });
  }

  async function show(note) {
    const box = document.querySelector("[data-offline-copy]");
    if (!box) return;
    const copy = await load();
    const status = box.querySelector("[data-download-status]");
    const line = box.querySelector("[data-copy-counts]");
    if (copy.meta.refreshed_at) {
      const n = counts(copy);
      line.textContent = t("copy_counts", { households: n.households, residents: n.residents });
      status.textContent = (note ? note + " " : "") + t("last_download", { time: localTime(copy.meta.refreshed_at) });
    } else {
      status.textContent = note || status.getAttribute("data-never");
    }
  }

  async function refresh(manual) {
    const user = document.body.getAttribute("data-user");
    const wanted = document.querySelector("meta[name=gridrounds-copy]");
    if (!user || !wanted || !root.indexedDB) return null;
    const last = Number(localStorage.getItem(LAST_TRY) || 0);
    if (!manual && Date.now() - last < AUTO_EVERY && (await meta()).complete) return show();
    localStorage.setItem(LAST_TRY, String(Date.now()));
    const box = document.querySelector("[data-offline-copy]");
    const bar = box && box.querySelector("[data-download-progress]");
    const button = box && box.querySelector("[data-copy-refresh]");
    if (bar) bar.hidden = false;
    if (button) button.disabled = true;
    let result;
    try {
      result = await pull(user, (n) => {
        const status = box && box.querySelector("[data-download-status]");
        if (status) status.textContent = t("copy_progress", { n: n });
      });
    } catch (error) {
      result = { offline: true };
    }
    if (bar) bar.hidden = true;
    if (button) button.disabled = false;
    document.dispatchEvent(new CustomEvent("grid-copy-changed", { detail: result }));
    if (result.ok && (result.changes || manual)) await keepPages();
    if (result.auth) return show(t("auth_expired"));
    if (result.offline) return show(t(navigator.onLine === false ? "download_offline" : "err_network"));
    return show(result.changes ? t("copy_done", { n: result.changes }) : t("copy_current"));
  }
  root.GridStore.refresh = refresh;
  root.GridStore.show = show;

  document.addEventListener("click", (event) => {
    const button = event.target.closest ? event.target.closest("[data-copy-refresh]") : null;
    if (button) refresh(true);
  });
  window.addEventListener("online", () => refresh(false));
  if (!document.body.hasAttribute("data-shell") && navigator.onLine !== false) refresh(false);
  else show();
})(self);
