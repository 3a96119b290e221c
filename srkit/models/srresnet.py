"""SRResNet: a deep residual generator that works in LR space and upsamples by two pixel-shuffle stages.

Paper: C. Ledig, L. Theis, F. Huszár, J. Caballero, A. Cunningham, A. Acosta, A. Aitken, A. Tejani, J. Totz,
Z. Wang, W. Shi, "Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial Network",
CVPR 2017 (https://arxiv.org/abs/1609.04802), Figure 4 (the generator) and Section 3.

Layers: 9x9 conv to 64 channels + PReLU (the "head"); ``n_blocks`` residual blocks, each
conv3x3-BN-PReLU-conv3x3-BN plus its input; conv3x3-BN plus the head's output (the global skip); for every
factor 2 of the scale, conv3x3 to 4x the channels, ``PixelShuffle(2)`` and PReLU (x3 uses one stage of 9x the
channels and ``PixelShuffle(3)``); a 9x9 conv to RGB. The paper has 16 blocks of 64 channels (1.55 M
parameters at x4); ``n_blocks`` and ``channels`` make a network small enough to train on a laptop CPU.

How we deviate from the paper: the output is RGB in [0, 1] like the input (the paper maps HR images to
[-1, 1]; the two differ by an affine map folded into the last layer); any integer scale whose prime factors
are 2 and 3 (the paper is x4 only); Adam with a cosine schedule (the paper: Adam, lr 1e-4, 10^6 steps); the
last conv starts at a tenth of its default scale so that training starts near a flat image.
"""

from __future__ import annotations

import torch
import torch.nn as nn


class ResidualBlock(nn.Module):
    """conv3x3 - BN - PReLU - conv3x3 - BN, plus the input (He et al. 2016, as SRGAN uses it)."""

    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.PReLU(channels),
            nn.Conv2d(channels, channels, 3, padding=1), nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def upsample_factors(scale: int) -> list[int]:
    """The pixel-shuffle stages that make ``scale``: x2 stages, then x3 stages (x4 = [2, 2], x6 = [2, 3])."""
    factors, rest = [], scale
    while rest % 2 == 0:
        factors, rest = factors + [2], rest // 2
    while rest % 3 == 0:
        factors, rest = factors + [3], rest // 3
    if rest != 1:
        raise ValueError(f"this network upsamples by factors 2 and 3 only; scale {scale} is not a product of them")
    return factors


def upsampler(scale: int, channels: int, prelu: bool = True) -> nn.Sequential:
    """Sub-pixel stages: conv3x3 to ``f*f`` times the channels, ``PixelShuffle(f)`` (and PReLU, as SRResNet; EDSR
    and RCAN have none) for each factor ``f`` of :func:`upsample_factors`."""
    layers: list[nn.Module] = []
    for f in upsample_factors(scale):
        layers += [nn.Conv2d(channels, channels * f * f, 3, padding=1), nn.PixelShuffle(f)]
        layers += [nn.PReLU(channels)] if prelu else []
    return nn.Sequential(*layers)


class SRResNet(nn.Module):
    def __init__(self, scale: int, n_blocks: int = 16, n_feats: int = 64):
        super().__init__()
        self.scale = scale
        self.head = nn.Sequential(nn.Conv2d(3, n_feats, 9, padding=4), nn.PReLU(n_feats))       # (N, 64, h, w)
        self.blocks = nn.Sequential(*[ResidualBlock(n_feats) for _ in range(n_blocks)])          # (N, 64, h, w)
        self.fuse = nn.Sequential(nn.Conv2d(n_feats, n_feats, 3, padding=1), nn.BatchNorm2d(n_feats))
        self.upsample = upsampler(scale, n_feats)                                                 # (N, 64, sh, sw)
        self.tail = nn.Conv2d(n_feats, 3, 9, padding=4)                                          # (N, 3, sh, sw)
        with torch.no_grad():
            self.tail.weight.mul_(0.1)
        # How far an output pixel sees, in LR pixels (srkit.upscale's tiles overlap by at least this much).
        self.receptive_radius = 4 + 2 * n_blocks + 1 + len(upsample_factors(scale)) + 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        head = self.head(x)
        return self.tail(self.upsample(head + self.fuse(self.blocks(head))))
