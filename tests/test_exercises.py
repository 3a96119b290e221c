from __future__ import annotations

import numpy as np
import pytest

import srkit
from srkit.exercises import check, image_pairs, random_images


def test_check_passes_a_correct_function(capsys):
    n = check(lambda sr, hr: srkit.psnr(sr, hr, y_channel=False), lambda sr, hr: srkit.psnr(sr, hr, y_channel=False),
              image_pairs(), name="psnr")
    assert n == 4 and "✓ psnr matches the reference" in capsys.readouterr().out


def test_check_fails_a_stub_a_wrong_answer_and_a_missing_return():
    def stub(sr, hr):
        raise NotImplementedError("your code here")

    def wrong(sr, hr):
        return srkit.psnr(sr, hr, y_channel=True)

    def forgot(sr, hr):
        srkit.psnr(sr, hr)

    def reference(sr, hr):
        return srkit.psnr(sr, hr, y_channel=False)

    with pytest.raises(NotImplementedError):
        check(stub, reference, image_pairs())
    with pytest.raises(AssertionError, match="differs"):
        check(wrong, reference, image_pairs())
    with pytest.raises(AssertionError, match="return"):
        check(forgot, reference, image_pairs())
    with pytest.raises(AssertionError, match="shape"):
        check(lambda img: img[1:], lambda img: img, [(x,) for x in random_images()])
    with pytest.raises(AssertionError, match="no inputs"):
        check(reference, reference, [])


def test_random_images_are_varied_and_reproducible():
    a, b = random_images(4, seed=1), random_images(4, seed=1)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert len({x.shape for x in a}) > 1 and all(x.dtype == np.uint8 for x in a)
    assert random_images(2, gray=True)[0].ndim == 2


def test_failure_message_stays_short_for_large_non_array_arguments():
    big = {f"w{i}": list(range(100)) for i in range(50)}
    with pytest.raises(AssertionError) as info:
        check(lambda d, x: x + 1, lambda d, x: x, [(big, np.zeros(3))])
    assert len(str(info.value)) < 600 and "dict(" in str(info.value)


def test_check_can_forbid_the_call_an_exercise_asks_to_do_without():
    import torch
    import torch.nn.functional as F

    def by_hand(y, r):
        n, c, h, w = y.shape
        return y.reshape(n, c, h // r, r, w // r, r).permute(0, 1, 3, 5, 2, 4).reshape(n, c * r * r, h // r, w // r)

    def shortcut(y, r):
        return torch.nn.PixelUnshuffle(r)(y)

    inputs = [(torch.randn(1, 2, 6, 9), 3)]
    forbid = {"F.pixel_unshuffle": (F, "pixel_unshuffle"), "torch.pixel_unshuffle": (torch, "pixel_unshuffle")}
    original = F.pixel_unshuffle
    assert check(by_hand, F.pixel_unshuffle, inputs, forbid=forbid) == 1
    with pytest.raises(AssertionError, match="shortcut calls F.pixel_unshuffle, which this exercise asks you to do"):
        check(shortcut, F.pixel_unshuffle, inputs, forbid=forbid)
    assert F.pixel_unshuffle is original and torch.equal(shortcut(*inputs[0]), by_hand(*inputs[0]))   # restored
    net = torch.nn.Conv2d(1, 1, 3)
    with pytest.raises(AssertionError, match="calls the network"):          # a class attribute: every module
        check(lambda x: net(x), lambda x: net(x), [(torch.rand(1, 1, 5, 5),)],
              forbid={"the network": (torch.nn.Module, "__call__")})
    assert net(torch.rand(1, 1, 5, 5)).shape == (1, 1, 3, 3)
    with pytest.raises(AssertionError, match="calls its forward"):          # an instance attribute, then uncovered
        check(lambda x: net(x), lambda x: net(x), [(torch.rand(1, 1, 5, 5),)], forbid={"its forward": (net, "forward")})
    assert "forward" not in vars(net) and net(torch.rand(1, 1, 5, 5)).shape == (1, 1, 3, 3)
