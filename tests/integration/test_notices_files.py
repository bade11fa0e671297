"""Notice attachments (DESIGN.md §6, §7): images re-encoded without EXIF, PDFs held to their
magic bytes and a size cap, and the public sees a file only while its notice is visible."""

from __future__ import annotations

import io
import re
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from tests.integration import notices_world as nw
from tests.integration.notices_world import RESIDENT_ID, action, csrf, notice_form
from tests.integration.pdf_samples import blank_pdf
from webapp.extensions import db
from webapp.models import NoticeAttachment

world = nw.world
signed_in = nw.signed_in

GPS_IFD = 0x8825
# A real PDF: the guard reads every PDF's text, and refuses one it cannot read.
PDF = blank_pdf()


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make
    exif[GPS_IFD] = {1: "N", 2: (30.0, 35.0, 12.0), 3: "E", 4: (114.0, 18.0, 5.0)}
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 60, 60)).save(buffer, "JPEG", exif=exif)
    return buffer.getvalue()


def upload(client, world, files: list[tuple[bytes, str]], notice_id: int | None = None, **fields):
    data = notice_form(community_ids=[str(world.communities["C1"].id)], **fields)
    data["csrf_token"] = csrf(client)
    data["attachments"] = [(io.BytesIO(content), name) for content, name in files]
    url = f"/notices/{notice_id}/edit" if notice_id else "/notices/new"
    return client.post(url, data=data, content_type="multipart/form-data")


def new_notice_with(client, world, files) -> int:
    response = upload(client, world, files)
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    return int(re.search(r"/notices/(\d+)$", response.headers["Location"]).group(1))


def attachments() -> list[NoticeAttachment]:
    db.session.expire_all()
    return list(db.session.scalars(select(NoticeAttachment).order_by(NoticeAttachment.position)))


def test_an_image_is_kept_without_exif(world, signed_in, app):
    client = signed_in("staff_c1")
    notice_id = new_notice_with(client, world, [(jpeg_with_gps(), "现场.jpg")])
    (kept,) = attachments()
    assert kept.kind == "image" and kept.content_type == "image/jpeg"
    served = client.get(f"/notices/{notice_id}/files/{kept.id}")
    assert served.status_code == 200
    image = Image.open(io.BytesIO(served.data))
    assert dict(image.getexif()) == {}
    assert b"PhoneMaker" not in served.data
    stored = Path(app.config["UPLOAD_FOLDER"]) / "notices" / kept.storage_name
    assert stored.is_file() and "static" not in str(stored)


def test_a_png_is_reencoded_as_jpeg(world, signed_in):
    client = signed_in("staff_c1")
    buffer = io.BytesIO()
    Image.new("RGBA", (40, 30), (0, 0, 255, 128)).save(buffer, "PNG")
    new_notice_with(client, world, [(buffer.getvalue(), "示意图.png")])
    (kept,) = attachments()
    assert kept.file_name == "示意图.jpg" and kept.content_type == "image/jpeg"


def test_a_pdf_is_kept_as_is(world, signed_in):
    client = signed_in("staff_c1")
    notice_id = new_notice_with(client, world, [(PDF, "通知全文.pdf")])
    (kept,) = attachments()
    assert kept.kind == "pdf" and kept.file_name == "通知全文.pdf"
    served = client.get(f"/notices/{notice_id}/files/{kept.id}")
    assert served.data == PDF and served.mimetype == "application/pdf"
    assert served.headers["X-Content-Type-Options"] == "nosniff"


def test_a_file_pretending_to_be_a_pdf_is_refused(world, signed_in):
    client = signed_in("staff_c1")
    response = upload(client, world, [(b"<html><script>alert(1)</script>", "名单.pdf")])
    assert response.status_code == 422
    assert 'id="attachments-error"' in response.get_data(as_text=True)
    assert attachments() == []


def test_a_file_over_the_size_cap_is_refused(world, signed_in, app):
    app.config["MAX_NOTICE_FILE_BYTES"] = 1024
    client = signed_in("staff_c1")
    response = upload(client, world, [(PDF + b"0" * 2048, "大文件.pdf")])
    assert response.status_code == 422
    assert attachments() == []


def test_a_refused_upload_leaves_no_file_behind(world, signed_in, app):
    client = signed_in("staff_c1")
    response = upload(client, world, [(PDF, "好的.pdf"), (b"not a pdf", "坏的.pdf")])
    assert response.status_code == 422
    folder = Path(app.config["UPLOAD_FOLDER"]) / "notices"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_an_attachment_is_public_only_while_its_notice_is_visible(world, signed_in, client):
    staff = signed_in("staff_c1")
    notice_id = new_notice_with(staff, world, [(PDF, "通知全文.pdf")])
    (kept,) = attachments()
    public_url = f"/public/notices/{notice_id}/files/{kept.id}"
    assert client.get(public_url).status_code == 404  # a draft's file
    assert action(staff, notice_id, "publish").status_code == 303
    served = client.get(public_url)
    assert served.status_code == 200 and served.data == PDF
    assert public_url in client.get(f"/public/notices/{notice_id}").get_data(as_text=True)
    assert action(staff, notice_id, "withdraw").status_code == 303
    assert client.get(public_url).status_code == 404


def test_a_file_of_another_notice_is_not_served_under_this_one(world, signed_in, client):
    staff = signed_in("staff_c1")
    first = new_notice_with(staff, world, [(PDF, "一.pdf")])
    second = new_notice_with(staff, world, [(PDF, "二.pdf")])
    for notice_id in (first, second):
        assert action(staff, notice_id, "publish").status_code == 303
    one = next(a for a in attachments() if a.notice_id == first)
    assert client.get(f"/public/notices/{second}/files/{one.id}").status_code == 404


def test_a_file_name_holding_an_id_number_blocks_publishing(world, signed_in):
    client = signed_in("staff_c1")
    notice_id = new_notice_with(client, world, [(PDF, f"张三明{RESIDENT_ID}.pdf")])
    response = action(client, notice_id, "publish")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'data-kind="id_number" data-field="file:张三明1101**********1235.pdf"' in page
    warning = page.split('class="guard guard-blocked"')[1].split("</section>")[0]
    assert RESIDENT_ID not in warning


def test_removing_an_attachment_deletes_its_file_after_saving(world, signed_in, app):
    client = signed_in("staff_c1")
    notice_id = new_notice_with(client, world, [(PDF, "旧.pdf")])
    (kept,) = attachments()
    path = Path(app.config["UPLOAD_FOLDER"]) / "notices" / kept.storage_name
    data = notice_form(
        community_ids=[str(world.communities["C1"].id)], remove_attachment_ids=[str(kept.id)]
    )
    data["csrf_token"] = csrf(client)
    response = client.post(
        f"/notices/{notice_id}/edit", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 303
    assert attachments() == [] and not path.exists()


def test_deleting_a_draft_deletes_its_files(world, signed_in, app):
    client = signed_in("staff_c1")
    notice_id = new_notice_with(client, world, [(PDF, "草稿附件.pdf")])
    (kept,) = attachments()
    path = Path(app.config["UPLOAD_FOLDER"]) / "notices" / kept.storage_name
    assert action(client, notice_id, "delete").status_code == 303
    assert attachments() == [] and not path.exists()
