"""Speed of srkit's networks on this CPU: images/s, achieved GFLOP/s, the machine's conv ceiling, and ONNX Runtime.

What it measures, in ONE run (contenders alternated, the median of ``--repeats`` timings each):

* every network of ``srkit.models`` (shipped weights when present: speed does not depend on them) on one
  LR image of ``--width`` x ``--height`` (default 640x360, upscaled x3 to 1920x1080), Y channel, in PyTorch
  eager mode with the default thread count;
* the same model exported to ONNX (``torch.onnx.export`` at this input size) and run by onnxruntime's CPU
  provider with the same number of threads; the script asserts both give the same output (max |diff| < 1e-4);
* GFLOP/s achieved = 2 x multiply-adds (``srkit.models.count_macs``) / seconds, beside the **conv ceiling**:
  the GFLOP/s of one large, well-shaped 3x3 convolution (64 -> 64 channels on the HR size), about the best
  this machine does on a convolution, and of a 2048x2048 matrix multiply.

Small layers (1 input channel, 1x1 shrinking, the transposed convolution) run far below the ceiling: the
ratio column says how far. Absolute numbers vary 2-3x on a shared CPU; compare ratios within one run.

    .venv/bin/python tools/bench_models.py [--scale 3] [--width 640 --height 360] [--repeats 5] [--no-onnx]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from srkit.cli import _hardware
from srkit.models import count_macs, get_model, input_channels, list_models, weights_path


def median_seconds(fn, repeats: int) -> float:
    fn()                                          # warm-up: allocations, oneDNN primitive creation
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def conv_ceiling(h: int, w: int, repeats: int) -> float:
    """GFLOP/s of a 3x3, 64 -> 64 convolution on (1, 64, h, w): a best case for a conv layer here."""
    x, weight = torch.rand(1, 64, h, w), torch.rand(64, 64, 3, 3)
    with torch.no_grad():
        seconds = median_seconds(lambda: F.conv2d(x, weight, padding=1), repeats)
    return 2 * h * w * 64 * 64 * 9 / seconds / 1e9


def matmul_ceiling(repeats: int, n: int = 2048) -> float:
    a, b = torch.rand(n, n), torch.rand(n, n)
    return 2 * n**3 / median_seconds(lambda: a @ b, repeats) / 1e9


def load(name: str, scale: int) -> tuple[torch.nn.Module, str]:
    if weights_path(name, scale).is_file():
        return get_model(name, scale=scale, weights="default").eval(), "shipped"
    return get_model(name, scale=scale).eval(), "random init"


def onnx_session(model: torch.nn.Module, x: torch.Tensor, folder: Path, name: str):
    """Export ``model`` at ``x``'s size and open an onnxruntime session with torch's thread count."""
    import onnxruntime as ort
    path = folder / f"{name}.onnx"
    with warnings.catch_warnings():               # the tracer warns about Python control flow in imresize
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(path), input_names=["lr"], output_names=["sr"], dynamo=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=3)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--repeats", type=int, default=5)
    # RCAN (15.6 M parameters) takes minutes per 1080p frame on a CPU: ask for it with --models.
    parser.add_argument("--models", default=",".join(m for m in list_models() if m != "rcan"))
    parser.add_argument("--no-onnx", action="store_true", help="skip the ONNX Runtime column")
    args = parser.parse_args()
    try:
        import onnxruntime
    except ImportError:
        onnxruntime = None
        if not args.no_onnx:
            print("onnxruntime is not installed (pip install onnxruntime onnx): the ONNX column is skipped")
    use_onnx = onnxruntime is not None and not args.no_onnx
    h, w, s = args.height, args.width, args.scale
    inputs = {c: torch.rand(1, c, h, w, generator=torch.Generator().manual_seed(0)) for c in (1, 3)}
    print(f"{_hardware()}; torch {torch.__version__}"
          + (f", onnxruntime {onnxruntime.__version__}" if use_onnx else "") + f"; Python {platform.python_version()}")
    print(f"input {w}x{h} (Y, or RGB for the RGB networks) -> x{s} = {w * s}x{h * s}; median of {args.repeats} "
          "runs each\n")
    ceiling = conv_ceiling(h * s, w * s, args.repeats)
    print(f"conv ceiling (3x3, 64->64 on {w * s}x{h * s}): {ceiling:.1f} GFLOP/s; "
          f"matmul 2048^2: {matmul_ceiling(args.repeats):.1f} GFLOP/s\n")
    header = f"{'model':<10} {'weights':<11} {'MACs/px':>8} {'GMACs':>7} {'torch s':>8} {'img/s':>6} " \
             f"{'GFLOP/s':>8} {'of ceil':>7}" + (f" {'onnx s':>7} {'torch/onnx':>10}" if use_onnx else "")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad():
        for name in args.models.split(","):
            model, source = load(name, s)
            x = inputs[input_channels(model)]
            macs = count_macs(model, h, w)
            torch_s = median_seconds(lambda: model(x), args.repeats)
            gflops = 2 * macs / torch_s / 1e9
            line = (f"{name:<10} {source:<11} {macs / (h * w * s * s):>8.0f} {macs / 1e9:>7.2f} {torch_s:>8.3f} "
                    f"{1 / torch_s:>6.2f} {gflops:>8.1f} {gflops / ceiling:>7.0%}")
            if use_onnx:
                session = onnx_session(model, x, Path(tmp), name)
                feed = {"lr": x.numpy()}
                diff = (torch.from_numpy(session.run(None, feed)[0]) - model(x)).abs().max().item()
                assert diff < 1e-4, f"{name}: ONNX output differs from torch by {diff}"
                onnx_s = median_seconds(lambda: session.run(None, feed), args.repeats)
                line += f" {onnx_s:>7.3f} {torch_s / onnx_s:>10.2f}"
            print(line)
    print("\nMACs/px: multiply-adds per output (HR) pixel; 'of ceil': achieved GFLOP/s / conv ceiling;"
          "\ntorch/onnx > 1 means onnxruntime is faster.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
