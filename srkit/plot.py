"""Figures for the course: ``show``, ``compare``, ``grid`` and ``zoom_box``.

Images are numpy ``uint8`` arrays, RGB ``(H, W, 3)`` or gray ``(H, W)`` (``(H, W, 1)`` is drawn as gray; float
images are taken to be on the [0, 1] scale). Every function returns the matplotlib ``Figure`` and never calls
``plt.show()``: figures are made with ``plt.subplots``, so a notebook displays them inline, and a script can
``fig.savefig(...)`` them. Pixels are drawn with ``interpolation="nearest"``: blur, ringing and aliasing are what
the course is about, and a smoothing display would hide them.

A zoom box is ``(top, left, height, width)`` in pixels of its image. PSNR / SSIM in titles follow the project's
protocol (:mod:`srkit.metrics`: Y channel, ``crop_border`` pixels shaved, usually the scale). Small array helpers
(``enlarge``, ``hstack``, ``rgb``, ``png_bytes``) compose images without matplotlib, for the PNG views of
:mod:`srkit.widgets`.
"""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image

from .metrics import psnr, ssim

__all__ = ["show", "compare", "grid", "zoom_box", "as_display", "enlarge", "hstack", "rgb", "png_bytes"]

Box = tuple[int, int, int, int]
_PANEL_INCHES = 3.2      # width of one image panel in a multi-image figure


def as_display(image, name: str = "image") -> np.ndarray:
    """``image`` as ``uint8`` ``(H, W)`` or ``(H, W, 3|4)``, ready to draw; raises ValueError on other shapes."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)) or image.size == 0:
        raise ValueError(f"{name}: expected an image of shape (H, W) or (H, W, 3), got {image.shape}")
    if np.issubdtype(image.dtype, np.floating):
        image = (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise TypeError(f"{name}: expected uint8 (or float in [0, 1]) pixels, got dtype {image.dtype}")
    return image


def _draw(ax, image: np.ndarray, title: str | None = None) -> None:
    if image.ndim == 2:
        ax.imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    else:
        ax.imshow(image, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)


def show(image, title: str | None = None, ax=None) -> Figure:
    """Draw one image (no ticks, gray images on a fixed 0..255 scale) and return its figure.

    Pass ``ax`` to draw into an existing subplot; otherwise a new figure is made.
    """
    image = as_display(image)
    if ax is None:
        h, w = image.shape[:2]
        _, ax = plt.subplots(figsize=(5, 5 * h / w + (0.4 if title else 0)))
    _draw(ax, image, title)
    return ax.figure


def zoom_box(image, box: Box) -> np.ndarray:
    """The crop ``image[top:top + height, left:left + width]`` for ``box = (top, left, height, width)``.

    Raises ValueError, naming the image size, when the box is not four integers or does not lie inside the image.
    """
    h, w = np.shape(image)[:2]
    try:
        top, left, bh, bw = (int(v) for v in box)
        if any(isinstance(v, bool) or v != int(v) for v in box):
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(f"zoom box must be four integers (top, left, height, width), got {box!r}") from None
    if bh < 1 or bw < 1 or top < 0 or left < 0 or top + bh > h or left + bw > w:
        raise ValueError(f"zoom box (top={top}, left={left}, height={bh}, width={bw}) does not fit in the "
                         f"{h}x{w} image: need height, width >= 1, 0 <= top, top + height <= {h}, "
                         f"0 <= left, left + width <= {w}")
    return np.asarray(image)[top:top + bh, left:left + bw]


def _title(name: str, image: np.ndarray, ref: np.ndarray | None, crop_border: int) -> str:
    if ref is None:
        return name
    if image.shape == ref.shape and np.array_equal(image, ref):
        return f"{name}\nreference"
    return f"{name}\n{psnr(image, ref, crop_border):.2f} dB / {ssim(image, ref, crop_border):.4f}"


def compare(images: dict[str, np.ndarray], ref: np.ndarray | None = None, zoom: Box | None = None,
            crop_border: int = 0, ncols: int | None = None, figsize=None, suptitle: str | None = None) -> Figure:
    """Images side by side, titled by their names, optionally with metrics and a zoomed detail.

    Args:
        images: ``{name: image}``, drawn in order.
        ref: the ground truth; if given, each title adds ``"PSNR dB / SSIM"`` against it (Y channel,
            ``crop_border`` shaved), or ``"reference"`` for an image equal to it.
        zoom: ``(top, left, height, width)``; all images must then have one size. Each image gets a red
            rectangle, and a second row shows the crops, enlarged with nearest-neighbour pixels.
        crop_border: pixels shaved from each side before measuring (the convention is the scale).
        ncols: panels per row (default: all in one row); with ``zoom`` each row of images is followed by its
            row of crops.
        figsize, suptitle: passed to matplotlib.

    Returns:
        The figure; it has one axes per image (two with ``zoom``).
    """
    if not images:
        raise ValueError("compare: no images given")
    names = list(images)
    arrays = [as_display(images[n], n) for n in names]
    ref = None if ref is None else as_display(ref, "ref")
    crops = None
    if zoom is not None:
        sizes = {a.shape[:2] for a in arrays}
        if len(sizes) > 1:
            raise ValueError(f"compare: zoom needs images of one size, got sizes {sorted(sizes)}")
        crops = [zoom_box(a, zoom) for a in arrays]
    titles = [_title(n, a, ref, crop_border) for n, a in zip(names, arrays)]

    n = len(arrays)
    ncols = max(1, min(n, ncols or n))
    blocks = -(-n // ncols)                         # rows of full images
    per_block = 1 if crops is None else 2           # a full-image row, then its crop row
    h, w = arrays[0].shape[:2]
    row_inches = _PANEL_INCHES * h / w + (0.5 if ref is not None else 0.3)
    if crops is not None:
        row_inches = (row_inches + _PANEL_INCHES * zoom[2] / zoom[3]) / 2
    figsize = figsize or (_PANEL_INCHES * ncols, row_inches * blocks * per_block + (0.4 if suptitle else 0))
    fig, axes = plt.subplots(blocks * per_block, ncols, figsize=figsize, squeeze=False)
    for i, (image, title) in enumerate(zip(arrays, titles)):
        block, col = divmod(i, ncols)
        ax = axes[block * per_block, col]
        _draw(ax, image, title)
        if crops is not None:
            top, left, bh, bw = zoom
            ax.add_patch(Rectangle((left - 0.5, top - 0.5), bw, bh, fill=False, edgecolor="red", linewidth=1.5))
            _draw(axes[block * per_block + 1, col], crops[i])
    for i in range(n, blocks * ncols):              # empty cells of the last row(s)
        block, col = divmod(i, ncols)
        for r in range(per_block):
            axes[block * per_block + r, col].remove()
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def grid(images: dict[str, np.ndarray], ncols: int = 4, figsize=None, suptitle: str | None = None) -> Figure:
    """A plain grid of titled images (sizes may differ), ``ncols`` per row."""
    return compare(images, ncols=ncols, figsize=figsize, suptitle=suptitle)


# Helpers to compose images as arrays (the widgets' PNG views; also handy in notebooks).

def rgb(image: np.ndarray) -> np.ndarray:
    """``(H, W)`` gray -> ``(H, W, 3)``; RGB(A) -> its RGB."""
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image[..., :3]


def enlarge(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement by an integer factor: each pixel becomes a ``factor x factor`` block."""
    return image if factor == 1 else np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def hstack(panels: list[np.ndarray], gap: int = 8) -> np.ndarray:
    """Equal-height images left to right as one RGB image, separated by ``gap`` white columns."""
    spacer = np.full((panels[0].shape[0], gap, 3), 255, np.uint8)
    return np.concatenate([p for panel in panels for p in (spacer, rgb(panel))][1:], axis=1)


def png_bytes(image: np.ndarray) -> bytes:
    """``image`` (``uint8``) encoded as PNG, e.g. for ``ipywidgets.Image(value=...)``."""
    buf = io.BytesIO()
    # compress_level=1: about twice as fast to encode as the default, for slightly larger files.
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()
