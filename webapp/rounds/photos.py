"""Photo attachments (DESIGN.md §5, §7): what a phone sends is never what we keep or serve.

Every upload is checked cheaply first (size, magic bytes, declared type, pixel count read from the
header) and only then decoded, turned upright, shrunk and re-encoded as a plain JPEG with no
metadata at all, so GPS coordinates, camera serials and embedded scripts cannot survive. Files get
random names in the file store (webapp.storage: UPLOAD_FOLDER, outside `static/`, or a bucket) and
are served only to users in scope.

An upload is keyed by a client-made UUID, like a record: the outbox sends the photo first and the
record that names it in `photo_ids` after, and either may be retried any number of times.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, ImageOps
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from webapp.auth.scope import Scope, compute_scope
from webapp.extensions import db
from webapp.models import Grid, User
from webapp.models.records import Attachment
from webapp.ops import Invalid, OutOfScope, parse_uuid
from webapp.storage import send_stored_file, write_new_file

DEFAULT_MAX_PHOTO_BYTES = 10 * 1024 * 1024
# A phone camera's default picture is 12 MP (48–50 MP sensors bin to 12); 24 MP leaves room and
# bounds what one decode may hold: ~72 MB as RGB, ~96 MB as RGBA. A 116 KB PNG can claim
# 6300×6300 (40 MP, ~450 MB decoded and converted); it is refused from its header.
DEFAULT_MAX_PHOTO_PIXELS = 24_000_000
# PNG and WebP cannot decode at reduced scale: the most one of them may take once decoded
# (24 MP as RGB, 18 MP with transparency). JPEG photos decode at 1/2 scale or less instead.
MAX_DECODED_BYTES = 72_000_000
MAX_LONG_SIDE = 2048
JPEG_QUALITY = 82
STORED_CONTENT_TYPE = "image/jpeg"
ALLOWED_CONTENT_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
STORAGE_NAME = re.compile(r"^[0-9a-f]{32}\.jpg$")


def max_photo_bytes() -> int:
    return int(current_app.config.get("MAX_PHOTO_BYTES", DEFAULT_MAX_PHOTO_BYTES))


def max_photo_pixels() -> int:
    return int(current_app.config.get("MAX_PHOTO_PIXELS", DEFAULT_MAX_PHOTO_PIXELS))


def upload_folder() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def store_photo(
    actor: User,
    attachment_id: uuid.UUID,
    data: bytes,
    declared_content_type: str,
    grid_id: int | None = None,
) -> Attachment:
    """Check, clean and keep one uploaded photo; add its Attachment to the session (the caller
    commits). Raises Invalid (bad file, or the id is another user's upload) and OutOfScope (a
    `grid_id` the actor does not hold).

    Idempotent by id: the same id from the same uploader returns the row already kept, without
    reading `data` again, so a retry after a lost answer is cheap and never makes a second file.
    The same id from another user is refused as Invalid, not Conflict: nothing the client can
    merge exists (the other user's photo is none of its business), and retrying cannot succeed.
    """
    existing = db.session.get(Attachment, attachment_id)
    if existing is not None:
        if existing.uploader_id != actor.id:
            raise Invalid({"id": _("This photo id is already used by another upload.")})
        return existing

    if grid_id is not None and (
        not compute_scope(actor).covers_grid(grid_id) or db.session.get(Grid, grid_id) is None
    ):
        raise OutOfScope(_("This grid is not one of yours."))

    encoded, width, height = clean_image(data, declared_content_type)
    storage_name = _write_file(encoded)
    attachment = Attachment(
        id=attachment_id,
        uploader_id=actor.id,
        grid_id=grid_id,
        content_type=STORED_CONTENT_TYPE,
        byte_size=len(encoded),
        width=width,
        height=height,
        storage_name=storage_name,
        sha256=hashlib.sha256(encoded).hexdigest(),
    )
    db.session.add(attachment)
    return attachment


@dataclass(frozen=True)
class CleanedPhoto:
    storage_name: str
    byte_size: int
    width: int
    height: int
    sha256: str


def clean_and_keep(data: bytes, declared_content_type: str) -> CleanedPhoto:
    """The same checks and re-encoding as `store_photo`, for photos that are not Attachments:
    a resident's report photo has no uploader account to name (webapp/residents)."""
    encoded, width, height = clean_image(data, declared_content_type)
    return CleanedPhoto(
        _write_file(encoded), len(encoded), width, height, hashlib.sha256(encoded).hexdigest()
    )


def store_uploaded_files(
    actor: User, files: Iterable[FileStorage], grid_id: int | None
) -> list[str]:
    """Keep the photos of a multipart form (its `photos` fields); return their new ids.

    A browser sends an empty part when no file was chosen; those are skipped, not refused."""
    ids: list[str] = []
    limit = max_photo_bytes()
    for upload in files:
        if upload is None or not upload.filename:
            continue
        # Read one byte past the cap: enough to know it is too big without holding any more.
        data = upload.stream.read(limit + 1)
        attachment = store_photo(actor, uuid.uuid4(), data, upload.mimetype or "", grid_id)
        ids.append(str(attachment.id))
    return ids


def photo_key(storage_name: str) -> str:
    """The store's key for a photo. The name is ours, but check it anyway: a key built from a
    database value must never reach another file."""
    if not STORAGE_NAME.match(storage_name):
        raise ValueError(f"unexpected photo storage name {storage_name!r}")
    return storage_name


def photo_path(attachment: Attachment) -> Path:
    """Where the file of `attachment` lives when the store is the local folder."""
    return upload_folder() / photo_key(attachment.storage_name)


def send_photo(storage_name: str, etag: str):
    """The kept JPEG as a response (404 when missing); the caller has checked scope."""
    return send_stored_file(photo_key(storage_name), mimetype=STORED_CONTENT_TYPE, etag=etag)


def can_view(user: User, attachment: Attachment, scope: Scope | None = None) -> bool:
    """The uploader, and whoever holds the photo's grid (staff above it included; admin: all).
    Pass `scope` when it is already known (current_scope() in a request) to save its queries."""
    if attachment.uploader_id == user.id:
        return True
    scope = scope if scope is not None else compute_scope(user)
    return scope.covers_grid(attachment.grid_id)


def attach_photos(
    actor: User, photo_ids: list, grid_id: int, scope: Scope | None = None
) -> list[str]:
    """Check the `photo_ids` of a record about to be written in `grid_id` and tie unplaced photos
    to that grid, which is what makes them visible to the grid's staff. Returns the ids as
    canonical strings, duplicates dropped, order kept. Raises Invalid({"photo_ids": …}).

    A photo may be named by its uploader or by someone holding its grid. Unknown and foreign ids
    get the same answer, so the check says nothing about photos the actor may not see. A photo
    already placed in another grid is refused: naming it here would not make it visible here,
    and moving it would take it away from the record that placed it.
    """
    not_valid = Invalid({"photo_ids": _("The photo list is not valid.")})
    if not isinstance(photo_ids, list | tuple):
        raise not_valid
    wanted: list[uuid.UUID] = []
    for value in photo_ids:
        try:
            photo_id = parse_uuid(value, "photo_ids")
        except Invalid:
            raise not_valid from None
        if photo_id not in wanted:
            wanted.append(photo_id)
    if not wanted:
        return []

    found = {
        a.id: a for a in db.session.scalars(select(Attachment).where(Attachment.id.in_(wanted)))
    }
    for photo_id in wanted:
        attachment = found.get(photo_id)
        if attachment is not None and attachment.uploader_id != actor.id:
            scope = scope if scope is not None else compute_scope(actor)
            if not scope.covers_grid(attachment.grid_id):
                attachment = None
        if attachment is None:
            raise Invalid({"photo_ids": _("A photo was not found. Upload it again and retry.")})
        if attachment.grid_id is not None and attachment.grid_id != grid_id:
            raise Invalid({"photo_ids": _("A photo belongs to another grid.")})

    for photo_id in wanted:
        if found[photo_id].grid_id is None:
            found[photo_id].grid_id = grid_id
    return [str(photo_id) for photo_id in wanted]


# --- checking and cleaning -------------------------------------------------------------------

# One decode at a time in a process: a decoded photo may hold ~100 MB for a moment, and a few
# uploads at once (threads of one worker) must not add up to gigabytes. Others wait their turn.
_DECODE_SLOT = threading.BoundedSemaphore(1)


def clean_image(data: bytes, declared_content_type: str) -> tuple[bytes, int, int]:
    """Check, decode and re-encode one image: (JPEG bytes, width, height). Raises Invalid.
    The cheap checks run before waiting for the decode slot, so a refused file never waits."""
    _precheck(data, declared_content_type)
    with _DECODE_SLOT:
        image = _decode_checked(data, declared_content_type)
        try:
            return _reencode(image)
        finally:
            image.close()


def _sniff_format(data: bytes) -> str | None:
    """The Pillow format the first bytes announce; the file name and the declared type are the
    sender's claims, these bytes are what a decoder will actually parse."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _normalize_content_type(value: str) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def _precheck(data: bytes, declared_content_type: str) -> str:
    """Size, magic bytes and declared type; the Pillow format the bytes announce."""
    if not data:
        raise Invalid({"photo": _("The photo is empty.")})
    limit = max_photo_bytes()
    if len(data) > limit:
        raise Invalid(
            {"photo": _("The photo is larger than %(mb)d MB.", mb=max(1, limit // (1024 * 1024)))}
        )
    image_format = _sniff_format(data)
    if image_format is None:
        raise Invalid({"photo": _("The file is not a JPEG, PNG or WebP photo.")})
    # A mismatch between a permitted declared type and the sniffed format is let through: phones
    # mislabel, and the bytes are re-encoded whatever they claimed to be.
    if _normalize_content_type(declared_content_type) not in ALLOWED_CONTENT_TYPES:
        raise Invalid({"photo": _("Only JPEG, PNG or WebP photos can be uploaded.")})
    return image_format


def _decode_checked(data: bytes, declared_content_type: str) -> Image.Image:
    """Run the cheap checks in order, then decode. The order matters: nothing reaches Pillow's
    decoder before its size and pixel count are known to be sane."""
    image_format = _precheck(data, declared_content_type)
    max_pixels = max_photo_pixels()
    too_many_pixels = Invalid(
        {
            "photo": _(
                "The photo has too many pixels (at most %(megapixels)d million).",
                megapixels=max_pixels // 1_000_000,
            )
        }
    )
    # Pillow's own guard, process-wide; it errors at twice this and warns above it, so the
    # explicit check below is what holds the line. Every call sets the same configured value.
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        # open() reads the header only: the size is known here, nothing has been decoded yet.
        image = Image.open(io.BytesIO(data), formats=[image_format])
        width, height = image.size
        if width < 1 or height < 1 or width * height > max_pixels:
            raise too_many_pixels
        if image_format != "JPEG":
            _check_decoded_size(image)
        # JPEG can decode straight at 1/2, 1/4 or 1/8 scale: far less memory for a big photo.
        # Ask for the final shape: draft() never goes below the size asked for in either side.
        scale = MAX_LONG_SIDE / max(width, height)
        if scale < 1:
            image.draft("RGB", (max(1, int(width * scale)), max(1, int(height * scale))))
        image.load()
    except Invalid:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_many_pixels from None
    except MemoryError:
        raise  # not the file's fault; a 500 says so better than "unreadable"
    except Exception:  # Pillow raises OSError, ValueError, SyntaxError, struct.error… on bad input
        raise Invalid({"photo": _("The file is not a readable image.")}) from None
    return image


def _check_decoded_size(image: Image.Image) -> None:
    """PNG and WebP decode at full size, and transparency or a palette is worked on as RGBA
    (4 bytes a pixel): bound the bytes, not only the pixels, before anything is decoded."""
    has_alpha = image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info
    bytes_per_pixel = 4 if has_alpha else 3
    if image.width * image.height * bytes_per_pixel > MAX_DECODED_BYTES:
        raise Invalid(
            {
                "photo": _(
                    "This PNG or WebP picture is too large (at most %(megapixels)d million "
                    "pixels). Send it as a JPEG photo.",
                    megapixels=MAX_DECODED_BYTES // bytes_per_pixel // 1_000_000,
                )
            }
        )


def _reduced(image: Image.Image) -> Image.Image:
    """A copy at 1/n size by whole factors (box average), so the resampling and the colour
    conversions after it work on a quarter of the pixels or less, never on a full-size copy."""
    factor = max(image.size) // MAX_LONG_SIDE
    if factor < 2 or image.mode not in ("RGB", "RGBA", "L", "LA"):
        return image
    smaller = image.reduce(factor)
    image.close()
    return smaller


def _reencode(image: Image.Image) -> tuple[bytes, int, int]:
    """Upright, RGB, long side ≤ MAX_LONG_SIDE, JPEG with no EXIF, ICC, XMP or comment.
    Shrink first: every copy after that (turning, flattening, converting) is of the small
    picture, so the peak is the decoded photo and not three copies of it."""
    try:
        if image.mode not in ("RGB", "RGBA", "L", "LA"):
            image = image.convert("RGBA" if image.has_transparency_data else "RGB")
        image = _reduced(image)
        image.thumbnail((MAX_LONG_SIDE, MAX_LONG_SIDE), Image.Resampling.LANCZOS)
        image = ImageOps.exif_transpose(image)
        if image.has_transparency_data:
            # Transparent areas would turn black in JPEG; put the photo on white paper instead.
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            image = flat
        else:
            image = image.convert("RGB")
        # Pillow's JPEG writer copies some metadata (the comment) from `info` on its own.
        image.info = {}
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    except MemoryError:
        raise
    except Exception:  # malformed EXIF or an exotic mode that will not convert
        raise Invalid({"photo": _("The file is not a readable image.")}) from None
    return buffer.getvalue(), image.width, image.height


def _write_file(encoded: bytes) -> str:
    return write_new_file(encoded, "jpg")
