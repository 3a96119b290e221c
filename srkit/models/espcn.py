"""ESPCN: all convolutions in LR space, then a sub-pixel convolution (pixel shuffle) to the HR grid.

Paper: W. Shi, J. Caballero, F. Huszár, J. Totz, A. P. Aitken, R. Bishop, D. Rueckert, Z. Wang, "Real-Time
Single Image and Video Super-Resolution Using an Efficient Sub-Pixel Convolutional Neural Network",
CVPR 2016 (https://arxiv.org/abs/1609.05158).

Layers (5-3-3): 5x5 conv with 64 filters, 3x3 conv with 32 filters (tanh after both), 3x3 conv with
``scale**2`` filters, then ``PixelShuffle(scale)`` rearranges ``(N, scale**2, h, w)`` into ``(N, 1, h*scale,
w*scale)``: every LR pixel predicts its ``scale x scale`` block of HR pixels.

How we deviate from the paper: zero padding keeps the output exactly ``scale`` times the input; the last layer
is ICNR-initialised (each sub-pixel starts equal, so the network starts without checkerboard artefacts;
Aitken et al. 2017); Adam instead of SGD.
"""

from __future__ import annotations

import torch
import torch.nn as nn


class ESPCN(nn.Module):
    def __init__(self, scale: int, n1: int = 64, n2: int = 32, channels: int = 1):
        super().__init__()
        self.scale = scale
        self.features = nn.Sequential(
            nn.Conv2d(channels, n1, 5, padding=2), nn.Tanh(),          # (N, 64, h, w)
            nn.Conv2d(n1, n2, 3, padding=1), nn.Tanh(),                # (N, 32, h, w)
        )
        self.subpixel = nn.Conv2d(n2, channels * scale**2, 3, padding=1)   # (N, C*s*s, h, w)
        self.shuffle = nn.PixelShuffle(scale)                              # (N, C, h*s, w*s)
        self.receptive_radius = 2 + 1 + 1          # LR pixels an output pixel sees: 5x5, 3x3, 3x3 (tiled inference)
        # ICNR: initialise one sub-pixel filter and copy it to all s*s positions.
        w = torch.empty(channels, n2, 3, 3)
        nn.init.kaiming_normal_(w, nonlinearity="linear")
        with torch.no_grad():
            self.subpixel.weight.copy_(w.repeat_interleave(scale**2, dim=0) * 0.1)
            self.subpixel.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.subpixel(self.features(x)))
