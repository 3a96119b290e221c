"""Tests for srkit.plot: figures come back with the expected axes, titles carry the protocol's metrics."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

import srkit
from srkit import plot


def test_show_rgb_and_gray(hr):
    fig = plot.show(hr, title="hr")
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert ax.get_title() == "hr" and not ax.get_xticks().size and not ax.get_yticks().size
    assert ax.images[0].get_interpolation() == "nearest"
    gray = plot.show(hr[..., 0]).axes[0].images[0]
    assert gray.get_cmap().name == "gray" and gray.get_clim() == (0, 255)


def test_show_into_existing_axes(hr):
    fig, axes = plt.subplots(1, 2)
    assert plot.show(hr, ax=axes[1]) is fig
    assert len(axes[1].images) == 1 and len(axes[0].images) == 0


def test_compare_titles_with_metrics(hr):
    lr = srkit.imresize(hr, 1 / 4)
    sr = srkit.imresize(lr, 4)
    fig = plot.compare({"bicubic": sr, "HR": hr}, ref=hr, crop_border=4)
    assert len(fig.axes) == 2
    titles = [ax.get_title() for ax in fig.axes]
    expected = f"{srkit.psnr(sr, hr, 4):.2f} dB / {srkit.ssim(sr, hr, 4):.4f}"
    assert titles == [f"bicubic\n{expected}", "HR\nreference"]


def test_compare_zoom_adds_a_row_of_crops(hr):
    images = {"a": hr, "b": hr[::-1].copy(), "c": hr[:, ::-1].copy()}
    fig = plot.compare(images, zoom=(10, 20, 30, 40))
    assert len(fig.axes) == 6
    full, crop = fig.axes[0], fig.axes[3]
    assert len(full.patches) == 1                            # the rectangle
    assert crop.images[0].get_array().shape[:2] == (30, 40)


def test_compare_ncols_wraps_and_drops_empty_cells(hr):
    images = {str(i): hr for i in range(5)}
    assert len(plot.compare(images, ncols=2).axes) == 5
    assert len(plot.compare(images, ncols=2, zoom=(0, 0, 8, 8)).axes) == 10
    assert len(plot.grid(images, ncols=4).axes) == 5


def test_grid_allows_different_sizes(hr):
    fig = plot.grid({"big": hr, "small": hr[:32, :48], "gray": hr[..., 1]}, suptitle="mixed")
    assert len(fig.axes) == 3 and fig._suptitle.get_text() == "mixed"


def test_zoom_box(hr):
    assert np.array_equal(plot.zoom_box(hr, (5, 6, 7, 8)), hr[5:12, 6:14])
    assert plot.zoom_box(hr, (0, 0, 128, 128)).shape == hr.shape


@pytest.mark.parametrize("box", [(-1, 0, 8, 8), (0, 0, 0, 8), (120, 0, 16, 8), (0, 125, 8, 4), (0, 0, 8),
                                 (0.5, 0, 8, 8), "abcd", None])
def test_bad_zoom_boxes_raise(hr, box):
    with pytest.raises(ValueError, match="zoom box"):
        plot.zoom_box(hr, box)
    if box is not None:                                      # compare(zoom=None) means no zoom
        with pytest.raises(ValueError, match="zoom box"):
            plot.compare({"hr": hr}, zoom=box)


def test_compare_zoom_needs_one_size(hr):
    with pytest.raises(ValueError, match="one size"):
        plot.compare({"a": hr, "b": hr[:64]}, zoom=(0, 0, 8, 8))


def test_bad_images_raise(hr):
    with pytest.raises(ValueError, match="no images"):
        plot.compare({})
    with pytest.raises(ValueError, match="shape"):
        plot.show(hr[None])


def test_array_helpers(hr):
    assert plot.enlarge(hr[:2, :3], 4).shape == (8, 12, 3)
    assert np.array_equal(plot.enlarge(hr, 3)[::3, ::3], hr)
    stacked = plot.hstack([hr, hr[..., 0]], gap=5)
    assert stacked.shape == (128, 261, 3) and (stacked[:, 128:133] == 255).all()
    assert plot.png_bytes(hr)[:8] == b"\x89PNG\r\n\x1a\n"
