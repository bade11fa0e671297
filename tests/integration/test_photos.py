"""Photo attachments (DESIGN.md §5 `PUT /api/v1/attachments/<uuid>`, §7 uploads): what is kept is
a clean re-encoded JPEG, hostile files are refused before they cost memory, and a photo is shown
only to its uploader and to the people who hold its grid.

World: community C1 has grids G1 and G2, community C2 has G3; worker_g1 and worker_g2 hold G1 and
G2, staff_c1 is community staff of C1, staff_c2 of C2.
"""

from __future__ import annotations

import io
import resource
import struct
import uuid
import zlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from tests import factories as f
from tests.conftest import signed_in_client
from webapp.extensions import db
from webapp.models import Grid, User
from webapp.models.records import Attachment
from webapp.ops import Invalid, OutOfScope
from webapp.rounds import photos

API = {"X-GridRounds-Client": "1"}
GPS_IFD = 0x8825
ORIENTATION = 0x0112


@dataclass
class World:
    grids: dict[str, Grid]
    users: dict[str, User]


@pytest.fixture
def world(app) -> World:
    c1, c2 = f.gen_community(), f.gen_community()
    grids = {"G1": f.gen_grid(c1), "G2": f.gen_grid(c1), "G3": f.gen_grid(c2)}
    users = {
        "worker_g1": f.gen_user("worker_g1", "grid_worker", grids["G1"]),
        "worker_g2": f.gen_user("worker_g2", "grid_worker", grids["G2"]),
        "staff_c1": f.gen_user("staff_c1", "community_staff", c1),
        "staff_c2": f.gen_user("staff_c2", "community_staff", c2),
        "root": f.gen_user("root", "admin"),
    }
    db.session.commit()
    return World(grids, users)


@pytest.fixture
def signed_in(app):
    """A fresh test client signed in as `username`; several users can act side by side."""

    def sign_in(username: str):
        return signed_in_client(app, username)

    return sign_in


def jpeg_bytes(size=(400, 300), exif: Image.Exif | None = None, color=(180, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, color)
    image.save(buffer, "JPEG", exif=exif.tobytes() if exif is not None else b"")
    return buffer.getvalue()


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make
    exif[GPS_IFD] = {
        1: "N",
        2: (39.0, 54.0, 26.0),  # 39°54'26" N, 116°23'29" E: Tian'anmen
        3: "E",
        4: (116.0, 23.0, 29.0),
    }
    return exif


def put_photo(client, photo_id, data: bytes, content_type="image/jpeg", headers=None, **query):
    return client.put(
        f"/api/v1/attachments/{photo_id}",
        data=data,
        content_type=content_type,
        headers=API if headers is None else headers,
        query_string=query,
    )


def stored_files(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_FOLDER"])
    return sorted(folder.iterdir()) if folder.exists() else []


def attachment_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Attachment))


def stored_attachment(photo_id) -> Attachment:
    db.session.expire_all()
    return db.session.get(Attachment, photo_id)


# --- what is kept ------------------------------------------------------------------------------


def test_gps_and_all_other_exif_are_stripped_from_a_stored_photo(world, signed_in, app):
    upload = jpeg_bytes(exif=gps_exif())
    assert Image.open(io.BytesIO(upload)).getexif().get_ifd(GPS_IFD), "the input carries GPS"
    photo_id = uuid.uuid4()

    response = put_photo(signed_in("worker_g1"), photo_id, upload)

    assert response.status_code == 201
    assert response.json["content_type"] == "image/jpeg"
    stored = photos.photo_path(stored_attachment(photo_id)).read_bytes()
    assert b"Exif" not in stored
    assert b"PhoneMaker" not in stored
    kept = Image.open(io.BytesIO(stored))
    assert kept.format == "JPEG"
    assert not kept.getexif()
    assert "icc_profile" not in kept.info
    assert "comment" not in kept.info


def test_a_stored_photo_is_turned_upright_by_its_exif_orientation(world, signed_in):
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # taken with the phone on its side: rotate 90° to show it upright
    photo_id = uuid.uuid4()

    response = put_photo(signed_in("worker_g1"), photo_id, jpeg_bytes((400, 300), exif))

    assert (response.json["width"], response.json["height"]) == (300, 400)
    assert Image.open(photos.photo_path(stored_attachment(photo_id))).size == (300, 400)


def test_a_large_photo_is_shrunk_to_2048_pixels_on_its_long_side(world, signed_in):
    photo_id = uuid.uuid4()

    response = put_photo(signed_in("worker_g1"), photo_id, jpeg_bytes((4000, 3000)))

    assert response.status_code == 201
    assert (response.json["width"], response.json["height"]) == (2048, 1536)
    attachment = stored_attachment(photo_id)
    assert Image.open(photos.photo_path(attachment)).size == (2048, 1536)
    assert attachment.byte_size == photos.photo_path(attachment).stat().st_size


def image_bytes(image: Image.Image, image_format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("image_format", "declared"), [("PNG", "image/png"), ("WEBP", "image/webp")]
)
def test_png_and_webp_are_kept_as_jpeg(world, signed_in, image_format, declared):
    upload = image_bytes(Image.new("RGB", (20, 10), (0, 90, 200)), image_format)
    photo_id = uuid.uuid4()

    response = put_photo(signed_in("worker_g1"), photo_id, upload, content_type=declared)

    assert response.status_code == 201
    assert Image.open(photos.photo_path(stored_attachment(photo_id))).format == "JPEG"


def test_transparent_areas_turn_white_not_black(world, signed_in):
    upload = image_bytes(Image.new("RGBA", (20, 10), (0, 0, 0, 0)), "PNG")
    photo_id = uuid.uuid4()

    put_photo(signed_in("worker_g1"), photo_id, upload, content_type="image/png")

    kept = Image.open(photos.photo_path(stored_attachment(photo_id)))
    assert min(kept.getpixel((5, 5))) > 240


def test_upload_records_size_hash_uploader_and_grid(world, signed_in, app):
    photo_id = uuid.uuid4()
    grid = world.grids["G1"]

    response = put_photo(signed_in("worker_g1"), photo_id, jpeg_bytes(), grid_id=grid.id)

    attachment = stored_attachment(photo_id)
    assert response.json == {
        "id": str(photo_id),
        "content_type": "image/jpeg",
        "width": 400,
        "height": 300,
        "byte_size": attachment.byte_size,
        "url": f"/attachments/{photo_id}",
    }
    assert response.headers["Location"] == f"/attachments/{photo_id}"
    assert attachment.uploader_id == world.users["worker_g1"].id
    assert attachment.grid_id == grid.id
    assert len(attachment.sha256) == 64
    assert [p.name for p in stored_files(app)] == [attachment.storage_name]
    assert Path(app.config["UPLOAD_FOLDER"]).resolve() != Path(app.static_folder).resolve()


# --- what is refused ---------------------------------------------------------------------------


def test_a_shell_script_named_jpg_is_refused_and_nothing_is_stored(world, signed_in, app):
    script = FileStorage(io.BytesIO(b"#!/bin/sh\nrm -rf /\n"), filename="photo.jpg")

    response = put_photo(signed_in("worker_g1"), uuid.uuid4(), script.read())

    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid"
    assert "photo" in response.json["error"]["fields"]
    assert attachment_count() == 0
    assert stored_files(app) == []


@cache
def huge_zero_png(side: int = 30_000) -> bytes:
    """A real, complete 30000×30000 grey PNG (900 million pixels, ~4 MB compressed): decoding it
    would touch close to 1 GB."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    compressor = zlib.compressobj(1)
    rows_per_block = 500
    block = b"\x00" * ((1 + side) * rows_per_block)  # filter byte + one grey byte per pixel
    parts = [compressor.compress(block) for _ in range(side // rows_per_block)]
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", b"".join(parts))
        + chunk(b"IEND", b"")
    )


def peak_rss_growth_mb(action) -> float:
    """How far the process's resident memory peaked above where it stood before `action`.

    On Linux, writing 5 to clear_refs resets the high-water mark to the current size, so the
    measurement is this action's own and not an earlier test's; elsewhere, ru_maxrss growth."""
    status = Path("/proc/self/status")
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        action()
        return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024

    def kilobytes(field: str) -> int:
        line = next(x for x in status.read_text().splitlines() if x.startswith(field + ":"))
        return int(line.split()[1])

    before = kilobytes("VmRSS")
    action()
    return (kilobytes("VmHWM") - before) / 1024


def test_a_30000_by_30000_png_is_refused_without_decoding_it(world, signed_in, app):
    client = signed_in("worker_g1")
    png = huge_zero_png()
    assert struct.unpack(">II", png[16:24]) == (30_000, 30_000)
    responses = []

    growth = peak_rss_growth_mb(
        lambda: responses.append(put_photo(client, uuid.uuid4(), png, "image/png"))
    )

    assert responses[0].status_code == 422
    assert "photo" in responses[0].json["error"]["fields"]
    assert growth < 200, f"peak memory grew by {growth:.0f} MB"
    assert attachment_count() == 0
    assert stored_files(app) == []


# Pillow warns (and our own check refuses) between the cap and twice the cap.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_pixel_cap_refuses_just_over_the_configured_limit(world, signed_in, app):
    app.config["MAX_PHOTO_PIXELS"] = 100 * 100

    response = put_photo(signed_in("worker_g1"), uuid.uuid4(), jpeg_bytes((101, 100)))

    assert response.status_code == 422
    assert attachment_count() == 0


@pytest.mark.parametrize(
    ("data", "declared"),
    [
        (b"", "image/jpeg"),  # empty body
        (jpeg_bytes(), "application/octet-stream"),  # a type we do not take
        (jpeg_bytes(), "text/html"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 200, "image/jpeg"),  # JPEG magic, then garbage
        (b"GIF89a" + b"\x00" * 100, "image/jpeg"),  # a GIF claiming to be a JPEG
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/jpeg"),
    ],
    ids=["empty", "octet-stream", "html", "garbage-after-magic", "gif", "svg"],
)
def test_unacceptable_uploads_are_refused_with_422(world, signed_in, app, data, declared):
    response = put_photo(signed_in("worker_g1"), uuid.uuid4(), data, content_type=declared)

    assert response.status_code == 422
    assert set(response.json["error"]) == {"code", "message", "fields"}
    assert attachment_count() == 0
    assert stored_files(app) == []


def test_a_photo_over_the_size_cap_is_refused(world, signed_in, app):
    app.config["MAX_PHOTO_BYTES"] = 1000

    response = put_photo(signed_in("worker_g1"), uuid.uuid4(), jpeg_bytes((800, 600)))

    assert response.status_code == 422
    assert "photo" in response.json["error"]["fields"]


def test_upload_to_a_grid_outside_scope_is_404(world, signed_in, app):
    response = put_photo(
        signed_in("worker_g1"), uuid.uuid4(), jpeg_bytes(), grid_id=world.grids["G2"].id
    )

    assert response.status_code == 404
    assert attachment_count() == 0
    assert stored_files(app) == []


# --- idempotency -------------------------------------------------------------------------------


def test_the_same_upload_twice_is_201_then_200_with_one_row_and_one_file(world, signed_in, app):
    client = signed_in("worker_g1")
    photo_id = uuid.uuid4()

    first = put_photo(client, photo_id, jpeg_bytes())
    again = put_photo(client, photo_id, jpeg_bytes())

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json == again.json
    assert attachment_count() == 1
    assert len(stored_files(app)) == 1


def test_another_users_upload_id_is_refused_and_left_untouched(world, signed_in, app):
    photo_id = uuid.uuid4()
    put_photo(signed_in("worker_g1"), photo_id, jpeg_bytes())

    response = put_photo(signed_in("worker_g2"), photo_id, jpeg_bytes((50, 50)))

    assert response.status_code == 422
    assert "id" in response.json["error"]["fields"]
    attachment = stored_attachment(photo_id)
    assert attachment.uploader_id == world.users["worker_g1"].id
    assert (attachment.width, attachment.height) == (400, 300)
    assert len(stored_files(app)) == 1


def test_a_rolled_back_upload_leaves_no_file(world, app):
    photos.store_photo(world.users["worker_g1"], uuid.uuid4(), jpeg_bytes(), "image/jpeg")
    assert len(stored_files(app)) == 1

    db.session.rollback()

    assert stored_files(app) == []


# --- the API's door rules ----------------------------------------------------------------------


def test_upload_without_the_client_header_is_400(world, signed_in):
    response = put_photo(signed_in("worker_g1"), uuid.uuid4(), jpeg_bytes(), headers={})

    assert response.status_code == 400
    assert response.json["error"]["code"] == "missing_client_header"
    assert attachment_count() == 0


def test_upload_from_another_origin_is_403(world, signed_in):
    response = put_photo(
        signed_in("worker_g1"),
        uuid.uuid4(),
        jpeg_bytes(),
        headers={**API, "Origin": "https://evil.example"},
    )

    assert response.status_code == 403
    assert response.json["error"]["code"] == "cross_origin"
    assert attachment_count() == 0


def test_upload_from_our_own_origin_needs_no_csrf_token(world, signed_in):
    response = put_photo(
        signed_in("worker_g1"),
        uuid.uuid4(),
        jpeg_bytes(),
        headers={**API, "Origin": "http://localhost"},
    )

    assert response.status_code == 201


def test_anonymous_upload_gets_401_json_not_a_redirect(world, client):
    response = put_photo(client, uuid.uuid4(), jpeg_bytes())

    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthenticated"
    assert "Location" not in response.headers


# --- who sees a photo --------------------------------------------------------------------------


@pytest.fixture
def g1_photo(world, signed_in) -> str:
    """A photo worker_g1 took in G1; its URL."""
    response = put_photo(
        signed_in("worker_g1"), uuid.uuid4(), jpeg_bytes(), grid_id=world.grids["G1"].id
    )
    assert response.status_code == 201
    return response.json["url"]


def test_the_uploader_gets_the_photo_kept_by_no_cache(g1_photo, signed_in):
    response = signed_in("worker_g1").get(g1_photo)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/jpeg"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert Image.open(io.BytesIO(response.data)).format == "JPEG"


@pytest.mark.parametrize(
    ("username", "status"),
    [("worker_g2", 404), ("staff_c2", 404), ("staff_c1", 200), ("root", 200)],
)
def test_a_photo_is_shown_only_to_those_holding_its_grid(g1_photo, signed_in, username, status):
    assert signed_in(username).get(g1_photo).status_code == status


def test_an_unplaced_photo_is_shown_to_its_uploader_only(world, signed_in):
    response = put_photo(signed_in("worker_g1"), uuid.uuid4(), jpeg_bytes())
    url = response.json["url"]

    assert signed_in("worker_g1").get(url).status_code == 200
    assert signed_in("staff_c1").get(url).status_code == 404


def test_an_unknown_photo_is_404(world, signed_in):
    assert signed_in("root").get(f"/attachments/{uuid.uuid4()}").status_code == 404


def test_anonymous_visitors_are_sent_to_login_for_a_photo(g1_photo, client):
    response = client.get(g1_photo)

    assert response.status_code == 302
    assert "/login" in response.location


# --- naming photos in a record -----------------------------------------------------------------


def test_attach_photos_places_own_photos_in_the_records_grid(world, app):
    worker = world.users["worker_g1"]
    first = photos.store_photo(worker, uuid.uuid4(), jpeg_bytes(), "image/jpeg")
    second = photos.store_photo(worker, uuid.uuid4(), jpeg_bytes(), "image/jpeg")
    db.session.commit()

    ids = photos.attach_photos(
        worker, [str(first.id).upper(), second.id, str(first.id)], world.grids["G1"].id
    )

    assert ids == [str(first.id), str(second.id)]
    assert first.grid_id == second.grid_id == world.grids["G1"].id


def test_attach_photos_rejects_a_photo_uploaded_by_someone_out_of_scope(world, app):
    other = photos.store_photo(
        world.users["worker_g2"], uuid.uuid4(), jpeg_bytes(), "image/jpeg", world.grids["G2"].id
    )
    db.session.commit()

    with pytest.raises(Invalid) as refused:
        photos.attach_photos(world.users["worker_g1"], [str(other.id)], world.grids["G1"].id)

    assert "photo_ids" in refused.value.errors
    assert stored_attachment(other.id).grid_id == world.grids["G2"].id


def test_attach_photos_rejects_unknown_and_malformed_ids(world, app):
    worker = world.users["worker_g1"]
    for bad in ([str(uuid.uuid4())], ["not-a-uuid"], "a-string-not-a-list"):
        with pytest.raises(Invalid) as refused:
            photos.attach_photos(worker, bad, world.grids["G1"].id)
        assert "photo_ids" in refused.value.errors


def test_attach_photos_lets_staff_name_a_photo_of_a_grid_they_hold(world, app):
    photo = photos.store_photo(
        world.users["worker_g1"], uuid.uuid4(), jpeg_bytes(), "image/jpeg", world.grids["G1"].id
    )
    db.session.commit()

    ids = photos.attach_photos(world.users["staff_c1"], [photo.id], world.grids["G1"].id)

    assert ids == [str(photo.id)]


def test_attach_photos_refuses_a_photo_placed_in_another_grid(world, app):
    staff = world.users["staff_c1"]
    photo = photos.store_photo(
        staff, uuid.uuid4(), jpeg_bytes(), "image/jpeg", world.grids["G1"].id
    )
    db.session.commit()

    with pytest.raises(Invalid):
        photos.attach_photos(staff, [photo.id], world.grids["G2"].id)


def test_store_photo_refuses_a_grid_outside_scope(world, app):
    with pytest.raises(OutOfScope):
        photos.store_photo(
            world.users["worker_g1"], uuid.uuid4(), jpeg_bytes(), "image/jpeg", world.grids["G3"].id
        )


# --- multipart forms ---------------------------------------------------------------------------


def test_store_uploaded_files_keeps_each_chosen_file_and_skips_empty_parts(world, app):
    chosen = [
        FileStorage(io.BytesIO(jpeg_bytes()), filename="a.jpg", content_type="image/jpeg"),
        FileStorage(io.BytesIO(b""), filename="", content_type="application/octet-stream"),
        FileStorage(io.BytesIO(jpeg_bytes((30, 30))), filename="b.jpg", content_type="image/jpeg"),
    ]

    ids = photos.store_uploaded_files(world.users["worker_g1"], chosen, world.grids["G1"].id)
    db.session.commit()

    assert len(ids) == 2
    assert {str(a.id) for a in db.session.scalars(select(Attachment))} == set(ids)
    assert len(stored_files(app)) == 2
