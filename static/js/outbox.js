// The page side of offline-first (DESIGN.md §5): registers the service worker, turns every field
// form into an outbox item (the one write path), keeps the "N 条待同步" counter and the outbox page
// current, and wipes the phone at logout. Words come from the
// server in #gridrounds-strings; the flush itself is in outbox-core.js, shared with the worker.
"use strict";

(function () {
  const OB = window.GridOutbox;
  const body = document.body;
  const strings = JSON.parse((document.getElementById("gridrounds-strings") || {}).textContent || "{}");
  const TOAST = "gridrounds.toast";
  const PREFILL = "gridrounds.prefill";
  const LAST_USER = "gridrounds.user";
  const LAST_TRY = "gridrounds.copyTried"; // grid-store.js: when the copy was last pulled
  const COUNT = "gridrounds.count"; // items of any user, kept for a logout that must not wait
  let user = body.getAttribute("data-user");
  let usable = Boolean(OB && window.indexedDB);

  function t(key, values) {
    let text = strings[key] || key;
    Object.keys(values || {}).forEach((name) => { text = text.split("{" + name + "}").join(values[name]); });
    return text;
  }
  const $ = (selector, scope) => (scope || document).querySelector(selector);
  const $$ = (selector, scope) => Array.prototype.slice.call((scope || document).querySelectorAll(selector));
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  // --- messages that survive a navigation ("已保存" on the page we go back to) -------------------

  function leave(url, messages) {
    sessionStorage.setItem(TOAST, JSON.stringify(messages));
    location.assign(url);
  }

  function showToast() {
    const raw = sessionStorage.getItem(TOAST);
    sessionStorage.removeItem(TOAST);
    const main = $("main");
    if (!raw || !main) return;
    let box = $(".flashes", main);
    if (!box) {
      box = el("div", "flashes");
      box.setAttribute("role", "status");
      main.insertBefore(box, main.firstChild);
    }
    JSON.parse(raw).forEach((message) => {
      const line = el("p", "flash flash-" + message.kind);
      const parts = message.text.split("{link}");
      line.appendChild(document.createTextNode(parts[0]));
      if (message.link) {
        line.appendChild(document.createTextNode(parts.length > 1 ? "" : " "));
        const link = el("a", message.link.className, message.link.text);
        link.href = message.link.href;
        line.appendChild(link);
      }
      if (parts[1]) line.appendChild(document.createTextNode(parts[1]));
      box.appendChild(line);
    });
  }

  // --- service worker: install, and offer each new version without forcing it ------------------

  let updating = false;
  function registerWorker() {
    const sw = navigator.serviceWorker;
    if (!sw) return;
    sw.register("/sw.js", { scope: "/" }).then((registration) => {
      const offer = () => {
        const banner = $("[data-update-banner]");
        if (registration.waiting && sw.controller && banner) banner.hidden = false;
      };
      offer();
      registration.addEventListener("updatefound", () => {
        const worker = registration.installing;
        if (worker) worker.addEventListener("statechange", () => { if (worker.state === "installed") offer(); });
      });
    }).catch(() => {});
    sw.ready.then((registration) => {
      if (!sw.controller && registration.active) registration.active.postMessage({ type: "claim" });
    }).catch(() => {});
    sw.addEventListener("controllerchange", () => {
      if (updating) {
        updating = false;
        location.reload();
      }
    });
  }

  function backgroundSync() {
    const sw = navigator.serviceWorker;
    if (sw && sw.controller) {
      sw.ready.then((registration) => registration.sync && registration.sync.register("outbox")).catch(() => {});
    }
  }

  // --- building ops exactly as webapp/rounds/forms.py and profile_views.py do -------------------

  const SCALARS = ["household_id", "resident_id", "building_id", "grid_id", "visited_at", "checked_at",
    "visit_kind", "notes", "place", "category", "summary", "severity", "mediation_notes", "method",
    "status", "health_notes", "living_notes", "description", "corrects"];
  const LISTS = ["needs", "present_resident_ids", "photo_ids"];
  const BOOLEANS = ["resolved_on_site", "fixed_on_site"];
  // Error keys the server uses that are not a form field's name.
  const FIELD_OF = { location: "lat", parties: "party_name", photo: "photos", photo_ids: "photos" };

  function recordPayload(form) {
    const data = new FormData(form);
    const text = (name) => (typeof data.get(name) === "string" ? data.get(name) : "");
    const payload = {};
    SCALARS.forEach((name) => {
      const value = text(name).trim();
      if (value) payload[name] = value;
    });
    LISTS.forEach((name) => {
      const values = data.getAll(name).filter((value) => typeof value === "string" && value.trim());
      if (values.length) payload[name] = values;
    });
    BOOLEANS.forEach((name) => { payload[name] = ["on", "true", "1"].indexOf(text(name)) >= 0; });
    if (text("lat") && text("lng")) {
      payload.location = { lat: text("lat"), lng: text("lng"), accuracy_m: text("accuracy_m") || null };
    }
    const names = data.getAll("party_name");
    const roles = data.getAll("party_role");
    const parties = [];
    for (let i = 0; i < Math.min(names.length, roles.length); i += 1) {
      if (names[i].trim()) parties.push({ name: names[i].trim(), role: roles[i] || "other" });
    }
    if (parties.length) payload.parties = parties;
    // A hazard logged from a household names its building; the household only says where to return.
    if (form.getAttribute("data-kind") === "hazard") delete payload.household_id;
    return payload;
  }

  async function photosOf(form) {
    const input = $("input[type=file][name=photos]", form);
    const files = input ? Array.prototype.slice.call(input.files).filter((file) => file.size > 0) : [];
    // Copied into the database now: a camera's temporary file may be gone by the time we sync.
    return Promise.all(files.map(async (file) => ({
      id: OB.newUuid(),
      type: file.type,
      blob: new Blob([await file.arrayBuffer()], { type: file.type }),
      uploaded: false
    })));
  }

  function baseItem(form, op) {
    return {
      op_id: op.op_id,
      op: op,
      user: user,
      where: form.getAttribute("data-where") || "",
      created: Date.now(),
      state: "pending",
      attempts: 0,
      next_try: 0,
      error: null,
      current: null,
      photos: [],
      grid_id: form.getAttribute("data-grid-id") || "",
      form_url: location.pathname,
      return_url: form.getAttribute("data-return-url") || "/",
      saved: form.getAttribute("data-saved") || t("saved"),
      record_url: form.getAttribute("data-record-url") || ""
    };
  }

  async function recordItem(form) {
    const payload = recordPayload(form);
    const op = {
      op_id: OB.newUuid(),
      type: form.getAttribute("data-kind") + ".create",
      record_id: OB.newUuid(), // made at submit time: a retry carries the same id
      client_time: new Date().toISOString(),
      payload: payload
    };
    const item = baseItem(form, op);
    item.photos = await photosOf(form);
    const replaced = form.getAttribute("data-replaces");
    const old = replaced ? await OB.get(replaced) : null;
    if (old) { // photos of the returned record that never reached the server come along
      const kept = payload.photo_ids || [];
      item.photos = (old.photos || []).filter((p) => !p.uploaded && !p.refused && kept.indexOf(p.id) >= 0).concat(item.photos);
    }
    if (item.photos.length) {
      const ids = payload.photo_ids || [];
      item.photos.forEach((photo) => { if (ids.indexOf(photo.id) < 0) ids.push(photo.id); });
      payload.photo_ids = ids;
    }
    return item;
  }

  function fieldNamed(form, name) {
    return Array.prototype.filter.call(form.elements, (element) => element.name === name);
  }

  // Only what the worker changed, against the values the page was rendered with.
  function profileItem(form) {
    const type = form.getAttribute("data-op-form");
    const recordId = parseInt(form.getAttribute("data-record-id"), 10);
    const changes = {};
    (form.getAttribute("data-text-fields") || "").split(" ").filter(Boolean).forEach((name) => {
      const elements = fieldNamed(form, name);
      if (!elements.length) return;
      if (name === "phone" || name === "contact_phone") { // blank means "keep", a tick means "remove"
        const clear = fieldNamed(form, "clear_" + name)[0];
        const value = elements[0].value.trim();
        if (clear && clear.checked) changes[name] = "";
        else if (value) changes[name] = value;
        return;
      }
      let value;
      let initial;
      if (elements[0].type === "radio") {
        const checked = elements.filter((e) => e.checked)[0];
        const original = elements.filter((e) => e.defaultChecked)[0];
        if (!checked) return;
        value = checked.value;
        initial = original ? original.value : "";
      } else {
        value = elements[0].value.trim();
        initial = elements[0].defaultValue;
      }
      if (value !== initial) changes[name] = value;
    });
    (form.getAttribute("data-flag-fields") || "").split(" ").filter(Boolean).forEach((name) => {
      const box = fieldNamed(form, name)[0];
      if (box && box.checked !== box.defaultChecked) changes[name] = box.checked;
    });
    if (!Object.keys(changes).length) return null;
    const version = parseInt((fieldNamed(form, "base_version")[0] || {}).value, 10);
    const payload = {};
    payload[type.split(".")[0] + "_id"] = recordId;
    payload.changes = changes;
    return baseItem(form, {
      op_id: OB.newUuid(),
      type: type,
      record_id: recordId,
      client_time: new Date().toISOString(),
      base_version: isNaN(version) ? null : version,
      payload: payload
    });
  }

  // Ops whose payload is the form's fields: a worker's case action (note, escalation request,
  // 回访) and the check of a resident's report (report.verify).
  // Register changes too (templates/rounds/register_*.html): a create gets a fresh UUID here, not
  // the page's (a cached page is reused for the next family); changes name the resident and the
  // version the worker saw.
  const FIELD_PAYLOAD_OPS = ["case.action", "report.verify", "household.create", "resident.create",
    "resident.move_out", "resident.deceased", "resident.transfer"];

  function caseActionItem(form) {
    const payload = {};
    new FormData(form).forEach((value, name) => {
      if (name !== "csrf_token" && typeof value === "string" && value.trim()) payload[name] = value.trim();
    });
    const op = {
      op_id: OB.newUuid(),
      type: form.getAttribute("data-op-form"),
      record_id: OB.newUuid(),
      client_time: new Date().toISOString(),
      payload: payload
    };
    const registerId = form.getAttribute("data-register-id");
    if (registerId) {
      op.record_id = parseInt(registerId, 10);
      op.base_version = parseInt(payload.base_version, 10);
    }
    delete payload.record_id;
    delete payload.base_version;
    return baseItem(form, op);
  }

  function builderFor(form) {
    if (form.hasAttribute("data-record-form")) return recordItem;
    return FIELD_PAYLOAD_OPS.indexOf(form.getAttribute("data-op-form")) >= 0 ? caseActionItem : profileItem;
  }

  // --- checking and showing errors in the markup the server uses -------------------------------

  function clearErrors(form) {
    $$(".field-error", form).forEach((node) => node.remove());
    $$(".has-error", form).forEach((node) => node.classList.remove("has-error"));
    $$(".alert, [data-client-note]", form.parentNode).forEach((node) => { if (node.parentNode === form.parentNode) node.remove(); });
  }

  function missingFields(form) {
    const problems = {};
    $$("[required]", form).forEach((field) => {
      if (field.disabled || problems[field.name]) return;
      if (field.type === "radio") {
        if (!fieldNamed(form, field.name).some((e) => e.checked)) problems[field.name] = t("choose_one");
      } else if (!field.value.trim()) {
        problems[field.name] = t(field.tagName === "SELECT" ? "choose_one" : "required");
      }
    });
    return problems;
  }

  function showErrors(form, fields, message, extra) {
    clearErrors(form);
    const alert = el("p", "alert", message || t("fix_errors"));
    alert.setAttribute("role", "alert");
    form.parentNode.insertBefore(alert, form);
    Object.keys(fields || {}).forEach((name) => {
      const field = fieldNamed(form, FIELD_OF[name] || name)[0];
      const box = field && field.closest(".field, fieldset");
      if (!box) {
        alert.appendChild(document.createTextNode(" " + fields[name]));
        return;
      }
      const line = el("p", "field-error", fields[name]);
      line.id = name + "-error";
      box.appendChild(line);
      box.classList.add("has-error");
    });
    if (extra) alert.appendChild(extra);
    alert.scrollIntoView({ block: "center" });
  }

  function errorText(item) {
    const error = item.error || {};
    if (error.code === "network") return t("err_network");
    if (error.status >= 500) return t("err_server", { status: error.status });
    if (error.code === "photo" && !error.message) return t("err_photo");
    if (item.state === "quarantined" && !error.message) return t("quarantined_note");
    if (error.fields) {
      const kind = item.op.type.split(".")[0];
      return Object.keys(error.fields).map((name) => {
        const label = strings["f_" + kind + "." + name] || strings["f_" + name];
        return label ? t("field_error", { field: label, message: error.fields[name] }) : error.fields[name];
      }).join(" ");
    }
    return error.message || error.code || "";
  }

  function localTime(moment) {
    return new Date(moment).toLocaleString(document.documentElement.lang || "zh-CN", { dateStyle: "short", timeStyle: "short" });
  }

  function showReturned(form, item) {
    const error = item.error || {};
    let extra = null;
    if (item.state === "rejected") form.setAttribute("data-replaces", item.op_id);
    if (error.code === "conflict" || item.current) {
      // The profile moved on: reload it and put this worker's changes on top of the new version.
      extra = el("button", "button small", t("edit_again"));
      extra.type = "button";
      extra.setAttribute("data-action", "edit");
      extra.setAttribute("data-op", item.op_id);
    }
    showErrors(form, error.fields, error.fields ? t("fix_errors") : errorText(item), extra);
  }

  // --- saving: into the outbox first, then (online) straight on to the server ------------------

  function busy(form, on) {
    const button = $("button[type=submit]", form);
    if (!button) return;
    if (on) {
      button.setAttribute("data-label", button.textContent);
      button.textContent = t("saving");
    } else if (button.getAttribute("data-label")) {
      button.textContent = button.getAttribute("data-label");
    }
    button.disabled = on;
  }

  function nativeSubmit(form) {
    const idField = $("input[name=record_id]", form);
    if (idField && !idField.value && OB) idField.value = OB.newUuid();
    busy(form, true);
    form.submit();
  }

  function savedMessages(item, result) {
    const messages = [{ kind: "success", text: item.saved }];
    const recordId = (result && result.record_id) || item.op.record_id;
    if (item.record_url && item.op.type.slice(-7) === ".create") {
      messages[0].link = { href: item.record_url.replace(/0{8}-0{4}-0{4}-0{4}-0{12}/, recordId), text: t("view"), className: "record-link" };
    }
    const opened = result && result.case && item.op.type.slice(-7) === ".create";
    if (opened) {
      const made = result.case;
      messages.push({ kind: "case", text: t("case_opened"), link: { href: made.url || "/cases/" + made.id, text: made.number || t("view") } });
    }
    return messages;
  }

  function loginUrl(next) {
    return "/login?next=" + encodeURIComponent(next);
  }

  async function deliver(form, item) {
    const offline = [{ kind: "info", text: t("saved_offline") }];
    if (navigator.onLine === false) {
      backgroundSync(); // Chromium sends it when the signal returns, even with the app closed
      return leave(item.return_url, offline);
    }
    const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 10000));
    const summary = await Promise.race([OB.flush({ force: true }), timeout]);
    const left = await OB.get(item.op_id);
    if (!left) return leave(item.return_url, savedMessages(item, summary && summary.results[item.op_id]));
    if (left.state === "rejected" || left.state === "quarantined") {
      busy(form, false);
      return showReturned(form, left);
    }
    if (summary && summary.auth) return leave(loginUrl(item.return_url), [{ kind: "info", text: t("auth_expired") }]);
    backgroundSync();
    return leave(item.return_url, offline);
  }

  async function save(form, build) {
    clearErrors(form);
    const checked = form.hasAttribute("data-record-form") || FIELD_PAYLOAD_OPS.indexOf(form.getAttribute("data-op-form")) >= 0;
    const missing = checked ? missingFields(form) : {};
    if (Object.keys(missing).length) return showErrors(form, missing);
    busy(form, true);
    let item;
    try {
      item = await build(form);
      if (!item) {
        return leave(form.getAttribute("data-return-url") || "/", [{ kind: "info", text: t("nothing_changed") }]);
      }
      await OB.put(item);
    } catch (error) {
      return nativeSubmit(form); // no usable IndexedDB here: the server-side form still works
    }
    const replaced = form.getAttribute("data-replaces");
    if (replaced && replaced !== item.op_id) await OB.remove(replaced); // only now that the new one is kept
    return deliver(form, item);
  }

  // --- logout: nothing of this worker stays on the phone ----------------------------------------

  async function logOut(form) {
    if (navigator.onLine === false) return window.alert(t("logout_offline"));
    let left = [];
    try {
      left = await OB.all();
      if (left.length && user) {
        await OB.flush({ force: true });
        left = await OB.all();
      }
    } catch (error) {
      left = [];
    }
    if (left.length && !window.confirm(t("logout_confirm", { n: left.length }))) return null;
    leaving = true; // no refresh or retry may open the databases again while they are deleted
    clearTimeout(retryTimer);
    try {
      await OB.wipe();
    } catch (error) { /* still log out */ }
    // A Background Sync retry may have the outbox open in the service worker, and reopen it as
    // this page deletes it: the worker wipes too, and stops retrying until the next login.
    const worker = navigator.serviceWorker && navigator.serviceWorker.controller;
    if (worker) worker.postMessage({ type: "wipe" });
    forget();
    form.setAttribute("data-wiped", "");
    return form.submit();
  }

  function forget() {
    [LAST_USER, LAST_TRY, COUNT].forEach((key) => localStorage.removeItem(key));
    sessionStorage.clear();
  }

  // Nothing waiting: the service worker wipes the phone while the logout itself goes ahead at once
  // (the worker outlives this page; the page's own connections close as it unloads).
  function quickLogOut() {
    const worker = navigator.serviceWorker && navigator.serviceWorker.controller;
    if (!worker || navigator.onLine === false || localStorage.getItem(COUNT) !== "0") return false;
    leaving = true;
    worker.postMessage({ type: "wipe" });
    forget();
    return true;
  }

  // --- the counter, the banners and the outbox page --------------------------------------------

  const STATE_ACTIONS = {
    pending: ["retry"],
    failed: ["retry", "discard"],
    rejected: ["edit", "discard"],
    quarantined: ["discard"],
    sending: []
  };
  const ACTION_LABELS = { retry: "retry", edit: "edit_resubmit", discard: "discard" };
  let retryTimer = null;
  let leaving = false;

  function renderItem(item) {
    const row = el("li", "outbox-item state-" + item.state);
    row.id = "op-" + item.op_id; // pages link here from their "待同步" marks
    const head = el("div", "item-head");
    head.appendChild(el("strong", "", t("op_" + item.op.type.replace(".", "_"))));
    head.appendChild(el("span", "state", t("state_" + item.state)));
    row.appendChild(head);
    row.appendChild(el("div", "muted small", [item.where, localTime(item.created)].filter(Boolean).join(" · ")));
    const problem = item.state === "pending" ? "" : errorText(item);
    if (problem) row.appendChild(el("p", "outbox-error", problem));
    if (item.attempts) row.appendChild(el("div", "muted small", t("attempts", { n: item.attempts })));
    const actions = el("div", "actions");
    (STATE_ACTIONS[item.state] || []).forEach((action) => {
      const button = el("button", "button small" + (action === "discard" ? " danger" : ""), t(ACTION_LABELS[action]));
      button.type = "button";
      button.setAttribute("data-action", action);
      button.setAttribute("data-op", item.op_id);
      actions.appendChild(button);
    });
    if (actions.childNodes.length) row.appendChild(actions);
    return row;
  }

  async function refresh() {
    if (!usable || !user || leaving) return;
    let items;
    let authNeeded;
    try {
      const everyone = await OB.all();
      localStorage.setItem(COUNT, String(everyone.length));
      items = everyone.filter((item) => item.user === user).sort((a, b) => a.created - b.created);
      authNeeded = await OB.getMeta("auth_needed");
    } catch (error) {
      return;
    }
    const counter = $("[data-outbox-count]");
    if (counter) {
      counter.hidden = !items.length;
      counter.textContent = t("count", { n: items.length });
      counter.classList.toggle("has-problem", items.some((i) => i.state === "rejected" || i.state === "quarantined"));
    }
    const banner = $("[data-auth-banner]");
    if (banner) {
      banner.hidden = !(authNeeded && items.length);
      if (banner.hidden) banner.removeAttribute("role");
      else banner.setAttribute("role", "alert");
      const link = $("[data-login-link]", banner);
      link.href = loginUrl(location.pathname + location.search);
    }
    const list = $("[data-outbox-list]");
    if (list) {
      list.textContent = "";
      items.forEach((item) => list.appendChild(renderItem(item)));
      $("[data-outbox-empty]").hidden = items.length > 0;
    }
    showPending(items);
    clearTimeout(retryTimer);
    const next = items.filter((i) => i.state === "failed").map((i) => i.next_try || 0).sort((a, b) => a - b)[0];
    if (next !== undefined) retryTimer = setTimeout(() => flush(), Math.max(1000, next - Date.now()));
  }

  // --- pending work where it matters (DESIGN.md §5) ---------------------------------------------
  // Lists mark what an item waiting here affects ([data-pending-key] "resident:12", "household:3",
  // "case:<uuid>"), and a page lists the items that return to it, returned ones with their problem.

  const PROBLEM = ["rejected", "quarantined"];

  function keysOf(item) {
    const payload = item.op.payload || {};
    return ["resident", "household", "case"].filter((kind) => payload[kind + "_id"] !== undefined)
      .map((kind) => kind + ":" + payload[kind + "_id"]);
  }

  function pendingLine(item) {
    const row = el("li", "pending-item state-" + item.state);
    const kind = item.op.type === "case.action" && item.op.payload.action
      ? t("op_case_action") + " · " + (strings["act_" + item.op.payload.action] || item.op.payload.action)
      : t("op_" + item.op.type.replace(".", "_"));
    row.appendChild(el("strong", "", kind));
    row.appendChild(el("span", "state", " " + t("state_" + item.state)));
    const problem = PROBLEM.indexOf(item.state) >= 0 || (item.error && item.error.code === "conflict") ? errorText(item) : "";
    if (problem) row.appendChild(el("p", "outbox-error", problem));
    const link = el("a", "button small", t("see_outbox"));
    link.href = "/outbox#op-" + item.op_id;
    row.appendChild(link);
    return row;
  }

  function showPending(items) {
    const byKey = {};
    items.forEach((item) => keysOf(item).forEach((key) => { (byKey[key] = byKey[key] || []).push(item); }));
    $$("[data-pending-key]").forEach((node) => {
      const waiting = byKey[node.getAttribute("data-pending-key")] || [];
      const trouble = waiting.some((item) => PROBLEM.indexOf(item.state) >= 0);
      node.classList.toggle("is-pending", waiting.length > 0);
      let mark = node.querySelector(".pending-mark");
      if (!waiting.length) {
        if (mark) mark.remove();
        return;
      }
      if (!mark) {
        mark = el("a", "pending-mark");
        node.appendChild(mark);
      }
      mark.href = "/outbox#op-" + waiting[0].op_id;
      mark.textContent = trouble ? t("state_rejected") : t("pending_mark");
      mark.classList.toggle("has-problem", trouble);
    });
    const here = items.filter((item) => (item.return_url || "").split("?")[0] === location.pathname);
    let box = $("[data-pending-here]");
    const heading = $("main h1");
    if (!box && here.length && heading) { // pages of other areas (a case page) get the list too
      box = el("section", "pending-here");
      box.setAttribute("data-pending-here", "");
      heading.parentNode.insertBefore(box, heading.nextSibling);
    }
    if (!box) return;
    box.textContent = "";
    box.hidden = !here.length;
    if (!here.length) return;
    box.appendChild(el("h2", "", t("pending_here")));
    const list = el("ul", "list pending-items");
    here.forEach((item) => list.appendChild(pendingLine(item)));
    box.appendChild(list);
  }

  let refreshQueued = false;
  function refreshSoon() {
    if (refreshQueued) return;
    refreshQueued = true;
    setTimeout(() => { refreshQueued = false; refresh(); }, 50);
  }

  function flush(force) {
    if (!usable || !user || leaving) return Promise.resolve(null);
    return OB.flush({ force: Boolean(force) }).then((summary) => {
      if (summary && (summary.waiting || summary.auth)) backgroundSync();
      return refresh().then(() => summary);
    });
  }

  async function act(button) {
    const id = button.getAttribute("data-op");
    const item = await OB.get(id);
    if (!item) return refresh();
    const action = button.getAttribute("data-action");
    if (action === "retry") {
      await OB.patch(item, { state: "pending", next_try: 0 });
      return flush(true);
    }
    if (action === "discard") {
      if (window.confirm(t("discard_confirm"))) await OB.remove(id);
      return refresh();
    }
    // Edit and resubmit: the form page fills itself from this item; the item goes only once the
    // new one is saved.
    sessionStorage.setItem(PREFILL, JSON.stringify({ op_id: id, url: item.form_url }));
    return location.assign(item.form_url);
  }

  function setField(form, name, value) {
    fieldNamed(form, name).forEach((field) => {
      if (field.type === "checkbox" || field.type === "radio") {
        field.checked = Array.isArray(value) ? value.indexOf(field.value) >= 0
          : typeof value === "boolean" ? value : field.value === String(value);
      } else if (field.type !== "file") {
        field.value = value === null || value === undefined ? "" : String(value);
      }
    });
  }

  async function prefill() {
    const wanted = JSON.parse(sessionStorage.getItem(PREFILL) || "null");
    const form = $("form[data-record-form], form[data-op-form]");
    if (!wanted || !form || wanted.url !== location.pathname) return;
    sessionStorage.removeItem(PREFILL);
    const item = await OB.get(wanted.op_id);
    if (!item) return;
    const payload = item.op.payload || {};
    if (form.hasAttribute("data-record-form")) {
      SCALARS.forEach((name) => { if (payload[name] !== undefined) setField(form, name, payload[name]); });
      ["needs", "present_resident_ids"].concat(BOOLEANS).forEach((name) => setField(form, name, payload[name] || false));
      const location_ = payload.location || {};
      ["lat", "lng", "accuracy_m"].forEach((name) => setField(form, name, location_[name]));
      const parties = payload.parties || [];
      fieldNamed(form, "party_name").forEach((field, i) => { field.value = parties[i] ? parties[i].name : ""; });
      fieldNamed(form, "party_role").forEach((field, i) => { if (parties[i]) field.value = parties[i].role; });
      fieldNamed(form, "photo_ids").forEach((field) => field.remove());
      const refused = (item.photos || []).filter((p) => p.refused).map((p) => p.id);
      (payload.photo_ids || []).filter((id) => refused.indexOf(id) < 0).forEach((id) => {
        const hidden = el("input");
        hidden.type = "hidden";
        hidden.name = "photo_ids";
        hidden.value = id;
        form.appendChild(hidden);
      });
    } else {
      const changes = payload.changes || {};
      Object.keys(changes).forEach((name) => {
        if ((name === "phone" || name === "contact_phone") && changes[name] === "") setField(form, "clear_" + name, true);
        else setField(form, name, changes[name]);
      });
    }
    form.setAttribute("data-replaces", item.op_id);
    const note = el("p", "notice", t("replacing") + " " + errorText(item));
    note.setAttribute("data-client-note", "");
    form.parentNode.insertBefore(note, form);
  }

  // --- wiring -----------------------------------------------------------------------------------

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (event.defaultPrevented || !form.matches) return;
    if (form.matches("form.logout") && usable && !form.hasAttribute("data-wiped")) {
      if (quickLogOut()) return;
      event.preventDefault();
      logOut(form);
    } else if (form.matches("form[data-record-form], form[data-op-form]")) {
      if (!usable || !user) {
        if (form.hasAttribute("data-record-form")) {
          event.preventDefault();
          nativeSubmit(form);
        }
        return;
      }
      event.preventDefault();
      save(form, builderFor(form));
    }
  });

  document.addEventListener("click", (event) => {
    const target = event.target.closest ? event.target.closest("button") : null;
    if (!target) return;
    if (target.hasAttribute("data-action")) {
      act(target);
    } else if (target.hasAttribute("data-sync-now")) {
      const status = $("[data-sync-status]");
      flush(true).then((summary) => {
        if (status) status.textContent = summary && summary.offline ? t("err_network") : "";
      });
    } else if (target.hasAttribute("data-update-now")) {
      navigator.serviceWorker.getRegistration().then((registration) => {
        if (registration && registration.waiting) {
          updating = true;
          registration.waiting.postMessage({ type: "skip-waiting" });
        }
      });
    }
  });

  async function start() {
    showToast();
    registerWorker();
    if (!usable) return;
    if (!user && body.hasAttribute("data-shell")) {
      user = await OB.getMeta("user").catch(() => null);
    }
    if (!user) return;
    user = String(user);
    if (!body.hasAttribute("data-shell")) {
      const previous = localStorage.getItem(LAST_USER);
      if (previous !== user) { // the first page after a login
        if (previous && window.caches) await caches.delete(OB.PAGES_CACHE); // someone else's pages
        if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
        localStorage.setItem(LAST_USER, user);
      }
      try {
        await OB.setMeta("user", user);
      } catch (error) {
        usable = false; // IndexedDB refused (private mode): forms go to the server directly
        return;
      }
      const sw = navigator.serviceWorker;
      if (sw) sw.ready.then((registration) => registration.active && registration.active.postMessage({ type: "ensure-shell" }));
    }
    window.addEventListener("outbox-changed", refreshSoon);
    if (OB.channel) OB.channel.addEventListener("message", refreshSoon);
    window.addEventListener("online", () => flush(true));
    document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") flush(); });
    await prefill().catch(() => {});
    await refresh();
    flush();
  }

  start();
})();
