"""Locale and time zone: Simplified Chinese by default, English on request; Asia/Shanghai times."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, has_request_context, request
from flask_babel import format_date, format_datetime
from flask_login import current_user

from webapp.extensions import babel

SHANGHAI = ZoneInfo("Asia/Shanghai")
SUPPORTED_LOCALES = {"zh_Hans_CN": "中文", "en": "English"}
LOCALE_COOKIE = "gridrounds_lang"


def select_locale() -> str:
    if not has_request_context():  # CLI and background work speak the default language
        return "zh_Hans_CN"
    chosen = request.cookies.get(LOCALE_COOKIE, "")
    if chosen in SUPPORTED_LOCALES:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in SUPPORTED_LOCALES:
        return current_user.locale
    return "zh_Hans_CN"


def html_lang(locale: str) -> str:
    """BCP 47 tag for `<html lang>`: zh-CN makes browsers pick CJK fonts the way Chinese readers
    expect (not Japanese glyph variants)."""
    return "zh-CN" if locale.startswith("zh") else "en"


def local_now() -> datetime:
    from webapp import clock

    return clock.now().astimezone(SHANGHAI)


def local_today() -> date:
    return local_now().date()


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)

    @app.template_filter("datetime")
    def _datetime(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
        return format_datetime(value, fmt) if value else ""

    @app.template_filter("date")
    def _date(value: date | None, fmt: str = "yyyy-MM-dd") -> str:
        return format_date(value, fmt) if value else ""

    @app.context_processor
    def _locale_helpers() -> dict:
        locale = select_locale()
        return {
            "html_lang": html_lang(locale),
            "current_locale": locale,
            "supported_locales": SUPPORTED_LOCALES,
        }
