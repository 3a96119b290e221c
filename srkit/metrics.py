"""Full-reference quality metrics as the super-resolution literature computes them: ``psnr`` and ``ssim``.

The protocol (the README's "The evaluation protocol"; the evaluation code of SRCNN, VDSR, EDSR, RCAN):

1. Both images go to float64 on the [0, 1] scale (``uint8`` is divided by 255; float images must
   already be in [0, 1]).
2. ``y_channel=True``: RGB images are converted to Y with MATLAB's ``rgb2ycbcr`` (BT.601 studio swing,
   :mod:`srkit.color`) and measured on a 0..255 scale, so Y lies in [16, 235]. A single-channel image
   is *not* converted (MATLAB's evaluation code only calls ``rgb2ycbcr`` on 3-channel images).
3. ``crop_border`` pixels are shaved from every side (the convention is ``crop_border = scale``).
4. ``PSNR = 10 log10(255^2 / MSE)``; SSIM is Wang et al. 2004 (11x11 Gaussian window, sigma 1.5,
   K1 = 0.01, K2 = 0.03, L = 255, 'valid' filtering, mean of the map), computed here by
   ``skimage.metrics.structural_similarity`` with those settings. Its defaults (7x7 uniform window)
   read too high, by +0.005 to +0.009 for bicubic on Set5 (the commonly quoted figure; chapter 02 measures x3).

Dataset numbers are the mean over images of the per-image values. Inputs: numpy ``(H, W)`` /
``(H, W, C)`` or torch ``(H, W)`` / ``(C, H, W)`` / ``(N, C, H, W)``. A single image gives a ``float``,
a batch gives a numpy array of per-image values. :func:`ssim_torch` is a differentiable torch version
for training, tested equal to :func:`ssim`. :func:`niqe` is the no-reference NIQE (:mod:`srkit.niqe`).
"""

from __future__ import annotations


import numpy as np
import torch
import torch.nn.functional as F
from skimage.metrics import structural_similarity

from .color import RGB_TO_YCBCR
from .niqe import niqe  # the no-reference metric of chapter 07 (srkit/niqe.py explains it)

__all__ = ["psnr", "ssim", "ssim_torch", "to_eval_y", "niqe"]

_WIN_SIGMA, _WIN_RADIUS, _K1, _K2 = 1.5, 5, 0.01, 0.03


def _as_batch(image, name: str) -> np.ndarray:
    """Any supported image -> float64 numpy ``(N, H, W, C)`` on the [0, 1] scale."""
    if isinstance(image, torch.Tensor):
        x = image.detach().cpu()
        if x.ndim == 2:
            x = x[None, None]
        elif x.ndim == 3:
            x = x[None]
        elif x.ndim != 4:
            raise ValueError(f"{name}: expected a tensor (H, W), (C, H, W) or (N, C, H, W), got {tuple(x.shape)}")
        x = x.permute(0, 2, 3, 1).numpy()
    elif isinstance(image, np.ndarray):
        if image.ndim == 2:
            x = image[None, :, :, None]
        elif image.ndim == 3:
            x = image[None]
        else:
            raise ValueError(f"{name}: expected an array (H, W) or (H, W, C), got shape {image.shape}")
    else:
        raise TypeError(f"{name}: expected a numpy array or torch tensor, got {type(image).__name__}")
    if x.shape[-1] not in (1, 3):
        hint = (" (torch tensors are channels first: (C, H, W))" if isinstance(image, torch.Tensor)
                and image.shape[-1] in (1, 3) else "")
        raise ValueError(f"{name}: expected 1 or 3 channels, got shape {tuple(image.shape)}{hint}")
    if x.size == 0:
        raise ValueError(f"{name}: empty image of shape {tuple(image.shape)}")
    if x.dtype == np.uint8:
        return x.astype(np.float64) / 255
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{name}: expected uint8 or float pixels, got dtype {x.dtype}")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise ValueError(f"{name}: {int((~np.isfinite(x)).sum())} pixel value(s) are NaN or infinite")
    if x.max() > 1.5 or x.min() < -0.5:
        raise ValueError(f"{name}: float images must be on the [0, 1] scale, but values reach "
                         f"[{x.min():.3g}, {x.max():.3g}]; divide by 255 or pass uint8")
    return x


def to_eval_y(image, crop_border: int = 0, y_channel: bool = True, name: str = "image") -> np.ndarray:
    """What the metrics measure: float64 ``(N, H, W, C)`` on a 0..255 scale, Y if asked, border shaved."""
    x = _as_batch(image, name)
    if y_channel and x.shape[-1] == 3:
        x = (16 + x @ RGB_TO_YCBCR[0])[..., None]      # MATLAB rgb2ycbcr(im2double(.)) * 255
    else:
        x = x * 255
    if crop_border:
        if 2 * crop_border >= min(x.shape[1:3]):
            raise ValueError(f"{name}: crop_border={crop_border} removes the whole {x.shape[1]}x{x.shape[2]} image")
        x = x[:, crop_border:-crop_border, crop_border:-crop_border]
    return x


def _pair(sr, hr, crop_border, y_channel):
    for name, image in (("sr", sr), ("hr", hr)):
        if not isinstance(image, (np.ndarray, torch.Tensor)):
            raise TypeError(f"{name}: expected a numpy array or torch tensor, got {type(image).__name__}")
    if tuple(sr.shape) != tuple(hr.shape):
        gray_vs_colour = sr.shape[:2] == hr.shape[:2] and isinstance(sr, np.ndarray) and sr.ndim != hr.ndim
        raise ValueError(f"sr and hr must have the same shape, got {tuple(sr.shape)} and {tuple(hr.shape)}"
                         + (" (one is gray, the other colour)" if gray_vs_colour else
                            " (did you modcrop the ground truth to a multiple of the scale?)"))
    if int(crop_border) != crop_border or crop_border < 0:
        raise ValueError(f"crop_border must be a non-negative integer, got {crop_border!r}")
    crop_border = int(crop_border)
    single = not (isinstance(sr, torch.Tensor) and sr.ndim == 4 and sr.shape[0] != 1)
    return to_eval_y(sr, crop_border, y_channel, "sr"), to_eval_y(hr, crop_border, y_channel, "hr"), single


def psnr(sr, hr, crop_border: int = 0, y_channel: bool = True):
    """Peak signal-to-noise ratio in dB (``inf`` for identical images). See the module docstring."""
    a, b, single = _pair(sr, hr, crop_border, y_channel)
    mse = ((a - b) ** 2).mean(axis=(1, 2, 3))
    with np.errstate(divide="ignore"):
        values = 10 * np.log10(255.0**2 / mse)
    return float(values[0]) if single else values


def ssim(sr, hr, crop_border: int = 0, y_channel: bool = True):
    """Structural similarity (Wang et al. 2004, MATLAB ``ssim_index`` settings). See the module docstring."""
    a, b, single = _pair(sr, hr, crop_border, y_channel)
    if min(a.shape[1:3]) < 2 * _WIN_RADIUS + 1:
        raise ValueError(f"ssim needs images of at least 11x11 pixels after the crop, got {a.shape[1]}x{a.shape[2]}")
    values = np.array([
        structural_similarity(hi, si, gaussian_weights=True, sigma=_WIN_SIGMA, use_sample_covariance=False,
                              data_range=255, channel_axis=-1)
        for si, hi in zip(a, b)])
    return float(values[0]) if single else values


def _gaussian_window(dtype, device) -> torch.Tensor:
    x = torch.arange(-_WIN_RADIUS, _WIN_RADIUS + 1, dtype=dtype, device=device)
    g = torch.exp(-(x**2) / (2 * _WIN_SIGMA**2))
    return g / g.sum()


def ssim_torch(sr: torch.Tensor, hr: torch.Tensor, crop_border: int = 0, y_channel: bool = True) -> torch.Tensor:
    """Differentiable SSIM on ``(N, C, H, W)`` float tensors in [0, 1]; returns ``(N,)``.

    Same definition as :func:`ssim` (Y on 0..255, 11x11 Gaussian, 'valid'), written with two separable
    convolutions so it can be a training loss or a validation metric on the GPU.
    """
    if sr.shape != hr.shape or sr.ndim != 4:
        raise ValueError(f"ssim_torch: expected two (N, C, H, W) tensors of one shape, got "
                         f"{tuple(sr.shape)} and {tuple(hr.shape)}")

    def prep(x):
        if y_channel and x.shape[1] == 3:
            w = torch.as_tensor(RGB_TO_YCBCR[0], dtype=x.dtype, device=x.device)
            x = 16 + torch.einsum("c,nchw->nhw", w, x)[:, None]
        else:
            x = x * 255
        if crop_border:
            x = x[..., crop_border:-crop_border, crop_border:-crop_border]
        return x

    a, b = prep(sr), prep(hr)
    c = a.shape[1]
    g = _gaussian_window(a.dtype, a.device)
    gh = g.view(1, 1, -1, 1).repeat(c, 1, 1, 1)
    gw = g.view(1, 1, 1, -1).repeat(c, 1, 1, 1)

    def blur(x):  # 'valid' Gaussian filtering, per channel
        return F.conv2d(F.conv2d(x, gh, groups=c), gw, groups=c)

    c1, c2 = (_K1 * 255) ** 2, (_K2 * 255) ** 2
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return ssim_map.mean(dim=(1, 2, 3))
