"""The ``srkit`` command line: ``srkit bench``, ``srkit upscale``, ``srkit download``.

Examples::

    srkit bench --method bicubic --dataset Set5 --scale 4
    srkit bench --methods nearest,bicubic --datasets Set5,Set14 --scale 4 --json
    srkit upscale photo.png -o photo_x4.png -s 4 -m bicubic
    srkit download Set14
"""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["main"]


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _bench(args) -> int:
    from . import bench
    from .datasets import DataUnavailableError

    methods = _split(args.methods or args.method)
    datasets = _split(args.datasets or args.dataset)
    unknown = [m for m in methods if m not in bench.METHODS]
    if unknown:
        print(f"srkit bench: unknown method(s) {', '.join(unknown)}; available: {', '.join(bench.METHODS)}",
              file=sys.stderr)
        return 2
    results, missing = [], {}
    for dataset in datasets:
        for method in methods:
            if dataset in missing:
                results.append({"method": method, "dataset": dataset, "scale": args.scale, "missing": missing[dataset]})
                continue
            try:
                result = bench.run(method, dataset, args.scale, progress=not args.json and sys.stderr.isatty())
            except DataUnavailableError as e:
                missing[dataset] = str(e)
                print(f"srkit bench: {dataset} skipped: {e}", file=sys.stderr)
                results.append({"method": method, "dataset": dataset, "scale": args.scale, "missing": str(e)})
                continue
            results.append(result)
            if not args.json and not args.markdown:
                print(bench.format_table(result) + "\n")
    if args.json:
        print(json.dumps(results[0] if len(results) == 1 else results, indent=2))
    elif args.markdown:
        print(bench.format_markdown(results))
    return 1 if len(missing) == len(datasets) else 0


def _upscale(args) -> int:
    from . import bench
    from .io import load_image, save_image

    if args.method not in bench.METHODS:
        print(f"srkit upscale: unknown method {args.method!r}; available: {', '.join(bench.METHODS)}", file=sys.stderr)
        return 2
    image = load_image(args.input)
    sr = bench.METHODS[args.method](image, args.scale)
    out = args.output or args.input.rsplit(".", 1)[0] + f"_{args.method}_x{args.scale}.png"
    save_image(out, sr)
    print(f"{args.input} {image.shape[1]}x{image.shape[0]} -> {out} {sr.shape[1]}x{sr.shape[0]} ({args.method})")
    return 0


def _download(args) -> int:
    from .datasets import DATASETS, fetch

    for name in args.datasets or list(DATASETS):
        paths = fetch(name)
        print(f"{name}: {len(paths)} files in {paths[0].parent}")
    return 0


def _scale(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"scale must be an integer, got {text!r}") from None
    if value < 2 or value > 16:
        raise argparse.ArgumentTypeError(f"scale must be between 2 and 16, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="srkit", description="Single-image super-resolution toolkit.")
    sub = parser.add_subparsers(dest="command", required=True)

    b = sub.add_parser("bench", help="PSNR/SSIM of methods on datasets, by the standard protocol")
    b.add_argument("--method", default="bicubic", help="one method (default: bicubic)")
    b.add_argument("--methods", help="comma-separated methods, e.g. nearest,bicubic")
    b.add_argument("--dataset", default="Set5", help="one dataset (default: Set5)")
    b.add_argument("--datasets", help="comma-separated datasets, e.g. Set5,Set14,BSD100")
    b.add_argument("--scale", "-s", type=_scale, default=4)
    out = b.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON (a list when several results)")
    out.add_argument("--markdown", action="store_true", help="print one Markdown table")
    b.set_defaults(func=_bench)

    u = sub.add_parser("upscale", help="upscale an image file")
    u.add_argument("input")
    u.add_argument("-o", "--output", help="output file (default: <input>_<method>_x<scale>.png)")
    u.add_argument("-s", "--scale", type=_scale, default=4)
    u.add_argument("-m", "--method", default="bicubic")
    u.set_defaults(func=_upscale)

    d = sub.add_parser("download", help="download (and checksum) benchmark datasets into $SRKIT_DATA")
    d.add_argument("datasets", nargs="*", help="dataset names (default: all)")
    d.set_defaults(func=_download)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .datasets import DataUnavailableError
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, DataUnavailableError) as e:
        print(f"srkit {args.command}: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
