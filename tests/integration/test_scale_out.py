"""Several servers without surprises (DESIGN.md §8, §9): production needs one shared SECRET_KEY,
the upload and key folders come from the environment, and cron commands started on two servers
at once do their work once (run locks; a digest is queued once a day)."""

from __future__ import annotations

import pytest

from tests import factories as f
from webapp import create_app
from webapp.config import MissingSecretKey
from webapp.extensions import db
from webapp.models import PushMessage, PushSubscription, utcnow
from webapp.notify import notify
from webapp.push.queue import enqueue_digests
from webapp.runlock import run_lock


def test_production_refuses_to_start_without_a_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("GRIDROUNDS_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(MissingSecretKey):
        create_app({"TESTING": True})


def test_production_starts_with_the_shared_key_and_folders_from_the_environment(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("GRIDROUNDS_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "shared-by-every-server")
    monkeypatch.setenv("UPLOAD_FOLDER", str(tmp_path / "shared-uploads"))
    monkeypatch.setenv("VAPID_KEY_DIR", str(tmp_path / "keys"))
    app = create_app({"TESTING": True})
    assert app.config["SECRET_KEY"] == "shared-by-every-server"
    assert app.config["UPLOAD_FOLDER"] == str(tmp_path / "shared-uploads")
    assert app.config["VAPID_KEY_DIR"] == str(tmp_path / "keys")


def test_a_second_run_steps_aside_while_the_first_holds_the_lock(app):
    with run_lock("bench-lock") as first:
        with run_lock("bench-lock") as second:
            assert first is True and second is False
        with run_lock("another-command") as other:
            assert other is True
    with run_lock("bench-lock") as again:
        assert again is True  # released when the first run ended


def test_sla_tick_started_while_another_runs_does_nothing(app):
    with run_lock("sla-tick"):
        result = app.test_cli_runner().invoke(args=["sla", "tick"])
    assert result.exit_code == 0, result.output
    assert "skipped" in result.output


def test_the_daily_digest_is_queued_once_however_often_it_runs(app):
    worker = f.gen_user("digest_worker", "grid_worker", f.gen_grid(), alert_digest=True)
    db.session.add(
        PushSubscription(
            endpoint="https://fcm.googleapis.com/fcm/send/x",
            endpoint_hash="h" * 64,
            p256dh="p",
            auth="a",
            user_id=worker.id,
            topics=[f"user:{worker.id}"],
        )
    )
    notify([worker], "due_soon", "即将到期")
    db.session.commit()
    now = utcnow()
    assert enqueue_digests(now) == 1
    db.session.commit()
    assert enqueue_digests(now) == 0
    db.session.commit()
    assert db.session.query(PushMessage).count() == 1
