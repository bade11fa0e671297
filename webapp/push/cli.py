"""`flask push keys` and `flask push send-pending` (DESIGN.md §6, §9)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from webapp.extensions import db
from webapp.push import keys, queue, sender
from webapp.runlock import run_lock

push_cli = AppGroup("push", help="Web Push: keys and the outbox of messages.")


@push_cli.command("keys")
@click.option(
    "--force",
    is_flag=True,
    help="Replace an existing key pair (every browser must subscribe again).",
)
def keys_command(force: bool):
    """Make the VAPID key pair into the instance folder."""
    try:
        public = keys.make_keys(force=force)
    except keys.KeysExist as error:
        raise click.ClickException(
            f"{error} exists; --force replaces it and every browser must subscribe again"
        ) from error
    click.echo(f"wrote {keys.private_key_path()} and {keys.public_key_path()}")
    click.echo(f"public key: {public}")


@push_cli.command("send-pending")
def send_pending_command():
    """Send the push messages that are due. Safe to run every minute from cron."""
    with run_lock("push-send-pending") as held:
        if not held:
            click.echo("push: another send-pending is running; skipped")
            return
        try:
            report = sender.send_pending()
        except sender.NoKeys as error:
            raise click.ClickException(str(error)) from error
    click.echo(
        f"push: sent {report.sent}, deferred {report.deferred}, subscriptions gone {report.gone},"
        f" given up {report.given_up}, withdrawn notices dropped {report.dropped}"
    )


@push_cli.command("digest")
def digest_command():
    """Queue the daily summary for users who chose it; run once a day (e.g. 08:00) from cron,
    then `push send-pending` delivers it."""
    with run_lock("push-digest") as held:
        if not held:
            click.echo("push: another digest is running; skipped")
            return
        made = queue.enqueue_digests()
        db.session.commit()
    click.echo(f"push: {made} daily summaries queued")
