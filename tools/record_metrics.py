"""Measure shipped weights on the test sets with `srkit bench` and write the numbers into their JSON.

    python tools/record_metrics.py srkit/weights/sparse_x3.json [...]     (default: every JSON in srkit/weights)

Test sets are for this final report only: nothing reads these numbers back to choose anything.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

from srkit import bench
from srkit.cli import _hardware
from srkit.datasets import is_available

TEST_SETS = ["Set5", "Set14", "BSD100", "Urban100"]


def method_for(path: Path) -> str:
    """The bench method of a weights file: its name without ``_x<scale>`` (sparse_x3 -> sparse, fsrcnn_s_x3 ->
    fsrcnn_s)."""
    return path.stem.rpartition("_x")[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args()
    files = args.files or sorted(Path(bench.__file__).with_name("weights").glob("*.json"))
    for path in files:
        meta = json.loads(path.read_text())
        if "scale" not in meta:          # not a model (the NIQE model lives here too)
            continue
        results = {}
        for dataset in TEST_SETS:
            if not is_available(dataset):
                print(f"{path.name}: {dataset} not available, skipped", file=sys.stderr)
                continue
            r = bench.run(method_for(path), dataset, meta["scale"], metrics=("psnr", "ssim", "niqe"))
            results[dataset] = {"psnr": round(r["psnr"], 4), "ssim": round(r["ssim"], 5),
                                "niqe": round(r["niqe"], 4) if r["niqe"] is not None else None,
                                "seconds_per_image": round(r["seconds"], 3)}
            print(f"{path.name}: {dataset} x{meta['scale']} {r['psnr']:.2f} dB / {r['ssim']:.4f} / NIQE "
                  f"{r['niqe']:.2f}")
        meta["test_metrics"] = {"measured_by": f"srkit bench --method {method_for(path)} --scale {meta['scale']} "
                                               "--metrics psnr,ssim,niqe",
                                "date": datetime.date.today().isoformat(), "hardware": _hardware(), **results}
        path.write_text(json.dumps(meta, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
