from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Membership, User


def test_user_create_makes_an_account_with_a_scoped_role(app, gen_grid):
    grid = gen_grid()
    db.session.commit()
    result = app.test_cli_runner().invoke(
        args=[
            "user",
            "create",
            "liwei",
            "--name",
            "李伟",
            "--role",
            "grid_worker",
            "--scope-id",
            str(grid.id),
            "--password",
            "a-long-password",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "liwei"))
    assert user.display_name == "李伟"
    assert user.password_hash.startswith("$argon2id$")
    membership = db.session.scalar(select(Membership).where(Membership.user_id == user.id))
    assert (membership.role, membership.scope_kind, membership.scope_id) == (
        "grid_worker",
        "grid",
        grid.id,
    )


def test_user_create_refuses_a_taken_username(app, gen_user):
    gen_user("liwei")
    db.session.commit()
    result = app.test_cli_runner().invoke(
        args=["user", "create", "LiWei", "--password", "a-long-password"]
    )
    assert result.exit_code != 0
    assert "taken" in result.output


def test_user_create_refuses_a_scoped_role_without_a_scope(app):
    result = app.test_cli_runner().invoke(
        args=["user", "create", "liwei", "--role", "community_staff", "--password", "long-enough"]
    )
    assert result.exit_code != 0
    assert db.session.scalar(select(User).where(User.username == "liwei")) is None
