#!/usr/bin/env python3
"""Vendor the front-end libraries into static/vendor/ from the npm registry, pinned and checked.

    python scripts/vendor.py            fetch whatever is missing or differs from the pins
    python scripts/vendor.py --check    verify the vendored files against the pins; fetch nothing
    python scripts/vendor.py --relock   pin the newest allowed versions, then fetch them

The pins live in static/vendor/vendor.lock.json: each package's version, the sha512 integrity the
registry published for its tarball, and the sha256 of every file taken from it. A tarball or a file
that does not match its pin is refused, never written. The vendored files are committed, so a
checkout runs without the registry; this script is how they got there and how they are upgraded.

Standard library only (no npm, no node): the registry serves tarballs over plain HTTPS. Set
NPM_CONFIG_REGISTRY to use a mirror such as https://registry.npmmirror.com; the integrity pin makes
a mirror exactly as trustworthy as the origin. HTTPS_PROXY is honoured.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import sys
import tarfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR_DIR = ROOT / "static" / "vendor"
LOCK_FILE = VENDOR_DIR / "vendor.lock.json"
DEFAULT_REGISTRY = "https://registry.npmjs.org"
MAX_TARBALL_BYTES = 20 * 1024 * 1024
ATTEMPTS = 3


@dataclass(frozen=True)
class Wanted:
    """A package we vendor: which versions are acceptable and which files we take from it."""

    name: str
    version_prefix: str  # "2.0." allows 2.0.x; prereleases are never chosen
    files: dict[str, str] = field(default_factory=dict)  # path in tarball -> path in static/vendor


WANTED = (
    Wanted(
        "htmx.org",
        "2.0.",
        {
            "package/dist/htmx.min.js": "htmx.min.js",
            "package/LICENSE": "licenses/htmx.org.txt",
        },
    ),
    # The UMD build: one file that works both as a classic <script> (window.idbKeyval) and in the
    # service worker through importScripts (self.idbKeyval), so the page and the worker share it.
    Wanted(
        "idb-keyval",
        "6.",
        {
            "package/dist/umd.js": "idb-keyval.js",
            # Apache-2.0 asks that the licence travel with the code.
            "package/LICENCE": "licenses/idb-keyval.txt",
        },
    ),
)


class VendorError(Exception):
    """Something does not match its pin, or the registry could not be used. Exit non-zero."""


# --- hashing -------------------------------------------------------------------------------------


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sri_sha512(data: bytes) -> str:
    """The npm `dist.integrity` form: sha512-<base64>."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


# --- registry ------------------------------------------------------------------------------------


def registry_base() -> str:
    return (os.environ.get("NPM_CONFIG_REGISTRY") or DEFAULT_REGISTRY).rstrip("/")


def tarball_url(name: str, version: str) -> str:
    """npm's tarball layout: <registry>/<name>/-/<basename>-<version>.tgz (scope kept in <name>)."""
    basename = name.rsplit("/", 1)[-1]
    return f"{registry_base()}/{name}/-/{basename}-{version}.tgz"


def http_get(url: str, accept: str = "*/*") -> bytes:
    request = urllib.request.Request(
        url, headers={"Accept": accept, "User-Agent": "gridrounds-vendor/1 (python urllib)"}
    )
    last_error: Exception | None = None
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                data = response.read(MAX_TARBALL_BYTES + 1)
            if len(data) > MAX_TARBALL_BYTES:
                raise VendorError(f"{url}: larger than {MAX_TARBALL_BYTES} bytes, refusing")
            return data
        except urllib.error.HTTPError as error:
            if error.code == 404:
                raise VendorError(f"{url}: 404 not found") from error
            last_error = error
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            last_error = error
        if attempt < ATTEMPTS:
            time.sleep(2 * attempt)
    raise VendorError(f"cannot download {url}: {last_error}")


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def newest_allowed_version(wanted: Wanted) -> tuple[str, str]:
    """The newest stable version matching the prefix, with the integrity the registry publishes."""
    url = f"{registry_base()}/{urllib.parse.quote(wanted.name, safe='@')}"
    # The abbreviated ("corgi") document is all an installer needs and a fraction of the full one.
    packument = json.loads(http_get(url, accept="application/vnd.npm.install-v1+json"))
    candidates = [
        version
        for version in packument.get("versions", {})
        if version.startswith(wanted.version_prefix)
        and all(part.isdigit() for part in version.split("."))
    ]
    if not candidates:
        raise VendorError(f"{wanted.name}: no stable version {wanted.version_prefix}x in registry")
    version = max(candidates, key=version_key)
    integrity = packument["versions"][version].get("dist", {}).get("integrity", "")
    if not integrity.startswith("sha512-"):
        raise VendorError(f"{wanted.name}@{version}: registry publishes no sha512 integrity")
    return version, integrity


# --- lock file -----------------------------------------------------------------------------------


def read_lock() -> dict:
    try:
        return json.loads(LOCK_FILE.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise VendorError(
            f"{LOCK_FILE.relative_to(ROOT)} is missing; run `python scripts/vendor.py --relock`"
        ) from error


def write_lock(packages: list[dict]) -> None:
    lock = {
        "comment": "Pins for scripts/vendor.py. Change versions with `--relock`, never by hand.",
        "packages": packages,
    }
    LOCK_FILE.parent.mkdir(parents=True, exist_ok=True)
    LOCK_FILE.write_text(json.dumps(lock, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def check_lock_matches_wanted(lock: dict) -> None:
    """Editing WANTED without relocking would silently keep vendoring the old selection."""
    pinned = {
        package["name"]: (package["version"], {f["from"]: f["to"] for f in package["files"]})
        for package in lock["packages"]
    }
    for wanted in WANTED:
        if wanted.name not in pinned:
            raise VendorError(f"{wanted.name} is wanted but not pinned; run with --relock")
        version, files = pinned[wanted.name]
        if not version.startswith(wanted.version_prefix) or files != wanted.files:
            raise VendorError(f"{wanted.name}: pin differs from WANTED; run with --relock")
    extra = set(pinned) - {wanted.name for wanted in WANTED}
    if extra:
        raise VendorError(f"pinned but no longer wanted: {', '.join(sorted(extra))}; run --relock")


# --- fetching and verifying ----------------------------------------------------------------------


def fetch_tarball(name: str, version: str, integrity: str) -> bytes:
    url = tarball_url(name, version)
    data = http_get(url)
    actual = sri_sha512(data)
    if actual != integrity:
        raise VendorError(
            f"{name}@{version}: tarball integrity mismatch, refusing it\n"
            f"  url:      {url}\n  pinned:   {integrity}\n  received: {actual}"
        )
    return data


def extract_files(name: str, tarball: bytes, members: list[str]) -> dict[str, bytes]:
    """Read the named members into memory; nothing in the archive decides where anything goes."""
    contents: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for member_name in members:
            try:
                member = archive.getmember(member_name)
            except KeyError as error:
                raise VendorError(f"{name}: tarball has no {member_name}") from error
            extracted = archive.extractfile(member) if member.isfile() else None
            if extracted is None:
                raise VendorError(f"{name}: {member_name} is not a regular file")
            contents[member_name] = extracted.read()
    return contents


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def file_problem(entry: dict) -> str | None:
    """Why a vendored file fails its pin, or None when it is exactly the pinned bytes."""
    path = VENDOR_DIR / entry["to"]
    if not path.is_file():
        return "missing"
    actual = sha256_hex(path.read_bytes())
    if actual != entry["sha256"]:
        return f"sha256 {actual}, pinned {entry['sha256']}"
    return None


def vendor_package(package: dict) -> None:
    """Download, verify, then write: every file is checked before the first one is written."""
    name, version = package["name"], package["version"]
    tarball = fetch_tarball(name, version, package["integrity"])
    contents = extract_files(name, tarball, [entry["from"] for entry in package["files"]])
    for entry in package["files"]:
        actual = sha256_hex(contents[entry["from"]])
        if actual != entry["sha256"]:
            raise VendorError(
                f"{name}@{version}: {entry['from']} does not match its pin, refusing it\n"
                f"  pinned:   {entry['sha256']}\n  received: {actual}"
            )
    for entry in package["files"]:
        write_atomically(VENDOR_DIR / entry["to"], contents[entry["from"]])
        print(f"  wrote static/vendor/{entry['to']}  sha256 {entry['sha256']}")


# --- commands ------------------------------------------------------------------------------------


def check() -> int:
    lock = read_lock()
    check_lock_matches_wanted(lock)
    failures = []
    for package in lock["packages"]:
        for entry in package["files"]:
            problem = file_problem(entry)
            label = f"static/vendor/{entry['to']} ({package['name']}@{package['version']})"
            if problem:
                failures.append(f"{label}: {problem}")
            else:
                print(f"ok  {label}")
    if failures:
        print("vendor check failed:", *failures, sep="\n  ", file=sys.stderr)
        print("run `python scripts/vendor.py` to fetch the pinned files", file=sys.stderr)
        return 1
    return 0


def sync() -> int:
    lock = read_lock()
    check_lock_matches_wanted(lock)
    for package in lock["packages"]:
        label = f"{package['name']}@{package['version']}"
        problems = {entry["to"]: file_problem(entry) for entry in package["files"]}
        if not any(problems.values()):
            print(f"ok  {label}")
            continue
        for path, problem in problems.items():
            if problem:
                print(f"    static/vendor/{path}: {problem}")
        print(f"get {label} from {tarball_url(package['name'], package['version'])}")
        vendor_package(package)
    return 0


def relock() -> int:
    packages = []
    for wanted in WANTED:
        version, integrity = newest_allowed_version(wanted)
        print(f"pin {wanted.name}@{version}  {integrity}")
        tarball = fetch_tarball(wanted.name, version, integrity)
        contents = extract_files(wanted.name, tarball, list(wanted.files))
        packages.append(
            {
                "name": wanted.name,
                "version": version,
                "tarball": tarball_url(wanted.name, version).replace(
                    registry_base(), DEFAULT_REGISTRY
                ),
                "integrity": integrity,
                "files": [
                    {"from": source, "to": target, "sha256": sha256_hex(contents[source])}
                    for source, target in wanted.files.items()
                ],
            }
        )
    write_lock(packages)
    print(f"wrote {LOCK_FILE.relative_to(ROOT)}")
    return sync()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="verify only; download nothing")
    mode.add_argument("--relock", action="store_true", help="pin the newest allowed versions")
    args = parser.parse_args(argv)
    # Progress on stdout and errors on stderr should interleave in order under make.
    sys.stdout.reconfigure(line_buffering=True)
    try:
        if args.check:
            return check()
        if args.relock:
            return relock()
        return sync()
    except VendorError as error:
        print(f"vendor: {error}", file=sys.stderr)
        return 1
    except (KeyError, TypeError, ValueError) as error:
        print(f"vendor: {LOCK_FILE.relative_to(ROOT)} is malformed ({error!r})", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
