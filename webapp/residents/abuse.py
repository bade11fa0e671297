"""Keeping the anonymous report form usable by residents and costly for scripts, with nothing
from a third party (no CAPTCHA service: Google's is blocked in China, and the others see every
resident who reports).

Three layers: rate limits per IP and per device (Flask-Limiter, see views), a small proof of
work the form's script solves while the resident types (static/js/report-pow.js), and, for a
browser without JavaScript, a simple question instead. A challenge is signed, expires, and is
stored with the report it bought (unique), so one solution buys one report.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from flask import current_app, request
from flask_babel import lazy_gettext as _l

DEFAULT_BITS = 14  # ~16,000 hashes: a second or two on a cheap phone, while the form is filled in
CHALLENGE_TTL = 2 * 3600
DEVICE_COOKIE = "gridrounds_device"
DEVICE_MAX_AGE = 400 * 24 * 3600

# Answers are digits, so any keyboard can type them; the questions are plain Chinese.
QUESTIONS = (
    (_l("How many days are there in a week? (answer with a digit)"), "7"),
    (_l("What is three plus four? (answer with a digit)"), "7"),
    (_l("How many months are there in a year? (answer with a digit)"), "12"),
    (_l("What is two plus three? (answer with a digit)"), "5"),
    (_l("How many fingers are on one hand? (answer with a digit)"), "5"),
    (_l("What is ten minus one? (answer with a digit)"), "9"),
)


@dataclass(frozen=True)
class Challenge:
    token: str
    bits: int
    question: str


def difficulty() -> int:
    return int(current_app.config.get("REPORT_POW_BITS", DEFAULT_BITS))


def _sign(text: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"report-pow:" + text.encode(), hashlib.sha256).hexdigest()[:32]


def new_challenge() -> Challenge:
    bits = difficulty()
    question = secrets.randbelow(len(QUESTIONS))
    body = f"{int(time.time())}.{secrets.token_hex(12)}.{question}.{bits}"
    return Challenge(f"{body}.{_sign(body)}", bits, str(QUESTIONS[question][0]))


def question_of(token: str) -> str:
    parts = (token or "").split(".")
    try:
        return str(QUESTIONS[int(parts[2])][0])
    except (IndexError, ValueError):
        return str(QUESTIONS[0][0])


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def check(token: str, nonce: str, answer: str) -> str | None:
    """The challenge id to store with the report if `token` is ours and fresh and either the
    work or the answer is right; None otherwise."""
    parts = (token or "").split(".")
    if len(parts) != 5:
        return None
    issued, random_part, question, bits, signature = parts
    body = ".".join(parts[:4])
    if not hmac.compare_digest(_sign(body), signature):
        return None
    try:
        age = time.time() - int(issued)
        question_index, wanted_bits = int(question), int(bits)
    except ValueError:
        return None
    if not 0 <= age <= CHALLENGE_TTL or not 0 <= question_index < len(QUESTIONS):
        return None
    nonce = (nonce or "").strip()[:32]
    if nonce:
        digest = hashlib.sha256(f"{token}:{nonce}".encode()).digest()
        if leading_zero_bits(digest) >= wanted_bits:
            return random_part
    if (answer or "").strip() == QUESTIONS[question_index][1]:
        return random_part
    return None


def solve(token: str) -> str:
    """What the browser's script does, for tests and benchmarks."""
    wanted = int(token.split(".")[3])
    nonce = 0
    while True:
        digest = hashlib.sha256(f"{token}:{nonce}".encode()).digest()
        if leading_zero_bits(digest) >= wanted:
            return str(nonce)
        nonce += 1


def device_id() -> str:
    value = request.cookies.get(DEVICE_COOKIE, "")
    return value if len(value) == 32 and all(c in "0123456789abcdef" for c in value) else ""


def remember_device(response) -> None:
    if device_id():
        return
    response.set_cookie(
        DEVICE_COOKIE,
        secrets.token_hex(16),
        max_age=DEVICE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
    )


def failed_message() -> str:
    from flask_babel import gettext as _

    return _("Please answer the question below; the page's own check did not finish.")
