"""The ``srkit`` command line: ``srkit bench``, ``srkit upscale``, ``srkit train``, ``srkit download``.

Examples::

    srkit bench --method bicubic --dataset Set5 --scale 4
    srkit bench --methods nearest,bicubic --datasets Set5,Set14 --scale 4 --json
    srkit bench --dataset BSD100 --offline       # report BSD100 as missing rather than download it
    srkit upscale photo.png -o photo_x4.png -s 4 -m bicubic
    srkit train --model fsrcnn --scale 3 --data T91,BSD200 --minutes 60 --out runs/fsrcnn_x3
    srkit download Set14
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import sys

__all__ = ["main"]


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _bench(args) -> int:
    from tqdm.auto import tqdm

    from . import bench
    from .datasets import DATASETS, DataUnavailableError, offline

    methods = _split(args.methods if args.methods is not None else args.method)
    datasets = _split(args.datasets if args.datasets is not None else args.dataset)
    metrics = tuple(_split(args.metrics))
    if not methods or not datasets:
        print(f"srkit bench: no {'method' if not methods else 'dataset'} given", file=sys.stderr)
        return 2
    unknown_data = [d for d in datasets if d not in DATASETS]
    if unknown_data:                                  # before anything is measured
        print(f"srkit bench: unknown dataset(s) {', '.join(unknown_data)}; available: {', '.join(DATASETS)}",
              file=sys.stderr)
        return 2
    bad_metrics = [m for m in metrics if m not in bench.METRICS]
    if bad_metrics or not {"psnr", "ssim"} <= set(metrics):
        print(f"srkit bench: --metrics must include psnr,ssim and may add niqe; got {args.metrics!r}", file=sys.stderr)
        return 2
    unknown = [m for m in methods if m not in bench.METHODS]
    if unknown:
        print(f"srkit bench: unknown method(s) {', '.join(unknown)}; available: {', '.join(bench.METHODS)}",
              file=sys.stderr)
        return 2
    single = len(methods) == 1 and len(datasets) == 1
    results, missing = [], {}
    combos = [(d, m) for d in datasets for m in methods]
    for dataset, method in tqdm(combos, desc="srkit bench", disable=None if not single else True, leave=False):
        row = {"method": method, "dataset": dataset, "scale": args.scale}
        if dataset in missing:
            results.append({**row, "missing": missing[dataset]})
            continue
        try:
            with offline() if args.offline else contextlib.nullcontext():
                result = bench.run(method, dataset, args.scale, progress=single and not args.json
                                   and sys.stderr.isatty(), metrics=metrics)
        except DataUnavailableError as e:
            missing[dataset] = str(e)
            print(f"srkit bench: {dataset} skipped: {e}", file=sys.stderr)
            results.append({**row, "missing": str(e)})
            continue
        except bench.MethodUnavailable as e:        # e.g. a network without weights for this scale
            print(f"srkit bench: {method} x{args.scale} skipped: {e}", file=sys.stderr)
            results.append({**row, "unavailable": str(e)})
            continue
        results.append(result)
    if args.json:
        print(json.dumps(results[0] if single else results, indent=2))
    elif args.markdown:
        import datetime
        print(bench.format_markdown(results))
        what = "PSNR dB / SSIM on Y, shave = scale" + (" / NIQE on RGB, lower is more natural" if "niqe" in metrics
                                                        else "")
        print(f"\nMeasured {datetime.date.today().isoformat()} on {_hardware()} by `srkit {shlex.join(args.argv)}`"
              f" ({what}).")
    elif single and "psnr" in results[0]:
        print(bench.format_table(results[0]))
    else:
        print(bench.format_summary(results))
    measured = [r for r in results if "psnr" in r]
    return 0 if measured else 1                       # nothing measured (no data, no weights for this scale): an error


def _upscale(args) -> int:
    from . import bench
    from .io import ALPHA_FORMATS, image_format, load_alpha, load_image, save_image, what_load_leaves_out

    if args.method not in bench.METHODS:
        print(f"srkit upscale: unknown method {args.method!r}; available: {', '.join(bench.METHODS)}", file=sys.stderr)
        return 2
    from pathlib import Path

    import numpy as np

    from . import device as pick_device
    from .models import get_model, list_models
    from .resize import imresize
    from .upscale import upscale

    source = Path(args.input)
    image = load_image(args.input, keep_gray=True)   # gray stays gray; a missing or broken file is named here
    out = Path(args.output) if args.output else source.with_name(f"{source.stem}_{args.method}_x{args.scale}.png")
    if out.resolve() == source.resolve():
        print(f"srkit upscale: the output {out} is the input; choose another -o", file=sys.stderr)
        return 2
    if out.exists() and not out.is_dir() and not args.force:   # an earlier result (perhaps edited) must not vanish
        print(f"srkit upscale: {out} already exists; choose another -o, or add --force to replace it", file=sys.stderr)
        return 2
    fmt = image_format(out)              # an unknown extension or a missing folder: say so before the work
    alpha = load_alpha(source)
    if alpha is not None and fmt not in ALPHA_FORMATS:
        print(f"srkit upscale: note: {source} has transparency, which {fmt} cannot keep; the output is opaque "
              "(write .png to keep it)", file=sys.stderr)
        alpha = None
    network = args.method in list_models()
    if not network and (args.tile is not None or args.device):
        print(f"srkit upscale: --tile and --device apply to networks; {args.method} ignores them", file=sys.stderr)
    if network:                          # no weights for this scale, or no such device: said before the work
        model = get_model(args.method, scale=args.scale, weights="default", device=pick_device(args.device))
    for kind, note in what_load_leaves_out(source).items():
        if kind != "alpha":              # transparency is kept below, or its loss was noted above
            print(f"srkit upscale: note: {note}", file=sys.stderr)
    try:
        if network:                      # networks: tiled, so that large photos fit in memory
            sr = upscale(image, model, tile=args.tile or 256)
        else:
            sr = bench.METHODS[args.method](image, args.scale)
        if alpha is not None:            # transparency: upscaled by interpolation (a network sharpens only colour)
            kernel = "nearest" if args.method == "nearest" else "bicubic"
            rgb = sr if sr.ndim == 3 else np.repeat(sr[..., None], 3, axis=2)
            sr = np.concatenate([rgb, imresize(alpha, args.scale, method=kernel)[..., None]], axis=2)
    except ValueError as e:
        raise ValueError(f"upscaling {source}: {e}") from None
    except (MemoryError, RuntimeError) as e:
        if not isinstance(e, MemoryError) and "memory" not in str(e):
            raise
        h, w = image.shape[:2]
        raise ValueError(f"out of memory upscaling {source} ({w}x{h}) x{args.scale} to {w * args.scale}x"
                         f"{h * args.scale} pixels: try a smaller --tile, a smaller scale or a smaller image "
                         f"({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None
    save_image(out, sr)
    print(f"{args.input} {image.shape[1]}x{image.shape[0]} -> {out} {sr.shape[1]}x{sr.shape[0]} ({args.method})")
    return 0


def _hardware() -> str:
    import platform

    import torch
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    threads = torch.get_num_threads()
    return f"{cpu}, {threads} thread{'' if threads == 1 else 's'}{gpu}"


class _RunLog:
    """``log(line)`` of a training run: to stdout at once, and to ``<out>.log`` from ``start()`` on, so that a run
    that fails while it is set up (data missing, bad --init-from) leaves the log of an earlier run as it was."""

    def __init__(self, path, append: bool):
        self.path, self.append, self.file, self.pending = path, append, None, []

    def __call__(self, line: str) -> None:
        print(line, flush=True)
        if self.file is None:
            self.pending.append(line)
        else:
            self.file.write(line + "\n")
            self.file.flush()

    def start(self) -> None:
        self.file = open(self.path, "a" if self.append else "w")
        for line in self.pending:
            self.file.write(line + "\n")
        self.file.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def _resolve_init(text: str):
    """The weights file that ``--init-from`` names: a path (with or without ``.safetensors``) or a shipped name
    such as ``fsrcnn_x3``; a clear error otherwise."""
    from pathlib import Path

    from .models import list_models, shipped, weights_path
    path = Path(text)
    candidates = ([path.with_suffix(".safetensors")] if path.suffix in (".safetensors", ".json")
                  else [path.with_name(path.name + ".safetensors")])
    name, sep, scale = text.rpartition("_x")
    if not path.suffix and sep and scale.isdigit() and name in list_models():
        candidates.append(weights_path(name, int(scale)))
    for weights in candidates:
        if weights.is_file():
            if not weights.with_suffix(".json").is_file():
                raise FileNotFoundError(f"--init-from {text}: {weights} has no {weights.with_suffix('.json').name} "
                                        "beside it (the architecture is read from there)")
            return weights
    names = ", ".join(f"{n}_x{s}" for n, s in shipped() if n in list_models())
    raise FileNotFoundError(f"--init-from {text}: not a weights file (<path>.safetensors with its .json) nor shipped "
                            f"weights; shipped networks: {names}")


def _train(args) -> int:
    import json
    from pathlib import Path

    from .models import list_models
    from .train import check_loss_shave, check_same_run, checkpoint_exists

    if args.model != "sparse" and args.model not in list_models():
        print(f"srkit train: unknown model {args.model!r}; available: sparse, {', '.join(list_models())}",
              file=sys.stderr)
        return 2
    out = Path(args.out)
    if args.out.endswith(("/", "\\")) or out.is_dir():
        raise ValueError(f"--out {args.out} is a folder; --out names the run's files without their suffix "
                         f"(<out>.safetensors, .json, .log), e.g. --out {out / f'{args.model}_x{args.scale}'}")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"output folder {out.parent} does not exist")
    if args.model == "sparse":
        network_only = [flag for flag, value in (("--resume", args.resume), ("--checkpoint", args.checkpoint),
                                                 ("--init-from", args.init_from), ("--train-only", args.train_only),
                                                 ("--scale-aug", args.scale_aug), ("--loss-shave", args.loss_shave),
                                                 ("--ema", args.ema), ("--balance", args.balance != "pixels"),
                                                 ("--image-borders", args.image_borders))
                        if value]
        if network_only:
            print(f"srkit train: {', '.join(network_only)}: for networks only; sparse coding learns its dictionaries "
                  "in one go, without checkpoints", file=sys.stderr)
            return 2
    if args.model != "sparse":
        check_loss_shave(args.loss_shave, args.patch, args.scale)    # before a log or checkpoint is touched
        if args.image_borders and not args.loss_shave:
            raise ValueError("--image-borders keeps the patch sides on an image's border in the loss that "
                             "--loss-shave shaves: it needs --loss-shave N")
    if args.model == "srgan" and not args.init_from:
        raise ValueError("srgan needs --init-from <srresnet weights>: the paper starts the GAN from a trained "
                         "SRResNet, and so does srkit")
    args.init_path = _resolve_init(args.init_from) if args.init_from else None     # before anything is written
    finished = out.with_suffix(".safetensors")
    checkpoint = args.checkpoint = Path(args.checkpoint or f"runs/{out.name}.ckpt.safetensors")   # resolved once
    args.run_id = {"out": out.name, "model": args.model, "scale": args.scale}   # the same on any machine
    has_checkpoint = args.model != "sparse" and checkpoint_exists(checkpoint)
    resumable = args.resume and has_checkpoint
    args.resumed_commands = []                            # the commands of the run a --resume continues
    if has_checkpoint:
        saved = json.loads(checkpoint.with_suffix(".json").read_text())
        if args.resume:
            args.resumed_commands = saved.get("commands", [])
        theirs = saved.get("run")
        if args.resume and theirs and theirs != args.run_id:   # its weights would not even fit, or not be ours
            raise ValueError(f"{checkpoint} is the checkpoint of another run ({theirs['model']} x{theirs['scale']}, "
                             f"--out .../{theirs['out']}); resume that run with its own --model, --scale and --out, "
                             "or give this one its own --checkpoint")
        if args.resume and saved.get("scale_aug") != args.scale_aug:     # other images under the same random state
            raise ValueError(f"{checkpoint} was trained with --scale-aug {_factor_text(saved.get('scale_aug'))}, not "
                             f"{_factor_text(args.scale_aug)}; resume it with the same setting")
        if args.resume and args.model != "srgan":      # fit checks these too, but only once the log is reopened
            check_same_run(checkpoint, saved, ema=args.ema, loss_shave=args.loss_shave, balance=args.balance,
                           image_borders=args.image_borders)
        if not args.resume and not args.force:        # an interrupted run must not be overwritten by a restart
            print(f"srkit train: {checkpoint} holds a run at step {saved.get('step')}; continue it with --resume, "
                  "give this run another --checkpoint, or pass --force to start over and replace it", file=sys.stderr)
            return 2
    if finished.exists() and not (resumable or args.force):   # hours of training must not vanish by a repeated command
        how = "" if args.model == "sparse" else f", continue it from {checkpoint} with --resume"
        print(f"srkit train: {finished} already exists and a new run would replace it; choose another --out{how}, "
              "or pass --force to replace it", file=sys.stderr)
        return 2
    command = "srkit " + shlex.join(args.argv)
    log = _RunLog(out.with_suffix(".log"), append=args.resume)
    try:
        return (_train_sparse if args.model == "sparse" else _train_network)(args, command, log)
    finally:
        log.close()


def _train_network(args, command: str, log) -> int:
    import hashlib
    import json
    import platform
    import time
    from pathlib import Path

    from . import device as pick_device
    from .datasets import train_val_split
    from .models import VARIANTS, WEIGHTS, get_model, input_channels, save_weights
    from .train import fit, scale_augment, to_pairs

    out = Path(args.out)
    dev = pick_device(args.device)
    if dev.type == "cuda":          # one patch size while training: cuDNN times its kernels once and keeps the fastest
        import torch
        torch.backends.cudnn.benchmark = True
    start = time.perf_counter()
    if args.init_from:
        init = args.init_path                     # _train checked that it exists
        from .models import init_from, load_weights
        source = load_weights(init)
        source_meta = json.loads(init.with_suffix(".json").read_text())
        shipped = init.resolve().parent == WEIGHTS.resolve()      # recorded without this machine's path
        init_info = {"weights": f"srkit/weights/{init.name}" if shipped else str(init),
                     "sha256": hashlib.sha256(init.with_suffix(".safetensors").read_bytes()).hexdigest(),
                     **{k: source_meta[k] for k in ("commands", "train_seconds", "steps", "init_from")
                        if k in source_meta},
                     **({"scale_aug": source_meta["scale_aug"]} if source_meta.get("scale_aug") else {}),
                     **({"best_psnr": source_meta["validation"]["best_psnr"]}
                        if "best_psnr" in source_meta.get("validation", {}) else {})}
        # The same architecture (SRGAN's generator is an SRResNet) is rebuilt with the source's arguments, which a
        # variant's own (srcnn_955's 5x5 middle layer) and --model-args override.
        arch, preset = VARIANTS.get(args.model, (args.model, {}))
        same = source_meta.get("arch") == arch
        model = get_model(args.model, scale=args.scale,
                          **{**(source.init_kwargs if same else {}), **preset, **args.model_args})
        fresh = init_from(model, source)       # all layers but a scale-specific last one
        if set(fresh) == set(model.state_dict()):
            raise ValueError(f"--init-from {args.init_from}: none of its tensors fits {args.model} x{args.scale} (it "
                             f"holds a {type(source).__name__}); start from weights of the same network")
    else:
        model, init_info = get_model(args.model, scale=args.scale, **args.model_args), None
    train_images, val_images = train_val_split(args.data)
    log(f"{command}\ndata {args.data}: {len(train_images)} training images, {len(val_images)} held out for "
        f"validation; device {dev}")
    if args.init_from:
        log(f"initialised from {init}; not copied (shape differs): {', '.join(fresh) or 'none'}")
    channels = input_channels(model)
    train_pairs = to_pairs(scale_augment(train_images, args.scale_aug or ()), args.scale, channels)
    val_pairs = to_pairs(val_images, args.scale, channels)
    if args.scale_aug:
        usable = sum(min(lr.shape[:2]) >= args.patch for lr, _ in train_pairs)     # PatchSampler drops the others
        log(f"scale augmentation by {', '.join(f'{f:g}' for f in args.scale_aug)}: {len(train_pairs)} training images, "
            f"{usable} of them at least {args.patch} LR pixels on each side (the others are too small for a patch)")
    checkpoint = args.checkpoint                         # a Path: _train resolved its default
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    commands = args.resumed_commands + [command]           # a resumed run keeps the commands before it
    common = dict(steps=args.steps, minutes=args.minutes, batch_size=args.batch_size, patch=args.patch, lr=args.lr,
                  val_every=args.val_every, checkpoint=checkpoint, checkpoint_every=args.val_every,
                  resume=args.resume, device=dev, seed=args.seed, log=log,
                  checkpoint_meta={"commands": commands, "run": args.run_id, "scale_aug": args.scale_aug})
    if args.model == "srgan":
        history, extra = _fit_srgan(args, model, train_pairs, val_pairs, common, log)
    else:
        log.start()                                      # set up: from here on the run has its log file
        history = fit(model, train_pairs, val_pairs, args.scale, loss=args.loss, train_only=args.train_only,
                      loss_shave=args.loss_shave, image_borders=args.image_borders, ema=args.ema,
                      balance=args.balance, **common)
        extra = {"loss": args.loss, "train_only": args.train_only, "loss_shave": args.loss_shave,
                 "image_borders": args.image_borders, "ema": args.ema, "balance": args.balance,
                 "validation": {"images": list(val_images), "best_psnr": round(history["best_psnr"], 4),
                                "best_step": history["best_step"]}}
    extra.setdefault("validation", {})["images"] = list(val_images)
    meta = {"command": command, "commands": commands, "data": args.data, "n_train_images": len(train_images),
            **({"n_train_images_augmented": len(train_pairs)} if args.scale_aug else {}),
            "steps": history["step"][-1] if history["step"] else 0, "batch_size": args.batch_size,
            "patch": args.patch, "lr": args.lr, "scale_aug": args.scale_aug, **extra, "init_from": init_info,
            "hardware": _hardware(), "device": str(dev), "python": platform.python_version(),
            "train_seconds": round(history["seconds"], 1),
            "data_share": round(history["data_seconds"] / max(history["seconds"], 1e-9), 4)
            if "data_seconds" in history else None,
            "wall_seconds": round(time.perf_counter() - start, 1)}
    weights = save_weights(model, out, meta)          # the JSON gets the file's sha256
    val = meta["validation"]
    log(f"validation: {val.get('best_psnr', val.get('psnr'))} dB; wrote {weights}")
    return 0


def _fit_srgan(args, generator, train_pairs, val_pairs, common: dict, log) -> tuple[dict, dict]:
    """SRGAN: the generator (an SRResNet, from --init-from) against a new discriminator."""
    from .models.discriminator import Discriminator
    from .train import fit_gan

    if args.loss_shave or args.ema or args.balance != "pixels":       # --image-borders needs --loss-shave
        raise ValueError("--loss-shave, --ema and --balance apply to the pixel-loss training of srkit train, not to "
                         "srgan")
    if args.content == "vgg":
        from .losses import VGGLoss
        content = VGGLoss(weights=args.vgg_weights)
    else:
        content = args.content
    discriminator = Discriminator(n_feats=args.disc_feats, dense=args.disc_dense)
    log.start()                                          # set up: from here on the run has its log file
    log(f"discriminator: n_feats {args.disc_feats}, dense {args.disc_dense}, "
        f"{sum(p.numel() for p in discriminator.parameters())} parameters; content loss {args.content}, "
        f"adversarial weight {args.adv_weight}")
    history = fit_gan(generator, discriminator, train_pairs, val_pairs, args.scale, content=content,
                      adv_weight=args.adv_weight, keep=args.keep, max_psnr_drop=args.max_psnr_drop,
                      lr_d=args.lr_d, **common)
    kept = history["val_step"].index(history["best_step"])
    extra = {"loss": f"{args.content} + {args.adv_weight} x adversarial", "content": args.content,
             "adv_weight": args.adv_weight, "lr_d": args.lr_d if args.lr_d is not None else args.lr,
             "discriminator": {"n_feats": args.disc_feats, "dense": args.disc_dense,
                               "num_params": sum(p.numel() for p in discriminator.parameters())},
             "validation": {"psnr": round(history["val_psnr"][kept], 4), "niqe": round(history["val_niqe"][kept], 4),
                            "step_history": history["val_step"],
                            "psnr_history": [round(v, 4) for v in history["val_psnr"]],
                            "niqe_history": [round(v, 4) for v in history["val_niqe"]],
                            "kept_step": history["best_step"],
                            "kept": "last step" if args.keep == "last" else
                            f"lowest validation NIQE within {args.max_psnr_drop} dB of the starting PSNR"}}
    return history, extra


def _train_sparse(args, command: str, log) -> int:
    import platform
    import time
    from pathlib import Path

    from . import bench, sparse
    from .datasets import train_val_split

    out = Path(args.out)
    start = time.perf_counter()
    train_images, val_images = train_val_split(args.data)
    log(f"{command}\ndata {args.data}: {len(train_images)} training images, {len(val_images)} held out for validation")
    log.start()
    model = sparse.train(train_images, args.scale, n_atoms=args.atoms, n_patches=args.patches, alpha=args.alpha,
                         epochs=args.epochs, coupled=not args.uncoupled, back_projection=args.back_projection,
                         seed=args.seed)
    log(f"trained in {model.info['train_seconds']} s: {model.info['n_patches']} patches, PCA to "
        f"{model.info['pca_dims']} dims, {args.atoms} atoms")
    val = bench.run(model, val_images, args.scale)
    val_bicubic = bench.run("bicubic", val_images, args.scale)
    log(f"validation x{args.scale} (held-out training images): {val['psnr']:.3f} dB / {val['ssim']:.4f} "
        f"(bicubic {val_bicubic['psnr']:.3f} dB / {val_bicubic['ssim']:.4f})")
    model.info.update({"command": command, "data": args.data, "n_train_images": len(train_images),
                       "validation": {"images": list(val_images), "psnr": round(val["psnr"], 4),
                                      "ssim": round(val["ssim"], 5), "bicubic_psnr": round(val_bicubic["psnr"], 4)},
                       "hardware": _hardware(), "python": platform.python_version(),
                       "wall_seconds": round(time.perf_counter() - start, 1)})
    weights = model.save(out)                         # the JSON gets the file's sha256
    log(f"wrote {weights} and {out.with_suffix('.json')}")
    return 0


def _download(args) -> int:
    from .datasets import DATASETS, fetch

    for name in args.datasets or list(DATASETS):
        paths = fetch(name)
        print(f"{name}: {len(paths)} files in {paths[0].parent}")
    return 0


def _model_args(text: str) -> dict:
    """``"n_blocks=16,n_feats=32"`` -> ``{"n_blocks": 16, "n_feats": 32}`` (ints, floats, else strings)."""
    out = {}
    for item in _split(text):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise argparse.ArgumentTypeError(f"expected key=value pairs separated by commas, got {item!r}")
        for cast in (int, float, str):
            try:
                out[key.strip()] = cast(value.strip())
                break
            except ValueError:
                continue
    return out


def _positive(cast, zero: bool = False):
    """An argparse type: a number of type ``cast`` above zero (or from zero up), or a message that names the
    problem."""
    def parse(text: str):
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if cast is int else 'a number'}, "
                                             f"got {text!r}") from None
        if not (value >= 0 if zero else value > 0):
            raise argparse.ArgumentTypeError(f"must be {'0 or more' if zero else 'above 0'}, got {text}")
        return value
    return parse


_count, _amount = _positive(int), _positive(float)      # steps, sizes; minutes, learning rates
_whole = _positive(int, zero=True)                       # pixels to shave


def _decay(text: str) -> float:
    """``--ema``: a decay from 0 (no averaging) up to, not including, 1."""
    value = _positive(float, zero=True)(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be below 1 (0.999 averages about the last 1000 steps), got {text}")
    return value


def _factor_text(factors) -> str:
    return ",".join(f"{f:g}" for f in factors) if factors else "(none)"


def _factors(text: str) -> list[float]:
    """``"0.9,0.8"`` -> ``[0.9, 0.8]``: downscaling factors, each from 0.1 to below 1, none twice."""
    values = []
    for item in _split(text):
        try:
            value = float(item)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {item!r}") from None
        if not 0.1 <= value < 1:
            raise argparse.ArgumentTypeError(f"each factor must lie between 0.1 and 1 (a downscaling), got {item}")
        if any(f"{v:g}" == f"{value:g}" for v in values):
            raise argparse.ArgumentTypeError(f"the factor {item} is given twice")
        values.append(value)
    if not values:
        raise argparse.ArgumentTypeError("expected at least one factor, e.g. 0.9,0.8,0.7,0.6")
    return values


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
    b.add_argument("--metrics", default="psnr,ssim", help="psnr,ssim and optionally niqe (no-reference, lower "
                   "looks more natural)")
    b.add_argument("--offline", action="store_true", help="never download: report a dataset that is not on disk "
                   "as missing (as SRKIT_OFFLINE=1 does)")
    out = b.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON (a list when several results)")
    out.add_argument("--markdown", action="store_true", help="print one Markdown table")
    b.set_defaults(func=_bench)

    u = sub.add_parser("upscale", help="upscale an image file",
                       description="Upscale an image file. A gray image stays gray; transparency is kept, upscaled by "
                       "interpolation, where the output format can hold it (.png, .tif, .webp, .tga); a 16-bit "
                       "image is upscaled in 8 bits and an animation's first frame only (a note says so).")
    u.add_argument("input")
    u.add_argument("-o", "--output", help="output file (default: <input>_<method>_x<scale>.png)")
    u.add_argument("-s", "--scale", type=_scale, default=4)
    u.add_argument("-m", "--method", default="bicubic", help="an interpolation, sparse, or a network with shipped "
                   "weights (srcnn, fsrcnn, espcn)")
    u.add_argument("--tile", type=_count, help="networks: LR tile size, for bounded memory (default 256)")
    u.add_argument("--device", help="networks: cuda, mps or cpu")
    u.add_argument("--force", action="store_true", help="replace the output file if it exists")
    u.set_defaults(func=_upscale)

    t = sub.add_parser("train", help="train a model from scratch on the training sets")
    t.add_argument("--model", required=True, help="sparse, srcnn, fsrcnn, espcn, srresnet or srgan "
                   "(with --init-from srresnet weights)")
    t.add_argument("--scale", "-s", type=_scale, required=True)
    t.add_argument("--data", default="T91", help="training sets, e.g. T91 or T91,BSD200 (every 10th image is "
                   "held out for validation)")
    t.add_argument("--out", required=True, help="output path without suffix, e.g. srkit/weights/sparse_x3")
    t.add_argument("--model-args", type=_model_args, default={}, metavar="K=V,...",
                   help="network: architecture arguments, e.g. n_blocks=16,n_feats=32 for a small SRResNet")
    t.add_argument("--atoms", type=_count, default=1024, help="sparse: dictionary size")
    t.add_argument("--patches", type=_count, default=100_000, help="sparse: training patches")
    t.add_argument("--alpha", type=float, default=0.1, help="sparse: sparsity weight of dictionary learning")
    t.add_argument("--epochs", type=_count, default=1, help="sparse: passes of dictionary learning over the patches")
    t.add_argument("--uncoupled", action="store_true", help="sparse: learn LR and HR dictionaries separately")
    t.add_argument("--back-projection", type=int, default=2, help="sparse: back-projection iterations at test time")
    t.add_argument("--steps", type=_count, default=100_000, help="network: Adam steps (cosine schedule over them)")
    t.add_argument("--minutes", type=_amount, help="network: wall-time budget (the learning-rate schedule fits it)")
    t.add_argument("--batch-size", type=_count, default=16)
    t.add_argument("--patch", type=_count, default=32, help="network: LR patch size")
    t.add_argument("--lr", type=_amount, default=1e-3)
    t.add_argument("--loss", choices=["mse", "l1"], default="mse")
    t.add_argument("--scale-aug", type=_factors, metavar="F,...", help="network: also train on each training image "
                   "downscaled by these factors, e.g. 0.9,0.8,0.7,0.6 (FSRCNN's augmentation)")
    t.add_argument("--loss-shave", type=_whole, default=0, metavar="N", help="network: leave N HR pixels on each "
                   "side of a patch out of the loss (they see the zero padding)")
    t.add_argument("--image-borders", action="store_true", help="network, with --loss-shave: keep the sides of a "
                   "patch that lie on its image's border in the loss (a test image has its zero padding there too), "
                   "and draw such patches as often as their pixels need")
    t.add_argument("--ema", type=_decay, default=0.0, metavar="DECAY", help="network: validate and keep a moving "
                   "average of the weights, e.g. 0.999 (about the last 1000 steps); 0 keeps the weights themselves")
    t.add_argument("--balance", choices=["pixels", "psnr"], default="pixels", help="network: draw training images "
                   "in proportion to their size (pixels), or to 1 / MSE of their bicubic upscaling (psnr: each image "
                   "then weighs in the loss as in a mean PSNR)")
    t.add_argument("--val-every", type=_count, default=1000, help="network: validate and checkpoint every N steps")
    t.add_argument("--checkpoint", help="network: checkpoint file (default runs/<out name>.ckpt.safetensors)")
    t.add_argument("--resume", action="store_true", help="network: continue from the checkpoint")
    t.add_argument("--force", action="store_true", help="replace the weights of an earlier run at --out, or start "
                   "over from step 0 where --checkpoint holds an unfinished run")
    t.add_argument("--init-from", help="network: start from weights, e.g. fsrcnn_x3 (layers whose shape fits)")
    t.add_argument("--train-only", choices=["last"], help="network: train only the last layer")
    t.add_argument("--content", choices=["mse", "l1", "vgg"], default="mse", help="srgan: content loss (vgg needs "
                   "VGG19 weights: --vgg-weights or $SRKIT_VGG19)")
    t.add_argument("--vgg-weights", help="srgan: torchvision's vgg19-dcbb9e9d.pth (or a safetensors copy)")
    t.add_argument("--adv-weight", type=float, default=2.5e-4, help="srgan: weight of the adversarial loss (the "
                   "paper's 1e-3 with its MSE on [-1, 1] images is 2.5e-4 with srkit's MSE on [0, 1])")
    t.add_argument("--lr-d", type=_amount, help="srgan: the discriminator's learning rate (default: --lr)")
    t.add_argument("--keep", choices=["best_niqe", "last"], default="best_niqe", help="srgan: keep the validation "
                   "point with the lowest NIQE within --max-psnr-drop of the start, or the last step")
    t.add_argument("--max-psnr-drop", type=float, default=1.0, help="srgan: validation PSNR (dB) the kept weights "
                   "may lose against the starting generator")
    t.add_argument("--disc-feats", type=_count, default=64, help="srgan: discriminator width (64 in the paper)")
    t.add_argument("--disc-dense", type=_count, default=1024, help="srgan: discriminator dense units (1024)")
    t.add_argument("--device", help="cuda, mps or cpu (default: the best available)")
    t.add_argument("--seed", type=int, default=0)
    t.set_defaults(func=_train)

    d = sub.add_parser("download", help="download (and checksum) benchmark datasets into $SRKIT_DATA")
    d.add_argument("datasets", nargs="*", help="dataset names (default: all)")
    d.set_defaults(func=_download)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv     # the exact command, written into trained weights' JSON
    from .datasets import DataUnavailableError
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, DataUnavailableError) as e:
        print(f"srkit {args.command}: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:                  # a training run has written its checkpoint and said where
        print(f"srkit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
