"""Configuration from the environment. Defaults serve the demo on SQLite in `instance/`."""

import os
import secrets
from pathlib import Path

from webapp.jsonsafe import strict_dumps
from webapp.push.endpoints import parse_hosts
from webapp.storage import STORE_BACKENDS


def database_url_from_env(instance_path: str) -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{Path(instance_path) / 'gridrounds.db'}"
    # Accept the libpq spellings operators paste; SQLAlchemy needs the driver named for psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class MissingSecretKey(RuntimeError):
    """Production without SECRET_KEY: each server would sign sessions and pull cursors with its
    own key, so users would be logged out and phones sent back to a full pull at random."""


def secret_key_from_env(instance_path: str, production: bool = False) -> str:
    """SECRET_KEY from the environment; in development a random key kept in the instance folder
    so sessions survive restarts without anyone committing a key. Production refuses to start
    without one."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    if production:
        raise MissingSecretKey(
            "GRIDROUNDS_ENV=production needs SECRET_KEY, the same on every server "
            "(e.g. python -c 'import secrets; print(secrets.token_hex(32))')."
        )
    key_file = Path(instance_path) / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_hex(32)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


class StorageMisconfigured(RuntimeError):
    """STORAGE_BACKEND names no known store, or `s3` without a bucket: refuse to start rather
    than keep files somewhere the other servers cannot see."""


S3_ADDRESSING_STYLES = ("auto", "path", "virtual")


def storage_settings_from_env() -> dict:
    """Where photos and notice files live (webapp/storage.py). S3 credentials are not read here:
    boto3 finds them itself (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, a role)."""
    backend = os.environ.get("STORAGE_BACKEND", "").strip().lower() or "local"
    if backend not in STORE_BACKENDS:
        raise StorageMisconfigured(
            f"STORAGE_BACKEND={backend!r}: use one of {', '.join(STORE_BACKENDS)}."
        )
    bucket = os.environ.get("S3_BUCKET", "").strip()
    if backend == "s3" and not bucket:
        raise StorageMisconfigured("STORAGE_BACKEND=s3 needs S3_BUCKET.")
    addressing_style = os.environ.get("S3_ADDRESSING_STYLE", "").strip().lower()
    if addressing_style and addressing_style not in S3_ADDRESSING_STYLES:
        raise StorageMisconfigured(
            f"S3_ADDRESSING_STYLE={addressing_style!r}: use one of "
            f"{', '.join(S3_ADDRESSING_STYLES)}."
        )
    return {
        "STORAGE_BACKEND": backend,
        "S3_BUCKET": bucket,
        # Unset for AWS itself; the service's address otherwise (MinIO, Aliyun OSS, Ceph…).
        "S3_ENDPOINT_URL": os.environ.get("S3_ENDPOINT_URL", "").strip(),
        # Objects go under this prefix, so one bucket can hold several deployments.
        "S3_PREFIX": os.environ.get("S3_PREFIX", "").strip(),
        # Default: path-style with S3_ENDPOINT_URL (MinIO), boto3's choice without it.
        "S3_ADDRESSING_STYLE": addressing_style,
    }


def load_config(instance_path: str) -> dict:
    production = os.environ.get("GRIDROUNDS_ENV", "development") == "production"
    redis_url = os.environ.get("REDIS_URL", "")
    return {
        "SECRET_KEY": secret_key_from_env(instance_path, production),
        "SQLALCHEMY_DATABASE_URI": database_url_from_env(instance_path),
        # JSON columns refuse NaN, ±Infinity and lone surrogates (webapp/jsonsafe.py).
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "json_serializer": strict_dumps},
        "PRODUCTION": production,
        # A dashboard's independent reads side by side on PostgreSQL (webapp/side_by_side.py).
        "PARALLEL_PAGE_QUERIES": os.environ.get("PARALLEL_PAGE_QUERIES", "1") != "0",
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Redis down must not make login a 500 (DESIGN.md §7): count in this process's memory
        # meanwhile (Flask-Limiter logs a warning and checks Redis again now and then), and
        # never fail a request over a counter.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        # Reverse proxies in front of the app whose X-Forwarded-* headers are believed (0: none).
        "TRUSTED_PROXIES": int(os.environ.get("TRUSTED_PROXIES", "0") or 0),
        "LOGIN_LIMIT_PER_IP": os.environ.get("LOGIN_LIMIT_PER_IP", "30 per 10 minutes"),
        "LOGIN_LIMIT_PER_USERNAME": os.environ.get("LOGIN_LIMIT_PER_USERNAME", "8 per 10 minutes"),
        # Residents' reports without an account (webapp/residents): per address, per browser.
        "REPORT_LIMIT_PER_IP": os.environ.get("REPORT_LIMIT_PER_IP", "20 per hour; 60 per day"),
        "REPORT_LIMIT_PER_DEVICE": os.environ.get(
            "REPORT_LIMIT_PER_DEVICE", "5 per hour; 15 per day"
        ),
        "REPORT_POW_BITS": int(os.environ.get("REPORT_POW_BITS", "14")),
        # Reveals of a masked value per user (webapp/rounds/reveal.py); each one is audited.
        "REVEAL_LIMIT": os.environ.get("REVEAL_LIMIT", "20 per hour;60 per day"),
        # Retention (flask retention run): ages in days past which personal detail is anonymised.
        "RETENTION_RECORD_TEXT_DAYS": int(os.environ.get("RETENTION_RECORD_TEXT_DAYS", "1095")),
        "RETENTION_AUDIT_DETAIL_DAYS": int(os.environ.get("RETENTION_AUDIT_DETAIL_DAYS", "730")),
        # The __Host- prefix makes browsers refuse the cookie unless Secure, path=/ and no Domain:
        # only possible over HTTPS, so production only.
        "SESSION_COOKIE_NAME": "__Host-gridrounds" if production else "gridrounds",
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": 60 * 60 * 24 * 14,
        "WTF_CSRF_TIME_LIMIT": None,  # a form opened before a long stairwell still submits
        "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "BABEL_TRANSLATION_DIRECTORIES": str(
            Path(__file__).resolve().parent.parent / "translations"
        ),
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
        # How often the triage board polls for new escalations (htmx `every Ns`).
        # Development only: drain the push queue in a thread (`make run` turns it on).
        "PUSH_SENDER_THREAD": os.environ.get("PUSH_SENDER_THREAD", "") == "1",
        "BOARD_REFRESH_SECONDS": int(os.environ.get("BOARD_REFRESH_SECONDS", "30")),
        # Photos and notice files. Several servers need one shared place: a shared folder here, or
        # object storage (STORAGE_BACKEND=s3, below).
        "UPLOAD_FOLDER": os.environ.get("UPLOAD_FOLDER") or str(Path(instance_path) / "uploads"),
        **storage_settings_from_env(),
        # The VAPID key pair (`flask push keys`); every server must sign with the same one.
        "VAPID_KEY_DIR": os.environ.get("VAPID_KEY_DIR", ""),
        # Web Push (DESIGN.md §6): the VAPID contact; the local hours non-urgent alerts wait out.
        "VAPID_SUBJECT": os.environ.get("VAPID_SUBJECT", "mailto:admin@gridrounds.invalid"),
        "PUSH_QUIET_START": os.environ.get("PUSH_QUIET_START", "21:00"),
        "PUSH_QUIET_END": os.environ.get("PUSH_QUIET_END", "07:30"),
        # Push endpoints are kept only on these hosts (`*.suffix` allowed); see push/endpoints.py.
        "PUSH_ENDPOINT_HOSTS": parse_hosts(os.environ.get("PUSH_ENDPOINT_HOSTS")),
        "PUSH_SUBSCRIBE_LIMIT": os.environ.get("PUSH_SUBSCRIBE_LIMIT", "30 per hour"),
    }
