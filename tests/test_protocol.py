"""The evaluation protocol against its oracles: MATLAB's own files and the published bicubic table."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import require_dataset

import srkit
from srkit import bench
from srkit.io import load_image

NAMES = ["baby", "bird", "butterfly", "head", "woman"]


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("name", NAMES)
def test_imresize_reproduces_matlab_lr_bit_exactly(matlab_reference, name, scale):
    hr = load_image(matlab_reference / f"HR/x{scale}/{name}_HR_x{scale}.png")
    lr = load_image(matlab_reference / f"LR/x{scale}/{name}_LRBI_x{scale}.png")
    out = srkit.imresize(hr, 1 / scale)
    assert out.dtype == np.uint8 and out.shape == lr.shape
    assert np.array_equal(out, lr), f"{np.count_nonzero(out != lr)} pixels differ from MATLAB"


def _matlab_results(path):
    text = path.read_text().split("Method_2")[0]  # RCAN (not RCAN+)
    pattern = r"x(\d) \d (\w+)_RCAN_x\d\.png: PSNR= ([\d.]+) SSIM= ([\d.]+)"
    return [(int(s), n, float(p), float(q)) for s, n, p, q in re.findall(pattern, text) if s in "234"]


def test_psnr_ssim_reproduce_matlab_per_image(matlab_reference):
    rows = _matlab_results(matlab_reference / "matlab_psnr_ssim_results.txt")
    assert len(rows) == 15
    for scale, name, want_psnr, want_ssim in rows:
        hr = load_image(matlab_reference / f"HR/x{scale}/{name}_HR_x{scale}.png")
        sr = load_image(matlab_reference / f"RCAN/x{scale}/{name}_RCAN_x{scale}.png")
        # MATLAB printed 6 decimals: agreement to the printed precision is all that can be asked.
        assert srkit.psnr(sr, hr, crop_border=scale) == pytest.approx(want_psnr, abs=1e-4 + 5e-7), (name, scale)
        assert srkit.ssim(sr, hr, crop_border=scale) == pytest.approx(want_ssim, abs=1e-5), (name, scale)


def test_rgb_psnr_is_the_known_wrong_number(matlab_reference):
    # A known pitfall: RCAN x2 measured on RGB reads 36.07 dB instead of 38.27 dB.
    values = []
    for name in NAMES:
        hr = load_image(matlab_reference / f"HR/x2/{name}_HR_x2.png")
        sr = load_image(matlab_reference / f"RCAN/x2/{name}_RCAN_x2.png")
        values.append(srkit.psnr(sr, hr, crop_border=2, y_channel=False))
    assert np.mean(values) == pytest.approx(36.07, abs=0.01)


# Published bicubic baselines (VDSR and EDSR papers' tables): (PSNR, SSIM).
PUBLISHED = {
    ("Set5", 2): (33.66, 0.9299), ("Set5", 3): (30.39, 0.8682), ("Set5", 4): (28.42, 0.8104),
    ("Set14", 2): (30.24, 0.8688), ("Set14", 3): (27.55, 0.7742), ("Set14", 4): (26.00, 0.7027),
    ("BSD100", 2): (29.56, 0.8431), ("BSD100", 3): (27.21, 0.7385), ("BSD100", 4): (25.96, 0.6675),
    ("Urban100", 2): (26.88, 0.8403), ("Urban100", 3): (24.46, 0.7349), ("Urban100", 4): (23.14, 0.6577),
}


@pytest.mark.parametrize("dataset,scale", list(PUBLISHED))
def test_bicubic_baseline_matches_the_literature(dataset, scale):
    require_dataset(dataset)
    result = bench.run("bicubic", dataset, scale)
    want_psnr, want_ssim = PUBLISHED[dataset, scale]
    assert result["psnr"] == pytest.approx(want_psnr, abs=0.02)
    assert result["ssim"] == pytest.approx(want_ssim, abs=0.002)
    assert len(result["per_image"]) == {"Set5": 5, "Set14": 14}.get(dataset, 100)


def test_grayscale_test_image_is_not_colour_converted():
    # Set14's bridge is single-channel: MATLAB's evaluation measures its own values, not 16 + 219 v.
    require_dataset("Set14")
    bridge = srkit.load_dataset("Set14", scale=2)["bridge"]
    assert bridge.ndim == 2
    sr = srkit.imresize(srkit.imresize(bridge, 1 / 2), 2)
    as_rgb = np.repeat(bridge[..., None], 3, axis=2), np.repeat(sr[..., None], 3, axis=2)
    assert srkit.psnr(sr, bridge, 2) != pytest.approx(srkit.psnr(as_rgb[1], as_rgb[0], 2), abs=0.05)
