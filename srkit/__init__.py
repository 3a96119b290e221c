"""srkit: a small, exact toolkit for single-image super-resolution, and the library behind the srkit course.

Conventions (tested in ``tests/``):

* Images on disk and in numpy are ``uint8`` RGB ``(H, W, 3)``; grayscale test images stay ``(H, W)``.
* Tensors for models are float32 ``(N, C, H, W)`` in [0, 1].
* LR images are made by MATLAB-exact bicubic (:func:`srkit.resize.imresize`) from ground truth cropped
  to a multiple of the scale (:func:`srkit.resize.modcrop`).
* PSNR/SSIM are measured on Y (BT.601 studio swing) with ``crop_border = scale`` (:mod:`srkit.metrics`).
"""

from __future__ import annotations

from contextlib import contextmanager

import torch

from . import color, datasets, io, metrics, models, resize, synthetic
from .datasets import load_dataset, lr_hr_pairs, sample_images
from .io import load_image, save_image
from .metrics import psnr, ssim
from .resize import imresize, modcrop
from .upscale import upscale   # the function (it hides the module here; `from srkit.upscale import run_tiled` works)

__version__ = "0.1.0"
__all__ = ["color", "datasets", "io", "metrics", "models", "resize", "synthetic", "device", "cpu_threads",
           "imresize", "modcrop", "upscale",
           "load_image", "save_image", "load_dataset", "lr_hr_pairs", "sample_images", "psnr", "ssim"]


def device(name: str | torch.device | None = None) -> torch.device:
    """The torch device to use: ``name`` if given (checked: it must exist here), else CUDA, then Apple's MPS,
    then the CPU."""
    if name is not None:
        try:
            dev = torch.device(name)
        except (RuntimeError, TypeError):
            raise ValueError(f"unknown device {name!r}: use cpu, cuda (or cuda:N) or mps") from None
        mps = getattr(torch.backends, "mps", None)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {name!r} asked for, but this torch sees no CUDA GPU (torch {torch.__version__}"
                             f"{', a CPU-only build' if torch.version.cuda is None else ''}); use cpu")
        if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device {name!r} asked for, but there are {torch.cuda.device_count()} CUDA GPU(s)")
        if dev.type == "mps" and not (mps is not None and mps.is_available()):
            raise ValueError(f"device {name!r} asked for, but Apple's MPS is not available here; use cpu")
        if dev.type not in ("cpu", "cuda", "mps"):
            raise ValueError(f"device {name!r}: srkit runs on cpu, cuda or mps")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@contextmanager
def cpu_threads(n: int = 1):
    """Run the block with torch on ``n`` CPU threads, then restore the count it had (also after an error).

    Small batches train faster on one thread than on several (the work per call is too small to share out, and
    a busy core holds every thread back), and timings taken on one thread compare the work of two methods rather
    than how well each spreads over the cores::

        with srkit.cpu_threads(1):
            history = srkit.train.fit(...)
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"cpu_threads needs a whole number of threads >= 1, got {n!r}")
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
