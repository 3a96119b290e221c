"""tools/bench_train.py's per-patch loop (what PatchSampler replaced) and srkit's PatchSampler draw the same patches
with the same frequencies: every corner and orientation of an image equally often, images in proportion to their
pixels."""
from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from srkit.train import PatchSampler

_PATH = Path(__file__).resolve().parents[1] / "tools" / "bench_train.py"
_spec = importlib.util.spec_from_file_location("bench_train", _PATH)
bench_train = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_train)


def test_the_sampler_and_the_per_patch_loop_draw_the_same_distribution():
    # Two images with distinct pixel values; LR patch 3 at x2. The 4x4 image has 2 x 2 corners, the 3x12 one 1 x 10;
    # turned and mirrored, 8 x (4 + 10) = 112 distinct LR patches, the first image's drawn 16/52 of the time.
    lrs = [np.arange(16, dtype=np.float32).reshape(4, 4), 100 + np.arange(36, dtype=np.float32).reshape(3, 12)]
    pairs = [(lr, lr.repeat(2, 0).repeat(2, 1)) for lr in lrs]
    sampler = PatchSampler(pairs, 2, 3, 256, seed=0)
    rng = np.random.default_rng(1)
    counts = {"sampler": Counter(), "loop": Counter()}
    for _ in range(80):                                                  # 20,480 patches each
        for source, (lr, hr) in (("sampler", sampler()), ("loop", bench_train.per_patch_batch(sampler, rng))):
            lr, hr = np.asarray(lr), np.asarray(hr)
            assert np.array_equal(hr, lr.repeat(2, 2).repeat(2, 3))     # HR aligned with LR, turned the same way
            counts[source].update(patch.tobytes() for patch in lr[:, 0])
    assert set(counts["sampler"]) == set(counts["loop"]) and len(counts["sampler"]) == 112
    for source, count in counts.items():
        n = sum(count.values())
        first = sum(c for key, c in count.items() if np.frombuffer(key, np.float32)[0] < 100)
        assert abs(first / n - 16 / 52) < 0.02, (source, first / n)      # images by pixel count (sd ~0.003)
        for image, corners, share in ((0, 4, 16 / 52), (1, 10, 36 / 52)):
            each = [c for key, c in count.items() if (np.frombuffer(key, np.float32)[0] >= 100) == image]
            expected = n * share / (8 * corners)                         # every corner x orientation equally
            assert len(each) == 8 * corners and max(abs(c - expected) for c in each) < 0.35 * expected, source


def test_scale_augment_adds_each_image_downscaled_by_matlab_bicubic():
    from srkit.resize import imresize
    from srkit.train import scale_augment
    rng = np.random.default_rng(0)
    images = {"a": rng.integers(0, 256, (40, 50, 3), dtype=np.uint8), "b": rng.integers(0, 256, (30, 30), np.uint8)}
    out = scale_augment(images, [0.9, 0.6])
    assert list(out) == ["a", "b", "a@0.9", "b@0.9", "a@0.6", "b@0.6"]
    assert out["a"] is images["a"]                                  # the originals stay as they are
    assert out["a@0.6"].shape == (24, 30, 3) and out["b@0.9"].shape == (27, 27)
    assert out["a@0.6"].dtype == np.uint8 and np.array_equal(out["a@0.6"], imresize(images["a"], 0.6))
    assert scale_augment(images, []) == images
    for bad in ([1.0], [0], [1.5], [0.05]):
        with pytest.raises(ValueError, match="between 0.1 and 1"):
            scale_augment(images, bad)
    with pytest.raises(ValueError, match="0.9 is given twice"):
        scale_augment(images, [0.9, 0.90000001])              # the same name: one would replace the other
