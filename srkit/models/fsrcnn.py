"""FSRCNN: a fast SRCNN that works in LR space and upsamples at the end with a transposed convolution.

Paper: C. Dong, C. C. Loy, X. Tang, "Accelerating the Super-Resolution Convolutional Neural Network",
ECCV 2016 (https://arxiv.org/abs/1608.00367).

FSRCNN(d, s, m): feature extraction (5x5, d filters) -> shrinking (1x1, s) -> m mapping layers (3x3, s) ->
expanding (1x1, d) -> deconvolution (9x9 transposed convolution with stride = scale), PReLU after every layer
but the last. FSRCNN = (56, 12, 4), 12,464 weights; FSRCNN-s = (32, 5, 1), 3,937 weights. All layers but the
deconvolution are shared across scales: the paper trains x3, then fine-tunes only the last layer for x2 and x4
(``srkit train --init-from fsrcnn_x3 --train-only last``).

How we deviate from the paper: the deconvolution's padding gives exactly ``scale`` times the input size for
any input (``output_padding = scale - 1``); Adam instead of SGD; the shipped x2 and x4 weights, after that
transfer, were fine-tuned whole at their own scale (``srkit/weights/README.md``).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn


class FSRCNN(nn.Module):
    def __init__(self, scale: int, d: int = 56, s: int = 12, m: int = 4, channels: int = 1):
        super().__init__()
        self.scale = scale
        layers = [nn.Conv2d(channels, d, 5, padding=2), nn.PReLU(d),      # feature extraction
                  nn.Conv2d(d, s, 1), nn.PReLU(s)]                         # shrinking
        for _ in range(m):
            layers += [nn.Conv2d(s, s, 3, padding=1), nn.PReLU(s)]         # non-linear mapping
        layers += [nn.Conv2d(s, d, 1), nn.PReLU(d)]                        # expanding
        self.body = nn.Sequential(*layers)
        # Each LR pixel paints a 9x9 footprint every `scale` HR pixels: overlapping footprints whose sum is uneven
        # are the checkerboard artefacts of chapter 05.
        self.deconv = nn.ConvTranspose2d(d, channels, 9, stride=scale, padding=4, output_padding=scale - 1)
        # How far an output pixel sees, in LR pixels (for tiled inference): 2 (5x5) + m (3x3 each) in the body,
        # and the deconvolution's 9 taps reach ceil(4 / scale) + 1 LR pixels from an HR pixel's own.
        self.receptive_radius = 2 + m + math.ceil(4 / scale) + 1
        for layer in self.body:
            if isinstance(layer, nn.Conv2d):   # He initialisation for PReLU layers, as in the paper
                nn.init.normal_(layer.weight, std=math.sqrt(2 / (layer.out_channels * layer.kernel_size[0] ** 2)))
                nn.init.zeros_(layer.bias)
        nn.init.normal_(self.deconv.weight, std=1e-3)
        nn.init.zeros_(self.deconv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.body(x)                 # (N, C, h, w) -> (N, d, h, w)
        if features.device.type != "cpu":
            return self.deconv(features)        # (N, C, h*scale, w*scale)
        # On the CPU, oneDNN's kernel for this thin strided transposed convolution is 2-5x slower than PyTorch's
        # own (measured in chapter 05 and tools/bench_models.py); the results agree to float32 rounding.
        # `mkldnn.enabled` is the one switch, the same on every torch release srkit supports (2.2 on);
        # `mkldnn.flags()` would also reset the other oneDNN settings.
        previous = torch.backends.mkldnn.enabled
        torch.backends.mkldnn.enabled = False
        try:
            return self.deconv(features)
        finally:
            torch.backends.mkldnn.enabled = previous
