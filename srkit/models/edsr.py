"""EDSR: SRResNet without batch normalisation, with residual scaling, trained with L1.

Paper: B. Lim, S. Son, H. Kim, S. Nah, K. M. Lee, "Enhanced Deep Residual Networks for Single Image
Super-Resolution", CVPRW 2017 (https://arxiv.org/abs/1707.02921), Section 3.1 and Figure 2.

What changed from SRResNet (chapter 09 measures it): the residual block is conv3x3-ReLU-conv3x3 with **no batch
normalisation** (BN normalises away the range of the features, costs memory, and the paper found it hurts);
the block's output is multiplied by ``res_scale`` before it is added (0.1 in the large EDSR, which keeps a
deep and wide network stable; 1 in EDSR-baseline); no activation after the upsampler; L1 loss. EDSR-baseline is
16 blocks of 64 channels (1.5 M parameters at x4); EDSR is 32 blocks of 256 (43 M).

How we deviate from the paper: no mean shift (inputs are RGB in [0, 1] and the first conv has a bias, which can
learn it); the last conv starts at a tenth of its default scale.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .srresnet import upsample_factors, upsampler


class EDSRBlock(nn.Module):
    """conv3x3 - ReLU - conv3x3, times ``res_scale``, plus the input: SRResNet's block without BN."""

    def __init__(self, channels: int, res_scale: float = 1.0):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(channels, channels, 3, padding=1))
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res_scale * self.body(x)


class EDSR(nn.Module):
    def __init__(self, scale: int, n_blocks: int = 16, n_feats: int = 64, res_scale: float = 1.0):
        super().__init__()
        self.scale = scale
        self.head = nn.Conv2d(3, n_feats, 3, padding=1)
        self.blocks = nn.Sequential(*[EDSRBlock(n_feats, res_scale) for _ in range(n_blocks)],
                                    nn.Conv2d(n_feats, n_feats, 3, padding=1))
        self.upsample = upsampler(scale, n_feats, prelu=False)
        self.tail = nn.Conv2d(n_feats, 3, 3, padding=1)
        with torch.no_grad():
            self.tail.weight.mul_(0.1)
        self.receptive_radius = 1 + 2 * n_blocks + 1 + len(upsample_factors(scale)) + 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        head = self.head(x)
        return self.tail(self.upsample(head + self.blocks(head)))
