"""Benchmark ``srkit.imresize`` against Pillow and a plain-NumPy version of the same algorithm.

What it measures, in ONE run with the contenders alternated (the order rotates every repeat):

* ``srkit``  - ``srkit.imresize(img, scale, method="bicubic")`` (torch on CPU, default thread count);
* ``pillow`` - ``Image.resize(..., BICUBIC)``: antialiased bicubic with a = -0.5, what most Python code uses
  (not MATLAB-exact, but the speed everyone is used to);
* ``numpy``  - ``numpy_imresize`` below: the SAME MATLAB algorithm as srkit (weights and indices per axis as
  MATLAB's ``contributions``, edge clamp, height first, float64, rounded to uint8 after each pass), written with
  plain NumPy fancy indexing. It is also an oracle: the script asserts its output equals srkit's bit-exactly.

Two cases on a seeded W x W RGB uint8 image (smooth sinusoids + noise): x4 down and x4 up. When one NumPy
run would take more than ``--numpy-budget`` seconds (projected from a small trial), NumPy runs on a smaller
image and every contender is compared per output megapixel (the printout says so).

The numbers vary 2-3x between runs on a shared CPU: only the ratios measured within one run mean anything.

    .venv/bin/python tools/bench_resize.py [--size 2048] [--repeats 3]
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import time

import numpy as np
import PIL
import torch
from PIL import Image

import srkit
from srkit.resize import imresize

_BICUBIC = getattr(Image, "Resampling", Image).BICUBIC
FAR_FASTER = 5.0  # "far faster than numpy" is taken to mean at least this many times faster


# ----------------------------------------------------------------------------------------------------------
# Plain NumPy MATLAB imresize (bicubic), independent of srkit's torch code.
# ----------------------------------------------------------------------------------------------------------
def _cubic(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    ax2, ax3 = ax**2, ax**3
    return ((1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1)
            + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2)))


def contributions(in_len: int, out_len: int, scale: float, padding: str = "clamp"):
    """MATLAB's ``contributions`` for the bicubic kernel: weights ``(out, P)``, 0-based indices ``(out, P)``.

    ``padding="clamp"`` replicates the edge (older MATLAB, and srkit); ``"symmetric"`` mirrors
    (``aux = [1:n, n:-1:1]``, as newer MATLAB releases do).
    """
    width = 4.0
    if scale < 1:  # antialias: stretch the kernel by 1/scale
        def h(x):
            return scale * _cubic(scale * x)
        width = width / scale
    else:
        h = _cubic
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    taps = math.ceil(width) + 2
    idx = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]
    w = h(u[:, None] - idx)
    w = w / w.sum(axis=1, keepdims=True)
    idx = idx.astype(np.int64)
    if padding == "clamp":
        idx = np.clip(idx, 1, in_len) - 1
    elif padding == "symmetric":
        aux = np.concatenate([np.arange(in_len), np.arange(in_len)[::-1]])
        idx = aux[np.mod(idx - 1, 2 * in_len)]
    else:
        raise ValueError(padding)
    keep = np.any(w != 0, axis=0)  # drop all-zero tap columns, as MATLAB does
    return w[:, keep], idx[:, keep]


def _resize_axis0(a: np.ndarray, out_len: int, scale: float, padding: str) -> np.ndarray:
    """Resize axis 0 of a uint8 array ``(L, ...)``; float64 weighted sum, rounded half up to uint8."""
    w, idx = contributions(a.shape[0], out_len, scale, padding)
    out = np.empty((out_len,) + a.shape[1:], dtype=np.uint8)
    row_bytes = 8 * w.shape[1] * int(np.prod(a.shape[1:]))
    block = max(1, (256 << 20) // row_bytes)  # bound the (block, P, ...) float64 temporary to ~256 MB
    extra = (None,) * (a.ndim - 1)
    for s in range(0, out_len, block):
        e = min(s + block, out_len)
        acc = (a[idx[s:e]].astype(np.float64) * w[(slice(s, e), slice(None)) + extra]).sum(axis=1)
        out[s:e] = np.floor(np.clip(acc, 0, 255) + 0.5)
    return out


def numpy_imresize(img: np.ndarray, scale: float | None = None, size: tuple[int, int] | None = None,
                   padding: str = "clamp") -> np.ndarray:
    """MATLAB ``imresize(img, scale_or_size, 'bicubic')`` for uint8 ``(H, W)`` / ``(H, W, C)``, in NumPy."""
    assert img.dtype == np.uint8 and img.ndim in (2, 3)
    h, w = img.shape[:2]
    if size is not None:
        (oh, ow) = size
        sh, sw = oh / h, ow / w
    else:
        sh = sw = float(scale)
        oh, ow = math.ceil(h * sh), math.ceil(w * sw)
    x = img
    if sh <= sw:  # smaller scale first, height first on a tie
        x = _resize_axis0(x, oh, sh, padding)
        x = np.moveaxis(_resize_axis0(np.moveaxis(x, 1, 0), ow, sw, padding), 0, 1)
    else:
        x = np.moveaxis(_resize_axis0(np.moveaxis(x, 1, 0), ow, sw, padding), 0, 1)
        x = _resize_axis0(x, oh, sh, padding)
    return np.ascontiguousarray(x)


# ----------------------------------------------------------------------------------------------------------
# Benchmark
# ----------------------------------------------------------------------------------------------------------
def make_image(n: int, seed: int = 0) -> np.ndarray:
    """Seeded n x n RGB uint8: a few random sinusoids (smooth content) plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) / n
    img = np.empty((n, n, 3), np.float32)
    for c in range(3):
        acc = np.zeros((n, n), np.float32)
        for _ in range(6):
            fy, fx = rng.uniform(0.5, 40, size=2)
            ph = rng.uniform(0, 2 * np.pi)
            acc += np.cos(2 * np.pi * (fy * yy + fx * xx) + ph).astype(np.float32)
        img[..., c] = 128 + 15 * acc
    img += rng.normal(0, 12, size=img.shape).astype(np.float32)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def run_srkit(img, scale):
    return imresize(img, scale)


def run_pillow(img, scale):
    h, w = img.shape[:2]
    return np.asarray(Image.fromarray(img).resize((math.ceil(w * scale), math.ceil(h * scale)), _BICUBIC))


def run_numpy(img, scale):
    return numpy_imresize(img, scale)


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=2048, help="input image side (default 2048)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per contender (default 3)")
    ap.add_argument("--numpy-budget", type=float, default=60.0,
                    help="if one numpy run is projected to exceed this many seconds, run numpy on a smaller image")
    args = ap.parse_args(argv)
    if args.repeats < 1 or args.size < 16:
        ap.error("need --repeats >= 1 and --size >= 16")

    print(f"srkit {getattr(srkit, '__version__', '?')} | torch {torch.__version__} threads={torch.get_num_threads()} | "
          f"numpy {np.__version__} | Pillow {PIL.__version__} | python {platform.python_version()}")
    print(f"CPU: {cpu_model()} ({torch.get_num_threads()} torch threads, os.cpu_count={__import__('os').cpu_count()})")
    print("Numbers vary 2-3x between runs on a shared CPU; compare only the ratios from this run.\n")

    img = make_image(args.size)
    results = []  # (case, contender, input side, median s, output Mpx, all runs)
    notes = []
    for case, scale in (("x4 down", 0.25), ("x4 up", 4.0)):
        # Decide the numpy input size: project from a 256 px trial (time scales with output pixels).
        trial = min(256, args.size)
        t_trial, _ = timed(run_numpy, img[:trial, :trial], scale)
        projected = t_trial * (args.size / trial) ** 2
        np_side = args.size
        while np_side > trial and t_trial * (np_side / trial) ** 2 > args.numpy_budget:
            np_side //= 2
        np_img = np.ascontiguousarray(img[:np_side, :np_side])
        if np_side != args.size:
            notes.append(f"{case}: one numpy run on {args.size}^2 projected at {projected:.0f} s > "
                         f"{args.numpy_budget:.0f} s, so numpy ran on the top-left {np_side}^2 crop; "
                         f"compare per output Mpx")

        # Oracle: numpy must equal srkit bit-exactly (on the image numpy is timed on).
        ref = run_srkit(np_img, scale)
        got = run_numpy(np_img, scale)
        assert got.shape == ref.shape and got.dtype == ref.dtype, (got.shape, ref.shape)
        if not np.array_equal(got, ref):
            d = np.abs(got.astype(int) - ref.astype(int))
            raise AssertionError(f"{case}: numpy != srkit at {np.count_nonzero(d)} values (max diff {d.max()})")
        print(f"{case}: numpy_imresize == srkit.imresize bit-exactly on {np_side}x{np_side}x3 -> {ref.shape}")
        del ref, got

        contenders = [("srkit", run_srkit, img), ("pillow", run_pillow, img), ("numpy", run_numpy, np_img)]
        times = {name: [] for name, _, _ in contenders}
        mpx = {}
        for name, fn, x in contenders:  # untimed warm-up (also records the output size)
            if name != "numpy":
                out = fn(x, scale)
            else:
                out = np.empty((math.ceil(x.shape[0] * scale), math.ceil(x.shape[1] * scale)))
            mpx[name] = out.shape[0] * out.shape[1] / 1e6
            del out
        for r in range(args.repeats):
            for k in range(len(contenders)):
                name, fn, x = contenders[(r + k) % len(contenders)]
                t, out = timed(fn, x, scale)
                del out
                times[name].append(t)
        for name, _, x in contenders:
            results.append((case, name, x.shape[0], statistics.median(times[name]), mpx[name], times[name]))

    print(f"\n{'case':8} {'contender':9} {'input':>11} {'median s':>9} {'out Mpx/s':>10}  runs (s)")
    for case, name, side, med, m, runs in results:
        print(f"{case:8} {name:9} {f'{side}x{side}':>11} {med:9.3f} {m / med:10.1f}  "
              + " ".join(f"{t:.3f}" for t in runs))
    print()
    for note in notes:
        print("NOTE:", note)

    def rate(case, name):
        (med, m), = [(r[3], r[4]) for r in results if r[0] == case and r[1] == name]
        return m / med  # output Mpx per second

    all_ok = True
    for case in ("x4 down", "x4 up"):
        s_over_p = rate(case, "pillow") / rate(case, "srkit")   # time ratio srkit / Pillow
        n_over_s = rate(case, "srkit") / rate(case, "numpy")    # time ratio numpy / srkit (per output Mpx)
        t1, t2 = s_over_p <= 2.0, n_over_s >= FAR_FASTER
        all_ok &= t1 and t2
        print(f"{case}: srkit/Pillow = {s_over_p:.2f}x  -> within 2x of Pillow: {'MET' if t1 else 'NOT MET'};  "
              f"numpy/srkit = {n_over_s:.1f}x -> far faster than numpy (>= {FAR_FASTER:g}x): "
              f"{'MET' if t2 else 'NOT MET'}")
    print(f"\nTargets {'all met' if all_ok else 'NOT all met'} in this run.")


if __name__ == "__main__":
    main()
