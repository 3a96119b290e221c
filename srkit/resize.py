"""MATLAB-exact image resizing in PyTorch: ``imresize`` and ``modcrop``.

Every table in the super-resolution literature makes its low-resolution (LR) inputs with MATLAB's
``imresize(hr, 1/scale, 'bicubic')``. Reproducing those numbers needs that exact function, not
"a bicubic": OpenCV's and PyTorch's bicubic use a = -0.75 and no antialiasing, and are 0.7 dB away.
No Python library reproduces MATLAB bit-exactly, so srkit writes it here (the README's "The evaluation
protocol"; ``tests/test_protocol.py`` checks it against MATLAB's own output files).

What MATLAB does, and so what we do:

* Each output pixel ``x`` (1-based) maps to the input coordinate ``u = x / scale + 0.5 * (1 - 1/scale)``.
* A kernel (cubic with a = -0.5, or triangle, box, Lanczos-3) is evaluated at the ``ceil(width) + 2``
  input pixels around ``u``. When shrinking (``scale < 1``) with ``antialias=True``, the kernel is
  stretched by ``1/scale`` so it also low-pass filters. The weights of each output pixel are normalised
  to sum to one.
* Input indices outside the image are **clamped to the edge** (edge replication). This is what the MATLAB
  that made the benchmark LR files did (we reproduce them bit for bit); some later releases and their ports
  mirror the image instead, which only changes pixels within a few pixels of the border.
* The dimension with the smaller scale factor is resized first (height first when they are equal), and
  for ``uint8`` input each pass is rounded to ``uint8`` (half away from zero) before the next pass.

Conventions: numpy arrays are ``(H, W)`` or ``(H, W, C)``; torch tensors are ``(H, W)``, ``(C, H, W)`` or
``(N, C, H, W)``. The output has the input's type, layout and dtype. ``uint8`` input is computed in float64
(as MATLAB does; this is what makes it bit-exact) and rounded; float input is computed in its own dtype
and not clipped. The work is a gather plus a weighted sum along one axis at a time, so it runs batched on
CPU or GPU.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

__all__ = ["imresize", "modcrop", "KERNELS"]


def _cubic(x: torch.Tensor) -> torch.Tensor:
    # Keys' cubic convolution kernel with a = -0.5 (MATLAB's 'bicubic').
    ax = x.abs()
    ax2, ax3 = ax**2, ax**3
    return (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2))


def _triangle(x: torch.Tensor) -> torch.Tensor:
    return (1 - x.abs()).clamp(min=0)


def _box(x: torch.Tensor) -> torch.Tensor:
    # MATLAB's box: 1 on [-0.5, 0.5), so a pixel exactly between two neighbours takes the left one.
    return ((x >= -0.5) & (x < 0.5)).to(x.dtype)


def _lanczos3(x: torch.Tensor) -> torch.Tensor:
    # sinc(x) * sinc(x/3) on |x| < 3, written the way MATLAB does (with an eps to avoid 0/0).
    eps = torch.finfo(x.dtype).eps
    pi = math.pi
    y = (torch.sin(pi * x) * torch.sin(pi * x / 3) + eps) / ((pi**2 * x**2 / 3) + eps)
    return y * (x.abs() < 3)


# name -> (kernel, support width in input pixels, antialias by default)
KERNELS: dict[str, tuple[Callable[[torch.Tensor], torch.Tensor], float, bool]] = {
    "nearest": (_box, 1.0, False),
    "bilinear": (_triangle, 2.0, True),
    "bicubic": (_cubic, 4.0, True),
    "lanczos3": (_lanczos3, 6.0, True),
}


def _contributions(in_len: int, out_len: int, scale: float, method: str, antialias: bool,
                   dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights ``(out_len, P)`` and clamped 0-based source indices ``(out_len, P)`` for one axis."""
    kernel, width, _ = KERNELS[method]
    if scale < 1 and antialias:
        # Stretch the kernel so that it low-pass filters before subsampling.
        def h(x):
            return scale * kernel(scale * x)
        width = width / scale
    else:
        h = kernel
    x = torch.arange(1, out_len + 1, dtype=torch.float64, device=device)
    u = x / scale + 0.5 * (1 - 1 / scale)                                    # (out,) input coordinate, 1-based
    left = torch.floor(u - width / 2)
    taps = math.ceil(width) + 2
    idx = left[:, None] + torch.arange(taps, dtype=torch.float64, device=device)[None, :]  # (out, P)
    w = h(u[:, None] - idx)
    w = w / w.sum(dim=1, keepdim=True)
    idx = idx.clamp(1, in_len).long() - 1                                    # edge clamp, 0-based
    keep = (w != 0).any(dim=0)                                               # drop all-zero tap columns
    return w[:, keep].to(dtype), idx[:, keep]


def _resize_axis(x: torch.Tensor, axis: int, out_len: int, scale: float, method: str, antialias: bool,
                 compute_dtype: torch.dtype) -> torch.Tensor:
    """Resize one axis. ``uint8`` in gives ``uint8`` out, rounded as MATLAB does; float stays float."""
    w, idx = _contributions(x.shape[axis], out_len, scale, method, antialias, compute_dtype, x.device)
    # Put the axis first and flatten the rest: every tap is then a gather of whole contiguous rows.
    moved = x.movedim(axis, 0)
    rest = moved.shape[1:]
    flat = moved.reshape(moved.shape[0], -1)
    out = torch.empty((out_len, flat.shape[1]), dtype=x.dtype, device=x.device)
    # Work on blocks of output rows small enough (~2 MB) to stay in cache: the weighted sum then costs
    # about one read of the input and one write of the output, instead of a full temporary per tap.
    block = max(1, (2 << 20) // (8 * max(1, flat.shape[1])))
    for start in range(0, out_len, block):
        stop = min(start + block, out_len)
        acc = None
        for p in range(w.shape[1]):
            rows = flat.index_select(0, idx[start:stop, p]).to(compute_dtype)
            acc = rows.mul_(w[start:stop, p : p + 1]) if acc is None else acc.addcmul_(rows, w[start:stop, p : p + 1])
        if x.dtype == torch.uint8:
            # MATLAB rounds half away from zero and saturates; all values are >= 0 after the clamp.
            acc = acc.clamp_(0, 255).add_(0.5).floor_()
        out[start:stop] = acc
    return out.reshape(out_len, *rest).movedim(0, axis)


def _check_scale(value, what: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"imresize: {what} must be a number, got {value!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"imresize: {what} must be a positive finite number, got {value}")
    return value


def _plan(in_hw: tuple[int, int], scale, size) -> tuple[tuple[float, float], tuple[int, int]]:
    """Per-axis (scale, output length) exactly as MATLAB derives them."""
    if (scale is None) == (size is None):
        raise ValueError("imresize: give exactly one of scale= or size=")
    if size is not None:
        if not isinstance(size, (tuple, list)) or len(size) != 2:
            raise ValueError(f"imresize: size must be (height, width), got {size!r}")
        out = tuple(int(s) for s in size)
        if min(out) < 1 or any(int(s) != s for s in size):
            raise ValueError(f"imresize: output size must be positive integers, got {size!r}")
        return (out[0] / in_hw[0], out[1] / in_hw[1]), out
    scales = tuple(scale) if isinstance(scale, (tuple, list)) else (scale, scale)
    if len(scales) != 2:
        raise ValueError(f"imresize: scale must be a number or (scale_h, scale_w), got {scale!r}")
    scales = tuple(_check_scale(s, "scale") for s in scales)
    exact = (in_hw[0] * scales[0], in_hw[1] * scales[1])
    if min(exact) < 1:
        raise ValueError(f"imresize: scale {scale} turns a {in_hw[0]}x{in_hw[1]} image into less than one pixel")
    return scales, (math.ceil(exact[0]), math.ceil(exact[1]))


def imresize(image, scale=None, size=None, method: str = "bicubic", antialias: bool | None = None,
             device=None):
    """Resize like MATLAB's ``imresize`` (bit-exact for ``uint8`` input).

    Args:
        image: numpy ``(H, W)``/``(H, W, C)`` or torch ``(H, W)``/``(C, H, W)``/``(N, C, H, W)``;
            ``uint8`` (0..255) or floating point (any range, conventionally [0, 1]).
        scale: factor, e.g. ``1/4`` to make an x4 LR image, ``3`` to upscale; or ``(scale_h, scale_w)``.
            The output size is ``ceil(scale * input size)``, as in MATLAB.
        size: ``(height, width)`` of the output, instead of ``scale``.
        method: ``"bicubic"`` (default), ``"bilinear"``, ``"nearest"`` or ``"lanczos3"``.
        antialias: widen the kernel when shrinking; default True except for ``"nearest"`` (as MATLAB).
        device: torch device to compute on (default: the tensor's device, CPU for numpy input).

    Returns:
        The resized image, same type, layout and dtype as ``image`` (numpy in, numpy out).
    """
    if method not in KERNELS:
        raise ValueError(f"imresize: unknown method {method!r}; choose from {sorted(KERNELS)}")
    if antialias is None:
        antialias = KERNELS[method][2]
    is_numpy = isinstance(image, np.ndarray)
    if not is_numpy and not isinstance(image, torch.Tensor):
        raise TypeError(f"imresize: expected a numpy array or torch tensor, got {type(image).__name__}")
    ndim = image.ndim
    if ndim not in (2, 3) and not (ndim == 4 and not is_numpy):
        raise ValueError(f"imresize: expected an image of shape (H, W), (H, W, C) (numpy) or (C, H, W), "
                         f"(N, C, H, W) (torch), got shape {tuple(image.shape)}")
    h_axis, w_axis = (0, 1) if (is_numpy or ndim == 2) else (ndim - 2, ndim - 1)
    in_hw = (image.shape[h_axis], image.shape[w_axis])
    if min(image.shape) == 0:
        raise ValueError(f"imresize: the image is empty (shape {tuple(image.shape)})")
    if image.dtype not in (np.uint8, torch.uint8) and not (
            (is_numpy and np.issubdtype(image.dtype, np.floating)) or (not is_numpy and image.is_floating_point())):
        raise TypeError(f"imresize: expected uint8 or floating point pixels, got dtype {image.dtype}")
    scales, out_hw = _plan(in_hw, scale, size)

    x = torch.from_numpy(np.ascontiguousarray(image)) if is_numpy else image
    if device is not None:
        from . import device as check_device       # a clear error for a device that does not exist here
        x = x.to(check_device(device))
    if x.dtype == torch.uint8:
        # MATLAB works in double; MPS has no float64, where float32 is the best we can do.
        compute_dtype = torch.float32 if x.device.type == "mps" else torch.float64
    else:
        compute_dtype = x.dtype
    # MATLAB resizes the axis with the smaller scale first (height first on a tie).
    order = [(h_axis, 0), (w_axis, 1)] if scales[0] <= scales[1] else [(w_axis, 1), (h_axis, 0)]
    for axis, k in order:
        x = _resize_axis(x, axis, out_hw[k], scales[k], method, antialias, compute_dtype)
    return x.cpu().numpy() if is_numpy else x


def modcrop(image, scale: int):
    """Crop (never resize) the bottom/right so that height and width divide by ``scale``.

    Works on numpy ``(H, W[, C])`` and torch ``(..., H, W)`` images; returns a view.
    """
    if int(scale) != scale or scale < 1:
        raise ValueError(f"modcrop: scale must be a positive integer, got {scale!r}")
    scale = int(scale)
    is_numpy = isinstance(image, np.ndarray)
    h_axis = 0 if (is_numpy or image.ndim == 2) else image.ndim - 2
    h, w = image.shape[h_axis], image.shape[h_axis + 1]
    if h < scale or w < scale:
        raise ValueError(f"modcrop: a {h}x{w} image is smaller than the scale {scale}")
    h, w = h - h % scale, w - w % scale
    return image[:h, :w] if h_axis == 0 else image[..., :h, :w]
