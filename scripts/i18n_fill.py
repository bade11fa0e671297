"""Update translations/zh_Hans_CN from the source strings, merging in new Chinese translations.

    python scripts/i18n_fill.py [translations.py ...]

Each optional file defines a dict `ZH` {English msgid: Chinese}. Existing translations in the .po
are kept; missing ones are listed so nothing ships half-translated (a unit test fails on any gap).
"""

import runpy
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
POT = ROOT / "translations" / "messages.pot"
PO = ROOT / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"


def main(sources: list[str]) -> int:
    bin_dir = Path(sys.executable).parent
    subprocess.run(
        [
            str(bin_dir / "pybabel"),
            "-q",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-k",
            "say:2",  # webapp/pwa/binding.py: say(item, msgid, **paths)
            "--no-location",
            "--sort-output",
            "-o",
            str(POT),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    new_text: dict[str, str] = {}
    for source in sources:
        new_text.update(runpy.run_path(source)["ZH"])
    with POT.open("rb") as fh:
        template = read_po(fh)
    existing = {}
    if PO.exists():
        with PO.open("rb") as fh:
            existing = {m.id: m.string for m in read_po(fh) if m.id}
    template.locale = "zh_Hans_CN"
    template.fuzzy = False  # a fuzzy catalog is silently skipped by `pybabel compile`
    template.project, template.version = "GridRounds", "1"
    missing = []
    for message in template:
        if not message.id:
            continue
        message.string = new_text.get(message.id) or existing.get(message.id, "")
        if not message.string:
            missing.append(message.id)
    PO.parent.mkdir(parents=True, exist_ok=True)
    with PO.open("wb") as fh:
        write_po(fh, template, width=100, omit_header=False, no_location=True)
    subprocess.run(
        [str(bin_dir / "pybabel"), "-q", "compile", "-d", str(ROOT / "translations")], check=True
    )
    for msgid in missing:
        print("untranslated:", msgid)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
