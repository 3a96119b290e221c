"""Share of training step time spent on the input pipeline (``srkit.train.PatchSampler``), per network.

``srkit.train.fit`` times every call of its patch sampler (random crop, flip/rotation, batch assembly,
host-to-device copy) separately from the step; this script runs ``--steps`` steps of each network with the
settings used for the shipped weights (batch 16, LR patch 24; SRCNN batch 64, patch 11) on training images
and prints the data share. The target is at most 10 % on a CPU; the shipped weights' JSON record the same
share measured over their whole run (``data_share``).

    .venv/bin/python tools/bench_train.py [--steps 200] [--data T91]
"""

from __future__ import annotations

import argparse
import torch

from srkit.cli import _hardware
from srkit.datasets import DataUnavailableError, sample_images, train_val_split
from srkit.models import get_model, list_models
from srkit.train import fit, to_y_pairs

SETTINGS = {"srcnn": (64, 11), "srcnn_955": (64, 11)}     # (batch, LR patch); the rest use (16, 24)


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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
