"""Every network, parametrized over list_models() (timm's tests/test_models.py style), plus training and upscaling."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import srkit
from srkit.models import (VARIANTS, WEIGHTS, count_macs, get_model, init_from, input_channels, list_models,
                          load_weights, save_weights)
from srkit.train import PatchSampler, evaluate, fit, to_pairs, to_y_pairs
from srkit.upscale import run_tiled, upscale

# Weight counts (biases and PReLU slopes excluded) from the papers: SRCNN TPAMI 2016 Sec. 4.3, FSRCNN Table 1.
PAPER_WEIGHTS = {"srcnn": 8032, "srcnn_955": 57184, "fsrcnn": 12464, "fsrcnn_s": 3937}


def n_weights(model):
    return sum(p.numel() for name, p in model.named_parameters() if name.endswith("weight") and p.ndim > 1)


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_output_is_input_times_scale_for_any_size(name, scale):
    model = get_model(name, scale=scale).eval()
    c = input_channels(model)
    for h, w in [(7, 9), (16, 16), (13, 30)]:
        assert model(torch.rand(2, c, h, w)).shape == (2, c, h * scale, w * scale)


@pytest.mark.parametrize("name", list_models())
def test_every_parameter_gets_a_gradient(name):
    model = get_model(name, scale=3)
    model(torch.rand(2, input_channels(model), 12, 12)).square().mean().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), pname
        # RCAN's attention bottleneck has 4 ReLU units per block: at initialisation all 4 can be off for a given
        # input, which leaves that block's attention weights without a gradient for this batch.
        if ".excite." not in pname:
            assert p.grad.abs().sum() > 0, pname


@pytest.mark.parametrize("name,want", list(PAPER_WEIGHTS.items()))
def test_weight_counts_equal_the_papers(name, want):
    assert n_weights(get_model(name, scale=3)) == want


@pytest.mark.parametrize("name", list_models())
def test_save_load_round_trip(name, tmp_path):
    model = get_model(name, scale=2)
    path = save_weights(model, tmp_path / f"{name}_x2", {"note": "test"})
    meta = json.loads((tmp_path / f"{name}_x2.json").read_text())
    assert meta["arch"] == VARIANTS.get(name, (name,))[0] and meta["note"] == "test" and meta["num_params"] > 0
    loaded = load_weights(path)
    x = torch.rand(1, input_channels(model), 10, 11)
    assert torch.equal(loaded.eval()(x), model.eval()(x))
    assert get_model(name, scale=2, weights=path).scale == 2
    with pytest.raises(ValueError, match="not"):
        get_model(name, scale=3, weights=path)


def test_bad_requests_are_named(tmp_path):
    with pytest.raises(ValueError, match="unknown model"):
        get_model("vdsr", scale=2)
    with pytest.raises(ValueError, match="scale"):
        get_model("fsrcnn", scale=1.5)
    with pytest.raises(ValueError, match="no shipped weights for fsrcnn x7; shipped: fsrcnn_x2, fsrcnn_x3, fsrcnn_x4$"):
        get_model("fsrcnn", scale=7, weights="default")
    with pytest.raises(FileNotFoundError, match="nothing"):
        load_weights(tmp_path / "nothing")
    for scale in (None, "3", 2.5):
        with pytest.raises(ValueError, match="scale must be an integer"):
            get_model("fsrcnn", scale=scale)
    with pytest.raises(ValueError, match="fsrcnn: got an unexpected keyword argument 'foo'"):
        get_model("fsrcnn", scale=3, foo=1)
    with pytest.raises(ValueError, match="fsrcnn with {'d': -1}"):
        get_model("fsrcnn", scale=3, d=-1)
    if WEIGHTS.joinpath("fsrcnn_x3.safetensors").is_file():
        assert get_model("fsrcnn", scale=3.0, weights="default").scale == 3          # 3.0 is 3
        with pytest.raises(ValueError, match="holds fsrcnn with d=56, not d=32"):
            get_model("fsrcnn", scale=3, weights="default", d=32)                  # not silently ignored


@pytest.mark.parametrize("name", ["srcnn", "srcnn_955", "fsrcnn", "fsrcnn_s", "espcn"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_receptive_radius_covers_what_an_output_pixel_sees(name, scale):
    """Tiled inference takes its overlap from ``receptive_radius``: every LR pixel that an output pixel depends on
    (non-zero gradient) lies within it of the LR pixel whose s x s block holds the output pixel (tiles are cut
    between blocks), and it is no more than 2 pixels too generous."""
    torch.manual_seed(0)
    model = get_model(name, scale=scale).double().eval()
    x = torch.rand(1, 1, 33, 33, dtype=torch.float64, requires_grad=True)
    reach = 0.0
    for o in range(16 * scale, 17 * scale):                         # every phase of one LR pixel
        grad = torch.autograd.grad(model(x)[0, 0, o, o], x)[0][0, 0]
        rows = grad.abs().sum(1).nonzero()[:, 0].double()
        reach = max(reach, float((rows - o // scale).abs().max()))
    assert reach <= model.receptive_radius < reach + 2, (reach, model.receptive_radius)


@pytest.mark.parametrize("name", list_models())
def test_tiled_equals_untiled(name):
    small = {"n_blocks": 2, "n_feats": 16} if name in ("srresnet", "srgan") else {}   # so that 45x61 gets tiled
    model = get_model(name, scale=3, **small).eval()
    x = torch.rand(1, input_channels(model), 45, 61)
    overlap = max(10, getattr(model, "receptive_radius", 0))       # how far SRResNet sees, in LR pixels
    assert torch.allclose(run_tiled(model, x, 3, tile=2 * overlap + 8, overlap=overlap), model(x), atol=1e-5)


def test_upscale_rgb_and_gray_and_bad_input():
    image = srkit.sample_images(["coffee"])["coffee"][:30, :40]
    model = get_model("espcn", scale=2)
    assert upscale(image, model).shape == (60, 80, 3)
    assert upscale(image[..., 0], model).shape == (60, 80)
    assert np.array_equal(upscale(image, model, tile=16, overlap=6), upscale(image, model))
    with pytest.raises(ValueError, match="uint8"):
        upscale(image / 255.0, model)
    with pytest.raises(ValueError, match="too small"):
        upscale(image[:1, :1], model)
    with pytest.raises(ValueError, match="x2, not x3"):
        upscale(image, model, scale=3)
    fsrcnn = get_model("fsrcnn", scale=2)                          # sees 8 LR pixels around each pixel
    with pytest.raises(ValueError, match="overlap 0 is smaller than what this FSRCNN sees"):
        upscale(image, fsrcnn, tile=16, overlap=0)                 # the tiles would show seams
    for tile in (40.5, "64", 0):
        with pytest.raises(ValueError, match="tile must be a whole number"):
            upscale(image, model, tile=tile)
    with pytest.raises(ValueError, match="must be at least 33"):
        upscale(image, fsrcnn, tile=20)                           # overlap 16: at least 2 * 16 + 1
    with pytest.raises(TypeError, match="network of srkit.models"):
        upscale(image, None)


def test_upscale_leaves_the_callers_network_as_it_was():
    """Same device, same train/eval mode, same parameters: a notebook's next ``model.extract(x)`` still works."""
    image = srkit.sample_images(["coffee"])["coffee"][:20, :24]
    model = get_model("fsrcnn", scale=2).train()
    params = [p.data_ptr() for p in model.parameters()]
    expected = upscale(image, model)
    assert model.training and [p.data_ptr() for p in model.parameters()] == params
    assert np.array_equal(upscale(image, model.eval(), device="cpu"), expected) and not model.training
    if torch.cuda.is_available():                   # asked for another device: a copy runs there
        assert np.abs(upscale(image, model, device="cuda").astype(int) - expected).max() <= 1
        assert next(model.parameters()).device.type == "cpu"


def test_evaluation_and_counting_keep_the_mode(tiny_pairs):
    model = get_model("espcn", scale=2)
    for mode in (True, False):
        model.train(mode)
        evaluate(model, tiny_pairs[1], 2, "cpu")
        count_macs(model, 8, 8)
        assert model.training is mode


def test_device_names_are_checked():
    assert srkit.device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        srkit.device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="sees no CUDA GPU"):
            srkit.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if not (mps is not None and mps.is_available()):
        with pytest.raises(ValueError, match="MPS is not available"):
            srkit.device("mps")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("name", list_models())
def test_runs_on_cuda(name):
    model = get_model(name, scale=3, device="cuda")
    c = input_channels(model)
    assert model(torch.rand(1, c, 16, 16, device="cuda")).shape == (1, c, 48, 48)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("name", list_models())
def test_cuda_matches_cpu(name, monkeypatch):
    """Same weights, same input: CUDA and CPU agree (cuDNN's TF32 off: float32 against float32)."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    torch.manual_seed(0)
    model = get_model(name, scale=4).eval()
    c = input_channels(model)
    x = torch.rand(2, c, 13, 17)
    with torch.no_grad():
        expected = model(x)
        got = model.to("cuda")(x.to("cuda")).cpu()
    assert got.shape == expected.shape == (2, c, 52, 68)
    assert torch.allclose(got, expected, atol=1e-4, rtol=1e-4), (got - expected).abs().max()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("name,scale,tile", [("fsrcnn", 3, 40), ("espcn", 4, 40), ("srresnet", 4, 96)])
def test_cuda_upscale_and_training(name, scale, tile, monkeypatch):
    """The shipped weights upscale the same on CUDA as on the CPU (tiled or not), and a training step runs."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    image = srkit.sample_images(["chelsea"])["chelsea"][:90, :110]
    on_cpu = upscale(image, name, scale=scale, device="cpu")
    on_gpu = upscale(image, name, scale=scale, device="cuda", tile=tile)
    assert on_gpu.shape == on_cpu.shape
    assert np.abs(on_gpu.astype(int) - on_cpu.astype(int)).max() <= 1     # rounding of float32 sums only
    model = get_model(name, scale=scale)
    c = input_channels(model)
    pairs = to_pairs({"chelsea": image}, scale, c)
    history = fit(model, pairs, pairs, scale, steps=3, batch_size=2, patch=12, val_every=3, device="cuda")
    assert next(model.parameters()).device.type == "cuda" and np.isfinite(history["loss"][-1])


@pytest.fixture(scope="module")
def tiny_pairs():
    images = {k: v[:120, :120] for k, v in srkit.sample_images(["astronaut", "coffee", "chelsea", "camera"]).items()}
    pairs = to_y_pairs(images, 2)
    return pairs[:3], pairs[3:]


def test_sampler_gives_aligned_augmented_patches(tiny_pairs):
    sampler = PatchSampler(tiny_pairs[0], 2, 8, 4, seed=1)
    lr, hr = sampler()
    assert lr.shape == (4, 1, 8, 8) and hr.shape == (4, 1, 16, 16)
    # The LR patch is the protocol's downscale of the HR patch, up to border effects: compare the centres.
    down = srkit.imresize(hr.double(), 1 / 2)
    assert (down[..., 2:-2, 2:-2] - lr.double()[..., 2:-2, 2:-2]).abs().max() < 0.05


def test_sampler_balance_draws_images_by_size_or_by_inverse_bicubic_error():
    """``balance="pixels"`` draws an image in proportion to its size; ``"psnr"`` in proportion to 1 / MSE of its
    bicubic upscaling (shave = scale), so a smooth image is drawn far more often than a noisy one of the same
    size. Every image's values sit in its own range, so a patch tells which image it came from."""
    s, p, rng = 2, 4, np.random.default_rng(0)
    y, x = np.mgrid[0:40, 0:40] / 40
    smooth = 0.1 + 0.2 * (x + y) / 2 + 0.01 * rng.random((40, 40))      # values in [0.1, 0.31]
    noisy = 0.6 + 0.3 * rng.random((40, 40))                              # values in [0.6, 0.9]
    big_noisy = 0.6 + 0.3 * rng.random((80, 40))
    pairs = [(srkit.imresize(hr, 1 / s).astype(np.float32), hr.astype(np.float32))
             for hr in (smooth, noisy, big_noisy)]

    def mse(lr, hr):                                                       # by hand, not by srkit.train
        error = srkit.imresize(lr.astype(np.float64), s) - hr
        return np.mean(error[s:-s, s:-s] ** 2)

    for balance, expected in (("pixels", [1, 1, 2]), ("psnr", [1 / mse(*pair) for pair in pairs])):
        sampler = PatchSampler(pairs, s, p, 4000, seed=3, balance=balance)
        expected = np.array(expected) / np.sum(expected)
        assert np.allclose(sampler.weights, expected)
        lr, _ = sampler()
        means = lr.mean(dim=(1, 2, 3)).numpy()
        drawn_smooth = np.mean(means < 0.5)                               # the smooth image's share of the batch
        sigma = np.sqrt(expected[0] * (1 - expected[0]) / 4000)
        assert abs(drawn_smooth - expected[0]) < 5 * sigma, (balance, drawn_smooth, expected[0])
    assert sampler.weights[0] > 20 * sampler.weights[1]                  # psnr: the smooth image, by far
    with pytest.raises(ValueError, match="balance must be one of pixels, psnr, got 'ssim'"):
        PatchSampler(pairs, s, p, 4, balance="ssim")


def test_sampler_shave_weights_keep_the_patch_sides_on_the_image_border():
    """With ``shave``, each batch has loss weights: 0 in the ``shave`` HR rows or columns along every patch side
    that lies inside its image, 1 elsewhere, turned with the patch. The HR image is 1 on its outermost ring of
    pixels and 0 inside, so a patch side lies on the image's border exactly when its outer line is all 1."""
    s, p, shave = 2, 6, 3
    rng = np.random.default_rng(0)
    pairs = []
    for h, w in ((9, 14), (6, 11), (20, 8)):                   # the 6-row image: every patch spans its height
        hr = np.zeros((h * s, w * s), np.float32)
        hr[0], hr[-1], hr[:, 0], hr[:, -1] = 1, 1, 1, 1
        pairs.append((rng.random((h, w)).astype(np.float32), hr))
    sampler = PatchSampler(pairs, s, p, 2000, seed=4, shave=shave)
    lr, hr, weight = sampler()
    assert weight.shape == (2000, 1, p * s, p * s) and lr.shape == (2000, 1, p, p)
    for patch, got in zip(hr[:, 0].numpy(), weight[:, 0].numpy()):
        expected = np.ones_like(got)
        sides = {"top": patch[0].all(), "bottom": patch[-1].all(), "left": patch[:, 0].all(),
                 "right": patch[:, -1].all()}
        expected[:shave] *= sides["top"]
        expected[-shave:] *= sides["bottom"]
        expected[:, :shave] *= sides["left"]
        expected[:, -shave:] *= sides["right"]
        assert np.array_equal(got, expected), sides
    # Corners up to p - 2 * shave // s = 3 places beyond the first or last are moved onto the first or last: on a
    # 20 x 30 LR image (15 x 25 corners), the top of a patch, turned to any of the 4 sides, lies on the image's
    # border with probability (2 * 4/21 + 2 * 4/31) / 4, against (2 * 1/15 + 2 * 1/25) / 4 for a uniform corner.
    hr = np.zeros((40, 60), np.float32)
    hr[0], hr[-1], hr[:, 0], hr[:, -1] = 1, 1, 1, 1
    big = [(rng.random((20, 30)).astype(np.float32), hr)]
    n = 4000
    for sampler, expected in ((PatchSampler(big, s, p, n, seed=5, shave=shave), (4 / 21 + 4 / 31) / 2),
                              (PatchSampler(big, s, p, n, seed=5), (1 / 15 + 1 / 25) / 2)):
        batch = sampler()
        assert len(batch) == (3 if sampler.shave else 2)        # weights only with shave
        top = np.mean([patch[0].all() for patch in batch[1][:, 0].numpy()])
        assert abs(top - expected) < 5 * np.sqrt(expected * (1 - expected) / n), (sampler.shave, top, expected)


@pytest.mark.parametrize("channels", [1, 3])
def test_sampler_patches_are_crops_in_all_eight_orientations(channels):
    """Every LR patch is a crop of its image turned by one of the 8 symmetries of the square, and its HR patch is
    the matching crop turned the same way (every channel); over a batch of 64 every symmetry shows up."""
    s, p = 2, 5
    lrs = [np.arange(i * 1000, i * 1000 + h * w, dtype=np.float32).reshape(h, w) for i, (h, w) in
           enumerate([(9, 12), (14, 7), (5, 5)])]
    pairs = [(lr, lr.repeat(s, 0).repeat(s, 1)) for lr in lrs]     # HR pixel (Y, X) holds LR pixel (Y//s, X//s)
    small = (np.zeros((4, 9), np.float32),) * 2
    if channels == 3:                                              # channel c holds the image plus c / 4
        pairs, small = ([tuple(np.stack([a + c / 4 for c in range(3)], -1) for a in pair) for pair in pairs],
                        tuple(np.zeros((4, 9, 3), np.float32) for _ in small))
    x, y = PatchSampler(pairs + [small], s, p, 64, seed=2)()
    assert x.shape == (64, channels, p, p) and y.shape == (64, channels, p * s, p * s)
    for c in range(channels):
        assert torch.equal(x[:, c], x[:, 0] + c / 4) and torch.equal(y[:, c], y[:, 0] + c / 4)
    found = set()
    for lr_patch, hr_patch in zip(x[:, 0].numpy(), y[:, 0].numpy()):
        assert np.array_equal(hr_patch, lr_patch.repeat(s, 0).repeat(s, 1))          # aligned, same orientation
        image = lrs[int(lr_patch.min()) // 1000]                                        # never the 4-row image
        for o in range(8):                      # undo mirror then turn: the crop must sit in the image as it is
            plain = np.rot90(lr_patch[:, ::-1] if o >= 4 else lr_patch, -(o % 4))
            row, col = np.unravel_index(int(plain[0, 0]) % 1000, image.shape)
            if image[row:row + p, col:col + p].shape == (p, p) and np.array_equal(
                    image[row:row + p, col:col + p], plain):
                found.add(o)
                break
        else:
            raise AssertionError(f"patch is no turned crop of its image:\n{lr_patch}")
    assert found == set(range(8))


def test_fit_lowers_the_loss_and_keeps_the_best_weights(tiny_pairs, tmp_path):
    train_pairs, val_pairs = tiny_pairs
    model = get_model("espcn", scale=2)
    history = fit(model, train_pairs, val_pairs, 2, steps=60, batch_size=8, patch=12, lr=3e-3, val_every=20,
                  checkpoint=tmp_path / "ck.safetensors", checkpoint_every=20, log=lambda *_: None)
    assert history["loss"][-1] < history["loss"][0]
    assert history["best_psnr"] == max(history["val_psnr"])
    assert evaluate(model, val_pairs, 2, "cpu") == pytest.approx(history["best_psnr"])
    assert (tmp_path / "ck.safetensors").is_file() and (tmp_path / "ck.json").is_file()


@pytest.mark.parametrize("prefetch, ema", [(False, 0.0), (True, 0.9)])
def test_resume_continues_where_a_killed_run_stopped(tiny_pairs, tmp_path, prefetch, ema):
    train_pairs, val_pairs = tiny_pairs
    kw = dict(batch_size=4, patch=10, lr=1e-3, val_every=10, checkpoint_every=10, log=lambda *_: None, seed=3,
              prefetch=prefetch, ema=ema)
    straight = get_model("fsrcnn", scale=2, d=8, s=4, m=1)
    torch.manual_seed(0)
    straight.load_state_dict(get_model("fsrcnn", scale=2, d=8, s=4, m=1).state_dict())
    start = {k: v.clone() for k, v in straight.state_dict().items()}
    fit(straight, train_pairs, val_pairs, 2, steps=20, checkpoint=tmp_path / "a.safetensors", **kw)

    interrupted = get_model("fsrcnn", scale=2, d=8, s=4, m=1)
    interrupted.load_state_dict(start)
    calls = []

    def killed_at_step_20(line):       # the log line of step 20 comes before its checkpoint: "SIGKILL" there
        if line.startswith("step "):
            calls.append(line)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit(interrupted, train_pairs, val_pairs, 2, steps=20, checkpoint=tmp_path / "b.safetensors",
            **{**kw, "log": killed_at_step_20})
    assert json.loads((tmp_path / "b.json").read_text())["step"] == 10     # one checkpoint interval lost
    resumed = get_model("fsrcnn", scale=2, d=8, s=4, m=1)
    fit(resumed, train_pairs, val_pairs, 2, steps=20, checkpoint=tmp_path / "b.safetensors", resume=True, **kw)
    for k, v in straight.state_dict().items():
        assert torch.allclose(v, resumed.state_dict()[k], atol=1e-6), k
    from safetensors.torch import load_file     # and the whole last checkpoint: weights, Adam, average, best
    a, b = load_file(str(tmp_path / "a.safetensors")), load_file(str(tmp_path / "b.safetensors"))
    assert a.keys() == b.keys() and any(k.startswith("ema.") for k in a) == bool(ema)
    for k, v in a.items():
        assert torch.allclose(v, b[k], atol=1e-6), k


@pytest.mark.parametrize("signum", ["SIGINT", "SIGTERM"])
def test_ctrl_c_finishes_the_step_saves_and_the_run_resumes_exactly(tiny_pairs, tmp_path, signum):
    """A real SIGINT (Ctrl-C) or SIGTERM in the middle of a run (sent from the log at step 10, i.e. during training,
    not at a step's end): the run finishes step 10, checkpoints there although checkpoints are due every 15 steps,
    and raises KeyboardInterrupt; resumed, it ends with the weights of a run that was never interrupted."""
    import os
    import signal
    signum = getattr(signal, signum)
    train_pairs, val_pairs = tiny_pairs
    kw = dict(steps=20, batch_size=4, patch=10, lr=1e-3, val_every=5, checkpoint_every=15, seed=3)
    torch.manual_seed(0)
    start = get_model("fsrcnn", scale=2, d=8, s=4, m=1).state_dict()
    straight = get_model("fsrcnn", scale=2, d=8, s=4, m=1)
    straight.load_state_dict(start)
    fit(straight, train_pairs, val_pairs, 2, checkpoint=tmp_path / "a.safetensors", log=lambda *_: None, **kw)

    lines = []

    def ctrl_c_at_step_10(line):
        lines.append(line)
        if line.startswith("step 10/"):
            os.kill(os.getpid(), signum)

    inherited = signal.getsignal(signum)
    if inherited is signal.SIG_IGN:      # e.g. tests started in the background (`cmd &`): the shell ignores SIGINT,
        signal.signal(signum, signal.default_int_handler)   # and fit rightly leaves an ignored signal ignored
    try:
        handler = signal.getsignal(signum)
        interrupted = get_model("fsrcnn", scale=2, d=8, s=4, m=1)
        interrupted.load_state_dict(start)
        with pytest.raises(KeyboardInterrupt, match="step 10"):
            fit(interrupted, train_pairs, val_pairs, 2, checkpoint=tmp_path / "b.safetensors",
                log=ctrl_c_at_step_10, **kw)
        assert signal.getsignal(signum) is handler                       # the usual handler is back
    finally:
        signal.signal(signum, inherited)
    assert json.loads((tmp_path / "b.json").read_text())["step"] == 10   # nothing lost
    assert "interrupted at step 10: checkpoint written to" in lines[-1]
    resumed = get_model("fsrcnn", scale=2, d=8, s=4, m=1)
    fit(resumed, train_pairs, val_pairs, 2, checkpoint=tmp_path / "b.safetensors", resume=True,
        log=lambda *_: None, **kw)
    for k, v in straight.state_dict().items():
        assert torch.allclose(v, resumed.state_dict()[k], atol=1e-6), k


def test_an_ignored_signal_stays_ignored_and_a_diverged_network_scores_nan(tiny_pairs, monkeypatch):
    import signal
    from srkit.train import _interruptible, evaluate
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)       # as `nohup ... &` leaves SIGHUP, say
    try:
        with _interruptible():
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)
    model = get_model("espcn", scale=2)
    with torch.no_grad():
        model.subpixel.bias.fill_(float("nan"))
    assert np.isnan(evaluate(model, tiny_pairs[1], 2, "cpu"))        # not an error: never the best, as before


def test_resume_without_a_checkpoint_says_so_and_without_a_path_is_refused(tiny_pairs, tmp_path):
    train_pairs, val_pairs = tiny_pairs
    lines = []
    kw = dict(steps=2, batch_size=2, patch=10, val_every=2, resume=True)
    fit(get_model("espcn", scale=2), train_pairs, val_pairs, 2, checkpoint=tmp_path / "none.safetensors",
        log=lines.append, **kw)
    assert any(f"no checkpoint at {tmp_path / 'none.safetensors'}" in line for line in lines), lines
    assert (tmp_path / "none.safetensors").is_file()                  # and it trained from step 0, checkpointing
    with pytest.raises(ValueError, match="resume=True needs a checkpoint"):
        fit(get_model("espcn", scale=2), train_pairs, val_pairs, 2, log=lines.append, **kw)


def test_prefetching_gives_the_same_training_and_stops_its_thread(tiny_pairs):
    """The background sampler hands out the same batches in the same order: bit-identical weights and history."""
    import threading
    train_pairs, val_pairs = tiny_pairs
    runs = []
    for prefetch in (False, True):
        torch.manual_seed(0)
        model = get_model("espcn", scale=2)
        threads = threading.active_count()
        history = fit(model, train_pairs, val_pairs, 2, steps=12, batch_size=4, patch=10, val_every=6, seed=5,
                      log=lambda *_: None, prefetch=prefetch)
        assert threading.active_count() == threads            # the prefetch thread is joined, not left behind
        runs.append((model.state_dict(), history))
    (a, ha), (b, hb) = runs
    assert all(torch.equal(v, b[k]) for k, v in a.items())
    assert ha["loss"] == hb["loss"] and ha["val_psnr"] == hb["val_psnr"]


def test_prefetcher_keeps_the_sampler_state_and_raises_its_errors(tiny_pairs):
    from srkit.train import Prefetcher
    plain, ahead = PatchSampler(tiny_pairs[0], 2, 10, 3, seed=1), PatchSampler(tiny_pairs[0], 2, 10, 3, seed=1)
    prefetcher = Prefetcher(ahead, depth=3)
    try:
        for _ in range(5):
            x, y = prefetcher()
            x0, y0 = plain()
            assert torch.equal(x, x0) and torch.equal(y, y0)
            assert prefetcher.state() == plain.state()      # the state after the batch handed out, not the thread's
    finally:
        prefetcher.close()

    class BreaksOnThirdBatch(PatchSampler):
        calls = 0

        def __call__(self):
            self.calls += 1
            if self.calls == 3:
                raise ValueError("the third batch is broken")
            return super().__call__()

    failing = Prefetcher(BreaksOnThirdBatch(tiny_pairs[0], 2, 10, 3, seed=1))
    try:
        failing(), failing()                                  # two good batches, then the sampler's own error
        with pytest.raises(ValueError, match="third batch"):
            failing()
    finally:
        failing.close()


class BadBorder(torch.nn.Module):
    """An ESPCN x2 whose outer 2 HR pixels are far off (10 added): what a shaved loss does not see."""

    def __init__(self):
        super().__init__()
        self.net = get_model("espcn", scale=2)

    def forward(self, x):
        y = self.net(x)
        return y + torch.nn.functional.pad(torch.zeros_like(y[..., 2:-2, 2:-2]), (2, 2, 2, 2), value=10.0)


def test_loss_shave_leaves_the_patch_border_out_of_the_loss(tiny_pairs):
    losses = {}
    for shave in (0, 2):
        history = fit(BadBorder(), tiny_pairs[0], tiny_pairs[1], 2, steps=1, batch_size=4, patch=6, val_every=1,
                      lr=0.0, loss_shave=shave, log=lambda *_: None)
        losses[shave] = history["loss"][0]
    assert losses[2] < 1 < losses[0]                 # 10 squared on the border, 8 of 12 rows and columns
    for bad in (-1, 3, 1.5):                         # a 3-pixel LR patch is 6 HR pixels wide
        with pytest.raises(ValueError, match="loss_shave must be a whole number of HR pixels from 0 to 2"):
            fit(get_model("espcn", scale=2), tiny_pairs[0], tiny_pairs[1], 2, steps=1, patch=3, loss_shave=bad)


def test_fit_logs_the_mean_loss_of_the_steps_since_the_last_validation(tiny_pairs):
    """With lr=0 the network never changes, so every step's loss can be recomputed from the sampler's batches (the
    same seed draws the same batches): each logged loss is the mean over its own 3 steps, not over earlier ones."""
    model, seed = get_model("espcn", scale=2), 5
    history = fit(model, tiny_pairs[0], tiny_pairs[1], 2, steps=6, batch_size=4, patch=6, val_every=3, lr=0.0,
                  seed=seed, log=lambda *_: None)
    sampler = PatchSampler(tiny_pairs[0], 2, 6, 4, seed=seed)
    with torch.no_grad():
        losses = [torch.nn.functional.mse_loss(model(x), y).item() for x, y in (sampler() for _ in range(6))]
    assert losses[0] != pytest.approx(losses[3])                   # the two intervals' means do differ
    assert history["loss"] == pytest.approx([np.mean(losses[:3]), np.mean(losses[3:])], rel=1e-6)


def test_fit_with_image_borders_keeps_the_patch_sides_on_the_image_border_in_the_loss(tiny_pairs):
    """lr=0: the network never changes, so the logged loss can be recomputed from the sampler's batches and
    weights; an output that is far off on its outer 2 pixels costs only on the sides at the image's border."""
    model, seed, shave = BadBorder(), 6, 2
    history = fit(model, tiny_pairs[0], tiny_pairs[1], 2, steps=4, batch_size=8, patch=6, val_every=4, lr=0.0,
                  loss_shave=shave, image_borders=True, seed=seed, log=lambda *_: None)
    sampler = PatchSampler(tiny_pairs[0], 2, 6, 8, seed=seed, shave=shave)
    losses = []
    with torch.no_grad():
        for x, y, weight in (sampler() for _ in range(4)):
            losses.append((((model(x) - y) ** 2 * weight).sum() / weight.sum()).item())
    assert history["loss"] == pytest.approx([np.mean(losses)], rel=1e-5)
    plain = fit(model, tiny_pairs[0], tiny_pairs[1], 2, steps=4, batch_size=8, patch=6, val_every=4, lr=0.0,
                loss_shave=shave, seed=seed, log=lambda *_: None)
    assert plain["loss"][0] < 1 < history["loss"][0]      # the border's error counts only with image_borders
    with pytest.raises(ValueError, match="image_borders .* needs loss_shave > 0"):
        fit(model, tiny_pairs[0], tiny_pairs[1], 2, steps=1, patch=6, image_borders=True)


def test_fit_is_seeded_and_leaves_the_callers_random_state_alone(tiny_pairs):
    class Noisy(torch.nn.Module):                   # a network whose training draws from torch's generator
        def __init__(self):
            super().__init__()
            self.net = get_model("espcn", scale=2)

        def forward(self, x):
            y = self.net(x)
            return y + 0.01 * torch.randn_like(y) if torch.is_grad_enabled() else y

    kept = []
    for caller_seed in (1, 2):
        torch.manual_seed(0)
        model = Noisy()
        torch.manual_seed(caller_seed)
        before = torch.get_rng_state()
        fit(model, tiny_pairs[0], tiny_pairs[1], 2, steps=3, batch_size=2, patch=8, val_every=3, seed=7,
            log=lambda *_: None)
        assert torch.equal(torch.get_rng_state(), before)       # the caller's generator as it was
        kept.append(torch.cat([p.flatten() for p in model.parameters()]))
    assert torch.equal(kept[0], kept[1])                         # the run's draws come from its own seed


def test_ema_validates_and_keeps_the_moving_average_of_the_weights(tiny_pairs, tmp_path):
    class Recorded(torch.nn.Module):                # an ESPCN that notes the weights each training step starts from
        def __init__(self):
            super().__init__()
            self.net, self.seen = get_model("espcn", scale=2), []

        def forward(self, x):
            if torch.is_grad_enabled():
                self.seen.append([p.detach().clone() for p in self.net.parameters()])
            return self.net(x)

    model, ema, steps = Recorded(), 0.6, 5
    history = fit(model, tiny_pairs[0], tiny_pairs[1], 2, steps=steps, batch_size=4, patch=8, lr=1e-2,
                  val_every=steps, ema=ema, checkpoint=tmp_path / "ck.safetensors", log=lambda *_: None)
    from safetensors.torch import load_file
    saved = load_file(str(tmp_path / "ck.safetensors"))
    names = [f"net.{name}" for name, _ in model.net.named_parameters()]
    last = [saved[f"model.{name}"] for name in names]                  # the weights after the last step
    trajectory = model.seen + [last]
    average = [p.clone() for p in trajectory[0]]
    for step in range(1, steps + 1):
        decay = min(ema, (1 + step) / (10 + step))
        average = [a + (1 - decay) * (w - a) for a, w in zip(average, trajectory[step])]
    for name, a, kept in zip(names, average, model.net.parameters()):
        assert torch.allclose(kept, a, atol=1e-6), name                  # the model ends with the average ...
        assert torch.allclose(saved[f"ema.{name}"], a, atol=1e-6), name   # ... which the checkpoint holds
    assert not all(torch.allclose(a, w) for a, w in zip(average, last))    # and which is not the last step
    assert evaluate(model, tiny_pairs[1], 2, "cpu") == pytest.approx(history["best_psnr"])
    with pytest.raises(ValueError, match=r"was trained with ema=0.6 \(srkit train --ema\), not 0.0"):
        fit(Recorded(), tiny_pairs[0], tiny_pairs[1], 2, steps=steps + 1, patch=8, resume=True,
            checkpoint=tmp_path / "ck.safetensors", log=lambda *_: None)
    with pytest.raises(ValueError, match=r"was trained with balance=pixels \(srkit train --balance\), not psnr"):
        fit(Recorded(), tiny_pairs[0], tiny_pairs[1], 2, steps=steps + 1, patch=8, resume=True, ema=ema,
            balance="psnr", checkpoint=tmp_path / "ck.safetensors", log=lambda *_: None)
    for bad in (1.0, -0.1, "0.9"):
        with pytest.raises(ValueError, match="ema must be a decay from 0"):
            fit(Recorded(), tiny_pairs[0], tiny_pairs[1], 2, steps=1, patch=8, ema=bad)


def test_train_only_last_freezes_the_rest(tiny_pairs):
    model = get_model("fsrcnn", scale=2, d=8, s=4, m=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fit(model, tiny_pairs[0], tiny_pairs[1], 2, steps=5, batch_size=4, patch=10, val_every=5, train_only="last",
        log=lambda *_: None)
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed and all(k.startswith("deconv") for k in changed)


@pytest.mark.parametrize("name", list_models())
def test_count_macs_matches_the_closed_form(name):
    """Same padding: every conv weight is used once per output pixel of its layer; a transposed conv's weights
    once per input pixel. So MACs = sum over layers of (weights x pixels where the layer runs)."""
    scale, h, w = 3, 10, 7
    model = get_model(name, scale=scale)
    pixels = h * w * scale**2 if isinstance(model, srkit.models.SRCNN) else h * w   # SRCNN works on the bicubic
    want = 0
    for name, m in model.named_modules():    # in forward order for these models
        if isinstance(m, torch.nn.PixelShuffle):
            pixels *= m.upscale_factor**2     # layers after a pixel shuffle run on the larger grid (SRResNet)
        elif isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
            want += m.weight.numel() * (1 if "excite" in name else pixels)   # RCAN's attention: on a 1x1 map
    assert count_macs(model, h, w) == want


def test_a_time_budget_ends_annealed(tiny_pairs, monkeypatch):
    """With --minutes, the cosine follows the time used: the run stops on time with the learning rate at lr/100."""
    import itertools

    import srkit.train
    clock = itertools.count(0, 0.01)          # a fake clock: every reading is 10 ms later, whatever the load
    monkeypatch.setattr(srkit.train.time, "perf_counter", lambda: next(clock))
    train_pairs, val_pairs = tiny_pairs
    model = get_model("fsrcnn", scale=2, d=8, s=4, m=1)
    history = fit(model, train_pairs, val_pairs, 2, steps=10**9, minutes=0.05, batch_size=2, patch=10, lr=1e-3,
                  val_every=25, log=lambda *_: None)
    assert history["seconds"] < 30 and history["step"][-1] < 10**9
    assert history["lr"][0] > 5e-4 and history["lr"][-1] == pytest.approx(1e-5, rel=1e-3)
    assert all(a >= b for a, b in zip(history["lr"], history["lr"][1:]))


def test_init_from_copies_the_body_and_rescales_a_transposed_convolution():
    torch.manual_seed(0)
    x3 = get_model("fsrcnn", scale=3)
    with torch.no_grad():
        x3.deconv.weight.normal_(0.01, 0.002)        # a kernel that paints a visible mean level
    flat = torch.full((1, 1, 24, 24), 0.5)
    level = lambda m: m.eval()(flat)[0, 0, 12:-12, 12:-12].mean().item()   # noqa: E731
    for scale in (2, 4):
        model = get_model("fsrcnn", scale=scale)
        assert init_from(model, x3) == []            # every tensor fits: same shapes, another stride
        body = {k: v for k, v in model.state_dict().items() if not k.startswith("deconv")}
        assert all(torch.equal(v, x3.state_dict()[k]) for k, v in body.items())
        assert level(model) == pytest.approx(level(x3), rel=0.05)   # without the rescale: (3/s)^2 off
    espcn2 = get_model("espcn", scale=2)
    assert init_from(espcn2, get_model("espcn", scale=3)) == ["subpixel.weight", "subpixel.bias"]


def test_train_command_fine_tunes_only_the_last_layer(tmp_path, monkeypatch):
    from conftest import require_dataset
    require_dataset("T91")
    from srkit.cli import main
    src = save_weights(get_model("fsrcnn", scale=3, d=8, s=4, m=1), tmp_path / "small_x3")
    out = tmp_path / "small_x2"
    command = ["train", "--model", "fsrcnn", "--scale", "2", "--data", "T91", "--init-from", str(src),
               "--train-only", "last", "--steps", "3", "--val-every", "3", "--patch", "12", "--batch-size", "2",
               "--out", str(out), "--checkpoint", str(tmp_path / "ck.safetensors")]
    assert main(command) == 0
    tuned, source = load_weights(out), load_weights(src)
    for k, v in tuned.state_dict().items():
        assert torch.equal(v, source.state_dict()[k]) != k.startswith("deconv"), k
    meta = json.loads(out.with_suffix(".json").read_text())
    assert "--init-from" in meta["command"] and meta["init_from"]["sha256"] == __import__("hashlib").sha256(
        src.read_bytes()).hexdigest()
    # --resume gets past the overwrite guard only with a whole checkpoint (arrays and .json) to continue from:
    # without its .json, fit would start at step 0 and replace the finished weights
    finished = out.with_suffix(".safetensors").read_bytes()
    (tmp_path / "ck.json").rename(tmp_path / "ck.json.kept")
    assert main([*command, "--resume"]) == 2
    assert out.with_suffix(".safetensors").read_bytes() == finished


def test_fsrcnn_cpu_deconvolution_path_agrees_and_restores_the_flag():
    model = get_model("fsrcnn", scale=3).eval()
    with torch.no_grad():
        model.deconv.weight.normal_(0, 0.05)
        x = torch.rand(2, 1, 13, 17)
        default = model.deconv(model.body(x))           # whatever backend torch picks
        assert torch.allclose(model(x), default, atol=1e-5)
    assert torch.backends.mkldnn.enabled == torch._C._get_mkldnn_enabled()
    assert torch.backends.mkldnn.enabled            # switched off only inside FSRCNN.forward


def test_fsrcnn_does_not_depend_on_the_signature_of_set_flags(monkeypatch):
    """``mkldnn.set_flags`` changed its keywords across torch releases (2.2 has no ``_fp32_precision``)."""
    def old_set_flags(_enabled, _deterministic=None):
        raise AssertionError("FSRCNN.forward should not need set_flags")
    monkeypatch.setattr(torch.backends.mkldnn, "set_flags", old_set_flags)
    model = get_model("fsrcnn", scale=2)
    with torch.no_grad():
        assert model(torch.rand(1, 1, 6, 7)).shape == (1, 1, 12, 14)


def test_srcnn_filters_survive_the_first_adam_step():
    """With the paper's std-0.001 init, one Adam step leaves about half of SRCNN's first-layer filters dead
    (negative for every input); srkit's He initialisation must not."""
    torch.manual_seed(0)
    model = get_model("srcnn", scale=3)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss = torch.nn.functional.mse_loss(model(torch.rand(4, 1, 11, 11)), torch.rand(4, 1, 33, 33))
    loss.backward()
    optimizer.step()
    with torch.no_grad():
        a = model.relu(model.extract(srkit.imresize(torch.rand(8, 1, 40, 40), 3)))
    assert int((a.amax(dim=(0, 2, 3)) == 0).sum()) <= 2


def test_saved_json_carries_the_checksum_of_its_tensors(tmp_path):
    import hashlib
    path = save_weights(get_model("espcn", scale=2), tmp_path / "m", {"sha256": "stale"})
    meta = json.loads((tmp_path / "m.json").read_text())
    assert meta["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_shipped_lists_the_weights_files_by_name_and_scale():
    from srkit.models import WEIGHTS, shipped
    files = {p.stem for p in WEIGHTS.glob("*.safetensors")}
    assert {f"{n}_x{s}" for n, s in shipped()} == {f for f in files if f.rpartition("_x")[2].isdigit()} != set()
    assert shipped() == sorted(shipped())
    assert shipped("fsrcnn") == [("fsrcnn", 2), ("fsrcnn", 3), ("fsrcnn", 4)]      # not fsrcnn_s
    assert shipped("srcnn") == [("srcnn", 3), ("srcnn", 4)]                          # not srcnn_955
    assert shipped("vdsr") == []
