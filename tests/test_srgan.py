"""SRResNet, SRGAN's discriminator, the losses, GAN training and NIQE (chapter 07)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

import srkit
from srkit import bench, cli, losses
from srkit.models import Discriminator, SRResNet, get_model
from srkit.niqe import NIQE_MODEL, fit_niqe_model, load_niqe_model, niqe
from srkit.resize import imresize, modcrop
from srkit.train import PatchSampler, fit_gan, gan_step, to_rgb_pairs


def conv_params(cin, cout, k):
    return cin * cout * k * k + cout


def test_srresnet_has_the_papers_layers_and_parameter_count():
    # Ledig et al. Fig. 4: 9x9 head + PReLU, 16 blocks (conv-BN-PReLU-conv-BN), conv-BN, 2 x (conv to 256,
    # shuffle x2, PReLU), 9x9 tail. BN has 2 learned vectors; PReLU one slope per channel.
    c = 64
    block = 2 * conv_params(c, c, 3) + 2 * 2 * c + c
    want = (conv_params(3, c, 9) + c + 16 * block + conv_params(c, c, 3) + 2 * c
            + 2 * (conv_params(c, 4 * c, 3) + c) + conv_params(c, 3, 9))
    model = SRResNet(4)
    assert sum(p.numel() for p in model.parameters()) == want == 1_550_659
    assert sum(isinstance(m, torch.nn.PixelShuffle) and m.upscale_factor == 2 for m in model.modules()) == 2


@pytest.mark.parametrize("scale,stages", [(2, [2]), (3, [3]), (4, [2, 2]), (6, [2, 3]), (8, [2, 2, 2])])
def test_srresnet_upsamples_by_stages_of_two_and_three(scale, stages):
    model = SRResNet(scale, n_blocks=1, n_feats=8).eval()
    assert [m.upscale_factor for m in model.modules() if isinstance(m, torch.nn.PixelShuffle)] == stages
    assert model(torch.rand(1, 3, 5, 7)).shape == (1, 3, 5 * scale, 7 * scale)


def test_srresnet_refuses_other_scales_and_arguments():
    with pytest.raises(ValueError, match="factors 2 and 3"):
        SRResNet(5)
    with pytest.raises(ValueError, match="srresnet.*n_layers"):
        get_model("srresnet", scale=4, n_layers=3)


def test_discriminator_matches_the_paper_and_takes_any_size():
    widths = [64, 64, 128, 128, 256, 256, 512, 512]
    convs = sum(conv_params(a, b, 3) for a, b in zip([3] + widths[:-1], widths)) + 2 * sum(widths[1:])   # + BN
    dense = 512 * 6 * 6 * 1024 + 1024 + 1024 + 1     # 96x96 in, four stride-2 convs: 6x6x512 features
    d = Discriminator()
    assert sum(p.numel() for p in d.parameters()) == convs + dense
    assert sum(m.stride == (2, 2) for m in d.modules() if isinstance(m, torch.nn.Conv2d)) == 4
    small = Discriminator(n_feats=8, dense=16).eval()
    for h, w in [(96, 96), (40, 72)]:
        assert small(torch.rand(3, 3, h, w)).shape == (3,)


def test_vgg19_layer_list_is_torchvisions():
    net = losses.vgg19_features("5_4")
    # torchvision's vgg19 has 143,667,240 parameters, 123,642,856 of them in the classifier (3 dense layers).
    assert sum(p.numel() for p in net.parameters()) == 143_667_240 - 123_642_856
    assert len(net) == 36 and isinstance(net[-1], torch.nn.ReLU) and isinstance(net[-2], torch.nn.Conv2d)
    assert len(losses.vgg19_features("2_2")) == 9          # conv1_1, relu, conv1_2, relu, pool, conv2_1 ... relu
    with pytest.raises(ValueError, match="no conv 2_3"):
        losses.vgg19_features("2_3")


def test_vgg19_loads_a_torchvision_file_without_executing_code(tmp_path, monkeypatch):
    torch.manual_seed(0)
    state = {f"features.{k}": v for k, v in losses.vgg19_features("5_4").state_dict().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)     # torchvision's file has the classifier too
    torch.save(state, tmp_path / "vgg19-test.pth")
    net = losses.vgg19(tmp_path / "vgg19-test.pth")
    assert torch.equal(net[34].weight, state["features.34.weight"]) and not net[0].weight.requires_grad
    monkeypatch.setenv("SRKIT_VGG19", str(tmp_path / "vgg19-test.pth"))
    assert torch.equal(losses.vgg19(until="2_2")[7].weight, state["features.7.weight"])
    torch.save({"features.0.weight": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="not a VGG19"):
        losses.vgg19(tmp_path / "bad.pth")


def test_missing_vgg_weights_give_a_message_that_says_what_to_do(monkeypatch):
    monkeypatch.delenv("SRKIT_VGG19", raising=False)
    with pytest.raises(losses.VGGWeightsUnavailable, match="SRKIT_VGG19.*download=True.*SRGAN-MSE"):
        losses.VGGLoss()


def test_vgg_loss_compares_features_and_trains_only_the_image():
    torch.manual_seed(0)
    loss = losses.VGGLoss(features=losses.vgg19_features("2_2"))     # a tiny random VGG: the path, not ImageNet
    hr = torch.rand(2, 3, 32, 32)
    assert loss(hr, hr).item() == 0
    sr = (hr + 0.1 * torch.randn_like(hr)).requires_grad_(True)
    value = loss(sr, hr)
    value.backward()
    assert value.item() > 0 and sr.grad.abs().sum() > 0
    assert all(p.grad is None for p in loss.parameters())
    with pytest.raises(ValueError, match="RGB"):
        loss(hr[:, :1], hr[:, :1])


def test_adversarial_losses_are_the_papers():
    logits = torch.tensor([-2.0, 0.0, 3.0])
    d = torch.sigmoid(logits)
    assert losses.generator_adversarial_loss(logits).item() == pytest.approx(-torch.log(d).mean().item())
    real, fake = torch.tensor([1.5, 0.2]), torch.tensor([-1.0, 0.4])
    want = -torch.log(torch.sigmoid(real)).mean() - torch.log(1 - torch.sigmoid(fake)).mean()
    assert losses.discriminator_loss(real, fake).item() == pytest.approx(want.item(), rel=1e-6)
    with pytest.raises(ValueError, match="mse.*l1"):
        losses.pixel_loss(real, fake, "huber")


@pytest.fixture(scope="module")
def rgb_pairs():
    images = {k: v[:192, :192] for k, v in srkit.sample_images(["astronaut", "coffee", "chelsea"]).items()}
    pairs = to_rgb_pairs(images, 4)
    return pairs[:2], pairs[2:]


def test_rgb_pairs_and_patches(rgb_pairs):
    lr, hr = rgb_pairs[0][0]
    assert lr.shape == (48, 48, 3) and hr.shape == (192, 192, 3) and lr.dtype == np.float32
    assert np.abs(lr * 255 - imresize(modcrop(srkit.sample_images(["astronaut"])["astronaut"][:192, :192], 4),
                                      0.25)).max() < 1e-3
    x, y = PatchSampler(rgb_pairs[0], 4, 12, 5, seed=0)()
    assert x.shape == (5, 3, 12, 12) and y.shape == (5, 3, 48, 48)
    down = imresize(y.double(), 0.25)      # the LR patch is the HR patch downscaled (away from the borders)
    assert (down[..., 2:-2, 2:-2] - x.double()[..., 2:-2, 2:-2]).abs().max() < 0.05


def test_the_discriminator_learns_and_the_generator_learns_to_fool_it(rgb_pairs):
    torch.manual_seed(0)
    g, d = SRResNet(4, n_blocks=1, n_feats=8), Discriminator(n_feats=8, dense=32)
    sampler = PatchSampler(rgb_pairs[0], 4, 12, 8, seed=0)
    opt_g, opt_d = torch.optim.Adam(g.parameters(), lr=0.0), torch.optim.Adam(d.parameters(), lr=2e-3)
    first = gan_step(g, d, opt_g, opt_d, *sampler(), content=torch.nn.functional.mse_loss)
    g_before = {k: v.clone() for k, v in g.state_dict().items()}
    for _ in range(40):                         # G frozen (lr 0): D must learn to tell its output from HR
        last = gan_step(g, d, opt_g, opt_d, *sampler(), content=torch.nn.functional.mse_loss)
    assert last["d_real"] - last["d_fake"] > 0.3 > first["d_real"] - first["d_fake"]
    learned = [k for k, _ in g.named_parameters()]          # BN's running statistics do change, in train mode
    assert all(torch.equal(g_before[k], g.state_dict()[k]) for k in learned)
    d_before = {k: v.clone() for k, v in d.state_dict().items()}
    opt_g, opt_d = torch.optim.Adam(g.parameters(), lr=2e-3), torch.optim.Adam(d.parameters(), lr=0.0)
    start = gan_step(g, d, opt_g, opt_d, *sampler(), content=torch.nn.functional.mse_loss, adv_weight=1.0)
    for _ in range(30):                         # D frozen: G must learn to make D say "real"
        end = gan_step(g, d, opt_g, opt_d, *sampler(), content=torch.nn.functional.mse_loss, adv_weight=1.0)
    assert end["adversarial"] < start["adversarial"]
    assert all(torch.equal(d_before[k], d.state_dict()[k]) for k, _ in d.named_parameters())


def test_gan_step_gives_the_discriminator_back_as_it_was(rgb_pairs):
    torch.manual_seed(0)
    g, d = SRResNet(4, n_blocks=1, n_feats=8), Discriminator(n_feats=8, dense=32)
    sampler = PatchSampler(rgb_pairs[0], 4, 12, 2, seed=0)
    opt_g, opt_d = torch.optim.Adam(g.parameters()), torch.optim.Adam(d.parameters())
    first = next(d.parameters())
    first.requires_grad_(False)                       # the caller froze a layer: it stays frozen
    gan_step(g, d, opt_g, opt_d, *sampler(), content=torch.nn.functional.mse_loss)
    assert not first.requires_grad and all(p.requires_grad for p in list(d.parameters())[1:])

    def failing(sr, hr):
        raise RuntimeError("content failed")
    with pytest.raises(RuntimeError, match="content failed"):
        gan_step(g, d, opt_g, opt_d, *sampler(), content=failing)
    assert not first.requires_grad and all(p.requires_grad for p in list(d.parameters())[1:])   # even so


@pytest.mark.parametrize("prefetch", [False, True])
def test_fit_gan_resumes_exactly_and_takes_a_vgg_content_loss(rgb_pairs, tmp_path, prefetch):
    kw = dict(batch_size=2, patch=12, val_every=2, checkpoint_every=2, log=lambda *_: None, seed=1, prefetch=prefetch)

    def nets():
        torch.manual_seed(0)
        return SRResNet(4, n_blocks=1, n_feats=8), Discriminator(n_feats=8, dense=16)

    g1, d1 = nets()
    h1 = fit_gan(g1, d1, *rgb_pairs, 4, steps=4, checkpoint=tmp_path / "a.safetensors", **kw)
    g2, d2 = nets()
    calls = []

    def killed_at_step_4(line):        # step 4's log line comes before its checkpoint: "SIGKILL" there
        calls.append(line)
        if len(calls) == 3:            # the start's validation, step 2's, then step 4's
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fit_gan(g2, d2, *rgb_pairs, 4, steps=4, checkpoint=tmp_path / "b.safetensors",
                **{**kw, "log": killed_at_step_4})
    assert json.loads((tmp_path / "b.json").read_text())["step"] == 2
    g3, d3 = nets()
    h3 = fit_gan(g3, d3, *rgb_pairs, 4, steps=4, checkpoint=tmp_path / "b.safetensors", resume=True, **kw)
    for k, v in g1.state_dict().items():
        assert torch.allclose(v.float(), g3.state_dict()[k].float(), atol=1e-6), k
    assert h1["val_psnr"] == pytest.approx(h3["val_psnr"]) and h3["val_step"] == [0, 2, 4]
    assert np.isfinite(h1["val_niqe"]).all()        # the 192x192 validation image holds 2x2 NIQE patches
    g4, d4 = nets()
    vgg = losses.VGGLoss(features=losses.vgg19_features("1_2"))
    h4 = fit_gan(g4, d4, *rgb_pairs, 4, steps=2, content=vgg, **{**kw, "val_every": 2})
    assert np.isfinite(h4["content"]).all() and h4["content"][-1] > 0


# --- NIQE -------------------------------------------------------------------------------------------------------

NATURAL = ["astronaut", "coffee", "chelsea"]


@pytest.fixture(scope="module")
def natural():
    return srkit.sample_images(NATURAL)


def test_shipped_niqe_model_says_where_it_comes_from():
    info = load_niqe_model()
    assert info["command"].startswith("python tools/fit_niqe.py") and info["data"] == "BSD200"
    mu, cov = np.array(info["mu"]), np.array(info["cov"])
    assert mu.shape == (36,) and cov.shape == (36, 36) and np.allclose(cov, cov.T)
    assert np.linalg.eigvalsh(cov).min() > -1e-9 and info["n_patches"] > 100
    assert NIQE_MODEL.is_file()


@pytest.mark.parametrize("name", NATURAL)
def test_niqe_rises_with_blur_and_with_noise(natural, name):
    image = natural[name].astype(np.float64)
    blurred = [niqe(np.clip(gaussian_filter(image, (s, s, 0)), 0, 255).astype(np.uint8)) for s in (1, 2, 3)]
    rng = np.random.default_rng(0)
    noisy = [niqe(np.clip(image + rng.normal(0, s, image.shape), 0, 255).astype(np.uint8)) for s in (5, 10, 20)]
    assert niqe(natural[name]) < blurred[0] < blurred[1] < blurred[2]
    assert niqe(natural[name]) < noisy[0] < noisy[1] < noisy[2]


@pytest.mark.parametrize("name", NATURAL)
def test_hr_looks_more_natural_than_its_bicubic_x4(natural, name):
    hr = modcrop(natural[name], 4)
    assert niqe(hr) + 3 < niqe(imresize(imresize(hr, 0.25), 4))


def test_niqe_inputs_and_a_model_fitted_here(natural, tmp_path):
    image = natural["coffee"]
    assert niqe(image) == pytest.approx(niqe(image / 255.0)) == pytest.approx(niqe(image.astype(np.float32) / 255))
    with pytest.raises(ValueError, match="smaller than one 96x96"):
        niqe(image[:50, :50])
    with pytest.raises(ValueError, match="shape"):
        niqe(image[..., :2])
    model = fit_niqe_model([natural["astronaut"], natural["chelsea"]])
    path = tmp_path / "m.json"
    path.write_text(json.dumps(model))
    assert niqe(image, model=path) != pytest.approx(niqe(image))


def test_bench_and_cli_report_niqe(capsys):
    images = {k: modcrop(v, 4) for k, v in srkit.sample_images(["astronaut"]).items()}
    result = bench.run("bicubic", images, 4, metrics=("psnr", "ssim", "niqe"))
    assert result["niqe"] == pytest.approx(niqe(imresize(imresize(images["astronaut"], 0.25), 4)))
    assert "niqe" not in bench.run("bicubic", images, 4)
    with pytest.raises(ValueError, match="unknown metric"):
        bench.run("bicubic", images, 4, metrics=("lpips",))
    assert cli.main(["bench", "--method", "bicubic", "--metrics", "psnr,ssim,lpips"]) == 2
    assert "--metrics" in capsys.readouterr().err


# --- RGB networks through srkit.upscale and the command line ----------------------------------------------------

def test_upscale_runs_rgb_networks_on_rgb_tiled_and_gray():
    model = SRResNet(2, n_blocks=2, n_feats=8).eval()
    image = srkit.sample_images(["coffee"])["coffee"][:70, :90]
    sr = srkit.upscale(image, model)
    assert sr.shape == (140, 180, 3)
    x = torch.from_numpy(image / np.float32(255)).float().permute(2, 0, 1)[None]
    want = np.round(model(x)[0].clamp(0, 1).permute(1, 2, 0).detach().numpy() * 255)
    assert np.abs(sr.astype(int) - want).max() == 0
    tiled = srkit.upscale(image, model, tile=40)          # overlap from the model's receptive radius
    assert np.abs(tiled.astype(int) - sr).max() <= 1 and (tiled != sr).mean() < 1e-3
    assert srkit.upscale(image[..., 0], model).shape == (140, 180)


def test_train_srgan_needs_an_srresnet_to_start_from(tmp_path, capsys, monkeypatch):
    from conftest import require_dataset
    require_dataset("T91")
    assert cli.main(["train", "--model", "srgan", "--scale", "4", "--steps", "1", "--out", str(tmp_path / "g")]) == 1
    assert "--init-from" in capsys.readouterr().err
    assert cli.main(["train", "--model", "srresnet", "--scale", "4", "--steps", "1", "--model-args", "n_layers=2",
                     "--out", str(tmp_path / "g")]) == 1
    assert "n_layers" in capsys.readouterr().err


def test_train_srresnet_then_srgan_end_to_end(tmp_path, capsys):
    from conftest import require_dataset
    require_dataset("T91")
    base = ["--scale", "4", "--data", "T91", "--patch", "12", "--batch-size", "2", "--val-every", "2"]
    assert cli.main(["train", "--model", "srresnet", *base, "--steps", "2", "--model-args", "n_blocks=1,n_feats=8",
                     "--out", str(tmp_path / "srresnet_x4"), "--checkpoint", str(tmp_path / "a.safetensors")]) == 0
    assert cli.main(["train", "--model", "srgan", *base, "--steps", "2", "--init-from", str(tmp_path / "srresnet_x4"),
                     "--disc-feats", "4", "--disc-dense", "8", "--out", str(tmp_path / "srgan_x4"),
                     "--checkpoint", str(tmp_path / "b.safetensors")]) == 0
    meta = json.loads((tmp_path / "srgan_x4.json").read_text())
    assert meta["arch"] == "srresnet" and meta["kwargs"] == {"n_blocks": 1, "n_feats": 8}
    assert meta["init_from"]["weights"].endswith("srresnet_x4.safetensors") and meta["adv_weight"] == 2.5e-4
    assert meta["discriminator"]["n_feats"] == 4 and meta["validation"]["step_history"] == [0, 2]
    assert meta["validation"]["kept_step"] in (0, 2)
    assert 0 <= meta["data_share"] < 1
    model = get_model("srgan", scale=4, weights=tmp_path / "srgan_x4.safetensors")
    assert isinstance(model, SRResNet)
    for option in (["--ema", "0.9"], ["--loss-shave", "2"], ["--balance", "psnr"]):   # pixel-loss options only
        assert cli.main(["train", "--model", "srgan", *base, "--steps", "1", *option, "--init-from",
                         str(tmp_path / "srresnet_x4"), "--out", str(tmp_path / "c"),
                         "--checkpoint", str(tmp_path / "c.safetensors")]) == 1
        assert "--loss-shave, --ema and --balance apply to the pixel-loss training" in capsys.readouterr().err


# --- What came next (chapter 09): EDSR and RCAN -----------------------------------------------------------------

def test_edsr_baseline_and_rcan_have_the_papers_sizes():
    c = 64
    up4 = 2 * conv_params(c, 4 * c, 3)
    edsr = conv_params(3, c, 3) + 16 * 2 * conv_params(c, c, 3) + conv_params(c, c, 3) + up4 + conv_params(c, 3, 3)
    assert sum(p.numel() for p in get_model("edsr", scale=4).parameters()) == edsr
    assert abs(edsr - 1.5e6) < 0.05e6                      # "EDSR-baseline: 1.5 M parameters" (Lim et al., Table 1)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in get_model("edsr", scale=4).modules())
    attention = conv_params(c, c // 16, 1) + conv_params(c // 16, c, 1)
    group = 20 * (2 * conv_params(c, c, 3) + attention) + conv_params(c, c, 3)
    rcan = conv_params(3, c, 3) + 10 * group + conv_params(c, c, 3) + up4 + conv_params(c, 3, 3)
    assert sum(p.numel() for p in get_model("rcan", scale=4).parameters()) == rcan
    assert abs(rcan - 16e6) < 0.5e6                        # "about 16 M parameters" (Zhang et al., Fig. 6)


def test_channel_attention_rescales_each_channel_by_a_learned_weight_in_0_1():
    from srkit.models.rcan import ChannelAttention
    torch.manual_seed(0)
    att = ChannelAttention(16, reduction=4)
    x = torch.rand(2, 16, 9, 11) + 0.1
    ratio = att(x) / x                                      # one number per (image, channel), everywhere in space
    assert torch.allclose(ratio, ratio[..., :1, :1].expand_as(ratio), atol=1e-6)
    assert (ratio > 0).all() and (ratio < 1).all()
    assert not torch.allclose(ratio[0], ratio[1])           # it depends on the image


def test_fit_gan_keeps_the_most_natural_weights_within_the_psnr_budget(rgb_pairs):
    def run(**kw):
        torch.manual_seed(0)
        g, d = SRResNet(4, n_blocks=1, n_feats=8), Discriminator(n_feats=8, dense=16)
        start = {k: v.clone() for k, v in g.state_dict().items()}
        h = fit_gan(g, d, *rgb_pairs, 4, steps=6, batch_size=2, patch=12, lr=1e-2, val_every=2,
                    log=lambda *_: None, **kw)
        return g, start, h

    g, start, h = run(keep="best_niqe", max_psnr_drop=-100.0)      # nothing qualifies: the start is kept
    assert h["best_step"] == 0 and all(torch.equal(v, g.state_dict()[k]) for k, v in start.items())
    g, _, h = run(keep="best_niqe", max_psnr_drop=100.0)           # everything qualifies: the lowest NIQE
    assert h["best_niqe"] == min(h["val_niqe"]) and h["val_niqe"][h["val_step"].index(h["best_step"])] == min(
        h["val_niqe"])
    g, _, h = run(keep="last")
    assert h["best_step"] == 6
    with pytest.raises(ValueError, match="keep"):
        run(keep="best_psnr")
