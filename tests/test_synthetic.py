"""Tests for srkit.synthetic and the committed data/*.png files."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from srkit.synthetic import (SYNTHETIC, checker_and_lines, siemens_star,
                             text_page, zone_plate)

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_shape_dtype_range(name: str) -> None:
    img = SYNTHETIC[name]()
    assert img.dtype == np.uint8
    assert img.ndim == 3 and img.shape[2] == 3
    assert img.min() < 60 and img.max() > 200  # uses the dynamic range


def test_custom_sizes() -> None:
    assert zone_plate(64).shape == (64, 64, 3)
    assert siemens_star(96, spokes=12).shape == (96, 96, 3)
    assert text_page(200, 100).shape == (100, 200, 3)
    assert checker_and_lines(128).shape == (128, 128, 3)


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_deterministic(name: str) -> None:
    assert np.array_equal(SYNTHETIC[name](), SYNTHETIC[name]())


def test_zone_plate_smooth_centre_busy_border() -> None:
    g = zone_plate(256)[:, :, 0].astype(np.float64)
    dx = np.abs(np.diff(g, axis=1))
    centre = dx[112:144, 112:144].mean()
    edge = dx[112:144, -16:].mean()  # middle of the right border
    assert centre < 25.0
    assert edge > 4 * centre
    assert edge > 100.0  # close to Nyquist: neighbours nearly alternate


def test_siemens_star_half_dark() -> None:
    g = siemens_star()[:, :, 0]
    assert abs((g < 128).mean() - 0.5) < 0.02
    assert np.all(siemens_star()[..., 0] == siemens_star()[..., 2])  # grey


def test_text_page_has_dark_text_on_light_page() -> None:
    g = text_page().mean(axis=2)
    dark = (g < 100).mean()
    assert 0.02 < dark < 0.4
    assert np.median(g) > 200


def test_chart_has_colour_band() -> None:
    img = checker_and_lines(256).astype(int)
    chroma = img.max(axis=2) - img.min(axis=2)
    assert chroma[-32:].max() == 255  # saturated hues at the bottom
    assert chroma[:-32].max() == 0  # the rest is grey


@pytest.mark.parametrize("name", sorted(SYNTHETIC))
def test_committed_png_matches_code(name: str) -> None:
    path = ROOT / "data" / f"{name}.png"
    assert path.exists(), f"{path} missing: run tools/make_data.py"
    assert path.stat().st_size <= 200 * 1024
    with Image.open(path) as im:
        stored = np.array(im.convert("RGB"))
    assert np.array_equal(stored, SYNTHETIC[name]()), (
        f"{path.name} drifted from the code: rerun tools/make_data.py")
