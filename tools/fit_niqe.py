"""Fit NIQE's pristine model (mean and covariance of patch features) on photographs srkit has, offline.

    SRKIT_DATA=../shared/data python tools/fit_niqe.py --data BSD200 --out srkit/weights/niqe_bsd200.json

The model is a JSON of 36 means and a 36x36 covariance, with the command and the data that made it.
BSD200 is a training set: no test image (Set5, Set14, BSD100, Urban100) is used.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import sys
import time
from pathlib import Path

from srkit.datasets import load_dataset
from srkit.niqe import PATCH, SHARPNESS, fit_niqe_model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="BSD200", help="comma-separated training sets")
    parser.add_argument("--patch", type=int, default=PATCH)
    parser.add_argument("--sharpness", type=float, default=SHARPNESS)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    start = time.perf_counter()
    images = {}
    for name in args.data.split(","):
        images.update({f"{name}/{k}": v for k, v in load_dataset(name).items()})
    model = fit_niqe_model(images.values(), args.patch, args.sharpness)
    info = {"what": "NIQE pristine model (Mittal et al. 2013): mean and covariance of 36 patch features",
            "command": "python tools/fit_niqe.py " + shlex.join(sys.argv[1:]), "data": args.data,
            "n_images": len(images), "seconds": round(time.perf_counter() - start, 1),
            "date": datetime.date.today().isoformat(), **model}
    args.out.write_text(json.dumps(info, indent=1) + "\n")
    print(f"{len(images)} images, {model['n_patches']} patches -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
