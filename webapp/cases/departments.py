"""The departments a case can be assigned to: a configurable list (settings key "departments")."""

from __future__ import annotations

from webapp.extensions import db
from webapp.models import Setting

SETTING_KEY = "departments"
DEFAULT_DEPARTMENTS = [
    "城管",
    "派出所",
    "司法所",
    "物业",
    "消防",
    "市场监管",
    "住建",
    "民政",
    "卫健",
    "生态环境",
    "供电",
    "燃气公司",
]


def departments() -> list[str]:
    setting = db.session.get(Setting, SETTING_KEY)
    return list(setting.value) if setting is not None and setting.value else DEFAULT_DEPARTMENTS


def save_departments(names: list[str]) -> None:
    cleaned = list(dict.fromkeys(n.strip() for n in names if n.strip()))
    setting = db.session.get(Setting, SETTING_KEY)
    if setting is None:
        db.session.add(Setting(key=SETTING_KEY, value=cleaned))
    else:
        setting.value = cleaned
