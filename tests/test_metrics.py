from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from srkit.exercises import image_pairs
from srkit.metrics import psnr, ssim, ssim_torch, to_eval_y


def to_tensor(x):
    return torch.from_numpy(x).permute(2, 0, 1)[None].double() / 255


def test_psnr_formula_float64():
    sr, hr = image_pairs(1)[0]
    mse = np.mean((sr.astype(np.float64) - hr) ** 2)
    assert psnr(sr, hr, y_channel=False) == pytest.approx(10 * np.log10(255**2 / mse), abs=1e-12)


def test_identical_images():
    _, hr = image_pairs(1)[0]
    assert psnr(hr, hr) == float("inf")
    assert ssim(hr, hr) == pytest.approx(1.0)


def test_ssim_is_wang_not_skimage_defaults():
    sr, hr = image_pairs(1, seed=4)[0]
    a, b = to_eval_y(sr)[0, ..., 0], to_eval_y(hr)[0, ..., 0]
    wang = structural_similarity(b, a, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)
    default = structural_similarity(b, a, data_range=255)
    assert ssim(sr, hr) == pytest.approx(wang, abs=1e-12)
    assert abs(ssim(sr, hr) - default) > 1e-4


def test_numpy_torch_uint8_float_agree():
    sr, hr = image_pairs(1, seed=2)[0]
    assert psnr(to_tensor(sr), to_tensor(hr), 3) == pytest.approx(psnr(sr, hr, 3), abs=1e-9)
    assert ssim(to_tensor(sr), to_tensor(hr), 3) == pytest.approx(ssim(sr, hr, 3), abs=1e-9)
    assert psnr(sr / 255.0, hr / 255.0, 3) == pytest.approx(psnr(sr, hr, 3), abs=1e-9)


def test_batch_gives_per_image_values():
    sr, hr = image_pairs(1, seed=1)[0]
    b_sr = torch.cat([to_tensor(sr), to_tensor(hr)])
    b_hr = torch.cat([to_tensor(hr), to_tensor(hr)])
    values = psnr(b_sr, b_hr, 2)
    assert values.shape == (2,) and values[0] == pytest.approx(psnr(sr, hr, 2)) and values[1] == float("inf")


def test_ssim_torch_equals_skimage_and_has_gradients():
    for sr, hr in image_pairs(3, seed=7):
        a, b = to_tensor(sr).requires_grad_(), to_tensor(hr)
        value = ssim_torch(a, b, crop_border=2)
        assert float(value.detach()) == pytest.approx(ssim(sr, hr, 2), abs=1e-10)
        value.sum().backward()
        assert a.grad is not None and torch.isfinite(a.grad).all() and a.grad.abs().sum() > 0


def test_gray_images_are_measured_unconverted():
    sr, hr = image_pairs(1, seed=3)[0]
    g_sr, g_hr = sr[..., 0], hr[..., 0]
    mse = np.mean((g_sr.astype(np.float64) - g_hr) ** 2)
    assert psnr(g_sr, g_hr) == pytest.approx(10 * np.log10(255**2 / mse))


def test_crop_border_shaves_every_side():
    _, hr = image_pairs(1)[0]
    sr = hr.copy()
    sr[:2] = 0  # damage only the top two rows
    assert psnr(sr, hr, crop_border=2) == float("inf")
    assert psnr(sr, hr, crop_border=1) < 40


def test_bad_inputs_are_named():
    sr, hr = image_pairs(1)[0]
    with pytest.raises(ValueError, match="same shape"):
        psnr(sr[:-1], hr)
    with pytest.raises(ValueError, match="same shape"):
        ssim(sr, hr[..., 0])
    with pytest.raises(ValueError, match=r"\[0, 1\] scale"):
        psnr(sr.astype(np.float32), hr.astype(np.float32))
    with pytest.raises(ValueError, match="crop_border"):
        psnr(sr, hr, crop_border=-1)
    with pytest.raises(ValueError, match="whole"):
        psnr(sr, hr, crop_border=1000)
    with pytest.raises(ValueError, match="11x11"):
        ssim(sr[:12, :12], hr[:12, :12], crop_border=2)
    with pytest.raises(ValueError, match="channels"):
        psnr(np.zeros((8, 8, 4), np.uint8), np.zeros((8, 8, 4), np.uint8))
    with pytest.raises(TypeError, match="dtype"):
        psnr(sr.astype(np.int16), hr.astype(np.int16))
    with pytest.raises(ValueError, match="one is gray, the other colour"):
        psnr(sr, hr[..., 0])
    nan = sr / 255.0
    nan[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="sr: 1 pixel value.*NaN"):
        psnr(nan, hr / 255.0)
    with pytest.raises(ValueError, match="empty image"):
        psnr(np.zeros((0, 0), np.uint8), np.zeros((0, 0), np.uint8))
    with pytest.raises(ValueError, match="channels first"):
        psnr(torch.from_numpy(sr), torch.from_numpy(hr))           # (H, W, 3) tensors
    with pytest.raises(TypeError, match="got list"):
        psnr(sr.tolist(), hr.tolist())
