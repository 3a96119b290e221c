from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
import pytest
from conftest import require_dataset

from srkit import bench
from srkit.cli import main
from srkit.io import load_image, save_image
from srkit.resize import imresize

UPSCALE_MODULE = importlib.import_module("srkit.upscale")     # `srkit.upscale` is also the function it defines


def test_bench_json_single(capsys):
    require_dataset("Set5")
    assert main(["bench", "--method", "bicubic", "--dataset", "Set5", "--scale", "4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) >= {"method", "dataset", "scale", "psnr", "ssim", "seconds", "params", "macs_per_pixel",
                           "per_image"}
    assert result["params"] == 0
    assert result["method"] == "bicubic" and len(result["per_image"]) == 5
    assert result["psnr"] == pytest.approx(np.mean([r["psnr"] for r in result["per_image"]]))


def test_bench_combinations_and_table(capsys):
    require_dataset("Set5")
    assert main(["bench", "--methods", "nearest,bicubic", "--datasets", "Set5", "--scale", "3", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["method"] for r in results] == ["nearest", "bicubic"]
    assert results[0]["psnr"] < results[1]["psnr"]
    assert main(["bench", "--method", "bicubic", "--dataset", "Set5", "--scale", "2"]) == 0
    out = capsys.readouterr().out
    assert "butterfly" in out and "mean" in out


def test_bench_reports_missing_dataset_and_goes_on(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("SRKIT_DATA", str(tmp_path))
    import pooch
    monkeypatch.setattr(pooch, "retrieve", lambda *a, **k: (_ for _ in ()).throw(ConnectionError("offline")))
    assert main(["bench", "--datasets", "Set5", "--scale", "4", "--markdown"]) == 1
    captured = capsys.readouterr()
    assert "missing" in captured.out and "srkit download Set5" in captured.err


def test_bench_offline_reports_a_missing_dataset_without_a_request(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("SRKIT_DATA", str(tmp_path))
    import pooch

    def no_request(*args, **kwargs):
        raise AssertionError("srkit bench --offline tried to download")
    monkeypatch.setattr(pooch, "retrieve", no_request)
    assert main(["bench", "--dataset", "BSD100", "--scale", "4", "--offline"]) == 1
    err = capsys.readouterr().err
    assert "BSD100 skipped" in err and "downloads are switched off" in err and "srkit download BSD100" in err


def test_bench_rejects_unknown_method(capsys):
    assert main(["bench", "--method", "magic"]) == 2
    assert "unknown method" in capsys.readouterr().err


def test_bench_cost_of_networks_and_sparse_coding():
    from srkit.models import get_model
    from srkit.models import weights_path
    if not weights_path("espcn", 3).is_file():
        pytest.skip("no shipped espcn_x3")
    model = get_model("espcn", scale=3)
    c = bench.cost("espcn", 3)
    # ESPCN runs every weight once per LR pixel: per HR pixel that is (weights) / scale^2.
    weights = sum(p.numel() for n, p in model.named_parameters() if n.endswith("weight"))
    assert c["params"] == sum(p.numel() for p in model.parameters())
    assert c["macs_per_pixel"] == pytest.approx(weights / 9)
    assert bench.cost("sparse", 3)["params"] > 1024 * 9 and bench.cost("sparse", 3)["macs_per_pixel"] is None


def test_bench_run_on_custom_images():
    image = np.random.default_rng(0).integers(0, 256, (40, 44, 3), dtype=np.uint8)
    result = bench.run("bilinear", {"noise": image}, 2)
    assert result["dataset"] == "custom" and len(result["per_image"]) == 1
    with pytest.raises(ValueError, match="scale"):
        bench.run("bicubic", {"noise": image}, 1)


def test_upscale_command(tmp_path, capsys):
    image = np.random.default_rng(0).integers(0, 256, (10, 12, 3), dtype=np.uint8)
    src = save_image(tmp_path / "in.png", image)
    assert main(["upscale", str(src), "-o", str(tmp_path / "out.png"), "-s", "3"]) == 0
    assert load_image(tmp_path / "out.png").shape == (30, 36, 3)
    written = (tmp_path / "out.png").read_bytes()
    assert main(["upscale", str(src), "-o", str(tmp_path / "out.png"), "-s", "2"]) == 2     # never over earlier work
    assert "out.png already exists" in capsys.readouterr().err and (tmp_path / "out.png").read_bytes() == written
    assert main(["upscale", str(src), "-o", str(tmp_path / "out.png"), "-s", "2", "--force"]) == 0
    assert load_image(tmp_path / "out.png").shape == (20, 24, 3)
    (tmp_path / "bad.png").write_text("oops")
    assert main(["upscale", str(tmp_path / "bad.png"), "-s", "2"]) == 1
    assert "bad.png" in capsys.readouterr().err
    before = src.read_bytes()
    assert main(["upscale", str(src), "-o", str(src), "-s", "2"]) == 2          # never over its own input
    assert "is the input" in capsys.readouterr().err and src.read_bytes() == before
    folder = tmp_path / "v1.2"
    folder.mkdir()
    Image.fromarray(image).save(folder / "photo", format="PNG")                # no extension: still a PNG
    assert main(["upscale", str(folder / "photo"), "-s", "2"]) == 0
    assert (folder / "photo_bicubic_x2.png").is_file()                         # beside its input, dots and all
    assert main(["upscale", str(src), "-s", "2", "-m", "fsrcnn", "--device", "gpu"]) == 1
    assert "unknown device 'gpu'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["upscale", str(src), "-s", "2", "--tile", "0"])
    assert main(["upscale", str(src), "-s", "2", "-m", "sparse", "-o", str(tmp_path / "out.xyz")]) == 1
    assert ".xyz is not an image format" in capsys.readouterr().err        # said before the (slow) upscaling


def test_upscale_keeps_gray_and_transparency_and_says_what_it_cannot_keep(tmp_path, capsys):
    rng = np.random.default_rng(1)
    gray = rng.integers(0, 256, (10, 12), dtype=np.uint8)
    Image.fromarray(gray).save(tmp_path / "gray.png")
    assert main(["upscale", str(tmp_path / "gray.png"), "-s", "2", "-o", str(tmp_path / "g2.png")]) == 0
    with Image.open(tmp_path / "g2.png") as im:
        assert im.mode == "L" and im.size == (24, 20)                         # gray stays gray

    rgba = rng.integers(0, 256, (10, 12, 4), dtype=np.uint8)
    rgba[:5, :, 3] = 0                                                        # the top half transparent
    Image.fromarray(rgba).save(tmp_path / "logo.png")
    for method in ("bicubic", "nearest", "fsrcnn"):
        out = tmp_path / f"logo_{method}.png"
        assert main(["upscale", str(tmp_path / "logo.png"), "-s", "2", "-m", method, "-o", str(out)]) == 0
        with Image.open(out) as im:
            assert im.mode == "RGBA" and im.size == (24, 20)
            alpha = np.asarray(im)[..., 3]
        kernel = "nearest" if method == "nearest" else "bicubic"
        assert np.array_equal(alpha, imresize(rgba[..., 3], 2, method=kernel))   # alpha by interpolation
        assert np.array_equal(np.asarray(Image.open(out))[..., :3], load_image(out))
    assert "transparency" not in capsys.readouterr().err                     # nothing was lost: no note
    assert main(["upscale", str(tmp_path / "logo.png"), "-s", "2", "-o", str(tmp_path / "logo.jpg")]) == 0
    assert "logo.png has transparency, which JPEG cannot keep" in capsys.readouterr().err
    with Image.open(tmp_path / "logo.jpg") as im:
        assert im.mode == "RGB"

    Image.fromarray(gray.astype(np.uint16) * 257).save(tmp_path / "deep.png")
    frames = [Image.fromarray(np.full((6, 8, 3), 40 * i, np.uint8)) for i in range(3)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    assert main(["upscale", str(tmp_path / "deep.png"), "-s", "2"]) == 0
    assert "deep.png has more than 8 bits per channel" in capsys.readouterr().err
    assert main(["upscale", str(tmp_path / "anim.gif"), "-s", "2"]) == 0
    assert "anim.gif has 3 frames; only the first is read" in capsys.readouterr().err


def test_upscale_names_the_problem_before_the_work(tmp_path, capsys, monkeypatch):
    src = save_image(tmp_path / "in.png", np.zeros((6, 8, 3), np.uint8))
    cases = {(str(tmp_path),): f"{tmp_path} is a folder, not an image file",
             ("",): "no image file given",
             (str(src), "-o", str(src / "x.png")): "in.png is a file, not a folder",
             (str(src), "-o", str(tmp_path)): "it is a folder",
             (str(src), "-o", str(tmp_path / "x.psd")): ".psd is not an image format srkit writes",
             (str(src), "-o", str(tmp_path / "x.ico")): ".ico is not an image format srkit writes",
             (str(src), "-m", "espcn", "-s", "2"): "no shipped weights for espcn x2"}
    def not_reached(*args, **kwargs):
        raise AssertionError("the work started")
    monkeypatch.setattr(UPSCALE_MODULE, "upscale", not_reached)
    for argv, message in cases.items():
        assert main(["upscale", *argv]) == 1, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (argv, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]           # nothing written, nothing left


def test_upscale_out_of_memory_is_an_error_that_names_the_sizes(tmp_path, capsys, monkeypatch):
    src = save_image(tmp_path / "big.png", np.zeros((6, 8, 3), np.uint8))
    for error in (MemoryError(), RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: not "
                                              "enough memory: you tried to allocate 123 bytes.")):
        def oom(*args, _error=error, **kwargs):
            raise _error
        monkeypatch.setattr(UPSCALE_MODULE, "upscale", oom)
        assert main(["upscale", str(src), "-m", "fsrcnn", "-s", "4"]) == 1
        err = capsys.readouterr().err
        assert "out of memory upscaling" in err and "(8x6) x4 to 32x24 pixels" in err and "--tile" in err
    monkeypatch.setattr(UPSCALE_MODULE, "upscale", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("a bug")))
    with pytest.raises(RuntimeError, match="a bug"):                       # other errors are not disguised
        main(["upscale", str(src), "-m", "fsrcnn", "-s", "4"])


def test_console_script_is_installed():
    out = subprocess.run([sys.executable, "-m", "srkit.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "bench" in out.stdout
    bad = subprocess.run([sys.executable, "-m", "srkit.cli", "bench", "--scale", "0"], capture_output=True, text=True)
    assert bad.returncode == 2 and "scale must be between" in bad.stderr


def test_train_sparse_command_writes_weights_json_and_log(tmp_path, capsys):
    require_dataset("T91")
    out = tmp_path / "tiny_x2"
    assert main(["train", "--model", "sparse", "--scale", "2", "--data", "T91", "--atoms", "32", "--patches", "3000",
                 "--out", str(out)]) == 0
    meta = json.loads((tmp_path / "tiny_x2.json").read_text())
    assert meta["command"] == f"srkit train --model sparse --scale 2 --data T91 --atoms 32 --patches 3000 --out {out}"
    assert meta["n_train_images"] == 81
    assert all(name.startswith("T91/") for name in meta["validation"]["images"])
    assert "validation x2" in (tmp_path / "tiny_x2.log").read_text()
    from srkit.sparse import SparseSR
    assert SparseSR.load(out).scale == 2
    # The same command again would throw the finished run away: refused, the files untouched, unless --force.
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    again = ["train", "--model", "sparse", "--scale", "2", "--data", "T91", "--atoms", "16", "--patches", "2000",
             "--out", str(out)]
    assert main(again) == 2
    assert "tiny_x2.safetensors already exists" in capsys.readouterr().err
    assert main([*again, "--resume"]) == 2              # sparse coding has no checkpoint to continue from
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert main([*again, "--force"]) == 0
    assert json.loads((tmp_path / "tiny_x2.json").read_text())["command"].endswith("--force")


def test_train_refuses_test_sets_and_unknown_models(tmp_path, capsys):
    assert main(["train", "--model", "srcnn9000", "--scale", "2", "--out", str(tmp_path / "x")]) == 2
    assert main(["train", "--model", "sparse", "--scale", "2", "--data", "Set5", "--out", str(tmp_path / "x")]) == 1
    assert "test set" in capsys.readouterr().err


def test_bench_table_of_several_methods_with_costs_and_unavailable_cells(capsys):
    require_dataset("Set5")
    from srkit.models import weights_path
    assert not weights_path("srcnn", 5).is_file()
    args = ["bench", "--methods", "nearest,bicubic,srcnn", "--datasets", "Set5", "--scale", "5"]
    assert main(args) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split()[:2] == ["method", "Set5"] and "params" in lines[0] and "s/image" in lines[0]
    nearest, bicubic, srcnn = (next(line for line in lines if line.startswith(m)) for m in ("nearest", "bicubic",
                                                                                           "srcnn"))
    assert "no weights" in srcnn and "srkit train --model srcnn --scale 5" in captured.err
    assert float(nearest.split()[1]) < float(bicubic.split()[1])          # PSNR column
    assert main([*args, "--markdown"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0] == "| Method | Set5 x5 | Params | MACs / pixel | s / image |"
    assert table[3].startswith("| bicubic | ") and table[3].split(" | ")[2] == "0"
    assert table[-1].startswith("Measured 20") and "`srkit bench --methods nearest,bicubic,srcnn" in table[-1]
    assert main([*args, "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert "unavailable" in results[2] and "psnr" not in results[2]


def test_bench_run_loads_the_weights_before_it_times_the_first_image(monkeypatch):
    from srkit.models import weights_path
    if not weights_path("espcn", 3).is_file():
        pytest.skip("no shipped espcn_x3")
    network = bench.METHODS["espcn"]
    loaded_when_called = []

    def spy(lr, scale):
        loaded_when_called.append(bench._network_model.cache_info().currsize)
        return network(lr, scale)

    bench._network_model.cache_clear()
    monkeypatch.setitem(bench.METHODS, "espcn", spy)
    image = np.random.default_rng(0).integers(0, 256, (30, 33, 3), dtype=np.uint8)
    result = bench.run("espcn", {"a": image, "b": image}, 3)
    assert loaded_when_called == [1, 1]            # the model was in the cache before the first image was timed
    assert result["params"] == bench.cost("espcn", 3)["params"]
    with pytest.raises(bench.MethodUnavailable, match="espcn x5"):
        bench.run("espcn", {"a": image}, 5)       # no weights: stops before any image is upscaled


def test_train_refuses_bad_settings_before_it_writes_anything(tmp_path, capsys):
    run = ["train", "--model", "fsrcnn", "--scale", "2", "--out", str(tmp_path / "run")]
    for flag, value in [("--steps", "0"), ("--val-every", "0"), ("--patch", "0"), ("--batch-size", "-1"),
                        ("--minutes", "-1"), ("--lr", "0"), ("--steps", "ten")]:
        with pytest.raises(SystemExit) as stop:
            main([*run, flag, value])
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert flag in err and ("above 0" in err or "integer" in err), err
    assert main(["train", "--model", "fsrcnn", "--scale", "2", "--out", f"{tmp_path}/"]) == 1
    assert "is a folder" in capsys.readouterr().err
    assert main([*run, "--init-from", "nope"]) == 1
    err = capsys.readouterr().err
    assert "--init-from nope" in err and "fsrcnn_x3" in err          # names what it looked for and what exists
    assert main([*run, "--init-from", "srcnn_x3"]) == 1                # another network: nothing would be copied
    assert "none of its tensors fits fsrcnn x2" in capsys.readouterr().err
    from srkit.models import WEIGHTS
    assert main([*run, "--init-from", str(WEIGHTS / "srcnn_x3.json")]) == 1   # a .json names its weights too
    assert "none of its tensors fits fsrcnn x2" in capsys.readouterr().err
    assert main(["train", "--model", "srgan", "--scale", "4", "--out", str(tmp_path / "gan")]) == 1
    assert "srgan needs --init-from" in capsys.readouterr().err
    assert main(["train", "--model", "sparse", "--scale", "2", "--resume", "--out", str(tmp_path / "s")]) == 2
    assert "for networks only" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_train_keeps_checkpoints_and_logs_of_other_runs(tmp_path, capsys, monkeypatch):
    """A checkpoint belongs to one run: another run is not resumed from it, a restart without --resume does not
    overwrite it, and a --force run that fails while setting up leaves the earlier log alone."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    ckpt = tmp_path / "runs" / "run.ckpt.safetensors"
    ckpt.write_bytes(b"tensors")
    theirs = {"out": "run", "model": "fsrcnn", "scale": 3}                 # another scale, the same --out name
    ckpt.with_suffix(".json").write_text(json.dumps({"step": 500, "run": theirs}))
    before = {p: p.read_bytes() for p in (tmp_path / "runs").iterdir()}
    run = ["train", "--model", "fsrcnn", "--scale", "2", "--out", str(tmp_path / "run")]
    assert main([*run, "--resume"]) == 1
    assert "checkpoint of another run (fsrcnn x3" in capsys.readouterr().err
    assert main(run) == 2
    assert "holds a run at step 500" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in (tmp_path / "runs").iterdir()} == before
    (tmp_path / "run.log").write_text("the log of a finished run\n")
    assert main([*run, "--force", "--init-from", "srcnn_x3"]) == 1      # fails while setting up the network
    assert "none of its tensors fits" in capsys.readouterr().err
    assert (tmp_path / "run.log").read_text() == "the log of a finished run\n"


def test_train_interrupted_says_so_and_exits_130(tmp_path, capsys, monkeypatch):
    def interrupted(args, command, log):
        log("step 10/100 ...")
        raise KeyboardInterrupt("training interrupted at step 10")

    monkeypatch.setattr("srkit.cli._train_network", interrupted)
    assert main(["train", "--model", "fsrcnn", "--scale", "2", "--out", str(tmp_path / "run"),
                 "--checkpoint", str(tmp_path / "run.ckpt.safetensors")]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_bench_checks_every_name_before_it_measures(capsys, monkeypatch):
    measured = []
    monkeypatch.setattr(bench, "run", lambda *a, **k: measured.append(a) or {})
    assert main(["bench", "--methods", "bicubic,nearest", "--datasets", "Set5,Set14,Foo"]) == 2
    assert "unknown dataset(s) Foo" in capsys.readouterr().err
    assert main(["bench", "--datasets", ","]) == 2
    assert "no dataset given" in capsys.readouterr().err
    assert main(["bench", "--methods", ""]) == 2
    assert "no method given" in capsys.readouterr().err
    assert measured == []                                  # refused before anything was measured


def test_bench_without_anything_to_measure_is_an_error(capsys):
    image = np.random.default_rng(0).integers(0, 256, (40, 44, 3), dtype=np.uint8)
    with pytest.raises(bench.MethodUnavailable, match="no shipped sparse dictionary for x5"):
        bench.run("sparse", {"noise": image}, 5)        # like a network without weights: skipped, not a crash
    assert main(["bench", "--method", "espcn", "--scale", "2", "--offline"]) == 1
    assert "skipped" in capsys.readouterr().err


def test_train_a_variant_from_its_base_network_keeps_the_variants_shape(tmp_path):
    """srcnn_955 started from SRCNN 9-1-5 weights is a 9-5-5 (its 5x5 middle layer wins over the source's
    arguments); the first and last layers are copied."""
    require_dataset("T91")
    from srkit.models import get_model, load_weights, save_weights
    base = get_model("srcnn", scale=3, f2=1)                   # arguments written out in its JSON
    save_weights(base, tmp_path / "base_x3")
    out = tmp_path / "wide_x3"
    assert main(["train", "--model", "srcnn_955", "--scale", "3", "--data", "T91", "--steps", "1", "--patch", "8",
                 "--batch-size", "2", "--val-every", "1", "--lr", "1e-12", "--init-from", str(tmp_path / "base_x3"),
                 "--out", str(out), "--checkpoint", str(tmp_path / "ck.safetensors")]) == 0
    wide = load_weights(out)
    assert wide.mapping.kernel_size == (5, 5)
    assert torch.allclose(wide.extract.weight, base.extract.weight, atol=1e-6)


def test_train_with_scale_augmentation_trains_on_the_downscaled_copies_and_records_it(tmp_path, capsys, monkeypatch):
    require_dataset("T91")
    import srkit.train
    seen, real_fit = {}, srkit.train.fit

    def spy(model, train_pairs, val_pairs, *args, **kwargs):
        seen["train"], seen["val"] = len(train_pairs), len(val_pairs)
        return real_fit(model, train_pairs, val_pairs, *args, **kwargs)

    monkeypatch.setattr(srkit.train, "fit", spy)
    out, ckpt = tmp_path / "aug_x3", tmp_path / "ck.safetensors"
    run = ["train", "--model", "fsrcnn", "--scale", "3", "--data", "T91", "--steps", "1", "--patch", "8",
           "--batch-size", "2", "--val-every", "1", "--model-args", "d=8,s=4,m=1", "--out", str(out),
           "--checkpoint", str(ckpt)]
    assert main([*run, "--scale-aug", "0.9,0.5"]) == 0
    log = out.with_suffix(".log").read_text()
    n_train = int(log.split("data T91: ")[1].split()[0])
    assert seen == {"train": 3 * n_train, "val": 9}                      # validation is not augmented
    assert f"scale augmentation by 0.9, 0.5: {3 * n_train} training images, " in log
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["scale_aug"] == [0.9, 0.5] and "--scale-aug 0.9,0.5" in meta["command"]
    assert meta["n_train_images_augmented"] == 3 * n_train and meta["n_train_images"] == n_train
    for bad, why in (("1.2", "between 0.1 and 1"), ("0.05", "between 0.1 and 1"), ("0.9,x", "numbers"),
                     (",", "at least one"), ("0.9,0.90", "given twice")):
        with pytest.raises(SystemExit) as stop:
            main([*run, "--force", "--scale-aug", bad])
        err = capsys.readouterr().err
        assert stop.value.code == 2 and "--scale-aug" in err and why in err, err
    # a resumed run draws from the same images as before, or not at all
    assert main([*run, "--resume", "--steps", "2"]) == 1
    assert "was trained with --scale-aug 0.9,0.5, not (none)" in capsys.readouterr().err
    assert main([*run, "--resume", "--steps", "2", "--scale-aug", "0.9,0.5"]) == 0
    commands = json.loads(out.with_suffix(".json").read_text())["commands"]
    assert len(commands) == 2 and "--steps 1 " in commands[0] and commands[1].endswith("--scale-aug 0.9,0.5")
    assert main(["train", "--model", "sparse", "--scale", "3", "--scale-aug", "0.9", "--out", str(tmp_path / "s")]) == 2
    assert "--scale-aug: for networks only" in capsys.readouterr().err


def test_init_from_records_the_scale_augmentation_and_validation_of_the_run_it_starts_from(tmp_path):
    require_dataset("T91")
    common = ["--scale", "3", "--data", "T91", "--steps", "1", "--patch", "8", "--batch-size", "2", "--val-every", "1",
              "--model-args", "d=8,s=4,m=1", "--model", "fsrcnn"]
    assert main(["train", *common, "--scale-aug", "0.8", "--out", str(tmp_path / "a"),
                 "--checkpoint", str(tmp_path / "a.ck.safetensors")]) == 0
    assert main(["train", *common, "--init-from", str(tmp_path / "a"), "--out", str(tmp_path / "b"),
                 "--checkpoint", str(tmp_path / "b.ck.safetensors")]) == 0
    first, second = (json.loads((tmp_path / f"{n}.json").read_text()) for n in "ab")
    assert second["init_from"]["scale_aug"] == [0.8] and second["scale_aug"] is None
    assert second["init_from"]["best_psnr"] == first["validation"]["best_psnr"]


def tiny_fsrcnn_run(out: Path) -> list[str]:
    """`srkit train` arguments for one step of a tiny FSRCNN x3 on T91, writing to ``out`` and its own checkpoint."""
    return ["train", "--model", "fsrcnn", "--scale", "3", "--data", "T91", "--steps", "1", "--patch", "8",
            "--batch-size", "2", "--val-every", "1", "--model-args", "d=8,s=4,m=1", "--out", str(out),
            "--checkpoint", str(out.with_suffix(".ckpt.safetensors"))]


def refused_resume(run: list[str], out: Path, capsys, *args: str) -> str:
    """Resume ``run`` with ``args``: it must be refused (exit 1) before the run's log is touched; returns stderr."""
    log = out.with_suffix(".log").read_text()
    assert main([*run, "--resume", "--steps", "2", *args]) == 1
    assert out.with_suffix(".log").read_text() == log
    return capsys.readouterr().err


def test_train_with_loss_shave_records_it_and_resumes_only_with_it(tmp_path, capsys):
    require_dataset("T91")
    out = tmp_path / "shave_x3"
    run = tiny_fsrcnn_run(out)
    assert main([*run, "--loss-shave", "6"]) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["loss_shave"] == 6 and "--loss-shave 6" in meta["command"]
    assert "was trained with loss_shave=6 (srkit train --loss-shave), not 0" in refused_resume(run, out, capsys)
    assert main([*run, "--resume", "--steps", "2", "--loss-shave", "6"]) == 0
    log = out.with_suffix(".log").read_text()
    assert main([*run, "--force", "--loss-shave", "12"]) == 1               # a 24-pixel patch would keep nothing
    assert "loss_shave must be a whole number of HR pixels from 0 to 11" in capsys.readouterr().err
    assert out.with_suffix(".log").read_text() == log                      # refused before the log was touched
    with pytest.raises(SystemExit):
        main([*run, "--force", "--loss-shave", "-1"])
    assert "must be 0 or more" in capsys.readouterr().err
    assert main(["train", "--model", "sparse", "--scale", "3", "--loss-shave", "2", "--out", str(tmp_path / "s")]) == 2
    assert "--loss-shave: for networks only" in capsys.readouterr().err


def test_train_with_image_borders_records_it_and_needs_loss_shave(tmp_path, capsys):
    require_dataset("T91")
    out = tmp_path / "borders_x3"
    run = tiny_fsrcnn_run(out)
    assert main([*run, "--image-borders"]) == 1                            # nothing shaved: nothing to keep
    assert "--image-borders keeps the patch sides on an image's border" in capsys.readouterr().err
    assert not out.with_suffix(".log").exists()
    assert main([*run, "--loss-shave", "6", "--image-borders"]) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["image_borders"] is True and meta["loss_shave"] == 6 and "--image-borders" in meta["command"]
    err = refused_resume(run, out, capsys, "--loss-shave", "6")          # other patches: not the same run
    assert "was trained with image_borders=True (srkit train --image-borders), not False" in err
    assert main([*run, "--resume", "--steps", "2", "--loss-shave", "6", "--image-borders"]) == 0
    assert main(["train", "--model", "sparse", "--scale", "3", "--image-borders", "--out", str(tmp_path / "s")]) == 2
    assert "--image-borders: for networks only" in capsys.readouterr().err


def test_train_with_balance_records_it_and_resumes_only_with_it(tmp_path, capsys):
    require_dataset("T91")
    out = tmp_path / "balance_x3"
    run = tiny_fsrcnn_run(out)
    assert main([*run, "--balance", "psnr"]) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["balance"] == "psnr" and "--balance psnr" in meta["command"]
    assert "was trained with balance=psnr (srkit train --balance), not pixels" in refused_resume(run, out, capsys)
    assert main([*run, "--resume", "--steps", "2", "--balance", "psnr"]) == 0
    assert json.loads(out.with_suffix(".json").read_text())["steps"] == 2
    with pytest.raises(SystemExit):
        main([*run, "--force", "--balance", "ssim"])
    assert "invalid choice: 'ssim'" in capsys.readouterr().err
    assert main(["train", "--model", "sparse", "--scale", "3", "--balance", "psnr", "--out", str(tmp_path / "s")]) == 2
    assert "--balance: for networks only" in capsys.readouterr().err


def test_train_with_ema_records_it_and_resumes_only_with_it(tmp_path, capsys):
    require_dataset("T91")
    out = tmp_path / "ema_x3"
    run = tiny_fsrcnn_run(out)
    assert main([*run, "--ema", "0.99"]) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["ema"] == 0.99 and "--ema 0.99" in meta["command"]
    assert "moving average of the weights (ema=0.99)" in out.with_suffix(".log").read_text()
    assert "was trained with ema=0.99 (srkit train --ema), not 0.0" in refused_resume(run, out, capsys)
    assert main([*run, "--resume", "--steps", "2", "--ema", "0.99"]) == 0
    for bad, why in (("1", "must be below 1"), ("-0.5", "must be 0 or more"), ("x", "expected a number")):
        with pytest.raises(SystemExit):
            main([*run, "--force", "--ema", bad])
        assert why in capsys.readouterr().err
    assert main(["train", "--model", "sparse", "--scale", "3", "--ema", "0.9", "--out", str(tmp_path / "s")]) == 2
    assert "--ema: for networks only" in capsys.readouterr().err
