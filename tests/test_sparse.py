from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import orthogonal_mp_gram

import srkit
from srkit import bench, sparse


@pytest.fixture(scope="module")
def images():
    samples = srkit.sample_images(["astronaut", "coffee", "chelsea"])
    return [img[:192, :192] for img in samples.values()]


@pytest.fixture(scope="module")
def small_model(images):
    return sparse.train(images, 3, n_atoms=64, n_patches=6000, back_projection=0, seed=0)


def test_batched_omp_equals_scikit_learn():
    rng = np.random.default_rng(0)
    d = rng.normal(size=(96, 20))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    x = rng.normal(size=(500, 20))
    ours = sparse.omp(x, d, 4, chunk=128)
    theirs = orthogonal_mp_gram(d @ d.T, d @ x.T, n_nonzero_coefs=4).T
    assert np.allclose(ours, theirs, atol=1e-8)
    assert ((ours != 0).sum(axis=1) <= 4).all()


def test_gradient_features_are_the_papers_filters():
    ramp = np.tile(np.arange(10.0) ** 2, (6, 1))   # f(x) = x^2: d/dx = 2x * 2 ([-1,0,1]), d2/dx2 = 8 ([1,0,-2,0,1])
    f = sparse.gradient_features(ramp)
    assert f.shape == (6, 10, 4)
    assert np.allclose(f[:, 3:7, 0], 4 * np.arange(3, 7.0))
    assert np.allclose(f[:, 3:7, 2], 8) and np.allclose(f[..., 1], 0) and np.allclose(f[..., 3], 0)


def test_patches_round_trip_through_overlap_add():
    image = np.random.default_rng(1).random((23, 30))
    for stride in (1, 2, 4):
        patches, rows, cols = sparse.extract_patches(image, 6, stride)
        assert rows.max() == 23 - 6 and cols.max() == 30 - 6          # the last row/column is always covered
        assert np.allclose(sparse.overlap_add(patches, rows, cols, image.shape, 6), image)


def test_overlap_add_averages_disagreeing_patches():
    rows, cols = np.array([0, 0, 2]), np.array([0, 2, 0])
    patches = np.stack([np.full(16, 1.0), np.full(16, 3.0), np.full(16, 8.0)])
    out = sparse.overlap_add(patches, rows, cols, (6, 6), 4)
    assert out[0, 0] == 1 and out[0, 2] == 2 and out[2, 2] == pytest.approx(4) and out[5, 5] == 0
    assert out[2, 0] == pytest.approx(4.5) and out[5, 0] == 8


def test_coupled_beats_bicubic_and_uncoupled(images, small_model):
    uncoupled = sparse.train(images, 3, n_atoms=64, n_patches=6000, back_projection=0, seed=0, coupled=False)
    held_out = {"camera": srkit.sample_images(["camera"])["camera"][100:292, 100:292]}
    coupled_psnr = bench.run(small_model, held_out, 3)["psnr"]
    bicubic_psnr = bench.run("bicubic", held_out, 3)["psnr"]
    uncoupled_psnr = bench.run(uncoupled, held_out, 3)["psnr"]
    assert coupled_psnr > bicubic_psnr + 0.2
    assert coupled_psnr > uncoupled_psnr + 0.2


def test_output_shapes_and_types(small_model):
    lr = srkit.sample_images(["coffee"])["coffee"][:40, :50]
    sr = small_model(lr)
    assert sr.shape == (120, 150, 3) and sr.dtype == np.uint8
    assert small_model(lr[..., 0]).shape == (120, 150)
    with pytest.raises(ValueError, match="x3"):
        small_model(lr, scale=2)
    with pytest.raises(TypeError, match="uint8"):
        small_model(lr / 255.0)
    with pytest.raises(ValueError, match="too small"):
        small_model(lr[:2, :2])


def test_back_projection_makes_the_result_consistent_with_the_input(small_model):
    lr = srkit.sample_images(["chelsea"])["chelsea"][:60, :60, 1] / 255.0
    plain = small_model.upscale_y(lr, back_projection=0)
    projected = small_model.upscale_y(lr, back_projection=3)
    error = lambda y: np.abs(srkit.imresize(y, 1 / 3) - lr).mean()   # noqa: E731
    assert error(projected) < error(plain) / 2
    # upscale_y and __call__ agree on the default: the model's own number of iterations.
    import dataclasses
    model = dataclasses.replace(small_model, back_projection=3)
    assert np.array_equal(model.upscale_y(lr), projected) and np.array_equal(small_model.upscale_y(lr), plain)


def test_save_load_round_trip_without_pickle(tmp_path, small_model):
    path = small_model.save(tmp_path / "dict_x3")
    assert path.suffix == ".safetensors" and (tmp_path / "dict_x3.json").is_file()
    meta = json.loads((tmp_path / "dict_x3.json").read_text())
    assert meta["arch"] == "sparse" and meta["scale"] == 3
    loaded = sparse.SparseSR.load(tmp_path / "dict_x3.safetensors")
    lr = srkit.sample_images(["astronaut"])["astronaut"][:30, :30]
    assert np.abs(loaded(lr).astype(int) - small_model(lr)).max() <= 1   # stored as float32
    with pytest.raises(FileNotFoundError, match="nothing"):
        sparse.SparseSR.load(tmp_path / "nothing")


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_shipped_dictionaries(scale):
    model = sparse.pretrained(scale)
    meta = json.loads((sparse.WEIGHTS / f"sparse_x{scale}.json").read_text())
    assert model.scale == scale and meta["command"].startswith("srkit train --model sparse")
    assert (sparse.WEIGHTS / f"sparse_x{scale}.log").is_file()
    import hashlib
    assert hashlib.sha256((sparse.WEIGHTS / f"sparse_x{scale}.safetensors").read_bytes()).hexdigest() == meta["sha256"]
    # It was validated on held-out training images, and beat bicubic there.
    assert meta["validation"]["psnr"] > meta["validation"]["bicubic_psnr"]
    test_sets = ("Set5", "Set14", "BSD100", "Urban100")
    assert not any(name.split("/")[0] in test_sets for name in meta["validation"]["images"])
    with pytest.raises(ValueError, match="no shipped sparse dictionary"):
        sparse.pretrained(7)


def test_sparse_beats_the_paper_on_set5_x3():
    from conftest import require_dataset
    require_dataset("Set5")
    result = bench.run("sparse", "Set5", 3)
    assert result["psnr"] >= 31.42   # ScSR (Yang et al. 2010), Set5 x3
