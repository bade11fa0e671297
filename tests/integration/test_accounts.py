"""Accounts in the app (issue 12) and sessions that end for good (issue 10): admin creates a
worker, moves them, deactivates one who left, resets a password; a lost phone's cookie never
works again, not even after the account is reactivated."""

from __future__ import annotations

import re
import uuid

import pytest

from tests import factories as f
from tests.integration.sync_api import API, login, make_world, visit_op
from webapp.extensions import db
from webapp.models import AuditLog, LoginSession, Membership, Tombstone, User, Visit


@pytest.fixture
def world(app):
    world = make_world()
    f.gen_user("root", "admin")
    db.session.commit()
    return world


@pytest.fixture
def admin(app, world):
    client = app.test_client()
    login(client, "root")
    return client


@pytest.fixture
def phone(app, world):
    """worker_g1's phone, signed in: the one that gets lost."""
    client = app.test_client()
    login(client, "worker_g1")
    assert client.get("/api/v1/me", headers=API).status_code == 200
    return client


def token(client, url: str = "/admin/users") -> str:
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def user_named(username: str) -> User:
    db.session.expire_all()
    return db.session.query(User).filter_by(username=username).one()


def act(admin, user: User, action: str, confirm: bool = True, **fields):
    data = {"csrf_token": token(admin, f"/admin/users/{user.id}"), **fields}
    if confirm:
        data["confirm"] = "yes"
    return admin.post(f"/admin/users/{user.id}/{action}", data=data)


def locked_out(client) -> bool:
    """401 JSON on the API and a redirect to the login page on pages: both doors shut."""
    api = client.get("/api/v1/me", headers=API)
    page = client.get("/grid")
    return api.status_code == 401 and page.status_code == 302 and "/login" in page.location


def test_admin_creates_a_worker_who_can_log_in(app, admin, world):
    response = admin.post(
        "/admin/users",
        data={
            "csrf_token": token(admin),
            "username": "newworker",
            "display_name": "李新",
            "password": "a-good-password",
            "role": "grid_worker",
            "scope_id": str(world.grids["G2"].id),
        },
    )

    assert response.status_code == 303
    user = user_named("newworker")
    assert [(m.role, m.scope_id) for m in user.memberships] == [
        ("grid_worker", world.grids["G2"].id)
    ]
    assert user.password_hash.startswith("$argon2id$")
    assert db.session.query(AuditLog).filter_by(action="user_created").count() == 1
    login(app.test_client(), "newworker", "a-good-password")


def test_a_role_without_an_existing_scope_is_refused_in_chinese(admin, world):
    response = admin.post(
        "/admin/users",
        data={
            "csrf_token": token(admin),
            "username": "nobody",
            "display_name": "无",
            "password": "a-good-password",
            "role": "grid_worker",
            "scope_id": "999999",
        },
    )

    assert response.status_code == 422
    assert "请选择一个已有的网格" in response.get_data(as_text=True)
    assert db.session.query(User).filter_by(username="nobody").count() == 0


def test_deactivation_asks_first_then_ends_every_session_at_once(admin, phone, world):
    worker = user_named("worker_g1")

    asked = act(admin, worker, "deactivate", confirm=False)
    assert asked.status_code == 200 and "确认" in asked.get_data(as_text=True)
    assert user_named("worker_g1").is_active and not locked_out(phone)

    assert act(admin, worker, "deactivate").status_code == 303

    assert locked_out(phone)
    assert db.session.query(LoginSession).filter_by(user_id=worker.id, revoked_at=None).count() == 0
    assert db.session.query(AuditLog).filter_by(action="user_deactivated").count() == 1


def test_a_lost_phones_cookie_stays_dead_after_reactivation(app, admin, phone, world):
    worker = user_named("worker_g1")
    act(admin, worker, "deactivate")

    assert act(admin, user_named("worker_g1"), "reactivate").status_code == 303

    assert user_named("worker_g1").is_active
    assert locked_out(phone)  # the old cookie, replayed
    fresh = app.test_client()
    login(fresh, "worker_g1")  # the person logs in again
    assert fresh.get("/api/v1/me", headers=API).status_code == 200


def test_a_password_reset_ends_every_session_and_the_old_password(app, admin, phone, world):
    worker = user_named("worker_g1")

    assert act(admin, worker, "password", password="another-password-1").status_code == 303

    assert locked_out(phone)
    refused = app.test_client()
    page = refused.get("/login").get_data(as_text=True)
    old = refused.post(
        "/login",
        data={
            "username": "worker_g1",
            "password": f.TEST_PASSWORD,
            "csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1),
        },
    )
    assert old.status_code != 303
    login(app.test_client(), "worker_g1", "another-password-1")


def test_a_short_password_is_refused(admin, world):
    response = act(admin, user_named("worker_g1"), "password", password="short")

    assert response.status_code == 422
    assert "至少 8 个字符" in response.get_data(as_text=True)


def test_moving_a_worker_keeps_the_records_with_the_grid(admin, phone, world):
    worker = user_named("worker_g1")
    g1, g3 = world.grids["G1"].id, world.grids["G3"].id
    pushed = phone.post(
        "/api/v1/sync/push",
        json={"device_id": "p", "ops": [visit_op(world.households["G1"][0])]},
        headers=API,
    )
    visit_id = pushed.get_json()["results"][0]["record_id"]

    assert act(admin, worker, "move", from_grid=str(g1), to_grid=str(g3)).status_code == 303

    moved = user_named("worker_g1")
    assert [(m.role, m.scope_id) for m in moved.memberships] == [("grid_worker", g3)]
    assert db.session.query(Tombstone).filter_by(entity="grid", entity_id=str(g1)).count() == 1
    assert db.session.get(Visit, uuid.UUID(visit_id)).grid_id == g1
    me = phone.get("/api/v1/me", headers=API).get_json()
    assert [grid["id"] for grid in me["grids"]] == [g3]


def test_an_admin_cannot_deactivate_themselves(admin, world):
    response = act(admin, user_named("root"), "deactivate")

    assert response.status_code == 422
    assert user_named("root").is_active


def test_only_admin_manages_users(app, world):
    staff = app.test_client()
    login(staff, "staff_c1")

    assert staff.get("/admin/users").status_code == 403
    worker = user_named("worker_g1")
    assert staff.post(f"/admin/users/{worker.id}/deactivate").status_code in (400, 403)
    assert user_named("worker_g1").is_active


def test_the_command_line_deactivates_and_sessions_end(app, phone, world):
    result = app.test_cli_runner().invoke(args=["user", "deactivate", "worker_g1"])

    assert result.exit_code == 0, result.output
    assert locked_out(phone)
    again = app.test_cli_runner().invoke(args=["user", "reactivate", "worker_g1"])
    assert again.exit_code == 0 and locked_out(phone)


def test_the_command_line_names_an_unknown_user(app, world):
    result = app.test_cli_runner().invoke(args=["user", "deactivate", "ghost"])

    assert result.exit_code != 0 and "ghost" in result.output


def test_removing_a_role_asks_first_and_drops_the_grid(admin, phone, world):
    worker = user_named("worker_g1")
    membership = db.session.query(Membership).filter_by(user_id=worker.id).one()

    asked = act(admin, worker, "remove_role", confirm=False, membership=str(membership.id))
    assert asked.status_code == 200
    assert act(admin, worker, "remove_role", membership=str(membership.id)).status_code == 303

    assert user_named("worker_g1").memberships == []


def test_changing_your_own_password_logs_out_every_other_device(app, phone, world):
    laptop = app.test_client()
    login(laptop, "worker_g1")
    page = laptop.get("/account/password").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    wrong = laptop.post(
        "/account/password",
        data={
            "csrf_token": csrf,
            "current_password": "not-it",
            "new_password": "brand-new-pass",
            "repeat_password": "brand-new-pass",
        },
    )
    assert wrong.status_code == 422 and "当前密码不对" in wrong.get_data(as_text=True)
    changed = laptop.post(
        "/account/password",
        data={
            "csrf_token": csrf,
            "current_password": f.TEST_PASSWORD,
            "new_password": "brand-new-pass",
            "repeat_password": "brand-new-pass",
        },
    )

    assert changed.status_code == 303
    assert locked_out(phone)  # the other device
    assert laptop.get("/api/v1/me", headers=API).status_code == 200  # this one carries on
    assert db.session.query(AuditLog).filter_by(action="password_changed").count() == 1
