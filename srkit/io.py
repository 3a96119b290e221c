"""Reading and writing images: ``load_image`` and ``save_image``.

Everything in srkit starts from an RGB ``uint8`` array of shape ``(H, W, 3)`` (numpy, channels last).
``load_image`` turns whatever Pillow can read into that: grayscale is replicated to three channels
(or kept as ``(H, W)`` with ``keep_gray=True``, which the evaluation protocol needs for grayscale test
images), alpha is dropped, palettes are expanded and 16-bit images are scaled to 8 bits.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = ["load_image", "save_image", "to_uint8", "image_format"]


def load_image(path: str | os.PathLike, keep_gray: bool = False, upright: bool = True) -> np.ndarray:
    """Read an image file as ``uint8`` RGB ``(H, W, 3)`` (or ``(H, W)`` for grayscale if ``keep_gray``).

    With ``upright`` (the default), a photo's EXIF orientation is applied, so the array is upright as a viewer
    shows it; datasets read their pixels as stored (``upright=False``), as MATLAB's ``imread`` does, and a
    malformed EXIF block leaves the pixels as stored too. 32-bit float images
    (TIFF mode ``F``) must hold values in [0, 1] (scaled to 0..255) or in [0, 255].

    Raises ``FileNotFoundError`` if the file does not exist and ``ValueError`` (naming the file) if it is
    not a readable image: truncated, corrupt, another kind of file, or larger than Pillow's safety limit.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such image file: {path}")
    try:
        with Image.open(path) as im:
            im.load()  # decode now, so that a truncated file fails here and not later
            if upright:
                try:
                    im = ImageOps.exif_transpose(im)
                except Exception:             # a malformed EXIF block: the pixels as stored are still an image
                    pass
            mode = im.mode
            if mode != "F":                   # 32-bit float pixels: checked and converted below
                if mode in ("I;16", "I;16B", "I;16L", "I"):
                    # 16-bit (or 32-bit integer) grayscale: scale the full range to 0..255.
                    a = np.asarray(im, dtype=np.float64)
                    top = 65535.0 if mode.startswith("I;16") or a.max() > 255 else 255.0
                    gray = np.clip(np.round(a / top * 255), 0, 255).astype(np.uint8)
                    return gray if keep_gray else np.repeat(gray[..., None], 3, axis=2)
                if mode == "P":
                    im = im.convert("RGBA" if "transparency" in im.info else "RGB")
                if im.mode in ("L", "LA", "1") and keep_gray:
                    return np.asarray(im.convert("L"), dtype=np.uint8).copy()
                return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
            floats = np.asarray(im, dtype=np.float64)
    except Image.DecompressionBombError as e:
        raise ValueError(f"cannot read {path}: {e} If you trust the file, raise the limit first: "
                         "PIL.Image.MAX_IMAGE_PIXELS = None") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ValueError(f"cannot read {path} as an image ({type(e).__name__}: {e})") from None
    return _float_image(floats, path, keep_gray)


def _float_image(a: np.ndarray, path: Path, keep_gray: bool) -> np.ndarray:
    """A 32-bit float grayscale image -> uint8: values in [0, 1] are scaled by 255, values in [0, 255] rounded."""
    if not np.isfinite(a).all():
        raise ValueError(f"{path}: float image with NaN or infinite pixels")
    low, high = float(a.min()), float(a.max())
    if low < 0 or high > 255:
        raise ValueError(f"{path}: float image with values from {low:g} to {high:g}; srkit reads float images on "
                         "[0, 1] or [0, 255]")
    gray = np.round(a * (255 if high <= 1 else 1)).astype(np.uint8)
    return gray if keep_gray else np.repeat(gray[..., None], 3, axis=2)


def to_uint8(image) -> np.ndarray:
    """A float image in [0, 1] (numpy HWC or torch CHW / 1CHW) -> numpy ``uint8`` HWC, rounded and clipped."""
    if isinstance(image, torch.Tensor):
        x = image.detach().cpu()
        if x.ndim == 4:
            if x.shape[0] != 1:
                raise ValueError(f"expected one image, got a batch of shape {tuple(x.shape)}")
            x = x[0]
        x = x.permute(1, 2, 0).numpy() if x.ndim == 3 else x.numpy()
    else:
        x = np.asarray(image)
    if x.dtype == np.uint8:
        return x
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"expected uint8 or float pixels, got dtype {x.dtype}")
    x = np.clip(np.round(x.astype(np.float64) * 255), 0, 255).astype(np.uint8)
    return x[..., 0] if x.ndim == 3 and x.shape[-1] == 1 else x


def image_format(path: str | os.PathLike) -> str:
    """The Pillow format that :func:`save_image` writes to ``path`` (from its extension), or a clear error for an
    unknown extension or a missing folder: worth checking before a long computation whose result goes there."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise FileNotFoundError(f"cannot save {path}: folder {path.parent} does not exist")
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot save {path}: {path.suffix or 'no extension'} is not an image format Pillow can "
                         "write; use .png (lossless), .tif or .jpg")
    return fmt


def save_image(path: str | os.PathLike, image) -> Path:
    """Write an image (``uint8`` or float in [0, 1]; numpy ``(H, W[, 3])`` or torch ``(C, H, W)``).

    The format follows the file extension (PNG is lossless and recommended). Writes to a temporary file
    first and renames it, so an interrupted save never leaves a half-written image behind.
    """
    path = Path(path)
    x = to_uint8(image)
    if not (x.ndim == 2 or (x.ndim == 3 and x.shape[-1] in (3, 4))):
        raise ValueError(f"cannot save an image of shape {x.shape} to {path}: expected (H, W) or (H, W, 3)")
    fmt = image_format(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        Image.fromarray(x).save(tmp, format=fmt)
        os.replace(tmp, path)
    except (KeyError, ValueError) as e:
        raise ValueError(f"cannot save {path} as {fmt} ({e})") from None
    except OSError as e:
        raise ValueError(f"cannot save {path}: {e.strerror or e}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return path
