"""Notice attachments (DESIGN.md §6, §7): images and PDFs, checked before they are kept.

Images go through the same checks and re-encoding as field photos (webapp.rounds.photos): size,
magic bytes, pixel count, then a clean JPEG without EXIF, GPS or comments. PDFs cannot be
re-encoded here, so they are held to their magic bytes (`%PDF-`), the size cap, and to being
readable by pypdf — not encrypted, not broken, not too many pages or too much text — because
the publishing guard reads their text (`pdf_text`): a PDF it cannot read could carry a list
of ID numbers past it. Files get
random names under "notices/" in the file store (webapp.storage: UPLOAD_FOLDER/notices, in the
instance folder by default, or a bucket), never in static/.
Who may fetch them is the views' business: staff in scope always, the public only while the
notice is published and visible.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import unicodedata

from flask import current_app
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from webapp.extensions import db
from webapp.models import Notice, NoticeAttachment, NoticeFileKind, User
from webapp.ops import Invalid
from webapp.rounds import photos
from webapp.storage import delete_after_commit, read_file, send_stored_file, write_new_file

DEFAULT_MAX_NOTICE_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES_PER_NOTICE = 12
PDF_MAGIC = b"%PDF-"
PDF_CONTENT_TYPE = "application/pdf"
STORAGE_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|pdf)$")
NOTICE_FOLDER = "notices"
FILE_NAME_LENGTH = 120
# What the guard will read of one PDF: notices are a few pages; a list of names a few dozen.
MAX_PDF_PAGES = 200
MAX_PDF_TEXT_CHARS = 2_000_000

log = logging.getLogger(__name__)


def max_file_bytes() -> int:
    return int(current_app.config.get("MAX_NOTICE_FILE_BYTES", DEFAULT_MAX_NOTICE_FILE_BYTES))


def file_key(attachment: NoticeAttachment) -> str:
    """A key built from a database value must never reach another file: check the name."""
    if not STORAGE_NAME.match(attachment.storage_name):
        raise ValueError(f"unexpected storage name for notice file {attachment.id}")
    return f"{NOTICE_FOLDER}/{attachment.storage_name}"


def clean_file_name(name: str) -> str:
    """The name as shown to readers: no folders, no control characters, not too long."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(char for char in name if unicodedata.category(char)[0] != "C").strip()
    if len(name) > FILE_NAME_LENGTH:
        stem, dot, suffix = name.rpartition(".")
        keep = FILE_NAME_LENGTH - len(suffix) - 1
        if dot and 0 < len(suffix) <= 8:
            name = f"{stem[:keep]}.{suffix}"
        else:
            name = name[:FILE_NAME_LENGTH]
    return name or _("attachment")


def store_notice_files(
    actor: User, notice: Notice, uploads: list[FileStorage], already: int
) -> list[NoticeAttachment]:
    """Keep the chosen files of a form (empty parts skipped). Raises Invalid({"attachments"}).
    The caller commits; files of a transaction that does not commit are removed again."""
    kept: list[NoticeAttachment] = []
    chosen = [upload for upload in uploads if upload is not None and upload.filename]
    if already + len(chosen) > MAX_FILES_PER_NOTICE:
        raise Invalid({"attachments": _("At most %(n)d files per notice.", n=MAX_FILES_PER_NOTICE)})
    for position, upload in enumerate(chosen, start=already):
        # One byte past the cap: enough to know it is too big without reading any more.
        data = upload.stream.read(max_file_bytes() + 1)
        kept.append(
            store_notice_file(actor, notice, data, upload.filename, upload.mimetype, position)
        )
    return kept


def store_notice_file(
    actor: User, notice: Notice, data: bytes, file_name: str, content_type: str, position: int = 0
) -> NoticeAttachment:
    name = clean_file_name(file_name)
    limit = max_file_bytes()
    if not data:
        raise Invalid({"attachments": _("The file %(name)s is empty.", name=name)})
    if len(data) > limit:
        raise Invalid(
            {
                "attachments": _(
                    "The file %(name)s is larger than %(mb)d MB.",
                    name=name,
                    mb=max(1, limit // (1024 * 1024)),
                )
            }
        )
    if data.startswith(PDF_MAGIC):
        kind, suffix, stored_type = NoticeFileKind.PDF, "pdf", PDF_CONTENT_TYPE
        pdf_text(data, name)  # refused now if the guard could not read it at publishing
        stored, width, height = data, None, None
    elif photos._sniff_format(data) is not None:
        kind, suffix, stored_type = NoticeFileKind.IMAGE, "jpg", photos.STORED_CONTENT_TYPE
        stored, width, height = _clean_image(data, content_type, name)
    else:
        raise Invalid(
            {"attachments": _("%(name)s is not a PDF, JPEG, PNG or WebP file.", name=name)}
        )
    if kind == NoticeFileKind.IMAGE and name.lower().endswith((".png", ".webp", ".jpeg")):
        name = name.rsplit(".", 1)[0] + ".jpg"  # what is served is a JPEG now
    attachment = NoticeAttachment(
        notice_id=notice.id,
        kind=kind,
        file_name=name,
        content_type=stored_type,
        byte_size=len(stored),
        width=width,
        height=height,
        position=position,
        storage_name=_write_file(stored, suffix),
        sha256=hashlib.sha256(stored).hexdigest(),
        uploader_id=actor.id,
    )
    db.session.add(attachment)
    return attachment


def pdf_text(data: bytes, name: str) -> str:
    """The text of a PDF, for the publishing guard. Raises Invalid({"attachments"}) naming the
    file when it cannot be read: encrypted, broken, too many pages or too much text. Never
    anything else: a hostile PDF is the uploader's problem, not a 500."""
    from pypdf import PdfReader

    def refused(message: str) -> Invalid:
        return Invalid({"attachments": f"{name}：{message}"})

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise refused(_("the PDF is protected by a password. Save it without one."))
        if len(reader.pages) > MAX_PDF_PAGES:
            raise refused(_("the PDF has more than %(n)d pages.", n=MAX_PDF_PAGES))
        parts: list[str] = []
        total = 0
        for page in reader.pages:
            text = page.extract_text() or ""
            total += len(text)
            if total > MAX_PDF_TEXT_CHARS:
                raise refused(_("the PDF holds too much text to be checked."))
            parts.append(text)
    except Invalid:
        raise
    except MemoryError:
        raise refused(_("the PDF holds too much text to be checked.")) from None
    except Exception as error:  # pypdf raises many kinds on a broken file; all mean "unreadable"
        log.info("unreadable PDF %r: %s", name, error)
        raise refused(_("the PDF cannot be read. Save it again as a PDF and retry.")) from None
    return "\n".join(parts)


def attachment_texts(attachments: list[NoticeAttachment]) -> list[tuple[str, str]]:
    """(file name, text) of each PDF among `attachments`, for the guard. Raises Invalid."""
    texts = []
    for attachment in attachments:
        if attachment.kind != NoticeFileKind.PDF:
            continue
        data = read_file(file_key(attachment)) or b""
        texts.append((attachment.file_name, pdf_text(data, attachment.file_name)))
    return texts


def _clean_image(data: bytes, content_type: str, name: str) -> tuple[bytes, int, int]:
    """The photo pipeline's checks and re-encoding; its messages name the file instead."""
    declared = content_type if content_type in photos.ALLOWED_CONTENT_TYPES else "image/jpeg"
    try:
        return photos.clean_image(data, declared)
    except Invalid as error:
        message = next(iter(error.errors.values()), "")
        raise Invalid({"attachments": f"{name}：{message}"}) from None


def send_notice_file(attachment: NoticeAttachment, cache_control: str):
    """The file as stored, named as uploaded; PDFs are shown by the browser's own viewer."""
    response = send_stored_file(
        file_key(attachment),
        mimetype=attachment.content_type,
        etag=attachment.sha256,
        download_name=attachment.file_name,
    )
    response.headers["Cache-Control"] = cache_control
    response.headers["X-Content-Type-Options"] = "nosniff"
    if attachment.kind == "pdf":
        # The browser's own PDF viewer shows it; nothing in the file may run scripts or reach out.
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; object-src 'self'; frame-ancestors 'none'"
        )
    return response


def delete_files_after_commit(attachments: list[NoticeAttachment]) -> None:
    """Remove the files once the rows' deletion has committed (not before: a rollback would
    leave rows pointing at nothing)."""
    for attachment in attachments:
        delete_after_commit(file_key(attachment))
        db.session.delete(attachment)


def _write_file(data: bytes, suffix: str) -> str:
    return write_new_file(data, suffix, NOTICE_FOLDER)
