"""Files that live and die with database rows (photos, notice attachments).

A file is written before the row that names it commits, and deleted only after the deletion of
its row commits. Whatever the transaction's outcome, no row points at a missing file and no
file is left that no row names: new files of a transaction that ends without a commit are
removed, and files doomed by a transaction that rolls back are kept.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

from webapp.extensions import db

_NEW_FILES_KEY = "gridrounds.new_files"
_DOOMED_FILES_KEY = "gridrounds.doomed_files"


def write_new_file(folder: Path, data: bytes, suffix: str) -> str:
    """Write `data` under a fresh random name in `folder`; a reader never sees half a file
    (temp file, fsync, rename). Returns the storage name."""
    folder.mkdir(parents=True, exist_ok=True)
    storage_name = f"{secrets.token_hex(16)}.{suffix}"
    final_path = folder / storage_name
    handle, temp_name = tempfile.mkstemp(dir=folder, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as temp_file:
            temp_file.write(data)
            temp_file.flush()
            # The row that names this file may be acknowledged to a phone, which then deletes
            # its own copy: the bytes must be on disk by then.
            os.fsync(temp_file.fileno())
        os.replace(temp_name, final_path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    db.session.info.setdefault(_NEW_FILES_KEY, []).append(final_path)
    return storage_name


def delete_after_commit(path: Path) -> None:
    db.session.info.setdefault(_DOOMED_FILES_KEY, []).append(path)


@event.listens_for(Session, "after_commit")
def _settle_committed_files(session: Session) -> None:
    session.info.pop(_NEW_FILES_KEY, None)
    for path in session.info.pop(_DOOMED_FILES_KEY, []):
        path.unlink(missing_ok=True)


@event.listens_for(Session, "after_transaction_end")
def _remove_uncommitted_files(session: Session, transaction) -> None:
    if transaction.parent is not None:
        return
    for path in session.info.pop(_NEW_FILES_KEY, []):
        path.unlink(missing_ok=True)
    session.info.pop(_DOOMED_FILES_KEY, None)
