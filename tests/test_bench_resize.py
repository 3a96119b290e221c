"""Cross-check two independent MATLAB-imresize implementations: tools/bench_resize.numpy_imresize vs srkit."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from srkit import imresize

_PATH = Path(__file__).resolve().parents[1] / "tools" / "bench_resize.py"
_spec = importlib.util.spec_from_file_location("bench_resize", _PATH)
bench_resize = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench_resize)


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(37, 53, 3), dtype=np.uint8)


@pytest.mark.parametrize("scale", [1 / 2, 1 / 3, 1 / 4, 2, 3, 0.7])
def test_numpy_reference_equals_srkit_scale(image, scale) -> None:
    got = bench_resize.numpy_imresize(image, scale)
    ref = imresize(image, scale)
    assert got.shape == ref.shape and got.dtype == np.uint8
    np.testing.assert_array_equal(got, ref)


def test_numpy_reference_equals_srkit_size(image) -> None:
    np.testing.assert_array_equal(bench_resize.numpy_imresize(image, size=(20, 31)), imresize(image, size=(20, 31)))


def test_numpy_reference_grayscale() -> None:
    g = np.random.default_rng(1).integers(0, 256, size=(29, 41), dtype=np.uint8)
    np.testing.assert_array_equal(bench_resize.numpy_imresize(g, 1 / 3), imresize(g, 1 / 3))
