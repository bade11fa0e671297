"""Files that live and die with database rows (photos, notice attachments).

A file is written before the row that names it commits, and deleted only after the deletion of
its row commits. Whatever the transaction's outcome, no row points at a missing file and no
file is left that no row names: new files of a transaction that ends without a commit are
removed, and files doomed by a transaction that rolls back are kept.

Where the bytes live is the deployment's choice (`STORAGE_BACKEND`): a folder on this server
(`local`, the default; a shared mount when there are several servers) or an S3-compatible
bucket (`s3`: AWS S3, MinIO, Aliyun OSS…) that every server reaches. Code outside this module
names a file by its key (`"<random>.jpg"`, `"notices/<random>.pdf"`) and never by a path.
"""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from flask import Response, abort, current_app, request, send_file
from sqlalchemy import event
from sqlalchemy.orm import Session

from webapp.extensions import db

_NEW_FILES_KEY = "gridrounds.new_files"
_DOOMED_FILES_KEY = "gridrounds.doomed_files"
_STORE_EXTENSION = "gridrounds.file_store"

log = logging.getLogger(__name__)


class FileStore(Protocol):
    """Where kept files live. Keys are relative, `/`-separated, made by this app."""

    def write(self, key: str, data: bytes) -> None:
        """Keep `data` under `key` durably; a reader never sees half of it."""

    def read(self, key: str) -> bytes | None:
        """The bytes under `key`, or None when there are none."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove `key`; a key already gone is not an error."""

    def send(
        self, key: str, *, mimetype: str, etag: str, download_name: str | None = None
    ) -> Response | None:
        """A (conditional) response streaming the file, or None when there is none."""


class LocalFolderStore:
    """Files under one folder of this server (UPLOAD_FOLDER)."""

    def __init__(self, root: Path):
        self.root = root

    def path(self, key: str) -> Path:
        parts = PurePosixPath(key).parts
        # Keys are ours, but a path built from a database value must never leave the folder.
        if not parts or PurePosixPath(key).is_absolute() or ".." in parts:
            raise ValueError(f"unexpected storage key {key!r}")
        return self.root.joinpath(*parts)

    def write(self, key: str, data: bytes) -> None:
        final_path = self.path(key)
        folder = final_path.parent
        folder.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")
        try:
            with os.fdopen(handle, "wb") as temp_file:
                temp_file.write(data)
                temp_file.flush()
                # The row that names this file may be acknowledged to a phone, which then
                # deletes its own copy: the bytes must be on disk by then.
                os.fsync(temp_file.fileno())
            os.replace(temp_name, final_path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise

    def read(self, key: str) -> bytes | None:
        path = self.path(key)
        return path.read_bytes() if path.is_file() else None

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def send(
        self, key: str, *, mimetype: str, etag: str, download_name: str | None = None
    ) -> Response | None:
        path = self.path(key)
        if not path.is_file():
            return None
        return send_file(
            path, mimetype=mimetype, etag=etag, download_name=download_name, conditional=True
        )


class S3ObjectStore:
    """Objects in one bucket of an S3-compatible service, under an optional prefix, so several
    servers share the same files. Credentials come the usual boto3 way (AWS_ACCESS_KEY_ID and
    AWS_SECRET_ACCESS_KEY, a profile, an instance role). Nothing is ever public: the app reads
    each object and streams it to users who passed its scope checks."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        addressing_style: str | None = None,
    ):
        # Imported here: a deployment on local files never pays for loading boto3.
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        # MinIO, Ceph and most self-hosted services answer only path-style requests
        # (endpoint/bucket/key); Aliyun OSS only virtual-hosted ones (bucket.endpoint/key).
        style = addressing_style or ("path" if endpoint_url else "auto")
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url or None,
            config=Config(
                s3={"addressing_style": style},
                # A slow store must not hold a worker thread for minutes.
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )

    def object_key(self, key: str) -> str:
        return self.prefix + key

    def write(self, key: str, data: bytes) -> None:
        # A PUT is all or nothing, and S3 answers only once the object is durably stored: the
        # same promise the local store's fsync and rename make.
        self.client.put_object(Bucket=self.bucket, Key=self.object_key(key), Body=data)

    def read(self, key: str) -> bytes | None:
        stored = self._get(key)
        if stored is None:
            return None
        with stored["Body"] as body:
            return body.read()

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.object_key(key))
        except self.client.exceptions.ClientError as error:
            if _is_missing(error):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))

    def send(
        self, key: str, *, mimetype: str, etag: str, download_name: str | None = None
    ) -> Response | None:
        stored = self._get(key)
        if stored is None:
            return None
        body = stored["Body"]
        # Streamed in chunks through the app, never read whole into memory; the headers are
        # those the local store's send_file gives (its name is the file name by default).
        response = send_file(
            body,
            mimetype=mimetype,
            etag=etag,
            download_name=download_name or PurePosixPath(key).name,
            last_modified=stored.get("LastModified"),
            conditional=False,
        )
        response.content_length = stored["ContentLength"]
        # send_file can answer a Range request only when it knows the length; it is known here.
        response.make_conditional(
            request, accept_ranges=True, complete_length=stored["ContentLength"]
        )
        if response.status_code == 304:
            body.close()
        return response

    def _get(self, key: str) -> dict | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.object_key(key))
        except self.client.exceptions.ClientError as error:
            if _is_missing(error):
                return None
            raise


def _is_missing(error: Exception) -> bool:
    code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
    return code in ("NoSuchKey", "404", "NotFound")


STORE_BACKENDS: dict[str, Callable[[Mapping[str, Any]], FileStore]] = {
    "local": lambda config: LocalFolderStore(Path(config["UPLOAD_FOLDER"])),
    "s3": lambda config: S3ObjectStore(
        bucket=config["S3_BUCKET"],
        prefix=config.get("S3_PREFIX", ""),
        endpoint_url=config.get("S3_ENDPOINT_URL") or None,
        addressing_style=config.get("S3_ADDRESSING_STYLE") or None,
    ),
}


def file_store() -> FileStore:
    """The app's store, made on first use (after a gunicorn fork, so no S3 connection is shared
    between workers) and kept for the app's life."""
    store = current_app.extensions.get(_STORE_EXTENSION)
    if store is None:
        backend = current_app.config.get("STORAGE_BACKEND", "local")
        store = current_app.extensions[_STORE_EXTENSION] = STORE_BACKENDS[backend](
            current_app.config
        )
    return store


def write_new_file(data: bytes, suffix: str, folder: str = "") -> str:
    """Keep `data` under a fresh random name (in `folder`, a key prefix such as "notices");
    it is removed again if the current transaction does not commit. Returns the storage name."""
    storage_name = f"{secrets.token_hex(16)}.{suffix}"
    key = f"{folder}/{storage_name}" if folder else storage_name
    store = file_store()
    store.write(key, data)
    db.session.info.setdefault(_NEW_FILES_KEY, []).append((store, key))
    return storage_name


def read_file(key: str) -> bytes | None:
    return file_store().read(key)


def delete_after_commit(key: str) -> None:
    db.session.info.setdefault(_DOOMED_FILES_KEY, []).append((file_store(), key))


def send_stored_file(
    key: str, *, mimetype: str, etag: str, download_name: str | None = None
) -> Response:
    """The file under `key` as a response; 404 when it is missing. Scope checks and
    Cache-Control are the caller's."""
    response = file_store().send(key, mimetype=mimetype, etag=etag, download_name=download_name)
    if response is None:
        abort(404)
    return response


def _delete_quietly(store: FileStore, key: str) -> None:
    """These deletions run after the transaction has ended: raising would turn a committed
    request into an error page. A file left behind costs space; log it for the operator."""
    try:
        store.delete(key)
    except Exception:
        log.exception("could not delete stored file %s", key)


@event.listens_for(Session, "after_commit")
def _settle_committed_files(session: Session) -> None:
    session.info.pop(_NEW_FILES_KEY, None)
    for store, key in session.info.pop(_DOOMED_FILES_KEY, []):
        _delete_quietly(store, key)


@event.listens_for(Session, "after_transaction_end")
def _remove_uncommitted_files(session: Session, transaction) -> None:
    if transaction.parent is not None:
        return
    for store, key in session.info.pop(_NEW_FILES_KEY, []):
        _delete_quietly(store, key)
    session.info.pop(_DOOMED_FILES_KEY, None)
