"""Tests for srkit.widgets, driven through their controls as a user (or a browser test) would.

No Jupyter kernel runs here, so the functions fall back to static figures; the classes are built directly
(ipywidgets makes its models without a kernel). conftest.py selects the Agg backend.
"""
from __future__ import annotations

import re

import numpy as np
import pytest
from matplotlib.figure import Figure

import srkit
from srkit import bench, plot, widgets


def _readout(text: str) -> tuple[str, int, float, float]:
    m = re.fullmatch(r"(\w+) x(\d+): PSNR (\d+\.\d\d) dB, SSIM (0\.\d{4})", text)
    assert m, text
    return m.group(1), int(m.group(2)), float(m.group(3)), float(m.group(4))


# --- upscale explorer -----------------------------------------------------------------------------------------

def test_explorer_scale_slider_changes_image_and_readout(hr):
    ex = widgets.UpscaleExplorer(hr)
    ex.scale_slider.value = 2
    png2, text2 = ex.image_widget.value, ex.readout.value
    ex.scale_slider.value = 4
    assert ex.image_widget.value != png2 and ex.readout.value != text2
    method, scale, psnr, ssim = _readout(ex.readout.value)
    assert (method, scale) == ("bicubic", 4)
    # An independent computation by the protocol: modcrop, MATLAB bicubic down and up, Y, shave the scale.
    ref = srkit.modcrop(hr, 4)
    sr = srkit.imresize(srkit.imresize(ref, 1 / 4), 4)
    assert psnr == pytest.approx(srkit.psnr(sr, ref, crop_border=4), abs=0.005)
    assert ssim == pytest.approx(srkit.ssim(sr, ref, crop_border=4), abs=5e-5)


def test_explorer_method_dropdown_changes_readout(hr):
    ex = widgets.UpscaleExplorer(hr, methods=("nearest", "bicubic"))
    before = ex.readout.value
    ex.method_dropdown.value = "nearest"
    assert ex.readout.value != before and _readout(ex.readout.value)[0] == "nearest"
    assert "SR: nearest" in ex.caption.value


def test_explorer_caches_each_setting(hr, monkeypatch):
    calls = []

    def counting(lr, scale):
        calls.append(scale)
        return srkit.imresize(lr, scale)

    monkeypatch.setitem(bench.METHODS, "bicubic", counting)
    ex = widgets.UpscaleExplorer(hr, methods=("bicubic",))
    ex.scale_slider.value = 2
    first = ex.image_widget.value
    ex.scale_slider.value = 3
    ex.scale_slider.value = 2
    assert calls == [4, 2, 3] and ex.image_widget.value == first
    assert ex.result("bicubic", 2)["sr"] is ex.result("bicubic", 2)["sr"]


def test_explorer_zoom_sliders_move_the_region(hr):
    ex = widgets.UpscaleExplorer(hr, zoom=(10, 20, 32, 32))
    before = ex.image_widget.value
    ex.zoom_left_slider.value = 60
    assert ex.image_widget.value != before and "columns 60-91" in ex.caption.value
    ex.zoom_top_slider.value = ex.zoom_top_slider.max       # bottom edge: must stay inside the cropped HR
    ex.scale_slider.value = 7                               # modcrop(128, 7) = 126 rows
    assert _readout(ex.readout.value)[1] == 7 and "rows 94-125" in ex.caption.value


def test_explorer_has_css_classes_and_displays(hr):
    ex = widgets.UpscaleExplorer(hr)
    assert "srkit-explorer-readout" in ex.readout._dom_classes
    assert "srkit-explorer-image" in ex.image_widget._dom_classes
    assert "srkit-explorer-scale" in ex.scale_slider._dom_classes
    assert "application/vnd.jupyter.widget-view+json" in ex._repr_mimebundle_()


def test_explorer_rejects_bad_arguments(hr):
    with pytest.raises(ValueError, match="unknown method"):
        widgets.UpscaleExplorer(hr, methods=("magic",))
    with pytest.raises(ValueError, match="zoom box"):
        widgets.UpscaleExplorer(hr, zoom=(120, 0, 32, 32))
    with pytest.raises(ValueError, match="scales"):
        widgets.UpscaleExplorer(hr, scales=(1, 2))


def test_explorer_static_figure(hr):
    fig = widgets.upscale_explorer(hr, methods=("bicubic", "nearest"))     # no kernel here: static
    assert isinstance(fig, Figure) and len(fig.axes) == 4                    # LR, 2 methods, HR
    fig = widgets.upscale_explorer(hr, zoom=(0, 0, 16, 16), static=True)
    assert isinstance(fig, Figure) and len(fig.axes) == 12


# --- swipe compare --------------------------------------------------------------------------------------------

def test_compare_swipe_and_zoom_change_the_image(hr):
    blurred = srkit.imresize(srkit.imresize(hr, 1 / 4), 4)
    view = widgets.SwipeCompare({"bicubic": blurred, "HR": hr}, ref=hr, crop_border=4)
    before = view.image_widget.value
    view.swipe_slider.value = 0.2
    assert view.image_widget.value != before
    before = view.image_widget.value
    view.zoom_slider.value = 4
    assert view.image_widget.value != before
    assert f"{srkit.psnr(blurred, hr, 4):.2f} dB" in view.readout.value and "HR (reference)" in view.readout.value
    view.right_dropdown.value = "bicubic"
    assert view.readout.value.count("bicubic") == 2


def test_compare_needs_one_size_and_falls_back(hr):
    with pytest.raises(ValueError, match="one size"):
        widgets.SwipeCompare({"a": hr, "b": hr[:64]})
    assert isinstance(widgets.compare({"a": hr, "b": hr}), Figure)
    assert isinstance(widgets.compare({"a": hr}, ref=hr, static=True), Figure)


# --- MOS poll -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def candidates(hr) -> dict:
    lrs = [srkit.imresize(hr[:, i:i + 64], 1 / 4) for i in (0, 32, 64)]
    return {m: [bench.METHODS[m](lr, 4) for lr in lrs] for m in ("nearest", "bilinear", "bicubic", "lanczos3")}


def _visible_text(poll: widgets.MOSPoll) -> str:
    return " ".join([poll.progress.value, poll.results.value] + [b.description for b in poll.buttons])


def test_mos_poll_hides_names_then_reports_means(candidates):
    poll = widgets.MOSPoll(candidates, seed=0)
    assert len(poll.items) == 12 and len(poll.buttons) == 5 and poll.buttons[0].description == "1 (bad)"
    rng = np.random.default_rng(42)
    while not poll.done:
        assert not any(name in _visible_text(poll) for name in candidates)
        assert poll.image_widget.value == plot.png_bytes(poll.items[len(poll.ratings)][1])
        poll.buttons[int(rng.integers(5))].click()                   # the same path as a user's click
    assert len(poll.ratings) == 12
    by_hand = {}
    for method, score in poll.ratings:
        by_hand.setdefault(method, []).append(score)
    result = poll.mos()
    assert set(result) == set(candidates)
    for method, scores in by_hand.items():
        assert result[method]["mos"] == pytest.approx(np.mean(scores))
        assert result[method]["std"] == pytest.approx(np.std(scores, ddof=1))
        assert result[method]["n"] == len(scores) == 3
    assert all(name in poll.results.value for name in candidates)


def test_mos_poll_ratings_follow_the_shown_items(candidates):
    poll = widgets.MOSPoll(candidates, seed=3)
    for i, score in enumerate([5, 4, 3]):
        poll.rate(score)
        assert poll.ratings[i] == (poll.items[i][0], score)


def test_mos_poll_order_is_seeded(candidates):
    def order(seed):
        return [method for method, _ in widgets.MOSPoll(candidates, seed=seed).items]

    assert order(0) == order(0)
    assert order(0) != order(1)
    assert sorted(order(0)) == sorted(m for m in candidates for _ in range(3))


def test_mos_poll_rejects_bad_scores_and_rating_after_the_end(candidates):
    poll = widgets.MOSPoll({"a": candidates["bicubic"][0], "b": candidates["nearest"][0]})
    for bad in (0, 6, 2.5, True, "3"):
        with pytest.raises(ValueError, match="1 \\(bad\\) to 5"):
            poll.rate(bad)
    poll.rate(np.int64(3))
    poll.rate(4)
    assert poll.done and all(b.disabled for b in poll.buttons)
    with pytest.raises(RuntimeError, match="poll is over"):
        poll.rate(3)
    assert np.isnan(poll.mos()["a"]["std"]) and poll.mos()["a"]["n"] == 1


def test_mos_poll_static_paper_form(candidates):
    fig = widgets.mos_poll(candidates, seed=0)                    # no kernel: static
    assert isinstance(fig, Figure) and len(fig.axes) == 12
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:3] == ["A", "B", "C"]
    key = " ".join(t.get_text() for t in fig.texts)
    poll = widgets.MOSPoll(candidates, seed=0)
    assert f"A = {poll.items[0][0]}" in key and f"L = {poll.items[11][0]}" in key


def test_functions_return_widgets_under_a_kernel(hr, candidates, monkeypatch):
    import IPython

    class Shell:                      # what IPython.get_ipython() returns in a Jupyter kernel: it has a .kernel
        kernel = object()

    monkeypatch.setattr(IPython, "get_ipython", lambda: Shell())
    assert isinstance(widgets.upscale_explorer(hr, scales=(2, 3)), widgets.UpscaleExplorer)
    assert isinstance(widgets.compare({"a": hr, "b": hr}), widgets.SwipeCompare)
    assert isinstance(widgets.mos_poll(candidates), widgets.MOSPoll)
    assert isinstance(widgets.mos_poll(candidates, static=True), Figure)
