#!/usr/bin/env python3
"""Draw the app icons as PNGs from the design of static/icons/icon.svg (Pillow, no SVG renderer).

    .venv/bin/python scripts/make_icons.py

Writes static/icons/icon-192.png and icon-512.png (rounded, like the SVG), icon-maskable-512.png
(full bleed, the drawing shrunk into the safe zone Android crops to) and apple-touch-icon-180.png
(full bleed: iOS rounds the corners itself and paints transparent ones black). The PNGs are
committed; run this again only when the design changes, and keep it in step with icon.svg.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ICONS = Path(__file__).resolve().parent.parent / "static" / "icons"
BLUE = "#1f5fa8"
WHITE = "#ffffff"
YELLOW = "#ffd35c"
VIEWBOX = 64  # icon.svg's coordinate system
SUPERSAMPLE = 4  # draw large, then shrink: Pillow's shapes have no anti-aliasing of their own


def draw_icon(size: int, *, rounded: bool, glyph_scale: float = 1.0) -> Image.Image:
    big = size * SUPERSAMPLE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    unit = big / VIEWBOX
    if rounded:  # <rect width="64" height="64" rx="12">
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=12 * unit, fill=BLUE)
    else:
        draw.rectangle((0, 0, big, big), fill=BLUE)

    # The glyph, scaled about the centre (32, 32).
    def at(x: float, y: float) -> tuple[float, float]:
        return (
            big / 2 + (x - 32) * unit * glyph_scale,
            big / 2 + (y - 32) * unit * glyph_scale,
        )

    def stroke(width: float) -> int:
        return max(1, round(width * unit * glyph_scale))

    # <path d="M14 14h36v36H14z" stroke-width="4">: a stroke centred on the path.
    half = 2
    draw.rectangle((*at(14 - half, 14 - half), *at(50 + half, 50 + half)), fill=WHITE)
    draw.rectangle((*at(14 + half, 14 + half), *at(50 - half, 50 - half)), fill=BLUE)
    # <path d="M32 14v36M14 32h36" stroke-width="3">
    draw.line((*at(32, 14), *at(32, 50)), fill=WHITE, width=stroke(3))
    draw.line((*at(14, 32), *at(50, 32)), fill=WHITE, width=stroke(3))
    # <circle cx="32" cy="32" r="6" fill="#ffd35c">
    draw.ellipse((*at(26, 26), *at(38, 38)), fill=YELLOW)
    return image.resize((size, size), Image.LANCZOS)


def main() -> None:
    outputs = {
        "icon-192.png": draw_icon(192, rounded=True),
        "icon-512.png": draw_icon(512, rounded=True),
        # The glyph's corners sit 28.3 units from the centre; the safe zone is a circle of 40% of
        # the size (25.6 units), so 0.85 keeps every corner inside it.
        "icon-maskable-512.png": draw_icon(512, rounded=False, glyph_scale=0.85),
        "apple-touch-icon-180.png": draw_icon(180, rounded=False, glyph_scale=0.9).convert("RGB"),
    }
    for name, image in outputs.items():
        path = ICONS / name
        image.save(path, "PNG", optimize=True)
        print(f"wrote {path.relative_to(ICONS.parent.parent)} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
