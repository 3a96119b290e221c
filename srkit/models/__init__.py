"""The course's networks, one file each, and how to build and load them.

Every model maps an LR batch ``(N, C, h, w)`` (float32 in [0, 1]) to ``(N, C, h*scale, w*scale)``. The networks
of chapters 04-06 see the Y channel (C = 1); SRResNet and SRGAN's generator see RGB (C = 3)
(:func:`input_channels`). :func:`srkit.upscale` handles RGB (Y through a Y network, Cb/Cr by bicubic) and tiling.

    model = get_model("fsrcnn", scale=3, weights="default")      # shipped weights
    model = get_model("fsrcnn", scale=3, d=32, s=5, m=1)         # FSRCNN-s, untrained

Weights are ``srkit/weights/<name>_x<scale>.safetensors`` with a JSON beside it (architecture, keyword
arguments, training command, metrics). Loading never executes code.
"""

from __future__ import annotations

import inspect
import json
from contextlib import contextmanager
import re
from pathlib import Path

import torch.nn as nn

from .discriminator import Discriminator
from .edsr import EDSR
from .espcn import ESPCN
from .fsrcnn import FSRCNN
from .rcan import RCAN
from .srcnn import SRCNN
from .srresnet import SRResNet

__all__ = ["MODELS", "VARIANTS", "count_macs", "eval_mode", "init_from", "input_channels", "list_models", "get_model",
           "save_weights", "load_weights", "weights_path", "shipped", "training_runs", "SRCNN", "FSRCNN", "ESPCN",
           "SRResNet", "EDSR", "RCAN", "Discriminator"]

MODELS: dict[str, type[nn.Module]] = {"srcnn": SRCNN, "fsrcnn": FSRCNN, "espcn": ESPCN, "srresnet": SRResNet,
                                      "edsr": EDSR, "rcan": RCAN}
# Named configurations from the papers: name -> (architecture, keyword arguments). Their weights are
# srkit/weights/<name>_x<scale>.safetensors like any other model's.
VARIANTS: dict[str, tuple[str, dict]] = {
    "srcnn_955": ("srcnn", {"f2": 5}),              # SRCNN 9-5-5 (TPAMI 2016, Table 3)
    "fsrcnn_s": ("fsrcnn", {"d": 32, "s": 5, "m": 1}),  # FSRCNN-s (ECCV 2016, Section 4.4)
    "srgan": ("srresnet", {}),                      # SRGAN's generator is an SRResNet trained with a GAN (CVPR 2017)
}
WEIGHTS = Path(__file__).resolve().parents[1] / "weights"


def input_channels(model: nn.Module) -> int:
    """1 for a network of the Y channel, 3 for an RGB network (the input channels of its first convolution)."""
    return next(m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))).in_channels


def list_models() -> list[str]:
    return [*MODELS, *VARIANTS]


def weights_path(name: str, scale: int) -> Path:
    return WEIGHTS / f"{name}_x{scale}.safetensors"


def shipped(name: str | None = None) -> list[tuple[str, int]]:
    """``(name, scale)`` of every shipped weights file (``srkit/weights/<name>_x<scale>.safetensors``), or of
    ``name``'s only, sorted: ``shipped("fsrcnn")`` -> ``[("fsrcnn", 2), ("fsrcnn", 3), ("fsrcnn", 4)]``."""
    found = []
    for path in WEIGHTS.glob("*_x*.safetensors"):
        stem, _, scale = path.stem.rpartition("_x")
        if scale.isdigit() and name in (None, stem):
            found.append((stem, int(scale)))
    return sorted(found)


def _names(pairs) -> str:
    """``[("fsrcnn", 2), ...]`` -> ``"fsrcnn_x2, ..."`` (or ``"none"``), for error messages."""
    return ", ".join(f"{name}_x{scale}" for name, scale in pairs) or "none"


def training_runs(name: str, scale: int) -> list[dict]:
    """The training runs behind shipped weights, newest first: the run their JSON describes, then the run whose
    weights it started from (``init_from``, written by ``srkit train --init-from``), and so on back to the first
    run, which started from random weights. Each network run has ``commands`` (the last one is the run's own),
    ``steps`` and ``train_seconds``."""
    path = weights_path(name, scale).with_suffix(".json")
    if not path.is_file():
        raise FileNotFoundError(f"no shipped weights for {name} x{scale}: {path} is missing")
    runs = [json.loads(path.read_text())]
    while runs[-1].get("init_from"):
        runs.append(runs[-1]["init_from"])
    return runs


def get_model(name: str, *, scale: int, weights: str | Path | None = None, device=None, **kwargs) -> nn.Module:
    """Build model ``name`` for ``scale``; ``weights="default"`` loads the shipped file, a path loads that file.

    With weights, the architecture's keyword arguments come from the weights' JSON (``kwargs`` must agree).
    """
    if name in VARIANTS and weights is None:
        arch, preset = VARIANTS[name]
        return get_model(arch, scale=scale, device=device, **{**preset, **kwargs})
    if name not in MODELS and name not in VARIANTS:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(list_models())}")
    try:
        whole = int(scale) == scale
    except (TypeError, ValueError):
        whole = False
    if not whole or not 2 <= scale <= 8:
        raise ValueError(f"scale must be an integer from 2 to 8, got {scale!r}")
    scale = int(scale)
    if weights is None:
        try:
            model = MODELS[name](scale, **kwargs)
        except TypeError as e:            # an argument the architecture does not have
            reason = re.sub(r"^[\w.]*__init__\(\) ", "", str(e))     # "FSRCNN.__init__() got ..." -> "got ..."
            raise ValueError(f"{name}: {reason}") from None
        except (RuntimeError, ValueError) as e:    # a size torch cannot build, e.g. d=-1
            raise ValueError(f"{name} with {kwargs}: {e}") from None
        model.init_kwargs = dict(kwargs)      # saved with the weights, so that loading rebuilds the same network
    else:
        path = weights_path(name, scale) if weights == "default" else Path(weights)
        if weights == "default" and not path.is_file():
            raise ValueError(f"no shipped weights for {name} x{scale}; shipped: {_names(shipped(name))}")
        model = load_weights(path, device=device)
        arch = VARIANTS[name][0] if name in VARIANTS else name
        if model.__class__ is not MODELS[arch] or model.scale != scale:
            raise ValueError(f"{path} holds {model.__class__.__name__} x{model.scale}, not {name} x{scale}")
        defaults = {k: p.default for k, p in inspect.signature(MODELS[arch]).parameters.items()}
        built = {**defaults, **model.init_kwargs}
        differ = {k: v for k, v in kwargs.items() if built.get(k, object()) != v}
        if differ:
            raise ValueError(f"{path} holds {name} with {', '.join(f'{k}={built.get(k)!r}' for k in differ)}, "
                             f"not {', '.join(f'{k}={v!r}' for k, v in differ.items())}; leave these out to load it")
    return model.to(device) if device is not None else model


def init_from(model: nn.Module, source: nn.Module) -> list[str]:
    """Copy into ``model`` every tensor of ``source`` whose name and shape fit; returns the names not copied.

    This is FSRCNN's trick across scales (all layers but the scale-specific last one). A transposed convolution
    copied to another stride is rescaled by ``(new stride / old stride)**2``: each output pixel sums about
    ``(k / stride)**2`` taps, so without it an x3 kernel would paint an x2 image 2.25 times too bright.
    """
    own, theirs = model.state_dict(), source.state_dict()
    fits = {k: v.clone() for k, v in theirs.items() if k in own and own[k].shape == v.shape}
    for name, layer in model.named_modules():
        if isinstance(layer, nn.ConvTranspose2d) and f"{name}.weight" in fits:
            old = dict(source.named_modules())[name].stride[0]
            fits[f"{name}.weight"] *= (layer.stride[0] / old) ** 2
    own.update(fits)
    model.load_state_dict(own)
    return [k for k in own if k not in fits]


def save_weights(model: nn.Module, path: str | Path, meta: dict | None = None) -> Path:
    """Write ``<path>.safetensors`` (tensors only) and ``<path>.json`` (architecture, ``meta`` and the sha256 of
    the tensors file), atomically."""
    import hashlib

    from safetensors.torch import save_file
    path = Path(path).with_suffix("")
    arch = next(k for k, v in MODELS.items() if v is model.__class__)
    kwargs = getattr(model, "init_kwargs", None) or {}
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tmp = path.with_name(path.name + ".tmp.safetensors")
    save_file(state, str(tmp))
    sha256 = hashlib.sha256(tmp.read_bytes()).hexdigest()
    tmp.replace(f"{path}.safetensors")
    info = {"arch": arch, "scale": model.scale, "kwargs": kwargs,
            "num_params": sum(p.numel() for p in model.parameters()), **(meta or {}), "sha256": sha256}
    tmp_json = path.with_name(path.name + ".tmp.json")
    tmp_json.write_text(json.dumps(info, indent=2) + "\n")
    tmp_json.replace(f"{path}.json")
    return Path(f"{path}.safetensors")


def load_weights(path: str | Path, device=None) -> nn.Module:
    """Build the model described by ``<path>.json`` and load ``<path>.safetensors`` into it."""
    from safetensors.torch import load_file
    path = Path(path).with_suffix("")
    for suffix in (".safetensors", ".json"):
        if not Path(f"{path}{suffix}").is_file():
            raise FileNotFoundError(f"no weights file {path}{suffix}")
    info = json.loads(Path(f"{path}.json").read_text())
    if info.get("arch") not in MODELS:
        raise ValueError(f"{path}.json: unknown architecture {info.get('arch')!r}")
    model = MODELS[info["arch"]](info["scale"], **info.get("kwargs", {}))
    model.init_kwargs = info.get("kwargs", {})
    state = load_file(f"{path}.safetensors", device=str(device or "cpu"))
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise ValueError(f"{path}.safetensors does not fit {info['arch']}{info.get('kwargs', {})}: {e}") from None
    return model.to(device) if device is not None else model


@contextmanager
def eval_mode(model: nn.Module):
    """Run a block with ``model`` in eval mode, then give it back in the mode it had (train or eval)."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def count_macs(model: nn.Module, h: int, w: int, channels: int | None = None) -> int:
    """Multiply-accumulates of one forward pass on an ``(1, channels, h, w)`` input, counted layer by layer
    (``channels`` defaults to what the model's first convolution takes).

    A convolution costs ``output pixels x out_channels x (in_channels / groups) x kh x kw``; a transposed
    convolution scatters every *input* pixel: ``input pixels x in_channels x (out_channels / groups) x kh x kw``.
    Activations, biases, pixel shuffle and SRCNN's bicubic pre-upsampling are not counted (they are small).
    """
    import torch

    total = 0

    def hook(layer, inputs, output):
        nonlocal total
        kh, kw = layer.kernel_size
        if isinstance(layer, nn.ConvTranspose2d):
            x = inputs[0]
            total += x[0, 0].numel() * layer.in_channels * (layer.out_channels // layer.groups) * kh * kw
        else:
            total += output[0, 0].numel() * layer.out_channels * (layer.in_channels // layer.groups) * kh * kw

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    try:
        param = next(model.parameters(), None)
        device = param.device if param is not None else "cpu"
        with torch.no_grad(), eval_mode(model):
            model(torch.zeros(1, channels or input_channels(model), h, w, device=device))
    finally:
        for handle in handles:
            handle.remove()
    return total
