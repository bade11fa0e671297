"""One template, two renderings (DESIGN.md §5): the field pages are Jinja templates over a plain
view model (`vm`, a dict of dicts and lists). Online, Jinja fills them as usual. For the phone,
the same template is rendered once with no data (`offline_shell=True`) into a *shell* the service
worker caches; static/js/offline-render.js fills the shell from the phone's copy of the grid.

The dynamic parts of such a template go through these helpers, which print the value online and
leave a declarative marker either way, so nothing is written twice and nothing is evaluated as
code in the browser (strict CSP):

- `v(item, "path")`             text                 <span data-v="path">value</span>
- `say(item, msgid, n="path")`  translated text with values (the pattern travels translated)
- `attr(item, "href", "/households/{id}")`   an attribute from a pattern of paths
- `url("rounds.household_page", household_id="{id}")`   a route as such a pattern
- `on(item, "checked", "path")`  a boolean attribute; "path=text" compares
- `{% call(x) each(item, "path") %}…{% endcall %}`   a list (<template data-each> in the shell)
- `{% call show(item, "path") %}…{% endcall %}`      a block shown when the value is truthy
  ("!path" negates; an empty list is false on both sides)

Paths are dotted and looked up in the item, then (in the browser) in the enclosing items.
"""

from __future__ import annotations

import re
from typing import Any

from flask import url_for
from flask_babel import gettext
from jinja2 import pass_context
from markupsafe import Markup

_PLACEHOLDER = re.compile(r"\{([\w.!]+)\}")
_INT_SENTINEL = 918273645


class Blank:
    """The view model of a shell: every lookup is blank, so the template renders its markup only."""

    def __getattr__(self, name: str) -> Blank:
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def __getitem__(self, key: Any) -> Blank:
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Blank:
        return self

    def __bool__(self) -> bool:
        return False

    def __iter__(self):
        return iter(())

    def __len__(self) -> int:
        return 0

    def __str__(self) -> str:
        return ""

    def __html__(self) -> str:
        return ""


BLANK = Blank()


def lookup(item: Any, path: str) -> Any:
    """The value at a dotted path; "path=text" compares it (as text) with text."""
    if "=" in path:
        path, wanted = path.split("=", 1)
        return _text(lookup(item, path)) == wanted
    value = item
    for part in path.split("."):
        if value is None or isinstance(value, Blank):
            return None
        value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
    return value


def truthy(value: Any) -> bool:
    return bool(value) and not isinstance(value, Blank)


def _shell(context) -> bool:
    return bool(context.get("offline_shell"))


def _text(value: Any) -> str:
    if value is None or isinstance(value, Blank):
        return ""
    if value is True or value is False:
        return gettext("Yes") if value else gettext("No")
    return str(value)


@pass_context
def v(context, item: Any, path: str) -> Markup:
    value = "" if _shell(context) else _text(lookup(item, path))
    return Markup('<span data-v="{}">{}</span>').format(path, value)


@pass_context
def say(context, item: Any, msgid: str, **paths: str) -> Markup:
    pattern = gettext(msgid)
    names = ",".join(f"{name}:{path}" for name, path in paths.items())
    text = ""
    if not _shell(context):
        text = pattern % {name: lookup(item, path) for name, path in paths.items()}
    return Markup('<span data-say="{}" data-p="{}">{}</span>').format(pattern, names, text)


def fill_pattern(item: Any, pattern: str) -> str:
    return _PLACEHOLDER.sub(lambda m: _text(lookup(item, m.group(1))), pattern)


@pass_context
def attr(context, item: Any, name: str, pattern: str) -> Markup:
    marker = Markup(' data-a-{}="{}"').format(name, pattern)
    if _shell(context):
        return marker
    return Markup(' {}="{}"').format(name, fill_pattern(item, pattern)) + marker


def url(endpoint: str, **params: str) -> str:
    """A route as a pattern: `url("rounds.household_page", household_id="{id}")` gives
    "/households/{id}"; a value not in braces is used as it is."""
    values: dict[str, Any] = {}
    marks: dict[str, str] = {}
    for index, (name, value) in enumerate(params.items()):
        if value.startswith("{") and value.endswith("}"):
            values[name] = _INT_SENTINEL + index
            marks[str(values[name])] = value
        else:
            values[name] = value
    built = url_for(endpoint, **values)
    for sentinel, placeholder in marks.items():
        built = built.replace(sentinel, placeholder)
    return built


@pass_context
def on(context, item: Any, name: str, path: str) -> Markup:
    """A boolean attribute (checked, required) set when the path's value is truthy ("!": falsy)."""
    marker = Markup(' data-on-{}="{}"').format(name, path)
    if not _shell(context) and truthy(lookup(item, path.lstrip("!"))) != path.startswith("!"):
        return Markup(" {}").format(name) + marker
    return marker


@pass_context
def each(context, item: Any, path: str, caller) -> Markup:
    if _shell(context):
        return Markup('<template data-each="{}">{}</template>').format(path, caller(BLANK))
    return Markup("").join(caller(entry) for entry in (lookup(item, path) or []))


@pass_context
def show(context, item: Any, path: str, caller) -> Markup:
    if _shell(context):
        return Markup('<template data-if="{}">{}</template>').format(path, caller())
    value = lookup(item, path.lstrip("!"))
    if truthy(value) != path.startswith("!"):
        return caller()
    return Markup("")


HELPERS = {"v": v, "say": say, "attr": attr, "on": on, "url": url, "each": each, "show": show}
