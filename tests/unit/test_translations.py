"""The UI speaks Simplified Chinese: every source string has a zh_Hans_CN translation, and the
compiled catalog the app loads is the one in the .po file."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOG_DIR = ROOT / "translations" / "zh_Hans_CN" / "LC_MESSAGES"
# `say(item, msgid, **paths)` is webapp/pwa/binding.py's translated text with values.
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "_l": None,
    "lazy_gettext": None,
    "say": (2,),
}


def source_strings() -> set[str]:
    found = set()
    for folder, method in (("webapp", "python"), ("templates", "jinja2")):
        pattern = "**.py" if method == "python" else "**.html"
        for _filename, _lineno, message, _comments, _context in extract_from_dir(
            ROOT / folder, method_map=[(pattern, method)], keywords=KEYWORDS
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_source_string_has_a_chinese_translation():
    with (CATALOG_DIR / "messages.po").open("rb") as fh:
        catalog = read_po(fh)
    translated = {m.id for m in catalog if m.id and m.string}
    missing = sorted(source_strings() - translated)
    assert missing == [], "run scripts/i18n_fill.py and translate: " + "; ".join(missing)


def test_compiled_catalog_matches_the_po_file():
    with (CATALOG_DIR / "messages.po").open("rb") as fh:
        po = {m.id: m.string for m in read_po(fh) if m.id}
    with (CATALOG_DIR / "messages.mo").open("rb") as fh:
        mo = {m.id: m.string for m in read_mo(fh) if m.id}
    assert mo == po, "run `make translations` to recompile the catalog"
