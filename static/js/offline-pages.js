// Offline field pages (DESIGN.md §5): the view model of each page, built from the phone's copy of
// the grid (grid-store.js) in the same shape webapp/rounds/pages.py builds online, then poured
// into the page's shell by offline-render.js. One builder per name in webapp/pwa/offline_pages.py.
"use strict";

(function () {
  const config = JSON.parse(document.getElementById("gridrounds-offline").textContent);
  const strings = JSON.parse((document.getElementById("gridrounds-strings") || {}).textContent || "{}");
  const L = config.labels;
  const RECORD_DAYS = 90; // webapp/sync/entities.py RECORD_DAYS
  const LIVED_IN = ["occupied", "rented_out"];
  const DAY = 86400000;

  const label = (table, code) => (L[table] && L[table][code]) || code || "";
  const values = (map) => Object.keys(map || {}).map((key) => map[key]);
  const byKey = (key) => (a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);

  // Dates as Shanghai wall time, whatever the phone's own zone.
  function shanghai(moment) {
    const parts = {};
    new Intl.DateTimeFormat("en-GB", {
      timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", hourCycle: "h23"
    }).formatToParts(new Date(moment)).forEach((part) => { parts[part.type] = part.value; });
    return parts;
  }
  const dateOf = (moment) => { const p = shanghai(moment); return p.year + "-" + p.month + "-" + p.day; };
  const shortTime = (moment) => { const p = shanghai(moment); return p.month + "-" + p.day + " " + p.hour + ":" + p.minute; };
  const today = () => dateOf(Date.now());
  const daysBetween = (from, to) => Math.round((Date.parse(to) - Date.parse(from)) / DAY);

  // pages.room_order: by floor and number (101, 102, …, 1001); odd names after, by text.
  function roomOrder(room) {
    const text = String(room || "").trim();
    return /^\d+$/.test(text) ? [Number(text), text] : [1e9, text];
  }
  function compareRooms(a, b) {
    const x = roomOrder(a);
    const y = roomOrder(b);
    return x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0);
  }

  // --- pieces, as in rounds/pages.py ----------------------------------------------------------

  function residentItem(r) {
    const phone = r.phone || "";
    const masked = phone.indexOf("*") >= 0;
    return {
      id: r.id,
      household_id: r.household_id,
      name: r.name,
      relation: r.relation || "",
      age: r.age,
      moved_out: Boolean(r.moved_out),
      row_class: r.moved_out ? "resident moved-out" : "resident",
      tel: phone && !masked ? phone : "",
      masked_phone: masked ? phone : "",
      id_number: r.id_number || "",
      // "Show in full" as the masking table offers it to the grid's worker (the copy holds only
      // their grids): a masked value may be revealed, online, as an audited action.
      reveal_phone: masked,
      reveal_id_number: (r.id_number || "").indexOf("*") >= 0,
      active: (r.status || "active") === "active",
      status_label: label("resident_status", r.status),
      left_on: "",
      flags: (r.flags || []).map((flag) => ({ code: flag, label: label("care_flag", flag) })),
      checkable: Boolean(r.checkable)
    };
  }

  function caseItem(c) {
    return {
      id: String(c.id),
      number: c.number,
      title: c.title,
      severity: c.severity,
      severity_label: label("severity", c.severity),
      status_label: label("case_status", c.status),
      follow_up: c.status === "resolved",
      due_on: c.due_at ? dateOf(c.due_at) : ""
    };
  }

  function householdCounts(rows) {
    const counts = {};
    values(rows.household).forEach((h) => { counts[h.building_id] = (counts[h.building_id] || 0) + 1; });
    return counts;
  }

  function buildingItems(rows, gridId) {
    const counts = householdCounts(rows);
    return values(rows.building).filter((b) => b.grid_id === gridId).sort(byKey((b) => b.id))
      .map((b) => ({ id: b.id, name: b.name, grid_id: b.grid_id, household_count: counts[b.id] || 0 }));
  }

  // --- pages ----------------------------------------------------------------------------------

  const BUILD = {};

  BUILD.household = (rows, params) => {
    const h = rows.household[params.household_id];
    if (!h) return null;
    const since = Date.now() - RECORD_DAYS * DAY;
    const fresh = (record) => Date.parse(record.received_at) >= since;
    const residents = values(rows.resident).filter((r) => r.household_id === h.id).sort(byKey((r) => r.id));
    const names = {};
    residents.forEach((r) => { names[r.id] = r.name; });
    const newest = (list, at) => list.sort((a, b) => Date.parse(at(b)) - Date.parse(at(a))).slice(0, 10);
    const recent = [];
    newest(values(rows.visit).filter((v) => v.household_id === h.id), (v) => v.visited_at).forEach((v) => {
      recent.push({ record: v, kind: "visit", at: v.visited_at, summary: label("visit_kind", v.visit_kind) });
    });
    newest(values(rows.dispute).filter((d) => d.household_id === h.id), (d) => d.received_at).forEach((d) => {
      recent.push({ record: d, kind: "dispute", at: d.received_at, summary: label("dispute_category", d.category) });
    });
    newest(values(rows.elderly_check).filter((c) => c.resident_id in names), (c) => c.checked_at).forEach((c) => {
      recent.push({ record: c, kind: "elderly_check", at: c.checked_at, summary: names[c.resident_id] + " " + label("check_status", c.status) });
    });
    recent.sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
    const grid = rows.grid[h.grid_id] || {};
    const building = rows.building[h.building_id] || {};
    return {
      household: {
        id: h.id,
        address: h.address,
        occupancy_label: label("occupancy", h.occupancy),
        contact_phone: h.contact_phone || "",
        grid_id: h.grid_id,
        grid_name: grid.name || "",
        building_id: h.building_id,
        building_name: building.name || ""
      },
      residents: residents.map(residentItem),
      cases: values(rows.case).filter((c) => c.household_id === h.id && c.status !== "closed")
        .sort((a, b) => Date.parse(b.opened_at) - Date.parse(a.opened_at)).map(caseItem),
      recent: recent.slice(0, 10).filter((item) => fresh(item.record)).map((item) => ({
        id: String(item.record.id),
        kind: item.kind,
        kind_label: label("record_kind", item.kind),
        summary: item.summary,
        at: shortTime(item.at)
      }))
    };
  };

  BUILD.building = (rows, params) => {
    const b = rows.building[params.building_id];
    if (!b) return null;
    const units = {};
    values(rows.household).filter((h) => h.building_id === b.id)
      .sort((x, y) => x.unit - y.unit || compareRooms(x.room, y.room))
      .forEach((h) => {
        (units[h.unit] = units[h.unit] || []).push({ id: h.id, room: h.room, room_class: "room occupancy-" + h.occupancy });
      });
    return {
      building: { id: b.id, name: b.name, address: b.address || "", grid_id: b.grid_id, grid_name: (rows.grid[b.grid_id] || {}).name || "" },
      units: Object.keys(units).map(Number).sort((x, y) => x - y).map((unit) => ({ unit: unit, households: units[unit] }))
    };
  };

  BUILD.grid = (rows, params) => {
    const g = rows.grid[params.grid_id];
    if (!g) return null;
    return {
      grid: { id: g.id, name: g.name, community: g.community || "", boundary: g.boundary || "" },
      buildings: buildingItems(rows, g.id)
    };
  };

  // --- 我的网格 and its lists (rounds/pages.py home_vm, due_item, unvisited_item) -------------

  function dueItems(rows) {
    const day = today();
    return values(rows.care_task).filter((task) => task.due_on <= day)
      .sort((a, b) => (a.due_on < b.due_on ? -1 : a.due_on > b.due_on ? 1 : a.address < b.address ? -1 : a.address > b.address ? 1 : a.resident_id - b.resident_id))
      .map((task) => {
        const overdue = Math.max(0, daysBetween(task.due_on, day));
        const never = !task.last_checked_on;
        return {
          resident_id: task.resident_id,
          household_id: task.household_id,
          name: (rows.resident[task.resident_id] || {}).name || "",
          address: task.address,
          never: never,
          today: !never && overdue === 0,
          one_day: !never && overdue === 1,
          days: !never && overdue > 1,
          days_overdue: overdue,
          last_checked_on: task.last_checked_on || "",
          interval_days: task.interval_days,
          flags: (task.flags || []).map((flag) => ({ code: flag, label: label("care_flag", flag) }))
        };
      });
  }

  function waitingCases(rows) {
    const waiting = (c) => (c.status === "open" && c.level === "grid") || c.status === "resolved";
    const key = (c) => [c.due_at ? 0 : 1, c.due_at ? Date.parse(c.due_at) : 0, Date.parse(c.opened_at), c.number];
    return values(rows.case).filter(waiting).sort((a, b) => {
      const x = key(a);
      const y = key(b);
      for (let i = 0; i < x.length; i += 1) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
      return 0;
    }).map(caseItem);
  }

  function quarterStart(day) {
    const month = Number(day.slice(5, 7));
    const first = Math.floor((month - 1) / 3) * 3 + 1;
    return day.slice(0, 4) + "-" + (first < 10 ? "0" : "") + first + "-01";
  }

  function unvisitedItems(rows) {
    const day = today();
    const since = quarterStart(day);
    const oldest = dateOf(Date.parse(day) - RECORD_DAYS * DAY);
    const last = {};
    values(rows.visit).forEach((v) => {
      const on = dateOf(v.visited_at);
      if (!last[v.household_id] || last[v.household_id] < on) last[v.household_id] = on;
    });
    return values(rows.household)
      .filter((h) => LIVED_IN.indexOf(h.occupancy) >= 0 && !(last[h.id] && last[h.id] >= since))
      .sort((a, b) => a.building_id - b.building_id || a.unit - b.unit ||
        String(a.room).length - String(b.room).length || (a.room < b.room ? -1 : a.room > b.room ? 1 : a.id - b.id))
      .map((h) => ({
        id: h.id,
        address: h.address,
        occupancy_label: label("occupancy", h.occupancy),
        last_visit: last[h.id] && last[h.id] >= oldest ? last[h.id] : ""
      }));
  }

  const HOME_LIST_LENGTH = 5;

  BUILD.home = (rows) => {
    const due = dueItems(rows);
    const cases = waitingCases(rows);
    const unvisited = unvisitedItems(rows);
    const grids = values(rows.grid).sort(byKey((g) => g.code));
    const households = values(rows.household);
    const residents = values(rows.resident).filter((r) => !r.moved_out);
    const open = values(rows.case).filter((c) => c.status !== "closed");
    const count = (list, key, id) => list.filter((x) => x[key] === id).length;
    return {
      today: today(),
      has_grids: grids.length > 0,
      due_tile: due.some((c) => c.days_overdue > 0) ? "tile tile-alert" : "tile",
      counts: {
        due_checks: due.length,
        overdue_checks: due.filter((c) => c.days_overdue > 0).length,
        waiting_cases: cases.length,
        unvisited: unvisited.length
      },
      due: due.slice(0, HOME_LIST_LENGTH),
      more_due: due.length > HOME_LIST_LENGTH,
      cases: cases.slice(0, HOME_LIST_LENGTH),
      more_cases: cases.length > HOME_LIST_LENGTH,
      unvisited: unvisited.slice(0, HOME_LIST_LENGTH),
      more_unvisited: unvisited.length > HOME_LIST_LENGTH,
      grids: grids.map((g) => ({
        id: g.id,
        name: g.name,
        building_count: count(values(rows.building), "grid_id", g.id),
        household_count: count(households, "grid_id", g.id),
        resident_count: count(residents, "grid_id", g.id),
        open_case_count: count(open, "home_grid_id", g.id),
        buildings: buildingItems(rows, g.id)
      }))
    };
  };

  BUILD.outbox = () => ({}); // outbox.js lists the items itself
  BUILD.due_checks = (rows) => ({ due: dueItems(rows) });
  BUILD.waiting_cases = (rows) => ({ cases: waitingCases(rows) });

  const PAGE_SIZE = 50;
  BUILD.unvisited = (rows) => {
    const all = unvisitedItems(rows);
    const count = Math.max(1, Math.ceil(all.length / PAGE_SIZE));
    const asked = Number(new URLSearchParams(location.search).get("page")) || 1;
    const page = Math.min(Math.max(asked, 1), count);
    return {
      total: all.length,
      since: quarterStart(today()),
      unvisited: all.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE),
      page: page,
      page_count: count,
      paged: count > 1,
      prev_page: page > 1 ? page - 1 : 0,
      next_page: page < count ? page + 1 : 0
    };
  };

  // Search as services.search_grid does: address contains, name starts with, phone ends with
  // (four digits or more). The words come in the fragment from the service worker.
  BUILD.search = (rows) => {
    const query = decodeURIComponent((location.hash.match(/[#&]q=([^&]*)/) || [])[1] || "").trim();
    const digits = query.replace(/\D/g, "");
    const households = !query ? [] : values(rows.household).filter((h) => String(h.address).indexOf(query) >= 0)
      .sort(byKey((h) => h.address)).slice(0, 30).map((h) => ({ id: h.id, address: h.address }));
    const residents = !query ? [] : values(rows.resident).filter((r) => String(r.name).indexOf(query) === 0 ||
      (digits.length >= 4 && (r.phone || "").indexOf("*") < 0 && (r.phone || "").slice(-digits.length) === digits))
      .sort(byKey((r) => r.name)).slice(0, 30).map((r) => ({
        household_id: r.household_id,
        name: r.name,
        address: (rows.household[r.household_id] || {}).address || "",
        phone: r.phone || ""
      }));
    return {
      query: query,
      searched: Boolean(query),
      nothing: Boolean(query) && !households.length && !residents.length,
      households: households,
      residents: residents
    };
  };

  // --- forms (pages.form_vm, edit_household_vm, edit_resident_vm) ------------------------------

  function householdForm(rows, h, resident) {
    if (!h) return null;
    const building = rows.building[h.building_id];
    const members = values(rows.resident).filter((r) => r.household_id === h.id && !r.moved_out)
      .sort(byKey((r) => r.id)).map((r) => ({ id: r.id, name: r.name, relation: r.relation || "", checked: false }));
    return {
      household: { id: h.id, address: h.address },
      building: building ? { id: building.id, name: building.name } : null,
      grid: null,
      resident: resident ? { id: resident.id, name: resident.name, age: resident.age } : null,
      members: members,
      return_url: "/households/" + h.id,
      where: resident ? resident.name + " · " + h.address : h.address,
      grid_id: h.grid_id,
      ids: {}
    };
  }

  ["visit", "dispute", "hazard"].forEach((kind) => {
    BUILD["household_" + kind] = (rows, params) => {
      const h = rows.household[params.household_id];
      const model = householdForm(rows, h, null);
      if (!model) return null;
      model.ids = kind === "hazard" ? { household_id: String(h.id), building_id: String(h.building_id) }
        : { household_id: String(h.id) };
      return model;
    };
  });
  ["dispute", "hazard"].forEach((kind) => {
    BUILD["grid_" + kind] = (rows, params) => {
      const g = rows.grid[params.grid_id];
      if (!g) return null;
      return { household: null, building: null, grid: { id: g.id, name: g.name }, resident: null, members: [],
        return_url: "/grids/" + g.id, where: g.name, grid_id: g.id, ids: { grid_id: String(g.id) } };
    };
  });
  BUILD.building_hazard = (rows, params) => {
    const b = rows.building[params.building_id];
    if (!b) return null;
    return { household: null, building: { id: b.id, name: b.name }, grid: null, resident: null, members: [],
      return_url: "/buildings/" + b.id, where: b.name, grid_id: b.grid_id, ids: { building_id: String(b.id) } };
  };
  BUILD.elderly_check = (rows, params) => {
    const r = rows.resident[params.resident_id];
    const model = r && householdForm(rows, rows.household[r.household_id], r);
    if (model) model.ids = { resident_id: String(r.id) };
    return model;
  };

  BUILD.edit_household = (rows, params) => {
    const h = rows.household[params.household_id];
    if (!h) return null;
    return {
      row: { id: h.id, address: h.address, contact_phone: h.contact_phone || "", occupancy: h.occupancy,
        notes: "", version: h.version, grid_id: h.grid_id },
      back: "/households/" + h.id
    };
  };
  BUILD.edit_resident = (rows, params) => {
    const r = rows.resident[params.resident_id];
    if (!r) return null;
    const flags = {};
    (r.flags || []).forEach((flag) => { flags[flag] = true; });
    return {
      row: { id: r.id, name: r.name, relation: r.relation || "", age: r.age,
        address: (rows.household[r.household_id] || {}).address || "", phone: r.phone || "",
        moved_out: Boolean(r.moved_out), flag_set: flags, notes: "", version: r.version, grid_id: r.grid_id },
      back: "/households/" + r.household_id
    };
  };

  // --- rendering ------------------------------------------------------------------------------

  function paramsOf(name) {
    const route = config.routes.filter((r) => r[1] === name)[0];
    const found = route && new RegExp(route[0]).exec(location.pathname);
    const params = {};
    Object.keys((found && found.groups) || {}).forEach((key) => {
      const value = found.groups[key];
      params[key] = /^\d+$/.test(value) ? Number(value) : decodeURIComponent(value);
    });
    return params;
  }

  function missing(main) {
    main.textContent = "";
    const box = document.createElement("section");
    box.className = "card offline-card";
    const title = document.createElement("h1");
    title.textContent = strings.offline_missing_title || "";
    const text = document.createElement("p");
    text.textContent = strings.offline_missing || "";
    const home = document.createElement("a");
    home.className = "button primary";
    home.href = "/grid";
    home.textContent = strings.my_grid || "";
    box.append(title, text, home);
    main.appendChild(box);
  }

  async function render() {
    const name = document.querySelector("meta[name=gridrounds-shell]").content;
    const main = document.getElementById("main");
    const copy = await window.GridStore.load();
    const build = BUILD[name];
    const model = build && copy.meta.complete ? build(copy.rows, paramsOf(name), copy) : null;
    if (!model) return missing(main);
    window.OfflineRender.fill(main, model);
    const now = shanghai(Date.now()); // a new record's time, as the server's form would put it
    main.querySelectorAll("input[type=datetime-local]").forEach((input) => {
      if (!input.value) input.value = now.year + "-" + now.month + "-" + now.day + "T" + now.hour + ":" + now.minute;
    });
    const heading = main.querySelector("h1");
    if (heading && heading.textContent.trim()) document.title = heading.textContent.trim() + " · " + document.title.split(" · ").pop();
    const note = document.createElement("p");
    note.className = "offline-note muted small";
    note.setAttribute("data-offline-note", "");
    note.textContent = (strings.offline_rendered || "").split("{time}").join(
      copy.meta.refreshed_at ? shortTime(copy.meta.refreshed_at) : "");
    main.insertBefore(note, main.firstChild);
    document.body.setAttribute("data-offline-rendered", name);
    if (window.GridStore.show) window.GridStore.show(); // the copy's card, now that it is on the page
    window.dispatchEvent(new CustomEvent("outbox-changed")); // pending marks for what is now shown
  }

  window.OfflinePages = { build: BUILD, render: render, today: today, daysBetween: daysBetween, dateOf: dateOf };
  render();
})();
