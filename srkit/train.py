"""Training super-resolution networks: ``PatchSampler`` and one plain function, ``fit``.

Data follow the protocol: for every training image, ``hr = modcrop(image, scale)`` and
``lr = imresize(hr, 1/scale)`` (MATLAB bicubic on the RGB ``uint8`` image), then both go to Y (BT.601). Each
step draws random LR patches (and their HR patches) with random flips and 90-degree rotations. Validation
runs on held-out *training* images (``srkit.datasets.train_val_split``), never on a test set; the best
validation PSNR picks the weights that are kept.

Checkpoints (model, optimiser, step, random state) are written atomically every ``checkpoint_every`` steps as
safetensors + JSON (no pickle); ``fit(..., resume=True)`` continues a killed run from the last one. Ctrl-C (or a
notebook's interrupt, or a SIGTERM) lets the current step finish, writes a checkpoint there and raises
``KeyboardInterrupt``, so an interrupted run loses nothing; a second one stops at once.
"""

from __future__ import annotations

import copy
import json
import math
import queue
import signal
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .color import luma
from .metrics import psnr
from .models import eval_mode
from .resize import imresize, modcrop

__all__ = ["PatchSampler", "Prefetcher", "scale_augment", "to_y_pairs", "to_rgb_pairs", "to_pairs", "fit", "evaluate",
           "gan_step", "fit_gan", "evaluate_gan"]


def scale_augment(images: dict, factors) -> dict:
    """FSRCNN's data augmentation (Dong et al., ECCV 2016, section 4.1): every image again, downscaled by each factor.

    ``{name: image}`` -> the same images plus ``{"name@0.9": imresize(image, 0.9), ...}`` (MATLAB bicubic, same
    dtype). A downscaled photograph is a new training image with finer detail per pixel; the paper used 0.9, 0.8,
    0.7 and 0.6 (with rotations) to get more out of its 91 images. Augment the training images only: validation
    measures the task itself, on images as they were taken.
    """
    factors = [float(f) for f in factors]
    bad = [f for f in factors if not 0.1 <= f < 1]
    if bad:
        raise ValueError(f"scale_augment: factors must lie between 0.1 and 1 (a downscaling that leaves an image to "
                         f"learn from), got {bad}")
    tags = [f"{factor:g}" for factor in factors]
    if len(set(tags)) < len(tags):
        raise ValueError(f"scale_augment: the factor {next(t for t in tags if tags.count(t) > 1)} is given twice")
    augmented = dict(images)
    for factor, tag in zip(factors, tags):
        for name, image in images.items():
            augmented[f"{name}@{tag}"] = imresize(image, factor)
    return augmented


def to_y_pairs(images: dict, scale: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(lr_y, hr_y), ...]`` float32 Y images made by the protocol from ``{name: uint8 HR image}``."""
    pairs = []
    for image in images.values():
        hr = modcrop(image, scale)
        pairs.append((luma(imresize(hr, 1 / scale)).astype(np.float32), luma(hr).astype(np.float32)))
    return pairs


def to_rgb_pairs(images: dict, scale: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(lr, hr), ...]`` float32 RGB ``(H, W, 3)`` images on [0, 1] (gray images are repeated to RGB)."""
    pairs = []
    for image in images.values():
        hr = modcrop(image if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2), scale)
        pairs.append(((imresize(hr, 1 / scale) / np.float32(255)).astype(np.float32),
                      (hr / np.float32(255)).astype(np.float32)))
    return pairs


def to_pairs(images: dict, scale: int, channels: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Training pairs for a network that takes ``channels`` = 1 (Y) or 3 (RGB)."""
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (Y) or 3 (RGB), got {channels}")
    return to_y_pairs(images, scale) if channels == 1 else to_rgb_pairs(images, scale)


BALANCES = ("pixels", "psnr")


def bicubic_mse(lr: np.ndarray, hr: np.ndarray, scale: int) -> float:
    """Mean squared error of ``lr``'s bicubic upscaling against ``hr``, ``scale`` pixels shaved off each side as in
    the protocol (all channels of an RGB pair): how hard an image is, before any training."""
    error = imresize(lr.astype(np.float64), scale) - hr
    return max(float(np.mean(error[scale:-scale, scale:-scale] ** 2)), 1e-10)   # a flat image: no division by 0


class PatchSampler:
    """Random ``(lr, hr)`` patch batches ``(B, C, p, p)`` / ``(B, C, p*s, p*s)`` with flips and rotations.

    The ``pairs`` passed in hold Y images ``(H, W)`` (C = 1) or RGB images ``(H, W, 3)`` (C = 3); ``self.pairs``
    keeps ``(C, H, W)`` views of them. Each batch draws all its random numbers at once (image, corner, one of the
    8 orientations of the square), copies the crops (two slices per patch: the only per-patch work left), then
    turns all the crops of one orientation together, because on a GPU a small network's step takes less time
    than drawing its batch did with a loop that drew, turned and flipped each patch on its own.

    ``balance`` says how often each image is drawn: ``"pixels"`` in proportion to its size (every pixel as
    likely as any other), ``"psnr"`` in proportion to ``1 / MSE`` of its bicubic upscaling (see :func:`fit`).

    ``shave`` > 0 (HR pixels) adds a third tensor to each batch: loss weights ``(B, 1, p*s, p*s)``, 0 in the
    ``shave`` pixels along each side of a patch that lies inside its image and 1 elsewhere, so that a side on
    the image's own border stays in the loss (there, a test image sees the zero padding too). Corners are then
    drawn so that the patches on a border come about as often as each border pixel needs: a corner drawn up to
    ``p - 2 * shave // s`` places (the width of the part of a patch in the loss) beyond the first or last one is
    moved onto it.
    """

    def __init__(self, pairs, scale: int, patch: int, batch_size: int, seed: int = 0, balance: str = "pixels",
                 shave: int = 0):
        if balance not in BALANCES:
            raise ValueError(f"balance must be one of {', '.join(BALANCES)}, got {balance!r}")
        pairs = [(lr, hr) for lr, hr in pairs if min(lr.shape[:2]) >= patch]
        if not pairs:
            raise ValueError(f"no training image is at least {patch} LR pixels on each side")
        self.channels = pairs[0][0].shape[2] if pairs[0][0].ndim == 3 else 1
        # (C, H, W) views of every image, so that a crop drops straight into a (B, C, p, p) batch
        self.pairs = [(np.atleast_3d(lr).transpose(2, 0, 1), np.atleast_3d(hr).transpose(2, 0, 1))
                      for lr, hr in pairs]
        self.scale, self.patch, self.batch_size, self.shave = scale, patch, batch_size, shave
        self.corner_limit = np.array([(lr.shape[0] - patch + 1, lr.shape[1] - patch + 1) for lr, _ in pairs])
        if balance == "pixels":                      # big images are sampled more often: uniform over pixels
            weights = np.array([lr.shape[0] * lr.shape[1] for lr, _ in pairs], dtype=np.float64)
        else:                                        # easy images more often, as they weigh in a mean PSNR
            weights = 1 / np.array([bicubic_mse(lr, hr, scale) for lr, hr in pairs])
        self.weights = weights / weights.sum()
        self.rng = np.random.default_rng(seed)

    def __call__(self) -> tuple[torch.Tensor, ...]:
        p, s, n, rng, shave = self.patch, self.scale, self.batch_size, self.rng, self.shave
        index = rng.choice(len(self.pairs), n, p=self.weights)
        limits = self.corner_limit[index]                          # (n, 2): corners 0 .. limit - 1 fit the image
        if shave:                                                  # some corners beyond the first or last, moved
            margin = max(p - 2 * shave // s, 1)
            ys, xs = (np.clip(rng.integers(-margin, limits[:, axis] + margin), 0, limits[:, axis] - 1)
                      for axis in (0, 1))
        else:
            ys, xs = (rng.integers(0, limits[:, axis]) for axis in (0, 1))
        orientation = rng.integers(8, size=n)       # quarter turns k = o % 4, then a mirror when o >= 4
        lr_batch = np.empty((n, self.channels, p, p), np.float32)
        hr_batch = np.empty((n, self.channels, p * s, p * s), np.float32)
        batches = [lr_batch, hr_batch]
        for b, (i, y, x) in enumerate(zip(index.tolist(), ys.tolist(), xs.tolist())):
            lr, hr = self.pairs[i]
            lr_batch[b] = lr[:, y : y + p, x : x + p]
            hr_batch[b] = hr[:, y * s : (y + p) * s, x * s : (x + p) * s]
        if shave:
            mask = np.ones((n, 1, p * s, p * s), np.float32)
            for b, (y, x, (y_end, x_end)) in enumerate(zip(ys.tolist(), xs.tolist(), (limits - 1).tolist())):
                if y > 0:                                          # the top side is inside the image
                    mask[b, :, :shave] = 0
                if y < y_end:
                    mask[b, :, -shave:] = 0
                if x > 0:
                    mask[b, :, :, :shave] = 0
                if x < x_end:
                    mask[b, :, :, -shave:] = 0
            batches.append(mask)
        for o in np.unique(orientation):
            if o == 0:
                continue
            chosen = orientation == o
            for batch in batches:
                turned = np.rot90(batch[chosen], o % 4, axes=(2, 3))
                batch[chosen] = turned[..., ::-1] if o >= 4 else turned
        return tuple(torch.from_numpy(batch) for batch in batches)

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


class Prefetcher:
    """Draws the next batches of a :class:`PatchSampler` on a background thread while the model trains on the
    current one: on a GPU, which finishes a small network's step quickly, the single-threaded sampler would
    otherwise leave it waiting (the first GPU runs, before this thread existed, spent 15-38 % of their time there).

    Batches come out in the sampler's own order, and :meth:`state` is the sampler's state after the last batch
    handed out, so a checkpoint resumes as without prefetching. ``pin`` puts batches in page-locked
    memory, so that copies to the GPU can be asynchronous. Call :meth:`close` when done.
    """

    def __init__(self, sampler: PatchSampler, depth: int = 4, pin: bool = False):
        self.sampler, self.pin = sampler, pin
        self._state = sampler.state()
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name="srkit-prefetch", daemon=True)
        self._thread.start()

    def _put(self, item) -> None:
        while not self._stop.is_set():            # wait for room, but give up when closed
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _produce(self) -> None:
        try:
            while not self._stop.is_set():
                batch = self.sampler()
                if self.pin:
                    batch = tuple(t.pin_memory() for t in batch)
                self._put((batch, self.sampler.state()))
        except Exception as error:                # handed to the training loop, which raises it
            self._put(error)

    def __call__(self) -> tuple[torch.Tensor, ...]:
        item = self._queue.get()
        if isinstance(item, Exception):
            raise item
        batch, self._state = item
        return batch

    def state(self) -> dict:
        return self._state

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def _batches(sampler: PatchSampler, device: torch.device, prefetch: bool | None):
    """The batch source of a training loop: the sampler itself, or a :class:`Prefetcher` around it (by default
    on CUDA only: on a CPU the thread would compete with the training for the same cores), closed on exit."""
    if not (device.type == "cuda" if prefetch is None else prefetch):
        yield sampler
        return
    prefetcher = Prefetcher(sampler, pin=device.type == "cuda")
    try:
        yield prefetcher
    finally:
        prefetcher.close()


def _finish(net: nn.Module, best_state: dict, history: dict, seconds: float, data_seconds: float) -> dict:
    """End of a training loop: the kept weights back into ``net``, and the time over all sessions of the run."""
    net.load_state_dict(best_state)
    history["seconds"], history["data_seconds"] = seconds, data_seconds
    return history


def _predict(model: nn.Module, lr: np.ndarray, device) -> np.ndarray:
    """The model's output for one Y ``(H, W)`` or RGB ``(H, W, 3)`` image, rounded to 8 bits, on [0, 1]."""
    x = torch.from_numpy(lr)[None, None] if lr.ndim == 2 else torch.from_numpy(lr).permute(2, 0, 1)[None]
    sr = model(x.to(device))[0].clamp(0, 1).cpu().numpy()
    sr = sr[0] if lr.ndim == 2 else sr.transpose(1, 2, 0)
    return np.round(sr * 255) / 255


@torch.no_grad()
def evaluate(model: nn.Module, pairs, scale: int, device) -> float:
    """Mean PSNR (Y, shave = scale, output rounded to 8 bits as in the papers) over ``[(lr, hr), ...]``.

    Pairs are Y ``(H, W)`` or RGB ``(H, W, 3)`` (measured on the Y of the RGB output, as the protocol says).
    A network whose output is not finite (a diverged run) scores NaN, which is never the best.
    """
    with eval_mode(model):                            # and back to the caller's mode after
        values = []
        for lr, hr in pairs:
            sr = _predict(model, lr, device)
            if not np.isfinite(sr).all():            # a diverged network: NaN, never the best
                return float("nan")
            values.append(psnr(sr, hr.astype(np.float64), crop_border=scale))
        return float(np.mean(values))


def _save_checkpoint(path: Path, parts: dict, step: int, extra: dict) -> None:
    """Write ``parts`` (name -> module, optimiser or dict of tensors) as one safetensors file + a JSON, atomically."""
    from safetensors.torch import save_file
    tensors, groups = {}, {}
    for name, part in parts.items():
        if isinstance(part, torch.optim.Optimizer):
            opt = part.state_dict()
            groups[name] = opt["param_groups"]
            for pid, st in opt["state"].items():
                for key, value in st.items():
                    tensors[f"{name}.{pid}.{key}"] = torch.as_tensor(value).detach().cpu().contiguous()
        else:
            state = part.state_dict() if isinstance(part, nn.Module) else part
            tensors.update({f"{name}.{k}": v.detach().cpu().contiguous() for k, v in state.items()})
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp))
    tmp_json = path.with_suffix(".json.tmp")
    tmp_json.write_text(json.dumps({"step": step, "param_groups": groups, **extra}))
    tmp.replace(path)                       # the tensors first, then the JSON that says they are complete
    tmp_json.replace(path.with_suffix(".json"))


def _load_checkpoint(path: Path, parts: dict) -> tuple[dict, dict]:
    """Load a checkpoint into ``parts`` (modules and optimisers); returns the JSON and ``{name: tensors}`` of
    the parts that are plain dicts of tensors (such as the best weights so far)."""
    from safetensors.torch import load_file
    meta = json.loads(path.with_suffix(".json").read_text())
    tensors = load_file(str(path))
    by_part: dict[str, dict] = {}
    for key, value in tensors.items():
        name, rest = key.split(".", 1)
        by_part.setdefault(name, {})[rest] = value
    plain = {}
    for name, part in parts.items():
        state = by_part.get(name, {})
        if isinstance(part, torch.optim.Optimizer):
            opt_state: dict = {}
            for key, value in state.items():
                pid, stat = key.split(".", 1)
                opt_state.setdefault(int(pid), {})[stat] = value
            part.load_state_dict({"state": opt_state, "param_groups": meta["param_groups"][name]})
        elif isinstance(part, nn.Module):
            part.load_state_dict(state)
        else:
            plain[name] = state
    return meta, plain


def _save_progress(path: Path, parts: dict, step: int, history: dict, progress: float, seconds: float,
                   data_seconds: float, batches, meta: dict | None) -> None:
    """A training loop's periodic checkpoint: ``parts``, the history with the time so far, and the random states
    of the batch source and of torch, so that a resumed run draws the same batches as an uninterrupted one (on a
    CPU it computes the same steps; on a GPU, cuDNN's choice of kernels can differ in the last bits)."""
    history["progress"], history["seconds"], history["data_seconds"] = progress, seconds, data_seconds
    _save_checkpoint(path, parts, step, {**(meta or {}), "history": history, "sampler": batches.state(),
                                         "torch_rng": torch.get_rng_state().tolist()})


def checkpoint_exists(checkpoint: str | Path) -> bool:
    """Whether ``checkpoint`` holds a run to continue: its arrays and its ``.json`` (step, history, random states)."""
    checkpoint = Path(checkpoint)
    return checkpoint.is_file() and checkpoint.with_suffix(".json").is_file()


def _can_resume(checkpoint: Path | None, resume: bool, log) -> bool:
    """Whether a loop asked to ``resume`` has a checkpoint to continue from; without one it says so and starts at
    step 0 (so that the same command can be relaunched after a crash, or the first time)."""
    if not resume:
        return False
    if checkpoint is None:
        raise ValueError("resume=True needs a checkpoint path to continue from")
    if checkpoint_exists(checkpoint):
        return True
    log(f"no checkpoint at {checkpoint} (with its .json) to resume from: starting at step 0")
    return False


@contextmanager
def _interruptible():
    """While a training loop runs, the first SIGINT (Ctrl-C, a notebook's interrupt) or SIGTERM only asks it to
    stop: the loop finishes its step, writes a checkpoint and raises ``KeyboardInterrupt`` itself (see
    :func:`_interrupted`), rather than being cut off in the middle of an optimiser step. A second signal interrupts
    at once. A signal the process ignores stays ignored; outside the main thread, where Python cannot take
    signals, nothing changes."""
    stop = threading.Event()                       # set by the first signal; the loop checks it after each step
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def ask(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):    # SIGTERM: `kill`, `timeout`, a scheduler's preemption
        handler = signal.getsignal(sig)
        if handler is not signal.SIG_IGN:          # a run started to ignore it (nohup ... &) keeps ignoring it
            previous[sig] = handler
            signal.signal(sig, ask)
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def _interrupted(step: int, checkpoint: Path | None, log) -> None:
    """The end of a loop that Ctrl-C asked to stop, once it has written its checkpoint: say so, and raise."""
    if checkpoint:
        log(f"interrupted at step {step}: checkpoint written to {checkpoint}; resume=True (srkit train ... --resume) "
            "continues from here")
    else:
        log(f"interrupted at step {step}; without a checkpoint path this run cannot be continued")
    raise KeyboardInterrupt(f"training interrupted at step {step}")


@contextmanager
def _seeded(seed: int, device: torch.device, state: torch.Tensor | None = None):
    """Torch's random generators seeded with ``seed`` (or set to a resumed run's CPU ``state``) for a training loop,
    and the caller's generators as they were afterwards: training does not reseed the rest of a notebook."""
    cuda = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        if state is not None:
            torch.set_rng_state(state)
        yield


def _cosine(lr: float, progress: float) -> float:
    """Cosine decay from ``lr`` to ``lr / 100`` over progress 0..1."""
    return lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def _progress(step: int, steps: int, minutes: float | None, t0: float, start_progress: float) -> float:
    """How far a run is, 0..1: by steps, or by the time budget when that runs out first (resumed runs fit
    what is left of the schedule into their new budget)."""
    progress = (step - 1) / steps
    if minutes is not None:
        used = (time.perf_counter() - t0) / (minutes * 60) if minutes > 0 else 1.0
        progress = max(progress, start_progress + (1 - start_progress) * used)
    return progress


def check_loss_shave(loss_shave: int, patch: int, scale: int) -> None:
    """A ``loss_shave`` that leaves some of a ``patch`` (LR pixels) at ``scale`` in the loss, or a ValueError."""
    if not isinstance(loss_shave, int) or loss_shave < 0 or 2 * loss_shave >= patch * scale:
        raise ValueError(f"loss_shave must be a whole number of HR pixels from 0 to {(patch * scale - 1) // 2} "
                         f"(a patch of {patch} LR pixels is {patch * scale} HR pixels wide), got {loss_shave!r}")


def check_same_run(checkpoint: str | Path, saved: dict, *, ema: float, loss_shave: int, balance: str,
                   image_borders: bool) -> None:
    """A ValueError unless a resumed run keeps the settings its checkpoint (JSON ``saved``) was trained with: another
    moving average, another loss or other patches drawn would not continue that run."""
    settings = {"ema": (ema, 0), "loss_shave": (loss_shave, 0), "balance": (balance, "pixels"),
                "image_borders": (image_borders, False)}
    for key, (value, default) in settings.items():
        if saved.get(key, default) != value:
            raise ValueError(f"{checkpoint} was trained with {key}={saved.get(key, default)} (srkit train "
                             f"--{key.replace('_', '-')}), not {value}; resume it with the same setting")


def fit(model: nn.Module, train_pairs, val_pairs, scale: int, *, steps: int = 10_000, minutes: float | None = None,
        batch_size: int = 16, patch: int = 32, lr: float = 1e-3, loss: str = "mse", val_every: int = 500,
        checkpoint: str | Path | None = None, checkpoint_every: int = 500, resume: bool = False,
        train_only: str | None = None, device=None, seed: int = 0, log=print, checkpoint_meta: dict | None = None,
        prefetch: bool | None = None, loss_shave: int = 0, image_borders: bool = False, ema: float = 0.0,
        balance: str = "pixels") -> dict:
    """Train ``model`` on ``(lr_y, hr_y)`` pairs; returns the history and keeps the best-validation weights.

    ``steps`` Adam steps, or ``minutes`` of wall time, whichever ends first; the learning rate decays from
    ``lr`` to 1 % of it along a cosine of the run's *progress*, ``max(step / steps, time used / minutes)``, so
    that a time-budgeted run also ends annealed (a resumed run fits what is left into its new budget);
    ``loss`` is ``"mse"`` or ``"l1"``; ``train_only="last"`` freezes every parameter but the last layer's
    (they stay frozen after the run: ``model.requires_grad_(True)`` thaws them).
    Returns ``{"step": [...], "loss": [...], "val_step": [...], "val_psnr": [...], "best_psnr", "best_step",
    "seconds", "data_seconds"}``; the model ends with the weights of ``best_step``. ``checkpoint_meta`` is
    written into the checkpoint's JSON as it is (``srkit train`` keeps the commands of a resumed run there).
    ``resume=True`` continues from ``checkpoint`` (a log line says so when there is none yet, and the run starts
    at step 0).
    ``prefetch`` draws batches on a background thread (:class:`Prefetcher`; default: on CUDA only); the result
    is the same either way.
    ``loss_shave`` HR pixels on each side of every patch are left out of the loss: near a patch's edge the output
    sees the convolutions' zero padding, which a test image has only at its own border. The SRCNN paper's
    convolutions did not pad, and its loss covered only the valid centre; ``loss_shave`` is that, with padding.
    It also leaves the pixels near a *test* image's border untrained, and they drift as training goes on (a
    restart of the shipped FSRCNN x3 gained 0.001-0.002 dB of validation PSNR on the pixels more than 12 from the
    border and lost 0.010 dB over all). ``image_borders=True`` keeps in the loss the sides of a patch that lie
    on its image's border, and draws such patches more often (:class:`PatchSampler`'s ``shave``).
    ``ema`` > 0 keeps an exponential moving average of the weights, ``avg += (1 - d) (w - avg)`` after every
    step with ``d = min(ema, (1 + step) / (10 + step))`` (short memory at first, when the start is far from where
    training goes). It is the average that is validated and kept, and it smooths out the last steps' noise:
    ``ema=0.999`` averages over about the last thousand steps.
    ``balance`` is how often each training image is drawn: ``"pixels"`` (default) in proportion to its size;
    ``"psnr"`` in proportion to ``1 / MSE`` of its bicubic upscaling (:func:`bicubic_mse`). Validation and the
    papers' tables average PSNR over images, and ``d PSNR_i`` is proportional to ``-d MSE_i / MSE_i``: an
    image with little error counts as much as one with a lot, so its gradient must be scaled up. With ``"psnr"``
    the expected loss has that gradient, to first order (the bicubic error standing in for the network's).
    A resumed run must keep ``ema``, ``loss_shave``, ``image_borders`` and ``balance``.
    """
    check_loss_shave(loss_shave, patch, scale)
    if image_borders and not loss_shave:
        raise ValueError("image_borders keeps the patch sides on an image's border in a shaved loss: it needs "
                         "loss_shave > 0")
    if not isinstance(ema, (int, float)) or not 0 <= ema < 1:
        raise ValueError(f"ema must be a decay from 0 (no averaging) up to but not including 1, got {ema!r}")
    device = torch.device(device or "cpu")
    model.to(device).train()
    if train_only == "last":
        params = list(model.parameters())
        last = {id(p) for p in list(model.children())[-1].parameters()} or {id(params[-1]), id(params[-2])}
        for p in params:
            p.requires_grad_(id(p) in last)
    elif train_only is not None:
        raise ValueError(f"train_only must be None or 'last', got {train_only!r}")
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(trainable, lr=lr)
    criterion = {"mse": F.mse_loss, "l1": F.l1_loss}[loss]
    sampler = PatchSampler(train_pairs, scale, patch, batch_size, seed, balance, loss_shave if image_borders else 0)
    history = {"step": [], "loss": [], "val_step": [], "val_psnr": [], "best_psnr": -math.inf, "best_step": 0}
    start_step, checkpoint, rng_state = 0, Path(checkpoint) if checkpoint else None, None
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    average = copy.deepcopy(model).requires_grad_(False) if ema else None     # the weights that are validated
    kept = average if average is not None else model
    parts = {"model": model, "optim": optimizer, **({"ema": average} if average is not None else {})}
    if _can_resume(checkpoint, resume, log):
        check_same_run(checkpoint, json.loads(checkpoint.with_suffix(".json").read_text()), ema=ema,
                       loss_shave=loss_shave, balance=balance, image_borders=image_borders)
        meta, plain = _load_checkpoint(checkpoint, {**parts, "best": None})
        best_state = plain["best"]
        start_step, history = meta["step"], meta["history"]
        sampler.set_state(meta["sampler"])
        rng_state = torch.tensor(meta["torch_rng"], dtype=torch.uint8)
        log(f"resumed from {checkpoint} at step {start_step}")
    if average is not None:
        log(f"validating and keeping the moving average of the weights (ema={ema}), not the last step's")
    prior_seconds, prior_data = history.get("seconds", 0.0), history.get("data_seconds", 0.0)   # earlier sessions
    progress = start_progress = history.get("progress", start_step / steps)
    t0, data_seconds = time.perf_counter(), 0.0
    # The mean loss since the last validation, as one running sum: a list of every step's loss tensor (this loop
    # until December 2026) pinned about 3.5 MB of heap per FSRCNN step on a CPU, 3.5 GB by a validation 1000 steps
    # on (tools/bench_train.py measures it). No .item() per step either: the GPU need not wait for the host.
    loss_sum, loss_count = torch.zeros((), dtype=torch.float64, device=device), 0
    with _batches(sampler, device, prefetch) as batches, _interruptible() as stop, _seeded(seed, device, rng_state):
        for step in range(start_step + 1, steps + 1):
            progress = _progress(step, steps, minutes, t0, start_progress)
            for group in optimizer.param_groups:
                group["lr"] = _cosine(lr, progress)
            t_data = time.perf_counter()
            x, y, *weight = (t.to(device, non_blocking=True) for t in batches())    # weight: image_borders
            data_seconds += time.perf_counter() - t_data
            out = model(x)
            if weight:                        # (B, 1, H, W): 0 along the patch sides inside the image, 1 elsewhere
                error = (out - y) ** 2 if loss == "mse" else (out - y).abs()
                loss_value = (error * weight[0]).sum() / (weight[0].sum() * out.shape[1])
            else:
                if loss_shave:
                    out, y = out[..., loss_shave:-loss_shave, loss_shave:-loss_shave], y[..., loss_shave:-loss_shave,
                                                                                         loss_shave:-loss_shave]
                loss_value = criterion(out, y)
            optimizer.zero_grad(set_to_none=True)
            loss_value.backward()
            optimizer.step()
            if average is not None:
                decay = min(ema, (1 + step) / (10 + step))
                with torch.no_grad():
                    for mean, now in zip(average.parameters(), model.parameters()):
                        mean.lerp_(now, 1 - decay)
                    for mean, now in zip(average.buffers(), model.buffers()):
                        mean.copy_(now)
            loss_sum += loss_value.detach()
            loss_count += 1
            out_of_time = minutes is not None and progress >= 1
            if step % val_every == 0 or step == steps or out_of_time:
                history["step"].append(step)
                history["loss"].append((loss_sum / loss_count).item())
                history.setdefault("lr", []).append(optimizer.param_groups[0]["lr"])
                loss_sum.zero_()
                loss_count = 0
                val = evaluate(kept, val_pairs, scale, device)
                history["val_step"].append(step)
                history["val_psnr"].append(val)
                if val > history["best_psnr"]:
                    history["best_psnr"], history["best_step"] = val, step
                    best_state = {k: v.detach().clone() for k, v in kept.state_dict().items()}
                log(f"step {step}/{steps}  loss {history['loss'][-1]:.3e}  val {val:.3f} dB  "
                    f"(best {history['best_psnr']:.3f} @ {history['best_step']})  {time.perf_counter() - t0:.0f} s")
            stopping = stop.is_set()                      # Ctrl-C: save here, then stop
            if checkpoint and (step % checkpoint_every == 0 or step == steps or out_of_time or stopping):
                _save_progress(checkpoint, {**parts, "best": best_state}, step, history, progress,
                               prior_seconds + time.perf_counter() - t0, prior_data + data_seconds, batches,
                               {**(checkpoint_meta or {}), "ema": ema, "loss_shave": loss_shave, "balance": balance,
                                "image_borders": image_borders})
            if stopping:
                _interrupted(step, checkpoint, log)
            if out_of_time:
                log(f"stopping after {minutes} minutes at step {step}")
                break
    return _finish(model, best_state, history, prior_seconds + time.perf_counter() - t0, prior_data + data_seconds)


# --- SRGAN: a generator and a discriminator trained against each other (chapter 07) -----------------------------

def gan_step(generator: nn.Module, discriminator: nn.Module, opt_g, opt_d, lr: torch.Tensor, hr: torch.Tensor,
             content, adv_weight: float = 2.5e-4) -> dict:
    """One SRGAN step: the discriminator learns on a real and a fake batch, then the generator on
    ``content(sr, hr) + adv_weight * -log D(sr)``. Returns the losses and D's mean belief in real and fake.

    The default ``adv_weight`` is the paper's balance for srkit's images on [0, 1], as in :func:`fit_gan`: the
    paper's 1e-3 weighs an MSE on images scaled to [-1, 1], which is 4 times the MSE on [0, 1]. D's weights
    collect no gradient in the generator's half of the step and come back as they were (frozen ones stay frozen).
    """
    from .losses import discriminator_loss, generator_adversarial_loss

    sr = generator(lr)
    # 1. Discriminator: real HR patches -> 1, generated ones -> 0. `detach` keeps this step away from G.
    real_logits, fake_logits = discriminator(hr), discriminator(sr.detach())
    d_loss = discriminator_loss(real_logits, fake_logits)
    opt_d.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_d.step()
    # 2. Generator: stay close to HR (content) and make the updated D say "real" (adversarial).
    flags = [(p, p.requires_grad) for p in discriminator.parameters()]
    discriminator.requires_grad_(False)            # gradients flow *through* D into G, D's weights stay put
    try:
        content_loss = content(sr, hr)
        adv_loss = generator_adversarial_loss(discriminator(sr))
        g_loss = content_loss + adv_weight * adv_loss
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
    return {"d_loss": d_loss.item(), "g_loss": g_loss.item(), "content": content_loss.item(),
            "adversarial": adv_loss.item(), "d_real": torch.sigmoid(real_logits).mean().item(),
            "d_fake": torch.sigmoid(fake_logits).mean().item()}


@torch.no_grad()
def evaluate_gan(model: nn.Module, pairs, scale: int, device) -> tuple[float, float]:
    """``(mean PSNR, mean NIQE)`` of the model's outputs for RGB ``[(lr, hr), ...]``, each output computed once.

    PSNR as :func:`evaluate`; NIQE (lower looks more natural) over the images of at least 192x192 HR pixels only
    (NIQE fits a covariance to 96x96 patches; smaller images have too few), ``nan`` when there are none.
    """
    from .niqe import PATCH, niqe
    with eval_mode(model):
        psnrs, niqes = [], []
        for lr, hr in pairs:
            sr = _predict(model, lr, device)
            if not np.isfinite(sr).all():            # a diverged generator: NaN, never the one kept
                return float("nan"), float("nan")
            psnrs.append(psnr(sr, hr.astype(np.float64), crop_border=scale))
            if min(hr.shape[:2]) >= 2 * PATCH:
                niqes.append(niqe(np.round(sr * 255).astype(np.uint8)))
        return float(np.mean(psnrs)), float(np.mean(niqes)) if niqes else float("nan")


def fit_gan(generator: nn.Module, discriminator: nn.Module, train_pairs, val_pairs, scale: int, *,
            steps: int = 10_000, minutes: float | None = None, batch_size: int = 16, patch: int = 24,
            lr: float = 1e-4, content="mse", adv_weight: float = 2.5e-4, val_every: int = 500,
            checkpoint: str | Path | None = None, checkpoint_every: int = 500, resume: bool = False, device=None,
            seed: int = 0, log=print, checkpoint_meta: dict | None = None, keep: str = "best_niqe",
            max_psnr_drop: float = 1.0, lr_d: float | None = None, prefetch: bool | None = None) -> dict:
    """Train SRGAN: ``gan_step`` on random RGB patches, ``steps`` steps or ``minutes`` of wall time.

    The generator should start from a trained SRResNet (the paper does; from scratch a GAN learns slowly and
    unstably). Both learn with Adam (betas 0.9, 0.999), the generator at ``lr`` and the discriminator at ``lr_d``
    (default ``lr``), both divided by 10 for the second half of the run (the paper: 1e-4 then 1e-5 for both). A
    generator that ended its own training annealed (srkit's cosine schedule) is jolted by a fresh Adam at 1e-4: a
    smaller ``lr`` keeps it near its start while a fresh discriminator learns at ``lr_d``.

    ``content`` is ``"mse"``, ``"l1"`` or a module such as :class:`srkit.losses.VGGLoss`. ``adv_weight``: the paper
    weighs the adversarial loss 1e-3 against an MSE on images scaled to [-1, 1]; srkit's images are on [0, 1], where
    the MSE is 4 times smaller, so the same balance is 2.5e-4 (the default).

    Validation measures PSNR and NIQE on held-out training images, at the start and every ``val_every`` steps. Which
    weights the generator keeps: ``keep="last"``, the last step's, or ``keep="best_niqe"``, the validation point
    with the lowest NIQE among those that lost at most ``max_psnr_drop`` dB of validation PSNR against the starting
    generator (a GAN is not chosen by PSNR, which it trades away on purpose, but a GAN run can drift far from the
    data: this bounds how far). Checkpoints hold both networks, both optimisers and the kept weights, and resume
    like :func:`fit`'s. ``prefetch`` as in :func:`fit`.
    """
    from .losses import pixel_loss

    device = torch.device(device or "cpu")
    generator.to(device).train()
    discriminator.to(device).train()
    content_fn = (lambda sr, hr: pixel_loss(sr, hr, content)) if isinstance(content, str) else content.to(device)
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr, betas=(0.9, 0.999))
    lr_d = lr if lr_d is None else lr_d
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr_d, betas=(0.9, 0.999))
    sampler = PatchSampler(train_pairs, scale, patch, batch_size, seed)
    if keep not in ("last", "best_niqe"):
        raise ValueError(f"keep must be 'last' or 'best_niqe', got {keep!r}")
    keys = ("d_loss", "g_loss", "content", "adversarial", "d_real", "d_fake")
    history: dict = {"step": [], **{k: [] for k in keys}, "val_step": [], "val_psnr": [], "val_niqe": []}
    start_step, checkpoint, rng_state = 0, Path(checkpoint) if checkpoint else None, None
    parts = {"generator": generator, "discriminator": discriminator, "optim_g": opt_g, "optim_d": opt_d}
    best_state = {k: v.detach().clone() for k, v in generator.state_dict().items()}
    if _can_resume(checkpoint, resume, log):
        meta, plain = _load_checkpoint(checkpoint, {**parts, "best": None})
        best_state = plain["best"]
        start_step, history = meta["step"], meta["history"]
        sampler.set_state(meta["sampler"])
        rng_state = torch.tensor(meta["torch_rng"], dtype=torch.uint8)
        log(f"resumed from {checkpoint} at step {start_step}")
    if start_step == 0:                       # where the generator starts: the reference for max_psnr_drop
        history["val_step"].append(0)
        for key, value in zip(("val_psnr", "val_niqe"), evaluate_gan(generator, val_pairs, scale, device)):
            history[key].append(value)
        history["best_step"], history["best_niqe"] = 0, history["val_niqe"][0]
        log(f"start: val {history['val_psnr'][0]:.3f} dB, NIQE {history['val_niqe'][0]:.2f}")
    prior_seconds, prior_data = history.get("seconds", 0.0), history.get("data_seconds", 0.0)
    start_progress = history.get("progress", start_step / steps)
    t0, data_seconds, running = time.perf_counter(), 0.0, {k: [] for k in keys}
    with _batches(sampler, device, prefetch) as batches, _interruptible() as stop, _seeded(seed, device, rng_state):
        for step in range(start_step + 1, steps + 1):
            progress = _progress(step, steps, minutes, t0, start_progress)
            for opt, base in ((opt_g, lr), (opt_d, lr_d)):
                for group in opt.param_groups:
                    group["lr"] = base if progress < 0.5 else base / 10
            t_data = time.perf_counter()
            x, y = batches()
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            data_seconds += time.perf_counter() - t_data
            out = gan_step(generator, discriminator, opt_g, opt_d, x, y, content_fn, adv_weight)
            for k in keys:
                running[k].append(out[k])
            out_of_time = minutes is not None and progress >= 1
            if step % val_every == 0 or step == steps or out_of_time:
                history["step"].append(step)
                for k in keys:
                    history[k].append(float(np.mean(running[k])))
                    running[k] = []
                history["val_step"].append(step)
                for key, value in zip(("val_psnr", "val_niqe"), evaluate_gan(generator, val_pairs, scale, device)):
                    history[key].append(value)
                if (keep == "last" or (history["val_psnr"][-1] >= history["val_psnr"][0] - max_psnr_drop
                                       and history["val_niqe"][-1] < history["best_niqe"])):
                    history["best_step"], history["best_niqe"] = step, history["val_niqe"][-1]
                    best_state = {k: v.detach().clone() for k, v in generator.state_dict().items()}
                log(f"step {step}/{steps}  D {history['d_loss'][-1]:.3f} (real {history['d_real'][-1]:.2f}, fake "
                    f"{history['d_fake'][-1]:.2f})  G content {history['content'][-1]:.2e} adv "
                    f"{history['adversarial'][-1]:.2f}  val {history['val_psnr'][-1]:.3f} dB, NIQE "
                    f"{history['val_niqe'][-1]:.2f} (kept: step {history['best_step']})  "
                    f"{time.perf_counter() - t0:.0f} s")
            stopping = stop.is_set()                      # Ctrl-C: save here, then stop
            if checkpoint and (step % checkpoint_every == 0 or step == steps or out_of_time or stopping):
                _save_progress(checkpoint, {**parts, "best": best_state}, step, history, progress,
                               prior_seconds + time.perf_counter() - t0, prior_data + data_seconds, batches,
                               checkpoint_meta)
            if stopping:
                _interrupted(step, checkpoint, log)
            if out_of_time:
                log(f"stopping after {minutes} minutes at step {step}")
                break
    return _finish(generator, best_state, history, prior_seconds + time.perf_counter() - t0,
                   prior_data + data_seconds)
