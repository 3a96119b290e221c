"""Reading and writing images: ``load_image`` and ``save_image``.

Everything in srkit starts from an RGB ``uint8`` array of shape ``(H, W, 3)`` (numpy, channels last).
``load_image`` turns whatever Pillow can read into that: grayscale is replicated to three channels
(or kept as ``(H, W)`` with ``keep_gray=True``, which the evaluation protocol needs for grayscale test
images), alpha is dropped (``load_alpha`` reads it), palettes are expanded and 16-bit images are scaled to 8 bits;
``what_load_leaves_out`` says in words what of a file that loses. ``save_image`` writes PNG, JPEG, TIFF, WebP, BMP,
PPM and TGA (``SAVE_FORMATS``).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = ["load_image", "load_alpha", "what_load_leaves_out", "save_image", "to_uint8", "image_format",
           "SAVE_FORMATS", "ALPHA_FORMATS"]

# The formats save_image writes, by extension: each keeps an 8-bit gray or RGB image at its size. (Pillow knows more
# extensions, but some it can only read (PSD, FITS), and others change the pixels: GIF keeps 256 colours, ICO
# shrinks the image to 256 pixels a side.)
SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF", ".webp": "WEBP",
                ".bmp": "BMP", ".ppm": "PPM", ".tga": "TGA"}
ALPHA_FORMATS = {"PNG", "TIFF", "WEBP", "TGA"}     # those of them that can also keep transparency
# Pillow's defaults would write JPEG at quality 75 and WebP lossy (changing the colour under transparent pixels):
# too coarse for a super-resolved image.
SAVE_OPTIONS = {"JPEG": {"quality": 95}, "WEBP": {"lossless": True, "exact": True}}


def load_image(path: str | os.PathLike, keep_gray: bool = False, upright: bool = True) -> np.ndarray:
    """Read an image file as ``uint8`` RGB ``(H, W, 3)`` (or ``(H, W)`` for grayscale if ``keep_gray``).

    With ``upright`` (the default), a photo's EXIF orientation is applied, so the array is upright as a viewer
    shows it; datasets read their pixels as stored (``upright=False``), as MATLAB's ``imread`` does, and a
    malformed EXIF block leaves the pixels as stored too. 32-bit float images
    (TIFF mode ``F``) must hold values in [0, 1] (scaled to 0..255) or in [0, 255].

    Raises ``FileNotFoundError`` if the file does not exist and ``ValueError`` (naming the file) if it is
    not a readable image: truncated, corrupt, another kind of file, or larger than Pillow's safety limit.
    """
    path = _existing_file(path)
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
        raise ValueError(f"cannot read {path}: {e} If you trust the file, raise the limit first (in Python: "
                         "PIL.Image.MAX_IMAGE_PIXELS = None)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ValueError(f"cannot read {path} as an image ({type(e).__name__}: {e})") from None
    return _float_image(floats, path, keep_gray)


def _existing_file(path: str | os.PathLike) -> Path:
    if os.fspath(path) == "":                      # Path("") would be the current folder
        raise FileNotFoundError("no image file given (the path is empty)")
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not an image file")
    if not path.is_file():
        raise FileNotFoundError(f"no such image file: {path}")
    return path


def _open(path: Path):
    """``Image.open`` with :func:`load_image`'s errors for a file that is not an image."""
    try:
        return Image.open(path)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ValueError(f"cannot read {path} as an image ({type(e).__name__}: {e})") from None


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info


def load_alpha(path: str | os.PathLike, upright: bool = True) -> np.ndarray | None:
    """The transparency of an image file as ``uint8`` ``(H, W)`` (0 = transparent), aligned with
    :func:`load_image`'s pixels (same ``upright``), or ``None`` for an image without transparency."""
    path = _existing_file(path)
    with _open(path) as im:
        if not _has_alpha(im):
            return None
        try:
            im.load()
            if upright:
                try:
                    im = ImageOps.exif_transpose(im)
                except Exception:
                    pass
            return np.asarray(im.convert("RGBA"), dtype=np.uint8)[..., 3].copy()
        except (OSError, SyntaxError, ValueError) as e:
            raise ValueError(f"cannot read {path} as an image ({type(e).__name__}: {e})") from None


def what_load_leaves_out(path: str | os.PathLike) -> dict[str, str]:
    """What :func:`load_image` does not keep of this file, in words, by kind (empty if nothing): ``"bits"`` (more
    than 8 per channel), ``"frames"`` (after the first), ``"alpha"`` (transparency)."""
    path = _existing_file(path)
    notes = {}
    with _open(path) as im:
        raw_modes = [tile[3] if isinstance(tile[3], str) else tile[3][0] for tile in im.tile if tile[3]]
        if im.mode in ("I;16", "I;16B", "I;16L", "I", "F") or any(";16" in str(m) for m in raw_modes):
            notes["bits"] = f"{path} has more than 8 bits per channel; srkit works on 8 bits, so the result has 8"
        frames = getattr(im, "n_frames", 1)
        if frames > 1:
            notes["frames"] = f"{path} has {frames} frames; only the first is read"
        if _has_alpha(im):
            notes["alpha"] = f"{path} has transparency (alpha), which load_image drops; load_alpha reads it"
    return notes


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
    """A float image in [0, 1] (numpy HWC or torch CHW / 1CHW) -> numpy ``uint8`` HWC, rounded and clipped
    (a little outside [0, 1], as a network's output may be, is clipped; far outside is an error)."""
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
    if x.size and not np.isfinite(x).all():
        raise ValueError("float image with NaN or infinite pixels")
    if x.size and (x.min() < -0.5 or x.max() > 1.5):     # a network's overshoot past [0, 1] is clipped; 0..255 is not
        raise ValueError(f"float pixels must lie in [0, 1], these run from {x.min():g} to {x.max():g}; for pixels "
                         "on 0..255 pass uint8 (image.astype(np.uint8)) or divide by 255")
    x = np.clip(np.round(x.astype(np.float64) * 255), 0, 255).astype(np.uint8)
    return x[..., 0] if x.ndim == 3 and x.shape[-1] == 1 else x


def image_format(path: str | os.PathLike) -> str:
    """The Pillow format that :func:`save_image` writes to ``path`` (from its extension), or a clear error for an
    extension it does not write, a folder, or a missing folder: worth checking before a long computation whose
    result goes there."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"cannot save {path}: it is a folder; give a file name such as {path / 'out.png'}")
    if path.parent.exists() and not path.parent.is_dir():
        raise FileNotFoundError(f"cannot save {path}: {path.parent} is a file, not a folder")
    if not path.parent.exists():
        raise FileNotFoundError(f"cannot save {path}: folder {path.parent} does not exist")
    fmt = SAVE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot save {path}: {path.suffix or 'no extension'} is not an image format srkit writes; "
                         f"use .png (lossless), .tif, .webp or .jpg (all: {', '.join(SAVE_FORMATS)})")
    Image.init()
    if fmt not in Image.SAVE:
        raise ValueError(f"cannot save {path}: the Pillow on this machine was built without {fmt}; use .png")
    return fmt


def save_image(path: str | os.PathLike, image) -> Path:
    """Write an image (``uint8`` or float in [0, 1]; numpy ``(H, W[, 3 or 4])`` or torch ``(C, H, W)``).

    The format follows the file extension (:data:`SAVE_FORMATS`; PNG is lossless and recommended, WebP is written
    lossless too, JPEG at quality 95). Writes to a temporary file
    first and renames it, so an interrupted save never leaves a half-written image behind.
    """
    path = Path(path)
    x = to_uint8(image)
    if not (x.ndim == 2 or (x.ndim == 3 and x.shape[-1] in (3, 4))):
        raise ValueError(f"cannot save an image of shape {x.shape} to {path}: expected (H, W), (H, W, 3) or "
                         "(H, W, 4) with alpha")
    fmt = image_format(path)
    if x.ndim == 3 and x.shape[-1] == 4 and fmt not in ALPHA_FORMATS:
        raise ValueError(f"cannot save an image with transparency (alpha) as {fmt} ({path}); use .png, or drop "
                         "the alpha channel first (image[..., :3])")
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        Image.fromarray(x).save(tmp, format=fmt, **SAVE_OPTIONS.get(fmt, {}))
        os.replace(tmp, path)
    except (KeyError, ValueError) as e:
        raise ValueError(f"cannot save {path} as {fmt} ({e})") from None
    except OSError as e:
        raise ValueError(f"cannot save {path}: {e.strerror or e}") from None
    finally:
        with contextlib.suppress(OSError):       # nothing to remove, or nowhere it could have been written
            tmp.unlink(missing_ok=True)
    return path
