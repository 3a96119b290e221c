"""Carry the training sets to a machine that cannot download them, and run ``srkit`` there on them.

The GPU machines lent to this project take at most 64 MiB of files per call, and T91 + BSD200 are 66 MB as
they are registered (BMP and PNG). Lossless WebP holds the same pixels in about two thirds of the space:

    python tools/device_data.py pack .gpudata                 # here: WebP copies + manifest.json
    python tools/device_data.py unpack .gpudata /tmp/srdata   # there: decode, check every pixel
    SRKIT_DATA=/tmp/srdata python tools/device_data.py srkit .gpudata train --model srresnet ...

``unpack`` writes each image back under its registered name and checks the sha256 of its pixels against the
original's (taken by ``pack``). The files' bytes differ from the registered ones (another encoder), so
``srkit`` would not accept them by their sha256: the ``srkit`` subcommand marks them as verified for
``srkit.datasets`` (by the registered sha256, after checking the pixels again) and then runs ``srkit`` with
the given arguments, which is what the shipped GPU runs did (their JSON records the ``srkit train`` command).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

TRAIN_SETS = ("T91", "BSD200")


def _pixels_sha(image: Image.Image) -> str:
    return hashlib.sha256(np.asarray(image).tobytes()).hexdigest()


def pack(out: Path, datasets=TRAIN_SETS, limit: int | None = None) -> list[dict]:
    """Lossless WebP copies of the datasets' registered files in ``out/<dataset>/``, and ``out/manifest.json``."""
    from srkit.datasets import fetch, registry

    manifest = []
    for name in datasets:
        (out / name).mkdir(parents=True, exist_ok=True)
        paths = fetch(name, progress=False)[:limit]
        for path, (file, sha, _url) in zip(paths, registry()[name]):
            image = Image.open(path)
            image.load()
            copy = out / name / f"{file}.webp"
            image.save(copy, lossless=True, quality=60, method=4)
            pixels = _pixels_sha(image)
            with Image.open(copy) as back:
                if _pixels_sha(back.convert(image.mode)) != pixels:
                    raise RuntimeError(f"{copy}: the WebP copy does not hold the same pixels as {path}")
            manifest.append({"dataset": name, "file": file, "sha256": sha, "mode": image.mode,
                             "format": image.format, "pixels": pixels})
    (out / "manifest.json").write_text(json.dumps(manifest, indent=0))
    return manifest


def _unpack_one(args) -> str:
    src, root, entry = args
    with Image.open(src / entry["dataset"] / f"{entry['file']}.webp") as image:
        image = image.convert(entry["mode"])
    if _pixels_sha(image) != entry["pixels"]:
        raise RuntimeError(f"{entry['dataset']}/{entry['file']}: decoded pixels differ from the original's")
    path = root / entry["dataset"] / entry["file"]
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format=entry["format"])
    return str(path)


def unpack(src: Path, root: Path, workers: int = 8) -> list[Path]:
    """Decode ``pack``'s copies into ``root/<dataset>/<file>``; every image's pixels are checked."""
    jobs = [(src, root, entry) for entry in json.loads((src / "manifest.json").read_text())]
    if workers == 1:
        return [Path(p) for p in map(_unpack_one, jobs)]
    with ProcessPoolExecutor(workers) as pool:
        return [Path(p) for p in pool.map(_unpack_one, jobs)]


def mark_verified(src: Path) -> int:
    """Tell ``srkit.datasets`` that the unpacked files (in its data folder) are the registered ones, after
    checking that each file's pixels are the original's. Returns how many files were marked."""
    from srkit import datasets

    root = datasets.data_dir()
    manifest = json.loads((src / "manifest.json").read_text())
    for entry in manifest:
        path = root / entry["dataset"] / entry["file"]
        with Image.open(path) as image:
            if _pixels_sha(image) != entry["pixels"]:
                raise RuntimeError(f"{path}: its pixels are not the original's; run `unpack` again")
        datasets.mark_verified(path, entry["sha256"])
    return len(manifest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="WebP copies of T91 and BSD200 (from $SRKIT_DATA) and a manifest")
    p.add_argument("out", type=Path)
    u = sub.add_parser("unpack", help="decode the copies into a data folder, checking every pixel")
    u.add_argument("src", type=Path)
    u.add_argument("root", type=Path)
    r = sub.add_parser("srkit", help="run srkit on the unpacked images ($SRKIT_DATA)")
    r.add_argument("src", type=Path)
    r.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.command == "pack":
        manifest = pack(args.out)
        size = sum(f.stat().st_size for f in args.out.rglob("*.webp"))
        print(f"{len(manifest)} images, {size / 2**20:.1f} MiB of lossless WebP in {args.out}")
    elif args.command == "unpack":
        print(f"{len(unpack(args.src, args.root))} images decoded into {args.root}, pixels identical to the originals")
    else:
        import torch
        from srkit.cli import main as srkit_main

        print(f"{mark_verified(args.src)} unpacked images checked", file=sys.stderr)
        torch.backends.cudnn.benchmark = True      # fixed patch shapes: let cuDNN pick its fastest kernels
        return srkit_main(args.args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
