"""RCAN: residual channel attention networks, "residual in residual" with squeeze-and-excitation per block.

Paper: Y. Zhang, K. Li, K. Li, L. Wang, B. Zhong, Y. Fu, "Image Super-Resolution Using Very Deep Residual
Channel Attention Networks", ECCV 2018 (https://arxiv.org/abs/1807.02758), Section 3 and Figures 2-4.

Two ideas on top of EDSR:

* **Channel attention** (from squeeze-and-excitation, Hu et al. 2018): each block pools every feature map to
  one number (global average), passes the vector through a bottleneck (``n_feats / reduction`` units, ReLU,
  back to ``n_feats``, sigmoid), and multiplies each channel by its weight in [0, 1]: the network learns which
  features matter *for this image*, for instance to weight high-frequency channels up.
* **Residual in residual**: blocks (RCAB: conv-ReLU-conv-attention, plus the input) are grouped; each group
  has its own skip connection, and a long skip spans all groups, so that the abundant low frequencies bypass
  the body and the deep layers learn the residual detail.

The paper: 10 groups of 20 blocks, 64 channels, reduction 16 (about 15.6 M parameters). ``n_groups``,
``n_blocks``, ``n_feats`` and ``reduction`` make one that trains on a CPU. How we deviate from the paper: no
mean shift; the last conv starts at a tenth of its default scale.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .srresnet import upsample_factors, upsampler


class ChannelAttention(nn.Module):
    """``x * sigmoid(W2 relu(W1 mean(x)))``, one weight per channel."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        self.squeeze = nn.AdaptiveAvgPool2d(1)                          # (N, C, 1, 1)
        self.excite = nn.Sequential(nn.Conv2d(channels, channels // reduction, 1), nn.ReLU(),
                                    nn.Conv2d(channels // reduction, channels, 1), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.excite(self.squeeze(x))


class RCAB(nn.Module):
    """Residual channel attention block: conv3x3 - ReLU - conv3x3 - channel attention, plus the input."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(channels, channels, 3, padding=1), ChannelAttention(channels, reduction))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResidualGroup(nn.Module):
    def __init__(self, channels: int, n_blocks: int, reduction: int = 16):
        super().__init__()
        self.body = nn.Sequential(*[RCAB(channels, reduction) for _ in range(n_blocks)],
                                  nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class RCAN(nn.Module):
    def __init__(self, scale: int, n_groups: int = 10, n_blocks: int = 20, n_feats: int = 64, reduction: int = 16):
        super().__init__()
        if n_feats // reduction < 1:
            raise ValueError(f"n_feats ({n_feats}) must be at least reduction ({reduction})")
        self.scale = scale
        self.head = nn.Conv2d(3, n_feats, 3, padding=1)
        self.groups = nn.Sequential(*[ResidualGroup(n_feats, n_blocks, reduction) for _ in range(n_groups)],
                                    nn.Conv2d(n_feats, n_feats, 3, padding=1))
        self.upsample = upsampler(scale, n_feats, prelu=False)
        self.tail = nn.Conv2d(n_feats, 3, 3, padding=1)
        with torch.no_grad():
            self.tail.weight.mul_(0.1)
        self.receptive_radius = 1 + n_groups * (2 * n_blocks + 1) + 1 + len(upsample_factors(scale)) + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        head = self.head(x)
        return self.tail(self.upsample(head + self.groups(head)))
