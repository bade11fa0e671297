"""Memory exhaustion by upload (issue 10): a 116 KB PNG claiming 6300×6300 once added ~450 MB,
four at once ~1.95 GB. Now the pixel count is read from the header and anything over 24 MP is
refused before decoding, JPEGs decode at reduced scale, the picture is shrunk before any copy,
and one decode runs at a time per process.

Peak memory is measured in a fresh subprocess (resident memory before, its high-water mark
after), so the test sees what the kernel charged, not what one allocator reports."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import PROJECT_ROOT

BUDGET_MB = 150  # extra resident memory the largest allowed upload may cost
# Four at once: one decodes while three wait (without the decode slot: ~440 MB measured).
FOUR_AT_ONCE_BUDGET_MB = 200

MEASURE = r"""
import json, sys, threading
from webapp import create_app
from webapp.ops import Invalid
from webapp.rounds import photos

app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://",
                  "UPLOAD_FOLDER": sys.argv[1]})
content_type = sys.argv[2]
blobs = [open(path, "rb").read() for path in sys.argv[3:]]
results = []

def clean(data):
    with app.app_context():
        try:
            photos.clean_image(data, content_type)
            results.append("ok")
        except Invalid as error:
            results.append("refused: " + "; ".join(error.errors.values()))

def status_kib(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))

# Start the high-water mark from what is resident now (Linux: clear_refs 5), so the imports'
# own peak does not hide the decode's; where that is refused, measure from resident memory,
# which can only overestimate.
try:
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
except OSError:
    pass
before = status_kib("VmRSS")
threads = [threading.Thread(target=clean, args=(blob,)) for blob in blobs]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
after = max(status_kib("VmHWM"), before)
print(json.dumps({"extra_mb": (after - before) / 1024, "results": results}))
"""


def _chunk(kind: bytes, body: bytes) -> bytes:
    return (
        struct.pack(">I", len(body))
        + kind
        + body
        + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    )


def flat_png(width: int, height: int, channels: int = 3) -> bytes:
    """A valid PNG of one colour, written row by row: tiny on the wire, huge once decoded."""
    color_type = {3: 2, 4: 6}[channels]
    header = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    squeeze = zlib.compressobj(9)
    row = b"\x00" + b"\x80" * (width * channels)
    idat = b"".join(squeeze.compress(row) for _ in range(height)) + squeeze.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


def measure(tmp_path: Path, content_type: str, *files: bytes) -> dict:
    paths = []
    for n, data in enumerate(files):
        path = tmp_path / f"upload{n}"
        path.write_bytes(data)
        paths.append(str(path))
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(tmp_path / "kept"), content_type, *paths],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=env,
        timeout=300,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_tiny_png_claiming_6300_by_6300_is_refused_before_decoding(tmp_path):
    hostile = flat_png(6300, 6300)
    assert len(hostile) < 200_000

    measured = measure(tmp_path, "image/png", hostile)

    assert measured["results"][0].startswith("refused:")
    assert "24" in measured["results"][0]  # the message names the limit
    assert measured["extra_mb"] < 20, measured


def test_four_largest_allowed_pngs_at_once_stay_within_the_budget(tmp_path):
    # 6000×4000 = 24 MP: 72 MB decoded each; four side by side would be ~300 MB and more.
    allowed = flat_png(6000, 4000)

    measured = measure(tmp_path, "image/png", *[allowed] * 4)

    assert measured["results"] == ["ok"] * 4
    assert measured["extra_mb"] < FOUR_AT_ONCE_BUDGET_MB, measured


def test_the_largest_allowed_png_stays_within_the_budget(tmp_path):
    measured = measure(tmp_path, "image/png", flat_png(6000, 4000))
    assert measured["results"] == ["ok"]
    assert measured["extra_mb"] < BUDGET_MB, measured


def test_a_png_with_transparency_is_bounded_by_its_decoded_bytes(tmp_path):
    # 24 MP with alpha would be 96 MB decoded and worked on as RGBA: refused from the header.
    measured = measure(tmp_path, "image/png", flat_png(6000, 4000, channels=4))
    assert measured["results"][0].startswith("refused:")
    assert "JPEG" in measured["results"][0]
    assert measured["extra_mb"] < 20, measured


def test_a_24_megapixel_jpeg_decodes_at_reduced_scale(tmp_path):
    buffer = io.BytesIO()
    Image.new("RGB", (6000, 4000), (120, 160, 200)).save(buffer, "JPEG", quality=80)

    measured = measure(tmp_path, "image/jpeg", buffer.getvalue())

    assert measured["results"] == ["ok"]
    # Full size would be 72 MB as RGB before any copy; draft() decodes at 1/2 scale (18 MB).
    assert measured["extra_mb"] < 65, measured


@pytest.mark.parametrize("side", [6300, 4899 + 1])
def test_the_pixel_cap_is_24_megapixels(tmp_path, side):
    # 4900×4900 = 24.01 MP: just over. The message says what the limit is.
    measured = measure(tmp_path, "image/png", flat_png(side, side))
    assert measured["results"][0].startswith("refused:")
