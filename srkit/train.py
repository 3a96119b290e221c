"""Training super-resolution networks: ``PatchSampler`` and one plain function, ``fit``.

Data follow the protocol: for every training image, ``hr = modcrop(image, scale)`` and
``lr = imresize(hr, 1/scale)`` (MATLAB bicubic on the RGB ``uint8`` image), then both go to Y (BT.601). Each
step draws random LR patches (and their HR patches) with random flips and 90-degree rotations. Validation
runs on held-out *training* images (``srkit.datasets.train_val_split``), never on a test set; the best
validation PSNR picks the weights that are kept.

Checkpoints (model, optimiser, step, random state) are written atomically every ``checkpoint_every`` steps as
safetensors + JSON (no pickle); ``fit(..., resume=True)`` continues a killed run from the last one.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .color import luma
from .metrics import psnr
from .resize import imresize, modcrop

__all__ = ["PatchSampler", "to_y_pairs", "fit", "evaluate"]


def to_y_pairs(images: dict, scale: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(lr_y, hr_y), ...]`` float32 Y images made by the protocol from ``{name: uint8 HR image}``."""
    pairs = []
    for image in images.values():
        hr = modcrop(image, scale)
        pairs.append((luma(imresize(hr, 1 / scale)).astype(np.float32), luma(hr).astype(np.float32)))
    return pairs


class PatchSampler:
    """Random ``(lr, hr)`` patch batches ``(B, 1, p, p)`` / ``(B, 1, p*s, p*s)`` with flips and rotations."""

    def __init__(self, pairs, scale: int, patch: int, batch_size: int, seed: int = 0):
        self.pairs = [(lr, hr) for lr, hr in pairs if min(lr.shape) >= patch]
        if not self.pairs:
            raise ValueError(f"no training image is at least {patch} LR pixels on each side")
        self.scale, self.patch, self.batch_size = scale, patch, batch_size
        sizes = np.array([lr.size for lr, _ in self.pairs], dtype=np.float64)
        self.weights = sizes / sizes.sum()           # big images are sampled more often: uniform over pixels
        self.rng = np.random.default_rng(seed)

    def __call__(self) -> tuple[torch.Tensor, torch.Tensor]:
        p, s, rng = self.patch, self.scale, self.rng
        lr_batch = np.empty((self.batch_size, 1, p, p), np.float32)
        hr_batch = np.empty((self.batch_size, 1, p * s, p * s), np.float32)
        for b, i in enumerate(rng.choice(len(self.pairs), self.batch_size, p=self.weights)):
            lr, hr = self.pairs[i]
            y, x = rng.integers(0, lr.shape[0] - p + 1), rng.integers(0, lr.shape[1] - p + 1)
            lr_p, hr_p = lr[y : y + p, x : x + p], hr[y * s : (y + p) * s, x * s : (x + p) * s]
            k, flip = rng.integers(4), rng.integers(2)
            lr_p, hr_p = np.rot90(lr_p, k), np.rot90(hr_p, k)
            if flip:
                lr_p, hr_p = lr_p[:, ::-1], hr_p[:, ::-1]
            lr_batch[b, 0], hr_batch[b, 0] = lr_p, hr_p
        return torch.from_numpy(lr_batch), torch.from_numpy(hr_batch)

    def state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state


@torch.no_grad()
def evaluate(model: nn.Module, pairs, scale: int, device) -> float:
    """Mean PSNR (Y, shave = scale, output rounded to 8 bits as in the papers) over ``[(lr_y, hr_y), ...]``."""
    model.eval()
    values = []
    for lr, hr in pairs:
        sr = model(torch.from_numpy(lr)[None, None].to(device))[0, 0].clamp(0, 1).cpu().numpy()
        values.append(psnr(np.round(sr * 255) / 255, hr.astype(np.float64), crop_border=scale))
    model.train()
    return float(np.mean(values))


def _save_checkpoint(path: Path, model, optimizer, best_state: dict, step: int, extra: dict) -> None:
    from safetensors.torch import save_file
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tensors.update({f"best.{k}": v.detach().cpu().contiguous() for k, v in best_state.items()})
    opt = optimizer.state_dict()
    for pid, st in opt["state"].items():
        for key, value in st.items():
            tensors[f"optim.{pid}.{key}"] = torch.as_tensor(value).detach().cpu().contiguous()
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp))
    meta = {"step": step, "param_groups": opt["param_groups"], **extra}
    tmp_json = path.with_suffix(".json.tmp")
    tmp_json.write_text(json.dumps(meta))
    tmp.replace(path)                       # the tensors first, then the JSON that says they are complete
    tmp_json.replace(path.with_suffix(".json"))


def _load_checkpoint(path: Path, model, optimizer) -> tuple[dict, dict]:
    from safetensors.torch import load_file
    meta = json.loads(path.with_suffix(".json").read_text())
    tensors = load_file(str(path))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    best_state = {k[5:]: v for k, v in tensors.items() if k.startswith("best.")}
    state: dict = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    return meta, best_state


def fit(model: nn.Module, train_pairs, val_pairs, scale: int, *, steps: int = 10_000, minutes: float | None = None,
        batch_size: int = 16, patch: int = 32, lr: float = 1e-3, loss: str = "mse", val_every: int = 500,
        checkpoint: str | Path | None = None, checkpoint_every: int = 500, resume: bool = False,
        train_only: str | None = None, device=None, seed: int = 0, log=print, checkpoint_meta: dict | None = None
        ) -> dict:
    """Train ``model`` on ``(lr_y, hr_y)`` pairs; returns the history and keeps the best-validation weights.

    ``steps`` Adam steps, or ``minutes`` of wall time, whichever ends first; the learning rate decays from
    ``lr`` to 1 % of it along a cosine of the run's *progress*, ``max(step / steps, time used / minutes)``, so
    that a time-budgeted run also ends annealed (a resumed run fits what is left into its new budget);
    ``loss`` is ``"mse"`` or ``"l1"``; ``train_only="last"`` freezes every parameter but the last layer's.
    Returns ``{"step": [...], "loss": [...], "val_step": [...], "val_psnr": [...], "best_psnr", "best_step",
    "seconds", "data_seconds"}``; the model ends with the weights of ``best_step``. ``checkpoint_meta`` is
    written into the checkpoint's JSON as it is (``srkit train`` keeps the commands of a resumed run there).
    """
    device = torch.device(device or "cpu")
    torch.manual_seed(seed)
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
    sampler = PatchSampler(train_pairs, scale, patch, batch_size, seed)
    history = {"step": [], "loss": [], "val_step": [], "val_psnr": [], "best_psnr": -math.inf, "best_step": 0}
    start_step, checkpoint = 0, Path(checkpoint) if checkpoint else None
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if resume and checkpoint and checkpoint.is_file() and checkpoint.with_suffix(".json").is_file():
        meta, best_state = _load_checkpoint(checkpoint, model, optimizer)
        start_step, history = meta["step"], meta["history"]
        sampler.set_state(meta["sampler"])
        torch.set_rng_state(torch.tensor(meta["torch_rng"], dtype=torch.uint8))
        log(f"resumed from {checkpoint} at step {start_step}")
    prior_seconds, prior_data = history.get("seconds", 0.0), history.get("data_seconds", 0.0)   # earlier sessions
    progress = start_progress = history.get("progress", start_step / steps)
    t0, data_seconds, running = time.perf_counter(), 0.0, []
    for step in range(start_step + 1, steps + 1):
        progress = (step - 1) / steps
        if minutes is not None:                    # the time budget, when it runs out before the steps
            used = (time.perf_counter() - t0) / (minutes * 60) if minutes > 0 else 1.0
            progress = max(progress, start_progress + (1 - start_progress) * used)
        for group in optimizer.param_groups:        # cosine decay from lr to lr/100
            group["lr"] = lr * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))
        t_data = time.perf_counter()
        x, y = sampler()
        x, y = x.to(device), y.to(device)
        data_seconds += time.perf_counter() - t_data
        loss_value = criterion(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss_value.backward()
        optimizer.step()
        running.append(loss_value.item())
        out_of_time = minutes is not None and progress >= 1
        if step % val_every == 0 or step == steps or out_of_time:
            history["step"].append(step)
            history["loss"].append(float(np.mean(running)))
            history.setdefault("lr", []).append(optimizer.param_groups[0]["lr"])
            running = []
            val = evaluate(model, val_pairs, scale, device)
            history["val_step"].append(step)
            history["val_psnr"].append(val)
            if val > history["best_psnr"]:
                history["best_psnr"], history["best_step"] = val, step
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            log(f"step {step}/{steps}  loss {history['loss'][-1]:.3e}  val {val:.3f} dB  "
                f"(best {history['best_psnr']:.3f} @ {history['best_step']})  {time.perf_counter() - t0:.0f} s")
        if checkpoint and (step % checkpoint_every == 0 or step == steps or out_of_time):
            history["progress"] = progress
            history["seconds"] = prior_seconds + time.perf_counter() - t0
            history["data_seconds"] = prior_data + data_seconds
            _save_checkpoint(checkpoint, model, optimizer, best_state, step, {
                **(checkpoint_meta or {}), "history": history, "sampler": sampler.state(),
                "torch_rng": torch.get_rng_state().tolist()})
        if out_of_time:
            log(f"stopping after {minutes} minutes at step {step}")
            break
    model.load_state_dict(best_state)
    history["seconds"] = prior_seconds + time.perf_counter() - t0       # over all sessions of a resumed run
    history["data_seconds"] = prior_data + data_seconds
    return history
