"""NIQE, the Natural Image Quality Evaluator: a no-reference "how natural does this look" score (lower is better).

Paper: A. Mittal, R. Soundararajan, A. C. Bovik, "Making a 'Completely Blind' Image Quality Analyzer",
IEEE Signal Processing Letters 20(3), 2013.

The idea, in four steps:

1. **MSCN coefficients.** Subtract a local mean and divide by a local contrast (7x7 Gaussian, sigma 7/6):
   ``mscn = (I - mu) / (sigma + 1)``. In natural photographs these are close to Gaussian; blur, noise and
   artefacts change their distribution in characteristic ways.
2. **Features per 96x96 patch** (at full and at half resolution): the shape and variance of a generalised
   Gaussian fitted to the MSCN values (2 numbers), and for the products of horizontally, vertically and
   diagonally neighbouring MSCN values, an asymmetric generalised Gaussian (shape, mean, left and right
   variance: 4 numbers each). 18 per scale, 36 in all.
3. **A model of pristine images**: the mean and covariance of those 36 features over the sharpest patches
   (sharpness = mean local contrast above 0.75 of the image's sharpest patch) of many pristine photographs.
   srkit fits its own on the BSD200 training photographs (``tools/fit_niqe.py``; the model is
   ``srkit/weights/niqe_bsd200.json``), so NIQE works offline. Absolute values therefore differ from MATLAB's
   ``niqe`` (fitted on 125 other photographs); differences between images are what it is for.
4. **The score** of an image is the distance between the pristine Gaussian ``(mu1, S1)`` and the Gaussian
   ``(mu2, S2)`` of the image's own patch features: ``sqrt((mu1 - mu2)^T ((S1 + S2) / 2)^-1 (mu1 - mu2))``.

Everything here is written from the paper's description.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.ndimage import correlate
from scipy.special import gamma as gamma_fn

__all__ = ["niqe", "niqe_features", "mscn", "gray", "fit_niqe_model", "load_niqe_model", "NIQE_MODEL"]

NIQE_MODEL = Path(__file__).resolve().parent / "weights" / "niqe_bsd200.json"
PATCH, SHARPNESS = 96, 0.75

_SHAPES = np.arange(0.2, 10.001, 0.001)                      # the grid of shape parameters searched
_GGD_RATIO = gamma_fn(1 / _SHAPES) * gamma_fn(3 / _SHAPES) / gamma_fn(2 / _SHAPES) ** 2
_AGGD_RATIO = gamma_fn(2 / _SHAPES) ** 2 / (gamma_fn(1 / _SHAPES) * gamma_fn(3 / _SHAPES))


def gray(image) -> np.ndarray:
    """``uint8`` (or [0, 1] float) gray or RGB image -> float64 gray on 0..255 (MATLAB ``rgb2gray`` weights)."""
    x = np.asarray(image)
    if x.ndim not in (2, 3) or (x.ndim == 3 and x.shape[2] != 3):
        raise ValueError(f"niqe: expected an image (H, W) or (H, W, 3), got shape {x.shape}")
    x = x.astype(np.float64) if x.dtype == np.uint8 else x.astype(np.float64) * 255
    if x.ndim == 3:
        x = x @ np.array([0.298936021293775, 0.587043074451121, 0.114020904255103])
    return x


def _gaussian_7x7() -> np.ndarray:
    r = np.arange(-3, 4)
    g = np.exp(-(r**2) / (2 * (7 / 6) ** 2))
    g2 = np.outer(g, g)
    return g2 / g2.sum()


def mscn(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean-subtracted contrast-normalised coefficients of a float gray image on 0..255 (see :func:`gray`),
    and the local contrast ``sigma``: ``((image - mu) / (sigma + 1), sigma)``, 7x7 Gaussian (sigma 7/6)."""
    w = _gaussian_7x7()
    mu = correlate(image, w, mode="nearest")
    sigma = np.sqrt(np.abs(correlate(image * image, w, mode="nearest") - mu * mu))
    return (image - mu) / (sigma + 1), sigma


def _ggd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shape and variance of a zero-mean generalised Gaussian per row of ``x`` (moment matching)."""
    var = (x * x).mean(axis=1)
    rho = var / np.maximum(np.abs(x).mean(axis=1) ** 2, 1e-12)
    shape = _SHAPES[np.abs(rho[:, None] - _GGD_RATIO[None]).argmin(axis=1)]
    return shape, var


def _aggd(x: np.ndarray) -> np.ndarray:
    """Shape, mean, left and right variance of an asymmetric generalised Gaussian per row of ``x``."""
    neg, pos = x < 0, x > 0
    left = np.sqrt((x * x * neg).sum(axis=1) / np.maximum(neg.sum(axis=1), 1))
    right = np.sqrt((x * x * pos).sum(axis=1) / np.maximum(pos.sum(axis=1), 1))
    g = left / np.maximum(right, 1e-12)
    r = np.abs(x).mean(axis=1) ** 2 / np.maximum((x * x).mean(axis=1), 1e-12)
    r_norm = r * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    shape = _SHAPES[np.abs(r_norm[:, None] - _AGGD_RATIO[None]).argmin(axis=1)]
    mean = (right - left) * gamma_fn(2 / shape) / gamma_fn(1 / shape) * np.sqrt(gamma_fn(1 / shape)
                                                                                 / gamma_fn(3 / shape))
    return np.stack([shape, mean, left**2, right**2], axis=1)


def _patches(x: np.ndarray, p: int) -> np.ndarray:
    """Non-overlapping ``p x p`` patches of ``x`` (cropped to a multiple of ``p``), flattened: ``(n, p*p)``."""
    h, w = (x.shape[0] // p) * p, (x.shape[1] // p) * p
    return x[:h, :w].reshape(h // p, p, w // p, p).transpose(0, 2, 1, 3).reshape(-1, p * p)


def _scale_features(image: np.ndarray, p: int) -> tuple[np.ndarray, np.ndarray]:
    """18 features for every ``p x p`` patch of one scale, and each patch's sharpness (mean contrast)."""
    coeffs, sigma = mscn(image)
    feats = [np.stack(_ggd(_patches(coeffs, p)), axis=1)]
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):       # horizontal, vertical, the two diagonals
        shifted = np.roll(coeffs, (-dy, -dx), axis=(0, 1))
        feats.append(_aggd(_patches(coeffs * shifted, p)))
    return np.concatenate(feats, axis=1), _patches(sigma, p).mean(axis=1)


def niqe_features(image, patch: int = PATCH) -> tuple[np.ndarray, np.ndarray]:
    """``(features (n, 36), sharpness (n,))`` for the ``n`` patches of an image (full and half resolution)."""
    from .resize import imresize

    g = gray(image)
    h, w = (g.shape[0] // patch) * patch, (g.shape[1] // patch) * patch
    if h == 0 or w == 0:
        raise ValueError(f"niqe: the image ({g.shape[0]}x{g.shape[1]}) is smaller than one "
                         f"{patch}x{patch} patch")
    g = g[:h, :w]
    full, sharpness = _scale_features(g, patch)
    half, _ = _scale_features(imresize(g, 0.5), patch // 2)
    return np.concatenate([full, half], axis=1), sharpness


def fit_niqe_model(images, patch: int = PATCH, sharpness: float = SHARPNESS) -> dict:
    """The pristine model ``{"mu", "cov", "n_patches", "patch", "sharpness"}`` from an iterable of images."""
    selected = []
    for image in images:
        feats, sharp = niqe_features(image, patch)
        selected.append(feats[sharp > sharpness * sharp.max()])
    feats = np.concatenate(selected)
    return {"mu": feats.mean(axis=0).tolist(), "cov": np.cov(feats, rowvar=False).tolist(),
            "n_patches": int(len(feats)), "patch": patch, "sharpness": sharpness}


@lru_cache(maxsize=4)
def _load(path: str) -> tuple[np.ndarray, np.ndarray, int]:
    info = json.loads(Path(path).read_text())
    return np.array(info["mu"]), np.array(info["cov"]), int(info["patch"])


def load_niqe_model(path: str | Path | None = None) -> dict:
    """The pristine model's JSON (the shipped BSD200 model by default), with its provenance."""
    return json.loads(Path(path or NIQE_MODEL).read_text())


def niqe(image, model: str | Path | None = None) -> float:
    """NIQE of a ``uint8`` (or [0, 1] float) image, gray or RGB; lower looks more natural.

    The image must hold at least one 96x96 patch; its covariance needs several, so use images of at least
    about 200x200 pixels. ``model`` is a JSON written by :func:`fit_niqe_model` (default: the shipped one).
    """
    mu1, cov1, patch = _load(str(model or NIQE_MODEL))
    feats, _ = niqe_features(image, patch)
    if len(feats) < 2:
        raise ValueError(f"niqe: the image has {len(feats)} patch of {patch}x{patch}; it needs at least 2")
    mu2, cov2 = feats.mean(axis=0), np.cov(feats, rowvar=False)
    d = mu1 - mu2
    return float(np.sqrt(d @ np.linalg.pinv((cov1 + cov2) / 2) @ d))
