"""Benchmarking super-resolution methods by the protocol: ``run``, ``METHODS`` and table formatting.

A method is a function ``sr = method(lr, scale)`` from an LR ``uint8`` image (``(H, W, 3)`` or
``(H, W)``) to an SR ``uint8`` image ``scale`` times larger. Every method of the course is listed once,
in ``METHODS`` below; ``srkit bench`` and the benchmark chapter use exactly this dict.

For each image of a dataset: ``hr = modcrop(image, scale)``, ``lr = imresize(hr, 1/scale)`` (MATLAB
bicubic), ``sr = method(lr, scale)``, then PSNR and SSIM on Y with ``crop_border = scale``. The SR output
is ``uint8`` (rounded), as in the papers. Dataset numbers are means over images.
"""

from __future__ import annotations

import time
from functools import lru_cache, partial
from typing import Callable

import numpy as np

from .datasets import lr_hr_pairs
from .metrics import niqe, psnr, ssim
from .resize import imresize

__all__ = ["METHODS", "METRICS", "MethodUnavailable", "cost", "run", "format_table", "format_summary",
           "format_markdown"]


class MethodUnavailable(ValueError):
    """A method that cannot run at this scale (a network without shipped weights for it)."""


def interpolate(lr: np.ndarray, scale: int, method: str = "bicubic") -> np.ndarray:
    """Upscale by interpolation (MATLAB ``imresize`` with the given kernel)."""
    return imresize(lr, scale, method=method)


def sparse_coding(lr: np.ndarray, scale: int) -> np.ndarray:
    """Coupled-dictionary sparse coding (chapter 03) with the shipped dictionary for ``scale``."""
    return _sparse_model(scale)(lr)


@lru_cache(maxsize=None)
def _sparse_model(scale: int):
    from . import sparse
    try:
        return sparse.pretrained(scale)
    except ValueError as e:                         # no dictionary for this scale: like a network without weights
        raise MethodUnavailable(f"{e}; train one with `srkit train --model sparse --scale {scale} ...`") from None


def network(lr: np.ndarray, scale: int, name: str) -> np.ndarray:
    """A network of :mod:`srkit.models` with its shipped weights (Y through the network, Cb/Cr by bicubic)."""
    from .upscale import upscale
    return upscale(lr, _network_model(name, scale))


@lru_cache(maxsize=None)
def _network_model(name: str, scale: int):
    from .models import get_model, shipped
    scales = [s for _, s in shipped(name)]
    if scale not in scales:
        raise MethodUnavailable(f"no shipped weights for {name} x{scale} (shipped: "
                                f"{', '.join(f'x{s}' for s in scales) or 'none'}); train them with `srkit train "
                                f"--model {name} --scale {scale} ...`")
    return get_model(name, scale=scale, weights="default")


METHODS: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "nearest": partial(interpolate, method="nearest"),
    "bilinear": partial(interpolate, method="bilinear"),
    "bicubic": partial(interpolate, method="bicubic"),
    "lanczos3": partial(interpolate, method="lanczos3"),
    "sparse": sparse_coding,
    "srcnn": partial(network, name="srcnn"),
    "fsrcnn": partial(network, name="fsrcnn"),
    "espcn": partial(network, name="espcn"),
    "fsrcnn_s": partial(network, name="fsrcnn_s"),
    "srcnn_955": partial(network, name="srcnn_955"),
    "srresnet": partial(network, name="srresnet"),
    "srgan": partial(network, name="srgan"),
}
METRICS = ("psnr", "ssim", "niqe")


def cost(method: str, scale: int) -> dict:
    """``{"params", "macs_per_pixel"}`` of a method at ``scale``: learned parameters (0 for interpolation, the
    dictionaries and PCA for sparse coding) and, for networks, multiply-adds per output pixel
    (:func:`srkit.models.count_macs`); ``None`` where it does not apply."""
    from .models import count_macs, list_models
    if method in list_models():
        model = _network_model(method, scale)
        return {"params": sum(p.numel() for p in model.parameters()),
                "macs_per_pixel": count_macs(model, 32, 32) / (32 * 32 * scale * scale)}
    if method == "sparse":
        model = _sparse_model(scale)
        return {"params": int(model.dict_lr.size + model.dict_hr.size + model.pca.size + model.pca_mean.size),
                "macs_per_pixel": None}
    return {"params": 0 if method in METHODS else None, "macs_per_pixel": None}


def _niqe_or_none(sr: np.ndarray) -> float | None:
    try:
        return niqe(sr)
    except ValueError:          # smaller than two 96x96 patches: NIQE is not defined for it
        return None


def run(method: str | Callable, dataset, scale: int, progress: bool = False,
        metrics: tuple[str, ...] = ("psnr", "ssim")) -> dict:
    """Measure one method on one dataset (a name, or a ``{name: image}`` dict) at one scale.

    Returns ``{"method", "dataset", "scale", "psnr", "ssim", "seconds", "params", "macs_per_pixel",
    "per_image": [...]}`` where ``seconds`` is the mean time of the method per image, weights loaded beforehand
    (see :func:`cost` for the other two), and each ``per_image`` entry has ``"image", "psnr", "ssim", "seconds"``.
    ``metrics`` may add ``"niqe"`` (no-reference, lower looks more natural; the mean over images with at least two
    96x96 patches).
    """
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {', '.join(unknown)}; available: {', '.join(METRICS)}")
    if isinstance(method, str):
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; available: {', '.join(METHODS)}")
        name, fn = method, METHODS[method]
    else:
        name, fn = getattr(method, "__name__", "custom"), method
    if int(scale) != scale or scale < 2:
        raise ValueError(f"scale must be an integer >= 2, got {scale!r}")
    # Load the weights or dictionaries before the clock starts: seconds per image time the upscaling only (and a
    # network without weights for this scale stops here, before the images are read).
    costs = cost(name, int(scale)) if isinstance(method, str) else {"params": None, "macs_per_pixel": None}
    pairs = lr_hr_pairs(dataset, int(scale))
    if progress:
        from tqdm.auto import tqdm
        pairs = tqdm(pairs, desc=f"{name} x{scale}", leave=False)
    rows = []
    for pair in pairs:
        start = time.perf_counter()
        sr = fn(pair.lr, int(scale))
        seconds = time.perf_counter() - start
        if sr.shape != pair.hr.shape:
            raise ValueError(f"method {name!r} returned shape {sr.shape} for {pair.name}; expected {pair.hr.shape}")
        row = {"image": pair.name, "psnr": psnr(sr, pair.hr, scale), "ssim": ssim(sr, pair.hr, scale),
               "seconds": seconds}
        if "niqe" in metrics:
            row["niqe"] = _niqe_or_none(sr)
        rows.append(row)
    extra = {}
    if "niqe" in metrics:
        values = [r["niqe"] for r in rows if r["niqe"] is not None]
        extra["niqe"] = float(np.mean(values)) if values else None
    return {"method": name, "dataset": dataset if isinstance(dataset, str) else "custom", "scale": int(scale),
            "psnr": float(np.mean([r["psnr"] for r in rows])), "ssim": float(np.mean([r["ssim"] for r in rows])),
            **extra, "seconds": float(np.mean([r["seconds"] for r in rows])),
            **costs,
            "per_image": rows}


def format_table(result: dict) -> str:
    """One result as a plain-text table: every image, then the mean."""
    has_niqe = "niqe" in result

    def niqe_cell(value):
        return "" if not has_niqe else f"{'-':>8}" if value is None else f"{value:>8.2f}"

    lines = [f"{result['method']} on {result['dataset']} x{result['scale']} (Y channel, shave {result['scale']})",
             f"{'image':<14}{'PSNR (dB)':>10}{'SSIM':>9}" + (f"{'NIQE':>8}" if has_niqe else "") + f"{'time (s)':>10}"]
    for r in result["per_image"]:
        lines.append(f"{r['image']:<14}{r['psnr']:>10.2f}{r['ssim']:>9.4f}{niqe_cell(r.get('niqe'))}"
                     f"{r['seconds']:>10.3f}")
    lines.append(f"{'mean':<14}{result['psnr']:>10.2f}{result['ssim']:>9.4f}{niqe_cell(result.get('niqe'))}"
                 f"{result['seconds']:>10.3f}")
    return "\n".join(lines)


def _cells(results: list[dict]):
    datasets = list(dict.fromkeys(f"{r['dataset']} x{r['scale']}" for r in results))
    methods = list(dict.fromkeys(r["method"] for r in results))
    cell = {(r["method"], f"{r['dataset']} x{r['scale']}"): r for r in results}
    return datasets, methods, cell


def _score(r: dict | None) -> str:
    if r is None or "psnr" not in r:
        return "missing" if r is None or "missing" in r else "no weights"
    text = f"{r['psnr']:.2f} / {r['ssim']:.4f}"
    return text + (f" / {r['niqe']:.2f}" if r.get("niqe") is not None else "")


def _method_costs(method: str, rows: list[dict]) -> tuple[str, str, str]:
    """Params, MACs per output pixel, and mean seconds per image over the datasets measured."""
    measured = [r for r in rows if "psnr" in r]
    if not measured:
        return "", "", ""
    r = measured[0]
    params = f"{r['params']:,}" if r.get("params") is not None else ""
    macs = f"{r['macs_per_pixel']:,.0f}" if r.get("macs_per_pixel") is not None else ""
    n = sum(len(m["per_image"]) for m in measured)
    seconds = sum(m["seconds"] * len(m["per_image"]) for m in measured) / n
    return params, macs, f"{seconds:.3f}"


def format_summary(results: list[dict]) -> str:
    """Several results as a plain-text table: a row per method, PSNR / SSIM (/ NIQE) per dataset, then the
    parameters, multiply-adds per output pixel and seconds per image."""
    datasets, methods, cell = _cells(results)
    width = max(14, *(len(_score(r)) + 2 for r in results))
    lines = [f"{'method':<12}" + "".join(f"{d:>{width}}" for d in datasets)
             + f"{'params':>12}{'MACs/px':>10}{'s/image':>9}"]
    for m in methods:
        params, macs, seconds = _method_costs(m, [r for r in results if r["method"] == m])
        lines.append(f"{m:<12}" + "".join(f"{_score(cell.get((m, d))):>{width}}" for d in datasets)
                     + f"{params:>12}{macs:>10}{seconds:>9}")
    niqe_note = "; NIQE: the whole RGB output, lower is more natural" if any("niqe" in r for r in results) else ""
    lines.append(f"(PSNR (dB) / SSIM: Y channel, shave = scale{niqe_note}; seconds per image on this machine)")
    return "\n".join(lines)


def format_markdown(results: list[dict]) -> str:
    """Several results as one Markdown table: a row per method, a column per dataset (PSNR / SSIM, and NIQE
    when measured), then parameters, multiply-adds per output pixel and seconds per image."""
    datasets, methods, cell = _cells(results)
    lines = ["| Method | " + " | ".join(datasets) + " | Params | MACs / pixel | s / image |",
             "|---|" + "---|" * (len(datasets) + 3)]
    for m in methods:
        params, macs, seconds = _method_costs(m, [r for r in results if r["method"] == m])
        lines.append(f"| {m} | " + " | ".join(_score(cell.get((m, d))) for d in datasets)
                     + f" | {params} | {macs} | {seconds} |")
    return "\n".join(lines)
