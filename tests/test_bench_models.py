"""tools/bench_models.py runs end to end on a tiny input, and its ONNX export reproduces every model's output."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "bench_models.py"


def test_bench_models_runs_and_onnx_matches_torch():
    pytest.importorskip("onnxruntime")
    out = subprocess.run([sys.executable, str(SCRIPT), "--width", "24", "--height", "16", "--repeats", "1"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]     # the script asserts ONNX == torch for every model
    for name in ["srcnn", "fsrcnn", "espcn", "fsrcnn_s", "srcnn_955"]:
        assert any(line.startswith(name + " ") for line in out.stdout.splitlines()), out.stdout
    assert "conv ceiling" in out.stdout and "torch/onnx" in out.stdout
