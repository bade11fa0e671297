"""A small world for the notice and public-site tests, and helpers to act in it.

Street S has communities C1 (grids G1, G1b) and C2 (grid G2); street T has C3 (grid G3).
street_s is street staff of S, staff_c1 / staff_c2 community staff of C1 / C2, staff_t street
staff of T, worker_g1 grid worker of G1 with a published work phone. Residents: 张三明 and 李四
(C1), 王小红 (C2); every resident has a mobile and an ID number that must never reach the
public site.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from tests import factories as f
from tests.conftest import csrf_token_from, signed_in_client
from webapp.extensions import db
from webapp.i18n import local_today
from webapp.models import (
    Community,
    Grid,
    Notice,
    NoticeStatus,
    Resident,
    Street,
    User,
    utcnow,
)

WORKER_PHONE = "13911112222"
OFFICE_PHONE_C1 = "027-87654321"
RESIDENT_PHONE = "13812345678"
RESIDENT_ID = "110101195003071235"  # a valid ID number (MOD 11-2 check digit 5)

# What must never appear on the public site (DESIGN.md §7).
ID_PATTERN = re.compile(r"(?<!\d)\d{17}[\dXx](?![\dA-Za-z])|(?<!\d)\d{6} \d{8} \d{3}[\dXx]")
MOBILE_PATTERN = re.compile(r"(?<!\d)1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)")


@dataclass
class World:
    streets: dict[str, Street]
    communities: dict[str, Community]
    grids: dict[str, Grid]
    users: dict[str, User]
    residents: dict[str, Resident]


@pytest.fixture
def world(app) -> World:
    s, t = f.gen_street(name="幸福街道"), f.gen_street(name="和平街道")
    c1 = f.gen_community(
        s, name="幸福里社区", office_phone=OFFICE_PHONE_C1, office_address="北湖路1号"
    )
    c2 = f.gen_community(s, name="光明社区", office_phone="027-81234567")
    c3 = f.gen_community(t, name="和平社区")
    grids = {
        "G1": f.gen_grid(c1, name="幸福里第1网格", boundary="北湖路以东"),
        "G1b": f.gen_grid(c1, name="幸福里第2网格"),
        "G2": f.gen_grid(c2, name="光明第1网格"),
        "G3": f.gen_grid(c3, name="和平第1网格"),
    }
    b3 = f.gen_building(grids["G1"], name="幸福里3号楼", address="北湖路8号幸福里3号楼")
    f.gen_building(grids["G1b"], name="幸福里13号楼", address="北湖路9号幸福里13号楼")
    h1 = f.gen_household(building=b3, unit=2, room="501", contact_phone="13700001111")
    h2 = f.gen_household(grid=grids["G2"])
    residents = {
        "张三明": f.gen_resident(h1, name="张三明", low_income=True),
        "李四": f.gen_resident(
            h1, name="李四", phone="13698765432", id_number="110101198001011234"
        ),
        "王小红": f.gen_resident(h2, name="王小红"),
    }
    users = {
        "street_s": f.gen_user("street_s", "street_staff", s, work_phone="13500001111"),
        "staff_c1": f.gen_user("staff_c1", "community_staff", c1),
        "staff_c2": f.gen_user("staff_c2", "community_staff", c2),
        "staff_t": f.gen_user("staff_t", "street_staff", t),
        "worker_g1": f.gen_user(
            "worker_g1", "grid_worker", grids["G1"], display_name="宋海波", work_phone=WORKER_PHONE
        ),
    }
    db.session.commit()
    return World({"S": s, "T": t}, {"C1": c1, "C2": c2, "C3": c3}, grids, users, residents)


@pytest.fixture
def signed_in(app):
    """A fresh test client signed in as `username`; several users can act side by side."""

    def sign_in(username: str):
        return signed_in_client(app, username)

    return sign_in


def csrf(client) -> str:
    return csrf_token_from(client.get("/notices/new").get_data(as_text=True))


def notice_form(**fields) -> dict:
    """A valid form for a community notice; override any field."""
    data = {
        "title": "关于幸福里片区临时停水的通知",
        "body": "因管网维修，明日9:00至17:00停水。",
        "category": "notice",
        "target": "communities",
        "community_ids": [],
        "publish_at": "",
        "period_start": "",
        "period_end": "",
    }
    data.update(fields)
    return data


def post_notice(client, url: str = "/notices/new", **fields):
    data = notice_form(**fields)
    data["csrf_token"] = csrf(client)
    return client.post(url, data=data, content_type="multipart/form-data")


def notice_id_from(response) -> int:
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return int(re.search(r"/notices/(\d+)$", response.headers["Location"]).group(1))


def action(client, notice_id: int, verb: str):
    return client.post(f"/notices/{notice_id}/{verb}", data={"csrf_token": csrf(client)})


def make_notice(
    author: User,
    street: Street,
    communities: list[Community] = (),
    *,
    status: str = NoticeStatus.PUBLISHED,
    publish_at: datetime | None = None,
    **fields,
) -> Notice:
    """A notice straight in the database (the public tests do not care how it was written)."""
    fields.setdefault("title", "社区通知")
    fields.setdefault("body", "通知内容。")
    fields.setdefault("category", "notice")
    if status != NoticeStatus.DRAFT and publish_at is None:
        publish_at = utcnow() - timedelta(hours=1)
    notice = Notice(
        street_id=street.id,
        author_id=author.id,
        status=status,
        publish_at=publish_at,
        communities=list(communities),
        **fields,
    )
    db.session.add(notice)
    db.session.commit()
    return notice


def publicity_notice(world: World, **fields) -> Notice:
    today = local_today()
    fields.setdefault("title", "幸福里社区低保拟保障对象公示")
    fields.setdefault(
        "body",
        "经审核，以下家庭拟纳入低保，现予公示。\n\n"
        "序号 姓名 家庭人口 救助类别\n1 张三明 3人 城市低保\n2 赵大年 1人 城市低保\n\n"
        f"公示期间如有异议请联系网格员宋海波，电话{WORKER_PHONE}，或社区{OFFICE_PHONE_C1}。\n"
        "李四家庭另行公示。\n特此公示",
    )
    fields.setdefault("period_start", today - timedelta(days=1))
    fields.setdefault("period_end", today + timedelta(days=6))
    return make_notice(
        world.users["staff_c1"],
        world.streets["S"],
        [world.communities["C1"]],
        category="publicity",
        **fields,
    )
