"""Measure shipped weights on the test sets with `srkit bench` and write the numbers into their JSON.

    python tools/record_metrics.py srkit/weights/sparse_x3.json [...]     (default: every JSON in srkit/weights)
    python tools/record_metrics.py --readme srkit/weights/fsrcnn_x3.json  (and copy them into README.md's table)

The numbers are kept as measured, not rounded: the README rounds them once, as `srkit bench --markdown` does, so
its two tables cannot disagree in the last digit. Test sets are for this final report only: nothing reads these
numbers back to choose anything.
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
README = Path(__file__).resolve().parents[1] / "README.md"
TABLE_HEADER = "| Method | parameters | Set5 x2 |"      # the README's table of shipped networks


def method_for(path: Path) -> str:
    """The bench method of a weights file: its name without ``_x<scale>`` (sparse_x3 -> sparse, fsrcnn_s_x3 ->
    fsrcnn_s)."""
    return path.stem.rpartition("_x")[0]


def readme_cells(meta: dict) -> dict[int, str]:
    """The README table's cells for one weights JSON, by column: Set5 and Set14 "PSNR / SSIM" at the JSON's scale
    (columns 2-4 and 5-7 hold x2, x3, x4) and, at x4, NIQE on Set5 (column 8)."""
    scale, metrics = meta["scale"], meta["test_metrics"]
    cells = {first + scale - 2: f"{metrics[dataset]['psnr']:.2f} / {metrics[dataset]['ssim']:.4f}"
             for dataset, first in (("Set5", 2), ("Set14", 5))}
    if scale == 4:
        cells[8] = f"{metrics['Set5']['niqe']:.2f}"
    return cells


def update_readme(text: str, files: list[Path]) -> str:
    """``text`` (the README) with the row of each weights JSON in ``files`` rewritten from its test_metrics."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(TABLE_HEADER))
    for path in files:
        meta = json.loads(path.read_text())
        if "test_metrics" not in meta:
            continue
        row = next((j for j in range(start + 2, len(lines)) if lines[j].startswith(f"| {method_for(path)} |")), None)
        if row is None:
            raise SystemExit(f"README.md's table of shipped networks has no row for {method_for(path)}: add one")
        cells = [cell.strip() for cell in lines[row].strip().strip("|").split("|")]
        for column, value in readme_cells(meta).items():
            cells[column] = value
        lines[row] = "| " + " | ".join(cells) + " |"
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--readme", action="store_true", help="also rewrite these networks' rows in README.md")
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
            results[dataset] = {"psnr": r["psnr"], "ssim": r["ssim"], "niqe": r["niqe"],
                                "seconds_per_image": round(r["seconds"], 3)}
            print(f"{path.name}: {dataset} x{meta['scale']} {r['psnr']:.2f} dB / {r['ssim']:.4f} / NIQE "
                  f"{r['niqe']:.2f}")
        meta["test_metrics"] = {"measured_by": f"srkit bench --method {method_for(path)} --scale {meta['scale']} "
                                               "--metrics psnr,ssim,niqe",
                                "date": datetime.date.today().isoformat(), "hardware": _hardware(), **results}
        path.write_text(json.dumps(meta, indent=2) + "\n")
    if args.readme:
        README.write_text(update_readme(README.read_text(), files))
        print(f"updated {README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
