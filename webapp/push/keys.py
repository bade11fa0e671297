"""The VAPID key pair (RFC 8292) that signs every push: made once by `flask push keys` into the
instance folder, never committed."""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app

PRIVATE_FILE = "vapid_private.pem"
PUBLIC_FILE = "vapid_public.txt"


class KeysExist(Exception):
    """There is a key pair already; replacing it silently would orphan every subscription."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key_text(private_key: ec.EllipticCurvePrivateKey) -> str:
    """The application server key as browsers take it: the uncompressed point, base64url."""
    point = private_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point)


def key_folder() -> Path:
    """The instance folder, unless `VAPID_KEY_DIR` says otherwise (tests keep theirs apart)."""
    return Path(current_app.config.get("VAPID_KEY_DIR") or current_app.instance_path)


def private_key_path(folder: str | Path | None = None) -> Path:
    return Path(folder or key_folder()) / PRIVATE_FILE


def public_key_path(folder: str | Path | None = None) -> Path:
    return Path(folder or key_folder()) / PUBLIC_FILE


def make_keys(folder: str | Path | None = None, *, force: bool = False) -> str:
    """Write a new P-256 pair; returns the public key text. Raises KeysExist unless `force`."""
    private_path, public_path = private_key_path(folder), public_key_path(folder)
    if not force and (private_path.exists() or public_path.exists()):
        raise KeysExist(str(private_path))
    private_key = ec.generate_private_key(ec.SECP256R1())
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    private_path.parent.mkdir(parents=True, exist_ok=True)
    private_path.write_bytes(pem)
    private_path.chmod(0o600)
    public = public_key_text(private_key)
    public_path.write_text(public + "\n")
    return public


def public_key() -> str | None:
    """The public key, or None when `flask push keys` has not been run."""
    path = public_key_path()
    return path.read_text().strip() if path.exists() else None
