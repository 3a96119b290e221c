"""SRCNN: the first convolutional network for super-resolution.

Paper: C. Dong, C. C. Loy, K. He, X. Tang, "Learning a Deep Convolutional Network for Image Super-Resolution",
ECCV 2014, and "Image Super-Resolution Using Deep Convolutional Networks", TPAMI 2016
(https://arxiv.org/abs/1501.00092).

Three layers that mirror sparse coding (chapter 03): patch extraction and representation (``f1 x f1`` conv,
``n1`` filters), non-linear mapping (``f2 x f2`` conv, ``n2`` filters) and reconstruction (``f3 x f3`` conv).
SRCNN works in HR space: its input is the bicubic-upscaled Y channel.

How we deviate from the paper:

* ``forward`` takes the **LR** image and does the bicubic upscaling itself (MATLAB-exact, ``srkit.imresize``),
  so every srkit model has the same interface: ``(N, 1, h, w) -> (N, 1, h*scale, w*scale)``.
* The convolutions are zero-padded ("same"), so the output has the input's size; the paper used no padding
  and its output was smaller by ``f1 + f2 + f3 - 3`` pixels.
* Adam instead of SGD with per-layer learning rates (``srkit.train``), and therefore He initialisation of the
  first two layers instead of the paper's Gaussian with std 0.001 (see ``__init__``).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from ..resize import imresize


class SRCNN(nn.Module):
    def __init__(self, scale: int, f1: int = 9, f2: int = 1, f3: int = 5, n1: int = 64, n2: int = 32,
                 channels: int = 1):
        super().__init__()
        self.scale = scale
        self.extract = nn.Conv2d(channels, n1, f1, padding=f1 // 2)   # patch extraction: n1 "atoms" of f1 x f1
        self.mapping = nn.Conv2d(n1, n2, f2, padding=f2 // 2)         # non-linear mapping: the sparse code
        self.reconstruct = nn.Conv2d(n2, channels, f3, padding=f3 // 2)  # HR patches, averaged where they overlap
        self.relu = nn.ReLU(inplace=True)
        # How far an output pixel sees, in LR pixels (for tiled inference): the layers' reach on the bicubic image,
        # plus the 2 LR pixels on either side that bicubic interpolation reads.
        self.receptive_radius = math.ceil((f1 // 2 + f2 // 2 + f3 // 2) / scale) + 2
        # He initialisation for the two ReLU layers; the paper's Gaussian (std 0.001) for the last. With the paper's
        # init everywhere, Adam's first step (about lr * sign(gradient) per weight) turns half the first-layer
        # filters negative for every input and they never fire again (chapter 04 shows it).
        for conv in (self.extract, self.mapping):
            nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
            nn.init.zeros_(conv.bias)
        nn.init.normal_(self.reconstruct.weight, std=1e-3)
        nn.init.zeros_(self.reconstruct.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = imresize(x, self.scale)                  # (N, C, h*s, w*s): SRCNN works on the bicubic image
        x = self.relu(self.extract(x))               # (N, n1, H, W)
        x = self.relu(self.mapping(x))               # (N, n2, H, W)
        return self.reconstruct(x)                   # (N, C, H, W)
