"""Shared fixtures. Tests that need benchmark data read it from $SRKIT_DATA (CI points it at ../shared/data)
and are skipped, with a reason, when it is not there: the suite passes offline."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

ROOT = Path(__file__).resolve().parents[1]


def _reference_dir() -> Path | None:
    """MATLAB's own files for the protocol (`matlab_reference/` in the shared data folder)."""
    candidates = [Path(os.environ["SRKIT_DATA"]) / "matlab_reference"] if os.environ.get("SRKIT_DATA") else []
    candidates.append(ROOT.parent / "shared" / "data" / "matlab_reference")
    return next((c for c in candidates if c.is_dir()), None)


@pytest.fixture(scope="session")
def matlab_reference() -> Path:
    ref = _reference_dir()
    if ref is None:
        pytest.skip("MATLAB reference files not found (set SRKIT_DATA to the shared data folder)")
    return ref


def require_dataset(name: str) -> None:
    from srkit.datasets import is_available
    if not is_available(name):
        pytest.skip(f"{name} not in SRKIT_DATA ({os.environ.get('SRKIT_DATA', 'unset')})")


@pytest.fixture(scope="module")
def hr() -> np.ndarray:
    """A 128x128 RGB crop of scikit-image's astronaut (no download)."""
    import srkit
    return srkit.sample_images(["astronaut"])["astronaut"][:128, 128:256].copy()


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")
