// Fills a page shell from a view model (DESIGN.md §5). The shell is the page's own Jinja
// template rendered on the server without data (webapp/pwa/binding.py); its markers say where
// each value goes, so no template is written twice and nothing is evaluated as code (strict CSP):
//   data-v="path"            text            data-say="pattern" data-p="n:path"   text with values
//   data-a-NAME="…{path}…"   attribute       data-on-NAME="path"                  boolean attribute
//   <template data-each="path">              one copy per item (the item is looked up first)
//   <template data-if="path">                kept when truthy ("!path" negates, [] is false)
// A path may be "path=text": true when the value, as text, is that text.
"use strict";

(function (root) {
  const PLACEHOLDER = /\{([\w.]+)\}/g;

  function dig(item, path) {
    let value = item;
    const parts = path.split(".");
    for (let i = 0; i < parts.length; i += 1) {
      if (value === null || typeof value !== "object" || !(parts[i] in value)) return undefined;
      value = value[parts[i]];
    }
    return value;
  }

  function lookup(scope, path) {
    const equals = path.indexOf("=");
    if (equals > 0) return text(lookup(scope, path.slice(0, equals))) === path.slice(equals + 1);
    for (let s = scope; s; s = s.parent) {
      const value = dig(s.item, path);
      if (value !== undefined) return value;
    }
    return undefined;
  }

  function truthy(value) {
    return Array.isArray(value) ? value.length > 0 : Boolean(value);
  }

  function text(value) {
    return value === null || value === undefined || value === false ? "" : String(value);
  }

  function fillPattern(pattern, scope) {
    return pattern.replace(PLACEHOLDER, (match, path) => text(lookup(scope, path)));
  }

  function say(pattern, names, scope) {
    const values = {};
    (names || "").split(",").filter(Boolean).forEach((pair) => {
      const at = pair.indexOf(":");
      values[pair.slice(0, at)] = lookup(scope, pair.slice(at + 1));
    });
    return pattern.replace(/%\((\w+)\)[ds]/g, (match, name) => text(values[name])).replace(/%%/g, "%");
  }

  function fill(node, scope) {
    node.querySelectorAll("[data-v]").forEach((el) => { el.textContent = text(lookup(scope, el.getAttribute("data-v"))); });
    node.querySelectorAll("[data-say]").forEach((el) => {
      el.textContent = say(el.getAttribute("data-say"), el.getAttribute("data-p"), scope);
    });
    node.querySelectorAll("*").forEach((el) => {
      Array.prototype.slice.call(el.attributes).forEach((attribute) => {
        if (attribute.name.indexOf("data-a-") === 0) {
          el.setAttribute(attribute.name.slice(7), fillPattern(attribute.value, scope));
        } else if (attribute.name.indexOf("data-on-") === 0) {
          const path = attribute.value;
          const negated = path.charAt(0) === "!";
          el.toggleAttribute(attribute.name.slice(8), truthy(lookup(scope, negated ? path.slice(1) : path)) !== negated);
        }
      });
    });
    // Templates last: their copies are filled with their own item before they join the page.
    node.querySelectorAll("template[data-each], template[data-if]").forEach((template) => {
      const parent = template.parentNode;
      if (template.hasAttribute("data-each")) {
        (lookup(scope, template.getAttribute("data-each")) || []).forEach((item) => {
          const copy = template.content.cloneNode(true);
          fill(copy, { item: item, parent: scope });
          parent.insertBefore(copy, template);
        });
      } else {
        const path = template.getAttribute("data-if");
        const negated = path.charAt(0) === "!";
        if (truthy(lookup(scope, negated ? path.slice(1) : path)) !== negated) {
          const copy = template.content.cloneNode(true);
          fill(copy, scope);
          parent.insertBefore(copy, template);
        }
      }
      template.remove();
    });
  }

  root.OfflineRender = { fill: (node, model) => fill(node, { item: model, parent: null }), lookup: lookup };
})(self);
