from __future__ import annotations

import numpy as np
import pytest
import torch

from srkit.color import rgb_to_y, rgb_to_ycbcr, ycbcr_to_rgb


def test_matlab_anchor_values():
    # MATLAB: rgb2ycbcr(uint8([0 0 0; 255 255 255; 255 0 0])) -> Y 16, 235, 81; Cb 128, 128, 90; Cr 128, 128, 240
    rgb = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0]]], np.uint8)
    out = rgb_to_ycbcr(rgb)
    assert out.dtype == np.uint8
    assert out[0].tolist() == [[16, 128, 128], [235, 128, 128], [81, 90, 240]]


def test_float_round_trip_and_ranges():
    x = np.random.default_rng(0).random((8, 9, 3))
    ycc = rgb_to_ycbcr(x)
    assert np.allclose(ycbcr_to_rgb(ycc), x, atol=1e-12)
    y = rgb_to_y(x) * 255
    assert y.shape == (8, 9) and y.min() >= 16 and y.max() <= 235


def test_luma_is_studio_swing_not_full_swing():
    x = np.random.default_rng(1).random((4, 4, 3))
    y = rgb_to_y(x) * 255
    assert np.allclose(y, 16 + 65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2])
    assert not np.allclose(y, 255 * (0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]), atol=1)


def test_torch_matches_numpy():
    x = np.random.default_rng(2).random((2, 5, 6, 3))
    t = torch.from_numpy(x).permute(0, 3, 1, 2)
    assert np.allclose(rgb_to_ycbcr(t).permute(0, 2, 3, 1).numpy(), rgb_to_ycbcr(x))
    assert np.allclose(rgb_to_y(t).numpy(), rgb_to_y(x))
    u = (x * 255).round().astype(np.uint8)
    assert np.array_equal(rgb_to_ycbcr(torch.from_numpy(u).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy(),
                          rgb_to_ycbcr(u))


def test_bad_inputs():
    with pytest.raises(ValueError, match="3 colour channels"):
        rgb_to_y(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="3 colour channels"):
        rgb_to_y(torch.zeros(1, 4, 5, 5))
    with pytest.raises(TypeError, match="dtype"):
        rgb_to_y(np.zeros((4, 4, 3), np.int64))
    with pytest.raises(TypeError):
        rgb_to_y([[0, 0, 0]])
