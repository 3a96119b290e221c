"""Share of training step time spent on the input pipeline (``srkit.train.PatchSampler``), per network.

``srkit.train.fit`` times every call of its patch sampler (random crop, flip/rotation, batch assembly,
host-to-device copy) separately from the step; this script runs ``--steps`` steps of each network with the
settings used for the shipped weights (batch 16, LR patch 24; SRCNN batch 64, patch 11) on training images
and prints the data share. The target is at most 10 % on a CPU; the shipped weights' JSON record the same
share measured over their whole run (``data_share``).

First it times the sampler alone against the per-patch loop it replaced (each patch drawn, cropped, turned and
flipped on its own; the same distribution), at batches of 64 and 256 (the GPU runs' size), and prints the ratio.
Last, it measures how much the process's peak memory grows over ``--steps`` steps of FSRCNN without a validation
(``fit`` keeps one running sum of the loss), then over as many steps of the same loop keeping every step's loss
tensor in a list, as ``fit`` did before (on Linux, where ``ru_maxrss`` is in kB).

    .venv/bin/python tools/bench_train.py [--steps 200] [--data T91]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import torch

from srkit.cli import _hardware
from srkit.datasets import DataUnavailableError, sample_images, train_val_split
from srkit.models import get_model, list_models
from srkit.train import PatchSampler, fit, to_y_pairs

SETTINGS = {"srcnn": (64, 11), "srcnn_955": (64, 11)}     # (batch, LR patch); the rest use (16, 24)


def per_patch_batch(sampler: PatchSampler, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A batch the way srkit drew it before PatchSampler drew a batch's random numbers at once: one patch at a time."""
    p, s, n = sampler.patch, sampler.scale, sampler.batch_size
    lr_batch = np.empty((n, sampler.channels, p, p), np.float32)
    hr_batch = np.empty((n, sampler.channels, p * s, p * s), np.float32)
    for b, i in enumerate(rng.choice(len(sampler.pairs), n, p=sampler.weights)):
        lr, hr = sampler.pairs[i]                                  # (C, H, W) views
        y, x = rng.integers(0, lr.shape[1] - p + 1), rng.integers(0, lr.shape[2] - p + 1)
        k, flip = rng.integers(4), rng.integers(2)
        lr_p = np.rot90(lr[:, y : y + p, x : x + p], k, axes=(1, 2))
        hr_p = np.rot90(hr[:, y * s : (y + p) * s, x * s : (x + p) * s], k, axes=(1, 2))
        lr_batch[b], hr_batch[b] = (lr_p[..., ::-1], hr_p[..., ::-1]) if flip else (lr_p, hr_p)
    return lr_batch, hr_batch


def median_ms(draw, repeats: int = 30) -> float:
    draw()                                                          # warm-up, not counted
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        draw()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def bench_sampler(pairs, scale: int, patch: int = 24) -> None:
    print(f"{'batch':>5} {'per patch ms':>12} {'PatchSampler ms':>15} {'speed-up':>8}   (LR patch {patch}, x{scale})")
    for batch in (64, 256):
        sampler, rng = PatchSampler(pairs, scale, patch, batch, seed=0), np.random.default_rng(0)
        loop, vectorised = median_ms(lambda: per_patch_batch(sampler, rng)), median_ms(sampler)
        print(f"{batch:>5} {loop:>12.2f} {vectorised:>15.2f} {loop / vectorised:>7.1f}x")
    print()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_memory(pairs, scale: int, steps: int, batch: int = 16, patch: int = 48) -> None:
    """Peak-memory growth per step of ``fit``, then of a loop that keeps every step's loss tensor."""
    before = peak_mb()
    fit(get_model("fsrcnn", scale=scale), pairs, pairs[:1], scale, steps=steps, batch_size=batch, patch=patch,
        val_every=10**9, log=lambda *_: None)
    grown_fit, before = peak_mb() - before, peak_mb()
    model, sampler, kept = get_model("fsrcnn", scale=scale), PatchSampler(pairs, scale, patch, batch, seed=0), []
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(steps):
        x, y = sampler()
        loss = torch.nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        kept.append(loss.detach())
    grown_list = peak_mb() - before
    print(f"\npeak memory growth over {steps} FSRCNN steps (batch {batch}, LR patch {patch}), no validation between:")
    print(f"  fit (one running sum of the loss):   {grown_fit:7.1f} MB  ({grown_fit / steps:.2f} MB per step)")
    print(f"  keeping every step's loss tensor:    {grown_list:7.1f} MB  ({grown_list / steps:.2f} MB per step)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--scale", type=int, default=3)
    parser.add_argument("--data", default="T91", help="training set; sample images if it is not available")
    parser.add_argument("--models", default=",".join(list_models()))
    args = parser.parse_args()
    try:
        images, _ = train_val_split(args.data)
        source = args.data
    except DataUnavailableError as e:            # offline without T91: the embedded sample images
        print(f"{e}; using srkit.sample_images()")
        images, source = sample_images(), "sample images"
    pairs = to_y_pairs(dict(list(images.items())[:20]), args.scale)
    print(f"{_hardware()}; torch {torch.__version__}; {args.steps} steps x{args.scale} on {source}\n")
    bench_sampler(pairs, args.scale)
    print(f"{'model':<10} {'batch':>5} {'patch':>5} {'step ms':>8} {'data ms':>8} {'data share':>10}")
    worst = 0.0
    for name in args.models.split(","):
        batch, patch = SETTINGS.get(name, (16, 24))
        model = get_model(name, scale=args.scale)
        h = fit(model, pairs, pairs[:1], args.scale, steps=args.steps, batch_size=batch, patch=patch,
                val_every=10**9, log=lambda *_: None)
        share = h["data_seconds"] / h["seconds"]
        worst = max(worst, share)
        print(f"{name:<10} {batch:>5} {patch:>5} {1e3 * h['seconds'] / args.steps:>8.1f} "
              f"{1e3 * h['data_seconds'] / args.steps:>8.2f} {share:>10.1%}")
    print(f"\nlargest data share: {worst:.1%} (target <= 10 %)")
    bench_memory(pairs, args.scale, args.steps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
