"""Automatic checks for the exercises at the end of every chapter.

Each coding exercise has a stub that raises ``NotImplementedError`` and a ``check(...)`` call that compares
the student's function with srkit's on several inputs, so the check fails loudly until the stub is done::

    def my_psnr(sr, hr):
        raise NotImplementedError("your code here")

    check(my_psnr, lambda sr, hr: srkit.psnr(sr, hr, y_channel=False), image_pairs())
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterable

import numpy as np
import torch

__all__ = ["check", "random_images", "image_pairs"]


def _as_array(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def _describe(args) -> str:
    def one(a) -> str:
        if hasattr(a, "shape"):
            return f"array{tuple(a.shape)} {a.dtype}"
        text = repr(a)                 # a module or a dict of tensors would print thousands of lines
        return text if len(text) <= 80 else f"{type(a).__name__}({text[:60]}...)"
    return ", ".join(one(a) for a in args)


@contextmanager
def _forbidden(forbid: dict, name: str):
    """Replace each ``(owner, attribute)`` of ``forbid`` by a function that fails, naming it; restore them after."""
    saved = []
    try:
        for label, (owner, attr) in forbid.items():
            def refuse(*args, _label=label, **kwargs):
                raise AssertionError(f"{name} calls {_label}, which this exercise asks you to do without")
            saved.append((owner, attr, vars(owner).get(attr), attr in vars(owner)))   # the raw entry, if its own
            setattr(owner, attr, refuse)
        yield
    finally:
        for owner, attr, original, own in reversed(saved):
            if own:
                setattr(owner, attr, original)
            else:
                delattr(owner, attr)       # it came from a class: uncover it again


def check(student_fn: Callable, reference_fn: Callable, inputs: Iterable[tuple], *, atol: float = 1e-6,
          rtol: float = 1e-6, name: str | None = None, forbid: dict | None = None) -> int:
    """Assert ``student_fn(*args) == reference_fn(*args)`` (within tolerance) for every ``args`` in ``inputs``.

    Raises ``AssertionError`` naming the first input where they differ; prints a success line and returns the
    number of inputs checked otherwise. ``forbid`` maps a label to an ``(owner, attribute)`` that the student's
    function must not call, e.g. ``{"F.pixel_unshuffle": (F, "pixel_unshuffle")}``: while it runs, that attribute
    fails with a message naming the label (the reference runs first, unhindered).
    """
    name = name or getattr(student_fn, "__name__", "your function")
    count = 0
    for args in inputs:
        args = args if isinstance(args, tuple) else (args,)
        expected = _as_array(reference_fn(*args))
        with _forbidden(forbid or {}, name):
            got = student_fn(*args)
        if got is None:
            raise AssertionError(f"{name} returned None for input ({_describe(args)}): did you forget `return`?")
        got = _as_array(got)
        if got.shape != expected.shape:
            raise AssertionError(f"{name}: for input ({_describe(args)}) the result has shape {got.shape}, "
                                 f"expected {expected.shape}")
        if not np.allclose(got, expected, atol=atol, rtol=rtol, equal_nan=True):
            diff = np.nanmax(np.abs(got - expected))
            raise AssertionError(f"{name}: for input ({_describe(args)}) the result differs from the reference by "
                                 f"up to {diff:.3g} (allowed {atol:g} + {rtol:g}*|expected|)")
        count += 1
    if count == 0:
        raise AssertionError("check() got no inputs to test with")
    print(f"✓ {name} matches the reference on {count} inputs")
    return count


def random_images(n: int = 4, seed: int = 0, gray: bool = False) -> list[np.ndarray]:
    """``n`` random ``uint8`` test images of different sizes: smooth structure plus edges plus noise."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(n):
        h, w = rng.integers(24, 96, size=2)
        yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
        channels = []
        for _c in range(1 if gray else 3):
            f = rng.uniform(1, 8, size=2)
            base = 0.5 + 0.3 * np.sin(2 * np.pi * (f[0] * yy + f[1] * xx)) + 0.2 * (xx > rng.uniform(0.2, 0.8))
            channels.append(base + rng.normal(0, 0.05, size=(h, w)))
        img = np.clip(np.stack(channels, axis=-1) * 255, 0, 255).round().astype(np.uint8)
        images.append(img[..., 0] if gray else img)
    return images


def image_pairs(n: int = 4, seed: int = 0, noise: float = 8.0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n`` pairs ``(distorted, reference)`` of ``uint8`` images, for checking metrics."""
    rng = np.random.default_rng(seed + 1)
    pairs = []
    for ref in random_images(n, seed):
        distorted = np.clip(ref + rng.normal(0, noise, ref.shape), 0, 255).round().astype(np.uint8)
        pairs.append((distorted, ref))
    return pairs
