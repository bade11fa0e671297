"""The publishing guard (DESIGN.md §6): a notice that holds a resident ID number, a resident's
mobile number or a bank card number is not published, and the author is shown where it is.

Each kind is found by a pattern and then confirmed by the number's own rules, so that the many
long numbers a notice legitimately holds (case numbers, dates, order numbers, amounts, landlines,
统一社会信用代码) pass:

- ID number, 18 characters: 17 digits and a digit or X, with a valid province code, a real birth
  date (1900 … today) and the ISO 7064 MOD 11-2 check character of GB 11643. A random 18-digit
  number passes all three about once in 2,000 tries. Also written grouped 6-8-4 with spaces.
- ID number, 15 digits (issued before 1999): a valid province code and a real date 19YYMMDD.
- Mobile number: 11 digits 1[3-9]…, optionally +86 in front, optionally grouped 3-4-4 with
  spaces or hyphens, and not part of a longer run of digits. Published work phones of grid
  workers and staff (User.work_phone) and community office phones are allowed: they are public
  by design (公布联系电话).
- Bank card number: 13–19 digits passing the Luhn check, written as one run or in groups of four
  separated by spaces or hyphens. An 18-character run that is a valid 统一社会信用代码 (GB 32100
  check) is not a card.

Full-width digits (１３８…) are read as digits, and invisible characters (zero-width space and
joiners, word joiner, BOM, soft hyphen) are dropped before matching. A number split into groups
by short runs of separators — spaces, dots, hyphens, slashes, `·` — is read joined: an ID as
`110101.19500307.1235` or `1101 0119 5003 0712 35`, a mobile as `138/1234/5678` or
`+86 138.1234.5678`, a card in groups of four. Joined candidates face the same rules (and a
card's groups must be of four), so unrelated numbers that happen to stand side by side seldom
pass. A number is never claimed twice: the first rule in the order above that confirms it wins,
and a confirmed allowed phone claims its digits too.

Findings carry the field, the kind and an excerpt in which every finding is already masked, so
the warning shown to the author does not itself repeat the number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date

from webapp.masking import mask_id_number, mask_phone

# GB/T 2260 first two digits: provinces, plus 71 台湾, 81 香港, 82 澳门 and 83 (港澳台居民居住证).
ID_PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}
)
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

EXCERPT_CONTEXT = 14  # characters shown each side of a finding

ID_18 = re.compile(r"(?<![0-9])(\d{6}) ?(\d{8}) ?(\d{3}[0-9Xx])(?![0-9A-Za-z])")
ID_15 = re.compile(r"(?<![0-9])(\d{15})(?![0-9])")
MOBILE = re.compile(r"(?<![0-9])(?:\+?86[ -]?)?(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?![0-9])")
CARD = re.compile(r"(?<![0-9])(?:\d{13,19}|\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,4})?)(?![0-9])")
# A run of digits (an ID may end in X), and what may stand between the groups of one number.
DIGIT_GROUP = re.compile(r"\d+[Xx]?")
GROUP_SEPARATOR = re.compile(r"[ \t.\-/·_\u2010-\u2015\u2212]{1,3}")
MAX_JOINED_DIGITS = 19
MOBILE_DIGITS = re.compile(r"1[3-9]\d{9}")

# Full-width digits, letters, plus and space read as their ASCII selves (same length, so the
# spans found in the translated text are the spans of the original).
_FULL_WIDTH = {0xFF10 + i: ord("0") + i for i in range(10)}
_FULL_WIDTH.update({0xFF21 + i: ord("A") + i for i in range(26)})
_FULL_WIDTH.update({0xFF41 + i: ord("a") + i for i in range(26)})
_FULL_WIDTH.update({0xFF0B: ord("+"), 0xFF0D: ord("-"), 0x3000: ord(" ")})
_FULL_WIDTH.update({0xFF0E: ord("."), 0xFF0F: ord("/"), 0x00A0: ord(" ")})
# Characters that show nothing: dropped before matching, so they cannot hide a number.
INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e")


class Kind:
    ID_NUMBER = "id_number"
    MOBILE = "mobile"
    BANK_CARD = "bank_card"


@dataclass(frozen=True)
class Finding:
    """One number that stops publishing. `field` is "title", "body" or "file:<name>"."""

    field: str
    kind: str
    start: int
    end: int
    masked: str
    before: str  # excerpt text before the number, itself masked
    after: str


@dataclass(frozen=True)
class _Match:
    kind: str | None  # None: an allowed phone, which claims its digits but is no finding
    start: int
    end: int
    digits: str


# --- the number rules ----------------------------------------------------------------------------


def id_check_char(body17: str) -> str:
    """ISO 7064 MOD 11-2 check character of an 18-character ID number (GB 11643)."""
    total = sum(int(digit) * weight for digit, weight in zip(body17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def _real_date(year: int, month: int, day: int, today: date) -> bool:
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    return date(1900, 1, 1) <= born <= today


def is_id_number_18(value: str, today: date) -> bool:
    value = value.upper()
    if len(value) != 18 or not value[:17].isdigit() or int(value[:2]) not in ID_PROVINCES:
        return False
    if not _real_date(int(value[6:10]), int(value[10:12]), int(value[12:14]), today):
        return False
    return id_check_char(value[:17]) == value[17]


def is_id_number_15(value: str, today: date) -> bool:
    if len(value) != 15 or not value.isdigit() or int(value[:2]) not in ID_PROVINCES:
        return False
    return _real_date(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]), today)


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def is_credit_code(value: str) -> bool:
    """统一社会信用代码 (GB 32100): 18 characters with a mod-31 check character."""
    value = value.upper()
    if len(value) != 18 or any(char not in USCC_CHARS for char in value):
        return False
    total = sum(
        USCC_CHARS.index(char) * weight
        for char, weight in zip(value[:17], USCC_WEIGHTS, strict=True)
    )
    return USCC_CHARS[(31 - total % 31) % 31] == value[17]


def phone_digits(value: str) -> str:
    """Digits of a phone number as written, without a leading +86 / 86 country code."""
    digits = "".join(char for char in (value or "").translate(_FULL_WIDTH) if char.isdigit())
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits


def _mask(kind: str, digits: str) -> str:
    if kind == Kind.MOBILE:
        return mask_phone(digits)
    return mask_id_number(digits)  # at most 4 leading and 4 trailing characters, cards alike


# --- scanning ----------------------------------------------------------------------------------


def _normalized(text: str) -> tuple[str, list[int]]:
    """`text` as matched (full-width read as ASCII, invisible characters dropped), and for each
    of its positions the position in `text` (one more at the end, for spans)."""
    text = text.translate(_FULL_WIDTH)
    if not any(char in INVISIBLE for char in text):
        return text, list(range(len(text) + 1))
    kept = [(i, char) for i, char in enumerate(text) if char not in INVISIBLE]
    return "".join(char for _, char in kept), [i for i, _ in kept] + [len(text)]


def _joined_candidates(text: str) -> list[tuple[int, int, str, bool]]:
    """Numbers written in two or more groups with separators between them: (start, end,
    digits, grouped in fours). Every run of consecutive groups is a candidate, so a number
    next to another one (`序号 1 138…`) is still found by itself."""
    groups = list(DIGIT_GROUP.finditer(text))
    chains: list[list[re.Match]] = []
    for group in groups:
        previous = chains[-1][-1] if chains else None
        if (
            previous is not None
            and not previous.group(0)[-1:].isalpha()
            and GROUP_SEPARATOR.fullmatch(text, previous.end(), group.start())
        ):
            chains[-1].append(group)
        else:
            chains.append([group])
    found = []
    for chain in chains:
        for first in range(len(chain)):
            digits = chain[first].group(0)
            for last in range(first + 1, len(chain)):
                if digits[-1:].isalpha():
                    break
                digits += chain[last].group(0)
                if len(digits) > MAX_JOINED_DIGITS:
                    break
                fours = all(len(g.group(0)) == 4 for g in chain[first:last])
                found.append((chain[first].start(), chain[last].end(), digits, fours))
    return found


def _matches(text: str, allowed_phones: frozenset[str], today: date) -> list[_Match]:
    text, where = _normalized(text)
    claimed: list[_Match] = []
    joined = _joined_candidates(text)

    def free(start: int, end: int) -> bool:
        return all(end <= m.start or start >= m.end for m in claimed)

    for found in ID_18.finditer(text):
        value = "".join(found.groups())
        if free(*found.span()) and is_id_number_18(value, today):
            claimed.append(_Match(Kind.ID_NUMBER, *found.span(), value.upper()))
    for found in ID_15.finditer(text):
        if free(*found.span()) and is_id_number_15(found.group(1), today):
            claimed.append(_Match(Kind.ID_NUMBER, *found.span(), found.group(1)))
    for start, end, digits, _fours in joined:
        valid = (len(digits) == 18 and is_id_number_18(digits, today)) or (
            len(digits) == 15 and is_id_number_15(digits, today)
        )
        if valid and free(start, end):
            claimed.append(_Match(Kind.ID_NUMBER, start, end, digits.upper()))
    for found in MOBILE.finditer(text):
        if not free(*found.span()):
            continue
        digits = "".join(found.groups())
        kind = None if digits in allowed_phones else Kind.MOBILE
        claimed.append(_Match(kind, *found.span(), digits))
    for start, end, digits, _fours in joined:
        if MOBILE_DIGITS.fullmatch(digits) and free(start, end):
            kind = None if digits in allowed_phones else Kind.MOBILE
            claimed.append(_Match(kind, start, end, digits))
    for found in CARD.finditer(text):
        digits = re.sub(r"[ -]", "", found.group(0))
        if not 13 <= len(digits) <= 19 or not free(*found.span()):
            continue
        if luhn_valid(digits) and not is_credit_code(digits):
            claimed.append(_Match(Kind.BANK_CARD, *found.span(), digits))
    for start, end, digits, fours in joined:
        if not (fours and digits.isdigit() and 13 <= len(digits) <= 19) or not free(start, end):
            continue
        if luhn_valid(digits) and not is_credit_code(digits):
            claimed.append(_Match(Kind.BANK_CARD, start, end, digits))
    # Spans of the text as written, for excerpts and masking.
    return sorted(
        (
            replace(m, start=where[m.start], end=where[m.end - 1] + 1)
            for m in claimed
            if m.kind is not None
        ),
        key=lambda m: m.start,
    )


def _masked(text: str, matches: list[_Match]) -> tuple[str, list[tuple[_Match, int, int, str]]]:
    """`text` with every match masked, and where each masked match now sits."""
    pieces: list[str] = []
    placed: list[tuple[_Match, int, int, str]] = []
    cursor = length = 0
    for match in matches:
        pieces.append(text[cursor : match.start])
        length += match.start - cursor
        masked = _mask(match.kind, match.digits)
        placed.append((match, length, length + len(masked), masked))
        pieces.append(masked)
        length += len(masked)
        cursor = match.end
    pieces.append(text[cursor:])
    return "".join(pieces), placed


def _allowed(allowed_phones: Iterable[str]) -> frozenset[str]:
    return frozenset(phone_digits(phone) for phone in allowed_phones if phone)


def mask_text(text: str, allowed_phones: Iterable[str] = (), today: date | None = None) -> str:
    """`text` with every finding masked (a file name shown in a warning, for instance)."""
    matches = _matches(text or "", _allowed(allowed_phones), today or date.today())
    return _masked(text or "", matches)[0]


def scan_text(
    field: str, text: str, allowed_phones: Iterable[str] = (), today: date | None = None
) -> list[Finding]:
    """Every ID, resident mobile and bank card number in `text`, with masked excerpts."""
    text = text or ""
    matches = _matches(text, _allowed(allowed_phones), today or date.today())
    if not matches:
        return []
    masked_text, placed = _masked(text, matches)
    findings = []
    for match, start, end, masked in placed:
        before = masked_text[max(0, start - EXCERPT_CONTEXT) : start]
        after = masked_text[end : end + EXCERPT_CONTEXT]
        findings.append(
            Finding(
                field=field,
                kind=match.kind,
                start=match.start,
                end=match.end,
                masked=masked,
                before=("…" if start > EXCERPT_CONTEXT else "") + _one_line(before),
                after=_one_line(after) + ("…" if end + EXCERPT_CONTEXT < len(masked_text) else ""),
            )
        )
    return findings


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def scan_notice(
    title: str,
    body: str,
    file_names: Sequence[str],
    allowed_phones: Iterable[str],
    today: date | None = None,
    file_texts: Sequence[tuple[str, str]] = (),
) -> list[Finding]:
    """Findings in the title, the body, each attachment's file name and the text of each
    attachment that has some (a PDF's), in that order. A file's finding has the field
    "file:<its name, masked>"."""
    allowed = list(allowed_phones)
    findings = scan_text("title", title, allowed, today) + scan_text("body", body, allowed, today)
    named = [(name, name) for name in file_names] + list(file_texts)
    for name, text in named:
        # The field names the file by its masked name: the warning must not repeat the number.
        found = scan_text("file", text, allowed, today)
        field = f"file:{mask_text(name, allowed, today)}"
        findings += [replace(finding, field=field) for finding in found]
    return findings
