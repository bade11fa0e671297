"""Flask CLI commands of DESIGN.md §9."""

from __future__ import annotations

import getpass
from datetime import datetime

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from webapp import clock
from webapp.auth.services import AccountError, create_user, grant
from webapp.extensions import db
from webapp.models import Role

user_cli = AppGroup("user", help="Manage user accounts.")


@user_cli.command("create")
@click.argument("username")
@click.option("--name", "display_name", default="", help="Display name (显示名称).")
@click.option("--role", "roles", multiple=True, type=click.Choice([r.value for r in Role]))
@click.option("--scope-id", "scope_ids", multiple=True, type=int, help="One per --role, in order.")
@click.option("--work-phone", default="")
@click.option("--password", default=None, help="Prompted for when omitted.")
def create_user_command(username, display_name, roles, scope_ids, work_phone, password):
    """Create an account, e.g. `flask user create wang --role grid_worker --scope-id 3`."""
    if password is None:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat: ") != password:
            raise click.ClickException("The passwords differ.")
    scope_list = list(scope_ids) + [None] * (len(roles) - len(scope_ids))
    try:
        user = create_user(username, password, display_name, work_phone=work_phone)
        for role, scope_id in zip(roles, scope_list, strict=True):
            grant(user, role, scope_id)
    except AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Created user {user.username} (id {user.id}) with roles {', '.join(roles) or '-'}.")


def _account(username: str):
    from webapp.admin.accounts import find_user

    user = find_user(username)
    if user is None:
        raise click.ClickException(f"No user named {username!r}.")
    return user


def _account_change(change) -> None:
    """Run an accounts service (webapp/admin/accounts.py) as the command line, audited with no
    actor, and commit it or say why not."""
    try:
        change()
    except AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()


@user_cli.command("deactivate")
@click.argument("username")
def deactivate_user_command(username: str):
    """Deactivate an account: no more logins, every session ends now (a lost phone stops)."""
    from webapp.admin import accounts

    user = _account(username)
    _account_change(lambda: accounts.deactivate(None, user))
    click.echo(f"Deactivated {user.username}; every session revoked.")


@user_cli.command("reactivate")
@click.argument("username")
def reactivate_user_command(username: str):
    """Allow logins again. Old sessions stay revoked: the person logs in afresh."""
    from webapp.admin import accounts

    user = _account(username)
    _account_change(lambda: accounts.reactivate(None, user))
    click.echo(f"Reactivated {user.username}; old sessions stay revoked.")


@user_cli.command("set-password")
@click.argument("username")
@click.option("--password", default=None, help="Prompted for when omitted.")
def set_password_command(username: str, password: str | None):
    """Reset a password (argon2id); every session of the account ends."""
    from webapp.admin import accounts

    user = _account(username)
    if password is None:
        password = getpass.getpass("New password: ")
        if getpass.getpass("Repeat: ") != password:
            raise click.ClickException("The passwords differ.")
    _account_change(lambda: accounts.set_password(None, user, password))
    click.echo(f"Password of {user.username} set; every session revoked.")


@user_cli.command("move")
@click.argument("username")
@click.option("--from-grid", "from_grid", type=int, required=True)
@click.option("--to-grid", "to_grid", type=int, required=True)
def move_user_command(username: str, from_grid: int, to_grid: int):
    """Move a grid worker to another grid; records stay with the old grid."""
    from webapp.admin import accounts

    user = _account(username)
    _account_change(lambda: accounts.move_grid_worker(None, user, from_grid, to_grid))
    click.echo(f"Moved {user.username} from grid {from_grid} to grid {to_grid}.")


@user_cli.command("handover")
@click.argument("username")
@click.option("--to", "successor_name", required=True, help="The successor's username.")
def handover_user_command(username: str, successor_name: str):
    """Hand a leaving worker's grids and open cases to a successor (工作交接)."""
    from webapp.admin.handover import hand_over

    leaver, successor = _account(username), _account(successor_name)
    moved: dict[str, int] = {}
    _account_change(lambda: moved.update(hand_over(None, leaver, successor)))
    click.echo(
        f"Handed {moved['grids']} grid(s) and {moved['cases']} open case(s) "
        f"from {leaver.username} to {successor.username}."
    )


sla_cli = AppGroup("sla", help="Time limits of cases.")


@sla_cli.command("tick")
@click.option("--now", "now_text", default=None, help="Pretend it is this time (ISO 8601).")
def sla_tick_command(now_text: str | None):
    """Escalate cases whose stage went red and send due-soon and overdue alerts. Idempotent;
    safe to run every minute from cron on several machines at once."""
    from webapp.cases.sla import tick
    from webapp.i18n import SHANGHAI
    from webapp.runlock import run_lock

    now = clock.now()
    if now_text:
        try:
            now = datetime.fromisoformat(now_text.replace("Z", "+00:00"))
        except ValueError as error:
            raise click.BadParameter("use ISO 8601, e.g. 2026-11-30T09:00:00+08:00") from error
        if now.tzinfo is None:
            now = now.replace(tzinfo=SHANGHAI)
        if not current_app.config.get("PRODUCTION"):
            # Outside production the pages follow the tick, so the board shows what it found.
            clock.travel_to(now)
            db.session.commit()
            click.echo(f"(demo) app clock now reads {now.isoformat()}; `flask clock reset` undoes")
    with run_lock("sla-tick") as held:
        if not held:
            click.echo("sla tick: another tick is running; skipped")
            return
        report = tick(now)
    click.echo(
        f"sla tick at {now.isoformat()}: escalated {len(report.escalated)}"
        f" ({', '.join(report.escalated) or '-'}), overdue alerts {report.overdue_alerts},"
        f" due-soon alerts {report.due_soon_alerts}, skipped (raced) {report.skipped_races},"
        f" department alerts {report.department_alerts}"
    )


retention_cli = AppGroup("retention", help="Anonymise what is past its configured age.")


@retention_cli.command("run")
def retention_run_command():
    """Blank personal free text of old field records and personal columns of old audit rows
    (ages: RETENTION_RECORD_TEXT_DAYS, RETENTION_AUDIT_DETAIL_DAYS). Idempotent; run nightly."""
    from webapp.retention import run_retention

    report = run_retention()
    db.session.commit()
    records = ", ".join(f"{name} {count}" for name, count in report.records.items())
    click.echo(
        f"retention: records before {report.records_before.date().isoformat()} anonymised"
        f" ({records}); audit rows before {report.audit_before.date().isoformat()}"
        f" anonymised {report.audit_rows}"
    )


clock_cli = AppGroup("clock", help="The demo clock (ignored in production).")


@clock_cli.command("reset")
def clock_reset_command():
    """Put the demo clock back to real time."""
    clock.reset()
    db.session.commit()
    click.echo("app clock reset to real time")


def register_commands(app: Flask) -> None:
    app.cli.add_command(clock_cli)
    app.cli.add_command(user_cli)
    app.cli.add_command(sla_cli)
    app.cli.add_command(retention_cli)
    from webapp.push.cli import push_cli

    app.cli.add_command(push_cli)
    from webapp.reports.cli import ledger_cli

    app.cli.add_command(ledger_cli)
    from webapp.demo.cli import register_demo_commands

    register_demo_commands(app)
