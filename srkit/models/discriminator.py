"""SRGAN's discriminator: a VGG-style classifier that tells real HR patches from super-resolved ones.

Paper: C. Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial Network",
CVPR 2017 (https://arxiv.org/abs/1609.04802), Figure 4 (bottom) and Section 2.2.

Layers: eight 3x3 convolutions with LeakyReLU (slope 0.2), channels 64, 64, 128, 128, 256, 256, 512, 512;
every second one has stride 2 (halving the resolution) and all but the first are followed by batch
normalisation; then a dense layer of 1024 units, LeakyReLU, and a dense layer to one logit (the paper ends in a
sigmoid; we return the logit and use ``binary_cross_entropy_with_logits``, which is the same loss computed
stably). ``n_feats`` scales every width (64 in the paper), so that a small one trains on a CPU.

How we deviate from the paper: the paper's dense layer needs 96x96 inputs; we pool the last feature map to
6x6 (``AdaptiveAvgPool2d``), which is the identity for 96x96 patches and accepts any size; RGB in [0, 1].
"""

from __future__ import annotations

import torch
import torch.nn as nn


class Discriminator(nn.Module):
    def __init__(self, n_feats: int = 64, dense: int = 1024):
        super().__init__()
        widths = [n_feats, n_feats, 2 * n_feats, 2 * n_feats, 4 * n_feats, 4 * n_feats, 8 * n_feats, 8 * n_feats]
        layers: list[nn.Module] = []
        cin = 3
        for i, cout in enumerate(widths):
            layers.append(nn.Conv2d(cin, cout, 3, stride=1 + i % 2, padding=1))
            if i > 0:
                layers.append(nn.BatchNorm2d(cout))
            layers.append(nn.LeakyReLU(0.2))
            cin = cout
        self.features = nn.Sequential(*layers)                      # (N, 8 n_feats, H/16, W/16)
        self.pool = nn.AdaptiveAvgPool2d(6)                         # (N, 8 n_feats, 6, 6)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(cin * 36, dense), nn.LeakyReLU(0.2), nn.Linear(dense, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, H, W)`` in [0, 1] -> ``(N,)`` logits: high means "looks like a real HR image"."""
        return self.classifier(self.pool(self.features(x)))[:, 0]
