"""Super-resolve an RGB image with a network: ``upscale(image, model, scale, tile=None)``.

The networks of chapters 04-06 see only luma: the image goes to YCbCr (BT.601), Y goes through the model, Cb
and Cr are upscaled by bicubic (the eye is far less sensitive to colour detail; SRCNN, FSRCNN and ESPCN all do
this), and the result goes back to RGB ``uint8``. RGB networks (SRResNet, SRGAN) take the RGB image as it is;
a gray image goes through them as three equal channels and comes back as their mean.

Large images are processed in tiles of ``tile x tile`` LR pixels that overlap by ``overlap`` pixels; only the
centre of each tile is kept, so memory stays bounded and, as long as ``overlap`` covers the receptive field
(a model may say how far it sees with a ``receptive_radius`` attribute, in LR pixels), the output equals
untiled inference.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from .color import rgb_to_ycbcr, ycbcr_to_rgb
from .resize import imresize

__all__ = ["upscale", "run_tiled"]


@torch.no_grad()
def run_tiled(model: torch.nn.Module, x: torch.Tensor, scale: int, tile: int | None = None,
              overlap: int = 16) -> torch.Tensor:
    """``model(x)`` for ``x`` of shape ``(1, C, h, w)``, computed tile by tile when ``tile`` is given."""
    for what, value, least in (("tile", tile, 1), ("overlap", overlap, 0)):
        if value is not None and (not isinstance(value, (int, np.integer)) or isinstance(value, bool)
                                  or value < least):
            raise ValueError(f"{what} must be a whole number of LR pixels >= {least}, got {value!r}")
    if tile is None or (x.shape[-2] <= tile and x.shape[-1] <= tile):
        return model(x)
    if tile <= 2 * overlap:
        raise ValueError(f"tile {tile} is too small: each tile carries {overlap} LR pixels of context on every side "
                         f"(the overlap), so it must be at least {2 * overlap + 1}, and {4 * overlap} or more keeps "
                         "the work spent on context small")
    n, c, h, w = x.shape
    out = None
    step = tile - 2 * overlap
    for top in range(0, h, step):
        for left in range(0, w, step):
            # The tile with `overlap` pixels of context on each side (clipped at the image border).
            y0, x0 = max(top - overlap, 0), max(left - overlap, 0)
            y1, x1 = min(top + step + overlap, h), min(left + step + overlap, w)
            sr = model(x[..., y0:y1, x0:x1])
            if out is None:
                out = torch.empty((n, sr.shape[1], h * scale, w * scale), dtype=sr.dtype, device=sr.device)
            keep_h, keep_w = min(step, h - top), min(step, w - left)
            oy, ox = (top - y0) * scale, (left - x0) * scale
            out[..., top * scale : (top + keep_h) * scale, left * scale : (left + keep_w) * scale] = \
                sr[..., oy : oy + keep_h * scale, ox : ox + keep_w * scale]
    return out


def upscale(image: np.ndarray, model, scale: int | None = None, tile: int | None = None, overlap: int | None = None,
            device=None) -> np.ndarray:
    """``uint8`` RGB ``(h, w, 3)`` or gray ``(h, w)`` -> ``uint8`` image ``scale`` times larger.

    ``model`` is a module from :mod:`srkit.models` or a name (shipped weights are loaded). A module you pass
    runs on its own device unless ``device`` says otherwise (then a copy runs there), and comes back as it was:
    same device, same train/eval mode.
    """
    from . import device as pick_device
    from .models import eval_mode, get_model

    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim not in (2, 3) or (
            image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"expected a uint8 image (H, W) or (H, W, 3), got "
                         f"{getattr(image, 'dtype', type(image).__name__)} {getattr(image, 'shape', '')}")
    if min(image.shape[:2]) < 2:
        raise ValueError(f"an image of shape {image.shape} is too small to upscale: each side needs at least 2 "
                         "pixels")
    dev = pick_device(device)
    if isinstance(model, str):
        if scale is None:
            raise ValueError("give scale= with a model name")
        model = get_model(model, scale=scale, weights="default", device=dev)
    if not isinstance(model, torch.nn.Module) or not isinstance(getattr(model, "scale", None), int):
        raise TypeError(f"model must be a name such as 'fsrcnn' or a network of srkit.models (which knows its "
                        f"scale), got {type(model).__name__}")
    if scale is not None and scale != model.scale:
        raise ValueError(f"this model upscales x{model.scale}, not x{scale}")
    scale = model.scale
    param = next(model.parameters(), None)
    if param is not None and device is None:
        dev = param.device                         # the caller's network stays where it is
    elif param is not None and torch.empty(0, device=dev).device != param.device:
        model = copy.deepcopy(model).to(dev)       # moving the caller's network would surprise its next use
    with eval_mode(model):
        return _upscale(image, model, scale, tile, overlap, dev)


def _upscale(image, model, scale, tile, overlap, dev) -> np.ndarray:
    from .models import input_channels

    radius = getattr(model, "receptive_radius", 0)
    if overlap is None:
        overlap = max(16, radius)
    elif tile is not None and isinstance(overlap, int) and overlap < radius:
        raise ValueError(f"overlap {overlap} is smaller than what this {type(model).__name__} sees around a pixel "
                         f"({radius} LR pixels): the tiles would not join seamlessly; leave overlap=None")
    if input_channels(model) == 3:
        rgb = image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
        x = torch.from_numpy(rgb / np.float32(255)).float().permute(2, 0, 1)[None].to(dev)
        sr = run_tiled(model, x, scale, tile, overlap)[0].clamp(0, 1).permute(1, 2, 0).cpu().numpy()
        sr = np.round(sr * 255).astype(np.uint8)
        return sr if image.ndim == 3 else np.round(sr.mean(axis=2)).astype(np.uint8)
    if image.ndim == 2:
        y = torch.from_numpy(image / 255.0).float()[None, None].to(dev)
        sr = run_tiled(model, y, scale, tile, overlap)[0, 0].clamp(0, 1).cpu().numpy()
        return np.round(sr * 255).astype(np.uint8)
    ycc = rgb_to_ycbcr(image / 255.0)
    y = torch.from_numpy(ycc[..., 0]).float()[None, None].to(dev)
    sr_y = run_tiled(model, y, scale, tile, overlap)[0, 0].double().cpu().numpy()
    out = imresize(ycc, scale)                     # Cb, Cr (and a bicubic Y we replace)
    out[..., 0] = sr_y
    return np.clip(np.round(ycbcr_to_rgb(out) * 255), 0, 255).astype(np.uint8)
