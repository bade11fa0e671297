from sqlalchemy import select

from tests.conftest import csrf_token_from
from tests.factories import TEST_PASSWORD
from webapp.extensions import db
from webapp.models import AuditLog, LoginSession, User


def _post_login(client, username, password):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


def test_login_page_is_chinese_with_the_contract_fields(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "登录网格通" in html
    for field in ('name="username"', 'name="password"', 'name="csrf_token"'):
        assert field in html


def test_each_role_lands_on_its_own_home(client, login_as, gen_user, gen_grid):
    grid = gen_grid()
    cases = [
        (gen_user("w", "grid_worker", grid), "/grid"),
        (gen_user("c", "community_staff", grid.community), "/community"),
        (gen_user("s", "street_staff", grid.community.street), "/cases/triage"),
        (gen_user("a", "admin"), "/admin/org"),
    ]
    db.session.commit()
    for user, home in cases:
        response = login_as(user.username)
        assert response.location.endswith(home), user.username
        assert client.get(home).status_code == 200
        client.post("/logout", data={"csrf_token": _token(client, home)})


def _token(client, path):
    return csrf_token_from(client.get(path).get_data(as_text=True))


def test_passwords_are_stored_as_argon2id(gen_user):
    user = gen_user()
    assert user.password_hash.startswith("$argon2id$")


def test_wrong_password_is_refused_and_audited(client, gen_user):
    gen_user("wang")
    db.session.commit()
    response = _post_login(client, "wang", "not the password")
    assert response.status_code == 200
    assert "用户名或密码错误" in response.get_data(as_text=True)
    actions = db.session.scalars(select(AuditLog.action)).all()
    assert actions == ["login_failed"]


def test_unknown_username_gets_the_same_answer_as_a_wrong_password(client):
    response = _post_login(client, "nobody", "whatever-password")
    assert response.status_code == 200
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client, gen_user):
    gen_user("wang")
    db.session.commit()
    response = client.post("/login", data={"username": "wang", "password": TEST_PASSWORD})
    assert response.status_code == 400


def test_logout_revokes_the_session_on_the_server(client, login_as, gen_user, gen_grid, app):
    gen_user("wang", "grid_worker", gen_grid())
    db.session.commit()
    login_as("wang")
    stolen_cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    client.post("/logout", data={"csrf_token": _token(client, "/grid")})

    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], stolen_cookie)
    response = thief.get("/grid")
    assert response.status_code == 302
    assert "/login" in response.location
    assert db.session.scalar(select(LoginSession.revoked_at)) is not None


def test_deactivated_user_loses_access_at_once(client, login_as, gen_user, gen_grid):
    user = gen_user("wang", "grid_worker", gen_grid())
    db.session.commit()
    login_as("wang")
    db.session.get(User, user.id).is_active = False
    db.session.commit()
    assert client.get("/grid").status_code == 302


def test_login_is_throttled_per_username_after_repeated_failures(client, gen_user, app):
    gen_user("wang")
    db.session.commit()
    limit = int(app.config["LOGIN_LIMIT_PER_USERNAME"].split()[0])
    statuses = [_post_login(client, "wang", "wrong-password").status_code for _ in range(limit + 1)]
    assert statuses[:limit] == [200] * limit
    assert statuses[-1] == 429
    # Even the right password is refused while throttled.
    assert _post_login(client, "wang", TEST_PASSWORD).status_code == 429


def test_successful_logins_do_not_count_against_the_limit(client, login_as, gen_user, app):
    gen_user("wang", "admin")
    db.session.commit()
    limit = int(app.config["LOGIN_LIMIT_PER_USERNAME"].split()[0])
    for _ in range(limit + 2):
        login_as("wang")
        client.post("/logout", data={"csrf_token": _token(client, "/admin/org")})


def test_next_parameter_cannot_redirect_off_site(client, gen_user):
    gen_user("wang", "admin")
    db.session.commit()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login?next=//evil.example/steal",
        data={"username": "wang", "password": TEST_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 303
    assert "evil.example" not in response.location


def test_next_parameter_returns_to_the_page_asked_for(client, gen_user, gen_grid):
    grid = gen_grid()
    gen_user("wang", "grid_worker", grid)
    db.session.commit()
    first = client.get(f"/grids/{grid.id}")
    assert first.status_code == 302
    login_page = client.get(first.location)
    response = client.post(
        first.location,
        data={
            "username": "wang",
            "password": TEST_PASSWORD,
            "csrf_token": csrf_token_from(login_page.get_data(as_text=True)),
        },
    )
    assert response.location.endswith(f"/grids/{grid.id}")
