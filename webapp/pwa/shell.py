"""What the service worker precaches, and its version.

The version is a hash of every file the worker serves from its caches (the static files and the
templates of the offline page), so a deploy that changes any of them installs a new worker and
nothing else does. It hashes contents and names relative to the folders (never absolute paths or
times), so two servers of one deployment serve the same version and phones do not flip between
them. It is recomputed only when a file's size or modification time changes: cheap enough to ask
on every `/sw.js` request, which browsers make on each navigation.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, current_app, url_for

from webapp.static_files import content_fingerprint, listed_files

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


def static_files(app: Flask) -> list[str]:
    """Every file under static/ as a path relative to it, sorted, dotfiles skipped."""
    return listed_files(Path(app.static_folder))


def files_fingerprint(app: Flask) -> str:
    """Contents of the static files and the shell templates, by relative name only: every
    server of a deployment (any checkout path) computes the same version."""
    static_root = Path(app.static_folder)
    template_root = Path(app.template_folder)
    files = [(f"static/{name}", static_root / name) for name in static_files(app)]
    files += [
        (f"templates/{name}", template_root / name)
        for name in SHELL_TEMPLATES
        if (template_root / name).is_file()
    ]
    return content_fingerprint(files)


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
