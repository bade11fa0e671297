// Duplicate hints on the phone (issue 12): before a new resident is saved offline, look for them
// in the phone's copy of the grid (the pull's `resident` rows). The server's rule
// (webapp/rounds/registers.py `duplicate_hints`: same ID number, or same name and birth date) is
// applied to what the copy holds: the ID number masked to its first and last four characters,
// the name (masked where the viewer sees it masked) and the age instead of the birth date. A hint
// is a hint; the server checks again when the op arrives. Not loaded by any page yet: the offline
// pages (issue 9) call GridRegisterHints.duplicateHints(residents, typed, today).
(function (root) {
  "use strict";

  function maskName(name) {
    name = (name || "").trim();
    if (name.length <= 1) return name;
    if (name.length === 2) return name[0] + "*";
    return name[0] + "*".repeat(name.length - 2) + name[name.length - 1];
  }

  function maskId(id) {
    id = (id || "").trim().toUpperCase();
    if (!id) return "";
    if (id.length <= 8) return "*".repeat(id.length);
    return id.slice(0, 4) + "*".repeat(id.length - 8) + id.slice(-4);
  }

  function ageOn(birth, today) { // birth "YYYY-MM-DD", today a Date in Shanghai time
    const [y, m, d] = birth.split("-").map(Number);
    let age = today.getFullYear() - y;
    if (today.getMonth() + 1 < m || (today.getMonth() + 1 === m && today.getDate() < d)) age -= 1;
    return age;
  }

  // residents: [{id, data: {household_id, name, age, id_number, status}}]; typed: {name,
  // id_number, birth_date}. Returns [{resident_id, household_id, reason}], ID matches first.
  function duplicateHints(residents, typed, today) {
    const id = maskId(typed.id_number || "");
    const birth = typed.birth_date || (typed.id_number && typed.id_number.length === 18
      ? typed.id_number.slice(6, 10) + "-" + typed.id_number.slice(10, 12) + "-" + typed.id_number.slice(12, 14)
      : "");
    const age = birth ? ageOn(birth, today || new Date()) : null;
    const name = (typed.name || "").trim();
    const hints = [];
    residents.forEach((row) => {
      const r = row.data || {};
      const sameName = name && (r.name === name || r.name === maskName(name));
      if (id && r.id_number && r.id_number === id && (sameName || !name)) {
        hints.push({ resident_id: row.id, household_id: r.household_id, reason: "id_number" });
      } else if (sameName && age !== null && r.age === age) {
        hints.push({ resident_id: row.id, household_id: r.household_id, reason: "name_and_birth_date" });
      }
    });
    return hints.sort((a, b) => (a.reason === "id_number" ? 0 : 1) - (b.reason === "id_number" ? 0 : 1));
  }

  root.GridRegisterHints = { duplicateHints: duplicateHints, maskName: maskName, maskId: maskId };
})(typeof self !== "undefined" ? self : this);
