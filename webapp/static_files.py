"""Static files served compressed, with far-future caching of fingerprinted URLs (DESIGN.md §10).

Every static URL the app builds carries a fingerprint of the static folder's contents:
`url_for("static", filename="js/app.js")` is `/static/<fingerprint>/js/app.js`. Such a URL never
changes meaning, so it is cached for a year (`immutable`); a deploy that changes any file changes
the fingerprint and with it every URL. The old unversioned `/static/<file>` paths (the manifest's
icons, a page cached before a deploy) are still served, with a short max-age.

WhiteNoise serves both. It sends a precompressed `.gz`/`.br` file when the browser accepts one, but
does not compress on the fly, so at start-up the folder is copied once per fingerprint into the
instance folder and compressed there: the repository stays clean and servers that start at the
same time each build the same copy (it is renamed into place whole).

The fingerprint hashes paths relative to the folder and file contents only, never absolute paths or
modification times, so two checkouts of one commit (two servers) agree on every URL.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from flask import Flask
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor

FINGERPRINT_LENGTH = 12
IMMUTABLE_MAX_AGE = 365 * 24 * 3600
# Unversioned paths may change with any deploy: a minute, then revalidate by ETag.
MUTABLE_MAX_AGE = 60
BUILD_MARKER = ".complete"

_cache: dict[tuple, str] = {}


def listed_files(root: Path) -> list[str]:
    """Files under `root` as sorted relative POSIX paths; dotfiles skipped."""
    return sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts)
    )


def content_fingerprint(files: Iterable[tuple[str, Path]]) -> str:
    """sha256 over (name, contents) pairs. Names are the caller's relative names, so the result
    does not depend on where the checkout lives. Recomputed only when a file's size or
    modification time changes (cheap enough for every /sw.js request)."""
    pairs = list(files)
    signature = tuple((name, p.stat().st_mtime_ns, p.stat().st_size) for name, p in pairs)
    if signature not in _cache:
        digest = hashlib.sha256()
        for name, path in pairs:
            digest.update(name.encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
        if len(_cache) > 32:
            _cache.clear()
        _cache[signature] = digest.hexdigest()
    return _cache[signature]


def static_fingerprint(static_root: Path) -> str:
    files = [(name, static_root / name) for name in listed_files(static_root)]
    return content_fingerprint(files)[:FINGERPRINT_LENGTH]


def compressed_copy(static_root: Path, build_root: Path, fingerprint: str) -> Path:
    """`build_root/<fingerprint>`: the static folder with .gz and .br files beside each file
    worth compressing. Built once; a half-built copy is never used."""
    target = build_root / fingerprint
    if (target / BUILD_MARKER).exists():
        return target
    build_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{fingerprint}-", dir=build_root))
    try:
        copy = staging / "files"
        shutil.copytree(static_root, copy, ignore=shutil.ignore_patterns(".*"))
        compressor = Compressor(quiet=True)
        for name in listed_files(copy):
            if compressor.should_compress(name):
                for _ in compressor.compress(str(copy / name)):
                    pass
        (copy / BUILD_MARKER).write_text(fingerprint)
        try:
            os.rename(copy, target)
        except OSError:
            if not (target / BUILD_MARKER).exists():  # not another server's finished copy
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _prune(build_root, keep=target)
    return target


def _prune(build_root: Path, keep: Path, kept_builds: int = 5) -> None:
    """Old copies go, newest kept: a server still running an older deploy keeps its files for a
    few deploys more."""
    builds = sorted(
        (p for p in build_root.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in builds[kept_builds:]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


def init_app(app: Flask, fingerprint: str) -> None:
    """Serve static files through WhiteNoise (compressed, cached); Flask's own static route
    stays as the fallback for a folder that could not be copied."""
    static_root = Path(app.static_folder)
    try:
        root = compressed_copy(static_root, Path(app.instance_path) / "static-build", fingerprint)
    except OSError:
        app.logger.warning("static files: no compressed copy (read-only instance folder?)")
        root = static_root
    versioned = f"/static/{fingerprint}/"
    middleware = WhiteNoise(
        app.wsgi_app,
        max_age=MUTABLE_MAX_AGE,
        immutable_file_test=lambda path, url: url.startswith(versioned),
    )
    middleware.add_files(str(root), prefix=versioned)
    middleware.add_files(str(root), prefix="/static/")
    app.wsgi_app = middleware  # type: ignore[method-assign]
    app.config["STATIC_FINGERPRINT"] = fingerprint
