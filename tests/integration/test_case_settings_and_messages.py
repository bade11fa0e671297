"""Admin case settings (departments, time limits) and the in-app message list."""

import uuid

from sqlalchemy import select

from tests.conftest import csrf_token_from
from webapp.cases import limits
from webapp.cases.departments import departments
from webapp.extensions import db
from webapp.models import Notification
from webapp.notify import notify


def settings_form(client):
    return csrf_token_from(client.get("/admin/settings/cases").get_data(as_text=True))


def limit_rows(*rows):
    data = {"stage": [], "category": [], "severity": [], "yellow": [], "red": []}
    for stage, category, severity, yellow, red in rows:
        for key, value in zip(data, (stage, category, severity, yellow, red), strict=True):
            data[key].append(value)
    return data


def test_admin_changes_departments_and_limits(client, login_as, gen_user):
    gen_user("root", "admin")
    db.session.commit()
    login_as("root")
    token = settings_form(client)
    response = client.post(
        "/admin/settings/cases",
        data={
            "csrf_token": token,
            "departments": "城管\n派出所\n\n城管\n水务",
            **limit_rows(
                ("accept", "*", "*", "1", "2"),
                ("handle", "fire", "urgent", "0", "1"),
                ("handle", "*", "*", "3", "5"),
                ("follow_up", "*", "*", "2", "3"),
                ("handle", "*", "*", "", ""),
            ),
        },
    )
    assert response.status_code == 303
    assert departments() == ["城管", "派出所", "水务"]
    chosen = limits.limit_for(limits.Stage.HANDLE, "fire", "urgent", limits.configured_limits())
    assert (chosen.yellow, chosen.red) == (0, 1)
    fallback = limits.limit_for(limits.Stage.HANDLE, "gas", "low", limits.configured_limits())
    assert (fallback.yellow, fallback.red) == (3, 5)


def test_yellow_after_red_is_refused_and_nothing_changes(client, login_as, gen_user):
    gen_user("root", "admin")
    db.session.commit()
    login_as("root")
    token = settings_form(client)
    response = client.post(
        "/admin/settings/cases",
        data={
            "csrf_token": token,
            "departments": "城管",
            **limit_rows(
                ("accept", "*", "*", "5", "2"),
                ("handle", "*", "*", "3", "5"),
                ("follow_up", "*", "*", "2", "3"),
            ),
        },
    )
    assert response.status_code == 422
    assert "黄灯天数不能超过红灯" in response.get_data(as_text=True)
    assert limits.configured_limits() == limits.DEFAULT_LIMITS


def test_every_stage_needs_a_limit(client, login_as, gen_user):
    gen_user("root", "admin")
    db.session.commit()
    login_as("root")
    token = settings_form(client)
    response = client.post(
        "/admin/settings/cases",
        data={
            "csrf_token": token,
            "departments": "城管",
            **limit_rows(("accept", "*", "*", "1", "2")),
        },
    )
    assert response.status_code == 422


def test_only_admins_change_case_settings(client, login_as, gen_user, gen_street):
    gen_user("s", "street_staff", gen_street())
    db.session.commit()
    login_as("s")
    assert client.get("/admin/settings/cases").status_code == 403


def test_messages_list_shows_only_mine_and_marks_read(client, login_as, gen_user):
    me, other = gen_user("me", "admin"), gen_user("other", "admin")
    notify([me], "escalated", "有事件上报至您：楼道堆物", url=f"/cases/{uuid.uuid4()}")
    notify([other], "escalated", "别人的消息")
    db.session.commit()
    login_as("me")
    page = client.get("/notifications").get_data(as_text=True)
    assert "楼道堆物" in page and "别人的消息" not in page
    assert 'class="badge">1<' in page
    token = csrf_token_from(page)
    mine = db.session.scalar(select(Notification).where(Notification.user_id == me.id))
    response = client.post(
        "/notifications/read", data={"csrf_token": token, "id": mine.id, "next": mine.url}
    )
    assert response.status_code == 303 and response.location.endswith(mine.url)
    db.session.expire_all()
    assert db.session.get(Notification, mine.id).read_at is not None
    theirs = db.session.scalar(select(Notification).where(Notification.user_id == other.id))
    assert theirs.read_at is None


def test_marking_read_never_redirects_off_site(client, login_as, gen_user):
    gen_user("me", "admin")
    db.session.commit()
    login_as("me")
    token = csrf_token_from(client.get("/notifications").get_data(as_text=True))
    response = client.post(
        "/notifications/read", data={"csrf_token": token, "next": "//evil.example"}
    )
    assert "evil" not in response.location
