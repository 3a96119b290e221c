"""Colour conversion exactly as MATLAB's ``rgb2ycbcr`` / ``ycbcr2rgb`` (ITU-R BT.601, "studio swing").

With R, G, B in [0, 1]::

    Y  =  16 +  65.481 R + 128.553 G +  24.966 B      (Y in [16, 235])
    Cb = 128 -  37.797 R -  74.203 G + 112.0   B      (Cb, Cr in [16, 240])
    Cr = 128 + 112.0   R -  93.786 G -  18.214 B

on a 0..255 scale. Super-resolution papers measure PSNR/SSIM on this Y. Two common mistakes: the
"full swing" luma 0.299 R + 0.587 G + 0.114 B on [0, 255] (its range is 255 grey levels instead of 219, so
the same errors are larger and PSNR reads 20 log10(255/219) = 1.32 dB too low) and the "64.738" typo found
in some ports.

Types follow MATLAB: ``uint8`` in gives ``uint8`` out (0..255 scale, rounded); float in gives float out on
the [0, 1] scale (Y in [16/255, 235/255]). numpy images are ``(..., H, W, 3)`` (channels last); torch
tensors are ``(3, H, W)`` or ``(N, 3, H, W)`` (channels first).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["rgb_to_ycbcr", "ycbcr_to_rgb", "rgb_to_y", "luma", "RGB_TO_YCBCR", "YCBCR_OFFSET"]

# Rows give Y, Cb, Cr from R, G, B in [0, 1], on a 0..255 output scale (MATLAB's rgb2ycbcr).
RGB_TO_YCBCR = np.array([[65.481, 128.553, 24.966],
                         [-37.797, -74.203, 112.0],
                         [112.0, -93.786, -18.214]])
YCBCR_OFFSET = np.array([16.0, 128.0, 128.0])


def _channel_axis(image) -> int:
    if isinstance(image, np.ndarray):
        axis = -1
    elif isinstance(image, torch.Tensor):
        axis = -3
    else:
        raise TypeError(f"expected a numpy array or torch tensor, got {type(image).__name__}")
    if image.ndim < 3 or image.shape[axis] != 3:
        where = "last" if axis == -1 else "channel (dim -3)"
        raise ValueError(f"expected 3 colour channels in the {where} axis, got shape {tuple(image.shape)}")
    return axis


def _affine(image, matrix: np.ndarray, offset: np.ndarray):
    """``matrix @ pixel + offset`` with pixels on the 0..255 scale, keeping MATLAB's type rules."""
    axis = _channel_axis(image)
    is_uint8 = image.dtype in (np.uint8, torch.uint8)
    if isinstance(image, np.ndarray):
        if not (is_uint8 or np.issubdtype(image.dtype, np.floating)):
            raise TypeError(f"expected uint8 or float pixels, got dtype {image.dtype}")
        x = image.astype(np.float64) if is_uint8 else image * 255
        out = np.tensordot(x, matrix.T.astype(x.dtype), axes=([axis], [0])) + offset.astype(x.dtype)
        return np.clip(np.round(out), 0, 255).astype(np.uint8) if is_uint8 else out / 255
    if not (is_uint8 or image.is_floating_point()):
        raise TypeError(f"expected uint8 or float pixels, got dtype {image.dtype}")
    x = image.double() if is_uint8 else image * 255
    m = torch.as_tensor(matrix, dtype=x.dtype, device=x.device)
    b = torch.as_tensor(offset, dtype=x.dtype, device=x.device)
    out = torch.einsum("ij,...jhw->...ihw", m, x) + b[:, None, None]
    # torch.round rounds half to even; MATLAB rounds half away from zero (values here are >= 0).
    return torch.floor(out.clamp(0, 255) + 0.5).to(torch.uint8) if is_uint8 else out / 255


def rgb_to_ycbcr(image):
    """RGB -> YCbCr like MATLAB ``rgb2ycbcr``. uint8 -> uint8; float in [0, 1] -> float in [0, 1]."""
    return _affine(image, RGB_TO_YCBCR / 255, YCBCR_OFFSET)


def ycbcr_to_rgb(image):
    """YCbCr -> RGB like MATLAB ``ycbcr2rgb`` (the exact inverse of :func:`rgb_to_ycbcr` before rounding)."""
    inv = np.linalg.inv(RGB_TO_YCBCR / 255)
    return _affine(image, inv, -inv @ YCBCR_OFFSET)


def luma(image: np.ndarray) -> np.ndarray:
    """``uint8`` RGB ``(H, W, 3)`` or gray ``(H, W)`` -> float64 Y on [0, 1].

    What the networks and dictionaries of the course see. A gray image is used as it is (the protocol never
    colour-converts single-channel images).
    """
    return rgb_to_y(image / 255.0) if image.ndim == 3 else image / 255.0


def rgb_to_y(image):
    """The Y (luma) channel of :func:`rgb_to_ycbcr`, without the channel axis: ``(H, W)`` / ``(N, H, W)``."""
    ycc = rgb_to_ycbcr(image)
    return ycc[..., 0] if isinstance(ycc, np.ndarray) else ycc[..., 0, :, :]
