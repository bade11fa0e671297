"""What the service worker precaches, and its version.

The version is a hash of every file the worker serves from its caches (the static files and the
templates of the offline page), so a deploy that changes any of them installs a new worker and
nothing else does. It is recomputed only when a file's size or modification time changes: cheap
enough to ask on every `/sw.js` request, which browsers make on each navigation.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, current_app, url_for

# Kept out of the precache: the worker's own source (served at /sw.js instead), and files only the
# vendoring script reads.
NOT_PRECACHED = ("js/sw.js", "vendor/vendor.lock.json", "vendor/licenses/")
# Templates whose output is precached (the offline page); a change to them is a new version too.
SHELL_TEMPLATES = (
    "base.html",
    "pwa/offline.html",
    "pwa/_head.html",
    "pwa/_status.html",
    "pwa/_banners.html",
)

_fingerprint_cache: dict[tuple, str] = {}


def static_files(app: Flask) -> list[str]:
    """Every file under static/ as a path relative to it, sorted, dotfiles skipped."""
    root = Path(app.static_folder)
    return sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and not any(part.startswith(".") for part in path.parts)
    )


def _hashed_files(app: Flask) -> list[Path]:
    static_root = Path(app.static_folder)
    template_root = Path(app.template_folder)
    return [static_root / name for name in static_files(app)] + [
        template_root / name for name in SHELL_TEMPLATES if (template_root / name).is_file()
    ]


def files_fingerprint(app: Flask) -> str:
    files = _hashed_files(app)
    signature = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)
    cached = _fingerprint_cache.get(signature)
    if cached is None:
        digest = hashlib.sha256()
        for path in files:
            digest.update(path.as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
        cached = digest.hexdigest()
        _fingerprint_cache.clear()
        _fingerprint_cache[signature] = cached
    return cached


def sw_version() -> str:
    """`SW_VERSION_SALT` (empty by default) lets an operator, or a test, force every phone to
    install a new worker without changing a file."""
    salt = str(current_app.config.get("SW_VERSION_SALT", ""))
    return hashlib.sha256(f"{files_fingerprint(current_app)}:{salt}".encode()).hexdigest()[:16]


def precache_urls() -> list[str]:
    """The app shell: the offline page and every static file a page may ask for."""
    return [url_for("pwa.offline")] + [
        url_for("static", filename=name)
        for name in static_files(current_app)
        if not name.startswith(NOT_PRECACHED)
    ]
