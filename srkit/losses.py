"""The losses of SRResNet and SRGAN: pixel, VGG content and adversarial (Ledig et al., CVPR 2017, Section 2.2).

* **Pixel loss** ``pixel_loss(sr, hr, "mse" | "l1")``: what SRCNN to SRResNet minimise. It maximises PSNR, and
  its optimum for an ambiguous detail is the *average* of all plausible details: a blur.
* **VGG content loss** ``VGGLoss``: the squared distance between feature maps of a VGG19 trained on ImageNet,
  after the 4th convolution (and ReLU) of the 5th block ("phi 5,4"), the feature maps rescaled by 1/12.75 so the
  loss is about as large as the MSE (the paper's factor). It compares *what is in* the images, not pixels.
  VGG19's layer list is defined below (torchvision is not a dependency); its weights are torchvision's file
  ``vgg19-dcbb9e9d.pth`` (548 MB), which :func:`vgg19` reads from a path you give, from ``$SRKIT_VGG19``, or,
  with ``download=True`` and internet access, through ``torch.hub.load_state_dict_from_url``. The file is read
  with ``torch.load(weights_only=True)``, which loads tensors and never executes code.
* **Adversarial loss** ``generator_adversarial_loss``: ``-log D(G(x))``, weight 1e-3 in the paper against an MSE
  on images in [-1, 1], which is 2.5e-4 against srkit's MSE on [0, 1] (4 times smaller); the discriminator
  minimises ``discriminator_loss`` (real -> 1, fake -> 0). Both take logits.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["pixel_loss", "VGG19_LAYERS", "vgg19_features", "vgg19", "VGGLoss", "VGGWeightsUnavailable",
           "generator_adversarial_loss", "discriminator_loss", "VGG19_URL", "IMAGENET_MEAN", "IMAGENET_STD"]

# torchvision's VGG19 'features' (configuration "E" of Simonyan & Zisserman 2015): numbers are 3x3 conv widths,
# "M" a 2x2 max-pool. Each conv is followed by a ReLU, so conv i of the list sits at a fixed index of the
# nn.Sequential, and torchvision's weight names ("features.34.weight") load unchanged.
VGG19_LAYERS = [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]
VGG19_URL = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class VGGWeightsUnavailable(FileNotFoundError):
    pass


def pixel_loss(sr: torch.Tensor, hr: torch.Tensor, kind: str = "mse") -> torch.Tensor:
    if kind not in ("mse", "l1"):
        raise ValueError(f"pixel loss must be 'mse' or 'l1', got {kind!r}")
    return F.mse_loss(sr, hr) if kind == "mse" else F.l1_loss(sr, hr)


def vgg19_features(until: str = "5_4") -> nn.Sequential:
    """VGG19's convolutional layers up to and including the ReLU after conv ``block_index`` (e.g. ``"5_4"``)."""
    block, index = (int(v) for v in until.split("_"))
    layers: list[nn.Module] = []
    cin, b, i = 3, 1, 0
    for v in VGG19_LAYERS:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2))
            b, i = b + 1, 0
            continue
        layers += [nn.Conv2d(cin, v, 3, padding=1), nn.ReLU(inplace=False)]
        cin, i = v, i + 1
        if (b, i) == (block, index):
            return nn.Sequential(*layers)
    raise ValueError(f"VGG19 has no conv {until}; blocks 1-2 have 2 convs, blocks 3-5 have 4")


def vgg19(weights: str | Path | None = None, until: str = "5_4", download: bool = False) -> nn.Sequential:
    """VGG19 features up to ``until`` with ImageNet weights, frozen, in eval mode.

    ``weights`` is a torchvision VGG19 file (``.pth``) or a safetensors file with the same names; default
    ``$SRKIT_VGG19``; ``download=True`` fetches torchvision's file (checked against the hash in its name).
    """
    net = vgg19_features(until)
    path = weights or os.environ.get("SRKIT_VGG19")
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise VGGWeightsUnavailable(f"VGG19 weights file {path} does not exist")
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file
            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)   # tensors only, no code
    elif download:
        state = torch.hub.load_state_dict_from_url(VGG19_URL, map_location="cpu", check_hash=True,
                                                   weights_only=True)
    else:
        raise VGGWeightsUnavailable(
            "the VGG content loss needs ImageNet-trained VGG19 weights, and none were given. Either pass "
            "weights='path/to/vgg19-dcbb9e9d.pth' (torchvision's file), set SRKIT_VGG19 to that path, or call "
            f"vgg19(download=True) with internet access (it fetches {VGG19_URL}, 548 MB). Without them, train "
            "with the MSE content loss (the paper's SRGAN-MSE).")
    own = {k: v for k, v in state.items() if k.startswith("features.")}
    wanted = {f"features.{k}": v for k, v in net.state_dict().items()}
    missing = [k for k in wanted if k not in own]
    if missing:
        raise ValueError(f"{path or VGG19_URL} is not a VGG19 state dict: missing {', '.join(missing[:3])}")
    for k, v in wanted.items():
        if own[k].shape != v.shape:
            raise ValueError(f"{path or VGG19_URL}: {k} has shape {tuple(own[k].shape)}, VGG19 has {tuple(v.shape)}")
    net.load_state_dict({k[len("features."):]: own[k] for k in wanted})
    return net.eval().requires_grad_(False)


class VGGLoss(nn.Module):
    """``mean((phi(sr) / 12.75 - phi(hr) / 12.75)**2)`` with ``phi`` = VGG19 features (inputs RGB in [0, 1]).

    ``phi`` is a fixed measure, never trained: the features you pass (or the VGG19 built here) are put in eval
    mode and their weights frozen, in place.
    """

    def __init__(self, features: nn.Module | None = None, rescale: float = 1 / 12.75, **vgg_kwargs):
        super().__init__()
        self.features = features if features is not None else vgg19(**vgg_kwargs)
        self.features.eval().requires_grad_(False)
        self.rescale = rescale
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        if sr.ndim != 4 or sr.shape[1] != 3 or sr.shape != hr.shape:
            raise ValueError(f"VGG loss needs two RGB batches (N, 3, H, W) of one shape, got {tuple(sr.shape)} "
                             f"and {tuple(hr.shape)}")
        phi_sr = self.features((sr - self.mean) / self.std)
        with torch.no_grad():
            phi_hr = self.features((hr - self.mean) / self.std)
        return F.mse_loss(phi_sr * self.rescale, phi_hr * self.rescale)


def generator_adversarial_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """``-log D(G(x))`` averaged over the batch (the non-saturating form the paper uses)."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """``-log D(hr) - log(1 - D(G(x)))``: the discriminator learns to say 1 for real, 0 for fake."""
    return (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
