"""Deterministic synthetic test images for the super-resolution course.

No downloads, no randomness: every image is computed from closed-form
formulas (numpy) or Pillow's built-in *bitmap* font, so the arrays are
bit-identical on every machine.  All functions return RGB ``uint8`` arrays
of shape ``(H, W, 3)`` with values in ``0..255``.

- ``zone_plate``: ``cos(k r^2)`` whose local frequency rises linearly with
  the radius and reaches Nyquist at the border.  Downscaling it shows
  aliasing (Moire rings) and upscaling shows which frequencies a method
  can (not) recover.
- ``siemens_star``: black/white spokes whose frequency rises towards the
  centre; the radius at which spokes blur into grey measures resolution.
- ``text_page``: tiny, medium and large text. Text legibility is the most
  intuitive quality check for super-resolution, and sharp glyph edges
  reveal ringing and over-smoothing.
- ``checker_and_lines`` (``test_chart``): checkerboard, line gratings of
  increasing frequency (horizontal, vertical, diagonal) and a colour band,
  to see blur, ringing/overshoot at edges and colour bleeding.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFont

SENTENCE = ("Super-resolution recovers fine detail from a low-resolution "
            "image. Can you still read this?")


def _to_rgb(grey: np.ndarray) -> np.ndarray:
    """(H, W) float array in [0, 255] -> (H, W, 3) uint8 (rounded)."""
    g = np.clip(np.rint(grey), 0, 255).astype(np.uint8)
    return np.repeat(g[:, :, None], 3, axis=2)


def zone_plate(size: int = 256) -> np.ndarray:
    """Circular zone plate ``cos(k r^2)``, shape (size, size, 3), uint8 0..255.

    ``r`` is the distance in pixels from the image centre and
    ``k = pi / (2 R)`` with ``R = size / 2``, so the local frequency
    ``k r / pi`` cycles/pixel is 0 at the centre and 0.5 (Nyquist) at the
    middle of each border (corners are beyond Nyquist and already alias).
    """
    c = (size - 1) / 2.0
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)
    r2 = (x - c) ** 2 + (y - c) ** 2
    return _to_rgb(127.5 * (1.0 + np.cos(np.pi / size * r2)))  # k = pi/(2R)


def siemens_star(size: int = 256, spokes: int = 36) -> np.ndarray:
    """Siemens star with ``spokes`` black and ``spokes`` white sectors.

    Shape (size, size, 3), uint8 0..255; the whole square is covered, so
    about half of the pixels are dark.  Anti-aliased by 4x4 supersampling
    (mean of 16 sub-pixel samples per pixel), hence fully deterministic.
    """
    ss = 4  # sub-samples per pixel along each axis
    sub = (np.arange(size * ss, dtype=np.float64) + 0.5) / ss - size / 2.0
    y, x = np.meshgrid(sub, sub, indexing="ij")
    white = np.sin(spokes * np.arctan2(y, x)) >= 0
    return _to_rgb(white.reshape(size, ss, size, ss).mean(axis=(1, 3)) * 255)


def _render_line(text: str, scale: int) -> Image.Image:
    """0/255 "L" mask of ``text`` in the bitmap font, upscaled by NEAREST."""
    font = ImageFont.load_default_imagefont()
    _, _, right, bottom = font.getbbox(text)
    img = Image.new("L", (right + 1, bottom + 1), 0)
    ImageDraw.Draw(img).text((0, 0), text, fill=255, font=font)
    img = img.point(lambda v: 255 if v else 0)  # binary glyphs
    return img.resize((img.width * scale, img.height * scale), Image.NEAREST)


def text_page(width: int = 320, height: int = 240) -> np.ndarray:
    """Dark text on a light page, shape (height, width, 3), uint8 0..255.

    Uses Pillow's bitmap font (``load_default_imagefont``, no FreeType) and
    mixes 3x, 2x and 1x text (upscaled with NEAREST), from large to tiny.
    """
    page = Image.new("RGB", (width, height), (245, 242, 232))
    lines: list[tuple[str, int]] = [("SUPER-RES x3", 3), ("Medium text x2", 2)]
    per_line = max(1, (width - 16) // 6)  # bitmap glyphs are 6 px wide
    cur = ""
    for w in SENTENCE.split():  # greedy word wrap of the 1x sentence
        if cur and len(cur) + 1 + len(w) > per_line:
            lines.append((cur, 1))
            cur = w
        else:
            cur = (cur + " " + w).strip()
    lines.append((cur, 1))
    lines += [(SENTENCE[:per_line // 2], 2), ("0123456789 ABCDEFGHIJKLM", 1),
              ("The quick brown fox jumps over the lazy dog.", 1),
              ("Pixels, not squares", 2)]
    colours = [(20, 20, 60), (60, 20, 20), (10, 10, 10)]
    y = 8
    for i, (text, scale) in enumerate(lines):
        mask = _render_line(text, scale)
        if y + mask.height > height:
            break
        page.paste(colours[i % len(colours)], (8, y), mask)
        y += mask.height + 4 * scale
    return np.array(page)


def _grating(h: int, w: int, kind: str) -> np.ndarray:
    """Four strips of 0/255 lines with periods 8, 6, 4, 2 px (h, w) float."""
    y, x = np.mgrid[0:h, 0:w]
    coord = {"vertical": x, "horizontal": y, "diagonal": x + y}[kind]
    strip = (y * 4) // h if kind == "vertical" else (x * 4) // w
    half = np.array([4, 3, 2, 1])[np.minimum(strip, 3)]
    return ((coord // half) % 2 == 0) * 255.0


def checker_and_lines(size: int = 256) -> np.ndarray:
    """Test chart, shape (size, size, 3), uint8 0..255.

    Top 7/8 is a 2x2 grid: checkerboard (8 px squares), vertical lines,
    horizontal lines and diagonal lines; each grating has four strips with
    line periods 8, 6, 4 and 2 px (2 px = Nyquist).  The bottom 1/8 is a
    colour band: a full-saturation hue sweep above a grey ramp.
    """
    band, top = size // 8, size - size // 8
    h2, w2 = top // 2, size // 2
    grey = np.zeros((top, size))
    y, x = np.mgrid[0:h2, 0:w2]
    grey[:h2, :w2] = (((x // 8) + (y // 8)) % 2 == 0) * 255.0
    grey[:h2, w2:] = _grating(h2, size - w2, "vertical")
    grey[h2:, :w2] = _grating(top - h2, w2, "horizontal")
    grey[h2:, w2:] = _grating(top - h2, size - w2, "diagonal")
    chart = _to_rgb(grey)
    # colour band: hue sweep (HSV with S = V = 1) above a grey ramp
    hue = np.arange(size, dtype=np.float64) / size * 6.0
    rgb = np.stack([np.clip(np.abs(hue - 3.0) - 1.0, 0, 1),
                    np.clip(2.0 - np.abs(hue - 2.0), 0, 1),
                    np.clip(2.0 - np.abs(hue - 4.0), 0, 1)], axis=1) * 255.0
    ramp = np.repeat((np.arange(size) * 255.0 / max(size - 1, 1))[:, None], 3, 1)
    hb = band // 2
    colour = np.concatenate([np.repeat(rgb[None], hb, 0),
                             np.repeat(ramp[None], band - hb, 0)], axis=0)
    return np.concatenate([chart, np.rint(colour).astype(np.uint8)], axis=0)


SYNTHETIC: dict[str, Callable[..., np.ndarray]] = {
    "zone_plate": zone_plate,
    "siemens_star": siemens_star,
    "text_page": text_page,
    "test_chart": checker_and_lines,
}
