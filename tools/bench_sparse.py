"""Time sparse-coding SR on a whole test set (default Set5 x3) with the shipped dictionary.

Two encoders, in one run, alternating: srkit's batched OMP (``srkit.sparse.omp``) and scikit-learn's
``orthogonal_mp_gram`` (one signal at a time). Both must give the same PSNR; the ratio of their times is what
the batching buys. The target of the course: the whole of Set5 x3 in at most 60 s on 2 CPU cores.
Numbers vary 2-3x between runs on a shared CPU; only the ratio measured in one run means anything.

    SRKIT_DATA=... python tools/bench_sparse.py [--dataset Set5] [--scale 3] [--repeats 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from sklearn.linear_model import orthogonal_mp_gram

from srkit import bench, sparse
from srkit.cli import _hardware


def sklearn_encode(model: sparse.SparseSR):
    def encode(features):
        d = model.dict_lr
        return orthogonal_mp_gram(d @ d.T, d @ features.T, n_nonzero_coefs=model.n_nonzero).T
    return encode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="Set5")
    parser.add_argument("--scale", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(f"{_hardware()}, torch threads {torch.get_num_threads()}")
    model = sparse.pretrained(args.scale)
    reference = sparse.pretrained(args.scale)
    reference.encode = sklearn_encode(reference)           # same model, scikit-learn's encoder
    times = {"srkit batched OMP": [], "scikit-learn OMP": []}
    psnrs = {}
    for _ in range(args.repeats):
        for name, m in (("srkit batched OMP", model), ("scikit-learn OMP", reference)):
            start = time.perf_counter()
            result = bench.run(m, args.dataset, args.scale)
            times[name].append(time.perf_counter() - start)
            psnrs[name] = result["psnr"]
    print(f"\n{args.dataset} x{args.scale}, whole set (load, LR, SR, metrics):")
    for name, t in times.items():
        print(f"  {name:<20} median {statistics.median(t):6.1f} s   PSNR {psnrs[name]:.3f} dB")
    fast, slow = statistics.median(times["srkit batched OMP"]), statistics.median(times["scikit-learn OMP"])
    print(f"  batching speed-up: {slow / fast:.1f}x (same run)")
    print(f"  target <= 60 s for the whole set: {'MET' if fast <= 60 else 'NOT MET'} ({fast:.1f} s)")
    assert abs(psnrs["srkit batched OMP"] - psnrs["scikit-learn OMP"]) < 1e-3, "the two encoders disagree"


if __name__ == "__main__":
    main()
