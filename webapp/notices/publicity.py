"""Names in 公示 lists are shown masked (张*明), on the server, at render time (DESIGN.md §6, §7).

The stored body stays as the author wrote it; the public page, the staff preview and anything
else that shows a 公示 to someone outside the office call `masked_body()`. Two rules, kept simple
so an author can predict them:

1. Resident names. In the body of a 公示, any run of 2–4 Han characters that is the name of a
   resident of the notice's communities (all communities of the street for a street-wide notice)
   is masked, wherever it stands: in a list line ("1  张三明  3人"), a table or a sentence
   ("经审核，张三明、李四符合条件"). Within a run of Han characters the longest name wins.
2. Name columns. After a table header that holds "姓名" (a line of two or more cells such as
   "序号 姓名 家庭人口 …"; cells are split on whitespace, commas, "、", ";" and "|"), each row
   up to the first line that is not a row of two or more cells (a blank line, "特此公示。") has
   its cell under "姓名" masked — or, when the columns do not line up, its first cell of 2–4 Han
   characters — even if no resident has that name. On a line "姓名：张三明、李四", the 2–4
   character names after the label are masked.

Loading the names costs one query per set of communities per request (the set is kept in
`flask.g`), a few tens of thousands of short strings for a whole street at district scale.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from flask import g, has_app_context
from sqlalchemy import select

from webapp.extensions import db
from webapp.masking import mask_name
from webapp.models import Community, Grid, Notice, NoticeCategory, Resident

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
HAN_RUN = re.compile(f"[{HAN}]+")
NAME_TOKEN = re.compile(f"^[{HAN}]{{2,4}}$")
CELL_SPLIT = re.compile(r"[\s,，、|｜;；]+")
NAME_HEADER = "姓名"
AFTER_NAME_LABEL = re.compile(r"姓名[:：]\s*(.*)$")
NAME_LENGTHS = (4, 3, 2)

_CACHE_KEY = "notice_resident_names"


def notice_community_ids(notice: Notice) -> frozenset[int]:
    """The communities a notice speaks to: its own, or every community of its street."""
    if notice.communities:
        return frozenset(community.id for community in notice.communities)
    return frozenset(
        db.session.scalars(select(Community.id).where(Community.street_id == notice.street_id))
    )


def resident_names(community_ids: Collection[int]) -> frozenset[str]:
    """Names (2–4 characters) of the residents of these communities, once per request."""
    key = frozenset(community_ids)
    cache = g.setdefault(_CACHE_KEY, {}) if has_app_context() else {}
    if key not in cache:
        grid_ids = select(Grid.id).where(Grid.community_id.in_(key))
        cache[key] = frozenset(
            name
            for name in db.session.scalars(
                select(Resident.name).where(Resident.grid_id.in_(grid_ids)).distinct()
            )
            if name and 2 <= len(name) <= 4
        )
    return cache[key]


def mask_known_names(line: str, names: Collection[str]) -> str:
    """Rule 1: mask the residents' names in one line."""
    if not names:
        return line

    def mask_run(found: re.Match) -> str:
        run = found.group(0)
        out: list[str] = []
        i = 0
        while i < len(run):
            for length in NAME_LENGTHS:
                token = run[i : i + length]
                if len(token) == length and token in names:
                    out.append(mask_name(token))
                    i += length
                    break
            else:
                out.append(run[i])
                i += 1
        return "".join(out)

    return HAN_RUN.sub(mask_run, line)


def _cells(line: str) -> list[str]:
    return [cell for cell in CELL_SPLIT.split(line.strip()) if cell]


def _mask_name_cells(line: str, column: int | None) -> str:
    """Rule 2 for one table row: mask the cell under "姓名", or the first name-like cell."""
    cells = _cells(line)
    if column is not None and column < len(cells) and NAME_TOKEN.match(cells[column]):
        target = cells[column]
    else:
        target = next((cell for cell in cells if NAME_TOKEN.match(cell)), None)
    if target is None:
        return line
    # Replace that cell as a whole token, not the same characters inside a longer word.
    pattern = re.compile(f"(?<![{HAN}]){re.escape(target)}(?![{HAN}])")
    return pattern.sub(mask_name(target), line, count=1)


def _header_column(line: str) -> int | None:
    """The column of "姓名" when `line` is a table header ("序号 姓名 家庭人口"), else None."""
    cells = _cells(line)
    if len(cells) < 2:
        return None
    for index, cell in enumerate(cells):
        # "姓名", "户主姓名": a header cell, not "姓名：张三明" (a label and its value).
        if NAME_HEADER in cell and len(cell) <= 6 and not re.search("[:：]", cell):
            return index
    return None


def _mask_after_label(line: str) -> str:
    """The names after the label on a line such as "姓名：张三明、李四"."""
    found = AFTER_NAME_LABEL.search(line)
    if not found:
        return line
    masked = re.sub(
        f"(?<![{HAN}])[{HAN}]{{2,4}}(?![{HAN}])",
        lambda m: mask_name(m.group(0)),
        found.group(1),
    )
    return line[: found.start(1)] + masked


def mask_publicity_text(body: str, names: Collection[str]) -> str:
    """Both rules over a whole body; line breaks and spacing are kept as written. A table runs
    from its header to the first blank line or line that is not a row of two or more cells."""
    out: list[str] = []
    column: int | None = None
    in_table = False
    for line in (body or "").split("\n"):
        if in_table and len(_cells(line)) < 2:
            in_table = False
        header_column = _header_column(line) if NAME_HEADER in line else None
        if header_column is not None:
            in_table, column = True, header_column
        elif NAME_HEADER in line:
            line = _mask_after_label(line)
        elif in_table:
            line = _mask_name_cells(line, column)
        out.append(mask_known_names(line, names))
    return "\n".join(out)


def masked_body(notice: Notice) -> str:
    """The body as people outside the office see it."""
    if notice.category != NoticeCategory.PUBLICITY:
        return notice.body
    return mask_publicity_text(notice.body, resident_names(notice_community_ids(notice)))


def masked_title(notice: Notice) -> str:
    """Titles name people too ("关于张三明等3户低保的公示"): residents' names are masked there."""
    if notice.category != NoticeCategory.PUBLICITY:
        return notice.title
    return mask_known_names(notice.title, resident_names(notice_community_ids(notice)))


def summary_text(text: str, limit: int = 80) -> str:
    """A one-line lead for `<meta name=description>` and Open Graph."""
    flat = re.sub(r"\s+", " ", text or "").strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
