from __future__ import annotations

import numpy as np
import pytest
import torch

import srkit
from srkit.exercises import random_images
from srkit.resize import KERNELS, imresize, modcrop


@pytest.fixture
def img():
    return random_images(1, seed=3)[0]


@pytest.mark.parametrize("method", list(KERNELS))
@pytest.mark.parametrize("scale", [1 / 4, 1 / 3, 0.7, 2, 3, 2.5])
def test_numpy_and_torch_agree(img, method, scale):
    out = imresize(img, scale, method=method)
    t = torch.from_numpy(img).permute(2, 0, 1)[None]
    out_t = imresize(t, scale, method=method)
    assert out_t.dtype == torch.uint8 and out_t.shape[:2] == (1, 3)
    assert np.array_equal(out_t[0].permute(1, 2, 0).numpy(), out)
    assert out.shape[:2] == (int(np.ceil(img.shape[0] * scale)), int(np.ceil(img.shape[1] * scale)))


def test_batched_equals_one_by_one():
    x = torch.rand(3, 3, 20, 17)
    batch = imresize(x, 1 / 2)
    for i in range(3):
        assert torch.allclose(batch[i], imresize(x[i], 1 / 2), atol=0)


def test_float_input_stays_float_and_matches_uint8_before_rounding(img):
    f = imresize(img.astype(np.float64) / 255, 1 / 3)
    assert f.dtype == np.float64
    u = imresize(img, 1 / 3)
    # uint8 rounds after each pass, so values agree to within a grey level or two.
    assert np.abs(f * 255 - u).max() < 2.0


def test_constant_image_is_preserved():
    x = np.full((30, 40, 3), 77, np.uint8)
    for method in KERNELS:
        for scale in (0.25, 3):
            assert np.all(imresize(x, scale, method=method) == 77)


def test_nearest_integer_upscale_is_pixel_repeat(img):
    assert np.array_equal(imresize(img, 3, method="nearest"), img.repeat(3, 0).repeat(3, 1))


def test_height_is_resized_first_when_scales_tie():
    # With rounding after each pass, H-then-W and W-then-H differ on some pixels; MATLAB does H first.
    from srkit.resize import _resize_axis

    x = torch.from_numpy(random_images(1, seed=5)[0])
    out = imresize(x.numpy(), 1 / 3)

    def one_pass(t, axis):
        return _resize_axis(t, axis, out.shape[axis], 1 / 3, "bicubic", True, torch.float64)

    h_first = one_pass(one_pass(x, 0), 1).numpy()
    w_first = one_pass(one_pass(x, 1), 0).numpy()
    assert not np.array_equal(h_first, w_first)  # the order is observable on this image...
    assert np.array_equal(out, h_first)           # ...and we follow MATLAB


def test_size_argument(img):
    out = imresize(img, size=(20, 31))
    assert out.shape == (20, 31, 3)


def test_gray_2d(img):
    g = img[..., 0]
    assert imresize(g, 2).shape == (2 * g.shape[0], 2 * g.shape[1])


@pytest.mark.parametrize("scale", [0, -2, float("nan"), float("inf"), "big"])
def test_bad_scales_are_named(img, scale):
    with pytest.raises((ValueError, TypeError), match="scale"):
        imresize(img, scale)


def test_bad_inputs_are_named(img):
    with pytest.raises(ValueError, match="empty"):
        imresize(np.zeros((0, 5, 3), np.uint8), 2)
    with pytest.raises(ValueError, match="less than one pixel"):
        imresize(np.zeros((3, 3, 3), np.uint8), 0.1)
    with pytest.raises(ValueError, match="exactly one"):
        imresize(img)
    with pytest.raises(ValueError, match="exactly one"):
        imresize(img, 2, size=(4, 4))
    with pytest.raises(ValueError, match="output size"):
        imresize(img, size=(0, 4))
    with pytest.raises(ValueError, match="method"):
        imresize(img, 2, method="cubic-ish")
    with pytest.raises(TypeError, match="dtype"):
        imresize(img.astype(np.int32), 2)
    with pytest.raises(TypeError, match="numpy array or torch tensor"):
        imresize([[1, 2], [3, 4]], 2)
    with pytest.raises(ValueError, match="shape"):
        imresize(np.zeros((2, 3, 4, 5)), 2)
    with pytest.raises(ValueError, match=r"size must be \(height, width\), got 10"):
        imresize(img, size=10)
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        imresize(img, 2, device="gpu")


def test_modcrop_crops_never_resizes(img):
    out = modcrop(img, 4)
    assert out.shape[0] % 4 == 0 and out.shape[1] % 4 == 0
    assert np.array_equal(out, img[: out.shape[0], : out.shape[1]])
    t = torch.zeros(2, 3, 10, 11)
    assert modcrop(t, 3).shape == (2, 3, 9, 9)
    with pytest.raises(ValueError, match="scale"):
        modcrop(img, 2.5)
    with pytest.raises(ValueError, match="smaller than the scale"):
        modcrop(np.zeros((2, 2)), 3)


def test_top_level_api():
    assert srkit.imresize is imresize and srkit.modcrop is modcrop
    assert srkit.device().type in ("cpu", "cuda", "mps")
    assert srkit.device("cpu") == torch.device("cpu")


def test_cpu_threads_sets_and_restores_the_count():
    before = torch.get_num_threads()
    target = 1 if before > 1 else 2
    with srkit.cpu_threads(target):
        assert torch.get_num_threads() == target
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError, match="inside"):
        with srkit.cpu_threads(target):
            raise RuntimeError("an error inside the block")
    assert torch.get_num_threads() == before                   # restored after the error too
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="whole number of threads"):
            with srkit.cpu_threads(bad):
                pass
    assert torch.get_num_threads() == before
