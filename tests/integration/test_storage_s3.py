"""Photos and notice files in an S3-compatible bucket (STORAGE_BACKEND=s3), so several servers
share them: what one server keeps another serves, through the app and its scope checks, and the
bucket follows the database's transactions as the local folder does.

A real S3 API answers over HTTP: moto's server, started in this process. "Server A" is the `app`
fixture switched to the bucket; "server B" is a second app on the same database and bucket with
an upload folder of its own. World: notices_world (worker_g1 holds G1 of community C1; staff_c1
is community staff of C1, staff_c2 of C2).
"""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from PIL import Image
from sqlalchemy import select

from tests.conftest import FreshContextClient, signed_in_client
from tests.integration import notices_world as nw
from tests.integration.notices_world import action, csrf, notice_form
from tests.integration.pdf_samples import blank_pdf
from webapp import create_app
from webapp.config import StorageMisconfigured
from webapp.extensions import db
from webapp.models import NoticeAttachment
from webapp.models.records import Attachment
from webapp.notices import files
from webapp.rounds import photos
from webapp.storage import LocalFolderStore, S3ObjectStore, file_store

world = nw.world
signed_in = nw.signed_in

API = {"X-GridRounds-Client": "1"}
PREFIX = "gridrounds-test"
PDF = blank_pdf()


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, monkeypatch) -> str:
    """A fresh bucket on the moto server, with the credentials boto3 reads from the
    environment (moto accepts any)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    name = f"gridrounds-{uuid.uuid4().hex[:12]}"
    s3_client(s3_endpoint).create_bucket(Bucket=name)
    return name


def s3_client(endpoint: str):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def s3_settings(endpoint: str, bucket: str) -> dict:
    return {
        "STORAGE_BACKEND": "s3",
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": endpoint,
        "S3_PREFIX": PREFIX,
    }


@pytest.fixture
def server_a(app, s3_endpoint, bucket):
    """The test's app, keeping its files in the bucket (the store is made on first use)."""
    app.config.update(s3_settings(s3_endpoint, bucket))
    return app


@pytest.fixture
def server_b(server_a, database_url, tmp_path, s3_endpoint, bucket):
    other = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "UPLOAD_FOLDER": str(tmp_path / "server-b-uploads"),
            "SERVER_NAME": "localhost",
            "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
            **s3_settings(s3_endpoint, bucket),
        }
    )
    other.test_client_class = FreshContextClient
    yield other
    with other.app_context():
        db.engine.dispose()


def object_keys(endpoint: str, bucket: str) -> list[str]:
    listing = s3_client(endpoint).list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), (30, 120, 200)).save(buffer, "JPEG")
    return buffer.getvalue()


def upload_photo(client, grid_id: int) -> uuid.UUID:
    photo_id = uuid.uuid4()
    response = client.put(
        f"/api/v1/attachments/{photo_id}",
        data=jpeg_bytes(),
        content_type="image/jpeg",
        headers=API,
        query_string={"grid_id": grid_id},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return photo_id


def kept_photo(photo_id) -> Attachment:
    db.session.expire_all()
    return db.session.get(Attachment, photo_id)


def notice_attachments() -> list[NoticeAttachment]:
    db.session.expire_all()
    return list(db.session.scalars(select(NoticeAttachment).order_by(NoticeAttachment.position)))


def new_notice_with(client, world, uploads: list[tuple[bytes, str]]):
    data = notice_form(community_ids=[str(world.communities["C1"].id)])
    data["csrf_token"] = csrf(client)
    data["attachments"] = [(io.BytesIO(content), name) for content, name in uploads]
    return client.post("/notices/new", data=data, content_type="multipart/form-data")


def notice_id_of(response) -> int:
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return int(re.search(r"/notices/(\d+)$", response.headers["Location"]).group(1))


def local_files(app) -> list[Path]:
    folder = Path(app.config["UPLOAD_FOLDER"])
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# --- two servers, one bucket --------------------------------------------------------------------


def test_a_photo_kept_by_one_server_is_served_by_another(
    world, server_a, server_b, s3_endpoint, bucket
):
    photo_id = upload_photo(signed_in_client(server_a, "worker_g1"), world.grids["G1"].id)
    photo = kept_photo(photo_id)

    served = signed_in_client(server_b, "staff_c1").get(f"/attachments/{photo_id}")

    assert served.status_code == 200
    assert served.mimetype == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in served.headers["Cache-Control"]
    assert served.headers["ETag"] == f'"{photo.sha256}"'
    assert Image.open(io.BytesIO(served.data)).format == "JPEG"
    assert len(served.data) == photo.byte_size
    assert object_keys(s3_endpoint, bucket) == [f"{PREFIX}/{photo.storage_name}"]
    assert local_files(server_a) == [] and local_files(server_b) == []


def test_the_second_server_keeps_the_photos_scope_checks(world, server_a, server_b):
    photo_id = upload_photo(signed_in_client(server_a, "worker_g1"), world.grids["G1"].id)
    assert signed_in_client(server_b, "staff_c2").get(f"/attachments/{photo_id}").status_code == 404


def test_a_notice_file_kept_by_one_server_is_served_publicly_by_another(world, server_a, server_b):
    staff = signed_in_client(server_a, "staff_c1")
    notice_id = notice_id_of(new_notice_with(staff, world, [(PDF, "通知全文.pdf")]))
    assert action(staff, notice_id, "publish").status_code == 303
    (kept,) = notice_attachments()

    served = server_b.test_client().get(f"/public/notices/{notice_id}/files/{kept.id}")

    assert served.status_code == 200 and served.data == PDF
    assert served.mimetype == "application/pdf"
    assert "filename*=UTF-8''%E9%80%9A%E7%9F%A5" in served.headers["Content-Disposition"]
    assert served.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "public" in served.headers["Cache-Control"]


def test_a_revalidated_notice_file_is_not_sent_again(world, server_a, server_b):
    staff = signed_in_client(server_a, "staff_c1")
    notice_id = notice_id_of(new_notice_with(staff, world, [(PDF, "通知全文.pdf")]))
    assert action(staff, notice_id, "publish").status_code == 303
    (kept,) = notice_attachments()

    again = server_b.test_client().get(
        f"/public/notices/{notice_id}/files/{kept.id}",
        headers={"If-None-Match": f'"{kept.sha256}"'},
    )

    assert again.status_code == 304 and again.data == b""


def test_a_range_of_a_notice_file_is_sent_from_the_bucket(world, server_a, server_b):
    staff = signed_in_client(server_a, "staff_c1")
    notice_id = notice_id_of(new_notice_with(staff, world, [(PDF, "通知全文.pdf")]))
    assert action(staff, notice_id, "publish").status_code == 303
    (kept,) = notice_attachments()

    part = server_b.test_client().get(
        f"/public/notices/{notice_id}/files/{kept.id}", headers={"Range": "bytes=5-14"}
    )

    assert part.status_code == 206 and part.data == PDF[5:15]
    assert part.headers["Content-Range"] == f"bytes 5-14/{len(PDF)}"


def test_a_photo_whose_object_is_missing_is_a_404(world, server_a, s3_endpoint, bucket):
    client = signed_in_client(server_a, "worker_g1")
    photo_id = upload_photo(client, world.grids["G1"].id)
    s3_client(s3_endpoint).delete_object(
        Bucket=bucket, Key=f"{PREFIX}/{kept_photo(photo_id).storage_name}"
    )
    assert client.get(f"/attachments/{photo_id}").status_code == 404


# --- the bucket follows the transaction ---------------------------------------------------------


def test_a_photo_of_a_rolled_back_transaction_leaves_no_object(
    world, server_a, s3_endpoint, bucket
):
    photos.store_photo(world.users["worker_g1"], uuid.uuid4(), jpeg_bytes(), "image/jpeg")
    assert len(object_keys(s3_endpoint, bucket)) == 1  # written before the row commits

    db.session.rollback()

    assert object_keys(s3_endpoint, bucket) == []


def test_a_refused_notice_upload_leaves_no_object(world, server_a, s3_endpoint, bucket):
    staff = signed_in_client(server_a, "staff_c1")
    response = new_notice_with(staff, world, [(PDF, "好的.pdf"), (b"not a pdf", "坏的.pdf")])
    assert response.status_code == 422
    assert object_keys(s3_endpoint, bucket) == []


def test_a_removed_notice_attachments_object_is_gone_after_commit(
    world, server_a, s3_endpoint, bucket
):
    staff = signed_in_client(server_a, "staff_c1")
    notice_id = notice_id_of(new_notice_with(staff, world, [(PDF, "旧.pdf")]))
    (kept,) = notice_attachments()
    assert object_keys(s3_endpoint, bucket) == [f"{PREFIX}/notices/{kept.storage_name}"]
    data = notice_form(
        community_ids=[str(world.communities["C1"].id)], remove_attachment_ids=[str(kept.id)]
    )
    data["csrf_token"] = csrf(staff)

    response = staff.post(
        f"/notices/{notice_id}/edit", data=data, content_type="multipart/form-data"
    )

    assert response.status_code == 303
    assert notice_attachments() == []
    assert object_keys(s3_endpoint, bucket) == []


def test_a_deletion_rolled_back_keeps_the_object(world, server_a, s3_endpoint, bucket):
    staff = signed_in_client(server_a, "staff_c1")
    notice_id_of(new_notice_with(staff, world, [(PDF, "留着.pdf")]))
    (kept,) = notice_attachments()

    files.delete_files_after_commit([kept])
    db.session.flush()
    db.session.rollback()

    assert notice_attachments() != []
    assert object_keys(s3_endpoint, bucket) == [f"{PREFIX}/notices/{kept.storage_name}"]


def test_the_publishing_guard_reads_a_pdf_from_the_bucket(world, server_a):
    staff = signed_in_client(server_a, "staff_c1")
    notice_id = notice_id_of(new_notice_with(staff, world, [(PDF, "通知全文.pdf")]))
    (kept,) = notice_attachments()
    assert files.attachment_texts([kept]) == [("通知全文.pdf", files.pdf_text(PDF, "x"))]
    assert action(staff, notice_id, "publish").status_code == 303


# --- configuration ------------------------------------------------------------------------------


def test_the_local_folder_stays_the_default(app):
    assert app.config["STORAGE_BACKEND"] == "local"
    assert isinstance(file_store(), LocalFolderStore)


def test_the_bucket_settings_come_from_the_environment(monkeypatch, s3_endpoint, bucket):
    monkeypatch.setenv("STORAGE_BACKEND", "s3")
    monkeypatch.setenv("S3_BUCKET", bucket)
    monkeypatch.setenv("S3_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("S3_PREFIX", "/district-7/")
    app = create_app({"TESTING": True})
    with app.app_context():
        store = file_store()
        assert isinstance(store, S3ObjectStore)
        assert store.bucket == bucket and store.object_key("a.jpg") == "district-7/a.jpg"


@pytest.mark.parametrize(
    "settings",
    [{"STORAGE_BACKEND": "s3"}, {"STORAGE_BACKEND": "ftp"}, {"S3_ADDRESSING_STYLE": "sideways"}],
)
def test_a_server_refuses_to_start_with_a_storage_it_cannot_use(monkeypatch, settings):
    monkeypatch.delenv("S3_BUCKET", raising=False)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(StorageMisconfigured):
        create_app({"TESTING": True})
