"""The README's figure: one image at x4 through every method of the course, a detail of each enlarged.

    python tools/readme_figure.py --out data/readme_x4.png

The image is one of scikit-image's bundled samples (no benchmark image is copied into the repository);
its LR is made by the protocol (modcrop, MATLAB bicubic). Titles carry PSNR / SSIM on Y against the HR.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from srkit import bench, plot  # noqa: E402
from srkit.datasets import sample_images  # noqa: E402
from srkit.resize import imresize, modcrop  # noqa: E402

METHODS = ["nearest", "bicubic", "sparse", "fsrcnn", "espcn", "srresnet", "srgan"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="chelsea", help="a name from srkit.sample_images()")
    parser.add_argument("--box", default="120,170,96,128", help="detail: top,left,height,width in HR pixels")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    hr = modcrop(sample_images([args.image])[args.image], args.scale)
    lr = imresize(hr, 1 / args.scale)
    panels = {m: bench.METHODS[m](lr, args.scale) for m in args.methods.split(",")}
    panels["HR"] = hr
    box = tuple(int(v) for v in args.box.split(","))
    fig = plot.compare(panels, ref=hr, zoom=box, crop_border=args.scale, ncols=4,
                       suptitle=f"{args.image}, x{args.scale}: PSNR (dB) / SSIM on Y against HR")
    fig.savefig(args.out, dpi=80)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
