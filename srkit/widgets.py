"""Interactive views for the notebooks: ``upscale_explorer``, ``compare`` and ``mos_poll``.

Built on ipywidgets 8. Each view draws into one ``ipywidgets.Image`` (PNG bytes encoded by Pillow) with
``ipywidgets.HTML`` readouts, rather than re-running matplotlib in an ``Output``: a PNG redraws in tens of
milliseconds, and a browser test can watch the ``<img>`` change. Results are cached per setting, so going back
to a setting is instant. DOM elements carry CSS classes ``srkit-<view>-<part>`` (``srkit-explorer-readout``,
``srkit-compare-image``, ``srkit-mos-button``, ...) for browser tests.

Every function takes ``static=False``. With ``static=True``, or when no Jupyter kernel is attached (a script, a
plain IPython terminal, a test run), it returns a matplotlib ``Figure`` with the same content, drawn by
:mod:`srkit.plot`. The classes (:class:`UpscaleExplorer`, :class:`SwipeCompare`, :class:`MOSPoll`) can also be
built directly, kernel or not; they display themselves in a notebook and expose their controls.

Images are numpy ``uint8`` ``(H, W, 3)`` or ``(H, W)``; metrics follow :mod:`srkit.metrics` (Y channel).
"""

from __future__ import annotations

import html
import io

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from . import bench, plot
from .metrics import psnr, ssim
from .resize import imresize, modcrop

__all__ = ["upscale_explorer", "compare", "mos_poll", "UpscaleExplorer", "SwipeCompare", "MOSPoll"]

DEFAULT_METHODS = ("nearest", "bilinear", "bicubic", "lanczos3")
# Absolute category rating labels of ITU-T P.800 / ITU-R BT.500.
SCORES = {1: "bad", 2: "poor", 3: "fair", 4: "good", 5: "excellent"}
_ZOOM_PIXELS = 256       # an explorer zoom crop is enlarged (whole pixels) to about this size


def _no_frontend() -> bool:
    """True unless running in a Jupyter kernel (only a kernel can show widgets)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return True
    shell = get_ipython()
    return shell is None or not hasattr(shell, "kernel")


def _png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    # compress_level=1: twice as fast as the default, and the bytes only travel to the browser.
    Image.fromarray(np.ascontiguousarray(image)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _rgb(image: np.ndarray) -> np.ndarray:
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image[..., :3]


def _enlarge(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement by an integer factor (pixel replication)."""
    return image if factor == 1 else np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def _hstack(panels: list[np.ndarray], gap: int = 8) -> np.ndarray:
    """Equal-height RGB panels left to right, separated by white columns."""
    spacer = np.full((panels[0].shape[0], gap, 3), 255, np.uint8)
    return np.concatenate([p for panel in panels for p in (spacer, _rgb(panel))][1:], axis=1)


def _metrics_text(image: np.ndarray, ref: np.ndarray | None, crop_border: int) -> str:
    if ref is None:
        return ""
    if image.shape == ref.shape and np.array_equal(image, ref):
        return " (reference)"
    return f" ({psnr(image, ref, crop_border):.2f} dB / {ssim(image, ref, crop_border):.4f})"


class _View:
    """Displays ``self.widget`` (an ``ipywidgets.VBox``) when it is the value of a notebook cell."""

    widget: widgets.VBox

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class UpscaleExplorer(_View):
    """LR (nearest-enlarged) | SR | HR for a method and scale chosen with a dropdown and a slider.

    For scale ``s``: ``hr = modcrop(image, s)``, ``lr = imresize(hr, 1/s)`` (MATLAB bicubic),
    ``sr = bench.METHODS[method](lr, s)``; the readout gives PSNR / SSIM of ``sr`` on Y with ``crop_border = s``.
    ``zoom = (top, left, height, width)`` in HR pixels shows that region of each, enlarged, with sliders to
    move it. Controls: ``method_dropdown``, ``scale_slider`` (and ``zoom_top_slider``, ``zoom_left_slider``);
    outputs: ``image_widget``, ``readout``, ``caption``.
    """

    def __init__(self, image, methods=DEFAULT_METHODS, scales=range(2, 9), zoom=None):
        self.image = plot.as_display(image)
        methods = list(methods)
        unknown = [m for m in methods if m not in bench.METHODS]
        if not methods or unknown:
            raise ValueError(f"unknown method(s) {unknown}; choose from {', '.join(bench.METHODS)}")
        scales = sorted({int(s) for s in scales})
        if not scales or scales[0] < 2:
            raise ValueError(f"scales must be integers >= 2, got {scales}")
        self.zoom = None if zoom is None else tuple(int(v) for v in zoom)
        if zoom is not None:
            plot.zoom_box(self.image, self.zoom)                 # validates the box
        self._pairs: dict[int, tuple] = {}                       # scale -> (hr, lr, lr enlarged)
        self._cache: dict[tuple[str, int], dict] = {}            # (method, scale) -> {"sr", "psnr", "ssim"}

        self.method_dropdown = widgets.Dropdown(options=methods, description="method",
                                                value="bicubic" if "bicubic" in methods else methods[0])
        start = 4 if 4 in scales else scales[0]
        # Computing a new scale takes a moment: update on release, not at every step of a drag.
        if scales == list(range(scales[0], scales[-1] + 1)):
            self.scale_slider = widgets.IntSlider(value=start, min=scales[0], max=scales[-1], description="scale",
                                                  continuous_update=False)
        else:
            self.scale_slider = widgets.SelectionSlider(options=scales, value=start, description="scale",
                                                        continuous_update=False)
        self.readout, self.caption = widgets.HTML(), widgets.HTML()
        self.image_widget = widgets.Image(format="png", layout=widgets.Layout(max_width="100%", height="auto"))
        controls = [self.method_dropdown, self.scale_slider]
        rows = [widgets.HBox(controls)]
        if self.zoom is not None:
            top, left, zh, zw = self.zoom
            h, w = self.image.shape[:2]
            self.zoom_top_slider = widgets.IntSlider(value=top, min=0, max=h - zh, description="zoom top")
            self.zoom_left_slider = widgets.IntSlider(value=left, min=0, max=w - zw, description="zoom left")
            controls += [self.zoom_top_slider, self.zoom_left_slider]
            rows.append(widgets.HBox(controls[2:]))
            self.zoom_top_slider.add_class("srkit-explorer-zoom-top")
            self.zoom_left_slider.add_class("srkit-explorer-zoom-left")
        self.widget = widgets.VBox(rows + [self.readout, self.caption, self.image_widget])
        for w_, cls in [(self.widget, "srkit-explorer"), (self.method_dropdown, "srkit-explorer-method"),
                        (self.scale_slider, "srkit-explorer-scale"), (self.readout, "srkit-explorer-readout"),
                        (self.caption, "srkit-explorer-caption"), (self.image_widget, "srkit-explorer-image")]:
            w_.add_class(cls)
        for control in controls:
            control.observe(self._update, names="value")
        self._update()

    def result(self, method: str, scale: int) -> dict:
        """``{"hr", "lr", "sr", "psnr", "ssim"}`` for one setting, computed once and then cached."""
        if scale not in self._pairs:
            hr = modcrop(self.image, scale)
            lr = imresize(hr, 1 / scale)
            self._pairs[scale] = (hr, lr, _enlarge(lr, scale))
        hr, lr, _ = self._pairs[scale]
        if (method, scale) not in self._cache:
            sr = bench.METHODS[method](lr, scale)
            self._cache[method, scale] = {"sr": sr, "psnr": psnr(sr, hr, scale), "ssim": ssim(sr, hr, scale)}
        return {"hr": hr, "lr": lr, **self._cache[method, scale]}

    def _update(self, change=None) -> None:
        method, scale = self.method_dropdown.value, int(self.scale_slider.value)
        r = self.result(method, scale)
        panels = [self._pairs[scale][2], r["sr"], r["hr"]]
        what = "full images"
        if self.zoom is not None:
            h, w = r["hr"].shape[:2]
            _, _, zh, zw = self.zoom
            # modcrop may have shaved a few rows/columns: keep the box inside this scale's HR.
            top = max(0, min(self.zoom_top_slider.value, h - zh))
            left = max(0, min(self.zoom_left_slider.value, w - zw))
            factor = max(1, round(_ZOOM_PIXELS / max(zh, zw)))
            panels = [_enlarge(p[top:top + zh, left:left + zw], factor) for p in panels]
            what = f"zoom: rows {top}-{top + zh - 1}, columns {left}-{left + zw - 1}, shown x{factor}"
        self.image_widget.value = _png(_hstack(panels))
        self.caption.value = html.escape(f"LR x{scale} (nearest-enlarged) | SR: {method} | HR ({what})")
        self.readout.value = html.escape(f"{method} x{scale}: PSNR {r['psnr']:.2f} dB, SSIM {r['ssim']:.4f}")


class SwipeCompare(_View):
    """Two images of one size, left | right of a swipe line, zoomed in sync; metrics against ``ref``.

    Controls: ``left_dropdown``, ``right_dropdown``, ``swipe_slider`` (0..1, the split column as a fraction of
    the width), ``zoom_slider`` (1..8), ``center_x_slider``, ``center_y_slider``; outputs: ``image_widget``,
    ``readout``.
    """

    def __init__(self, images: dict[str, np.ndarray], ref=None, crop_border: int = 0):
        if not images:
            raise ValueError("compare: no images given")
        self.images = {name: plot.as_display(img, name) for name, img in images.items()}
        sizes = {a.shape[:2] for a in self.images.values()}
        if len(sizes) > 1:
            raise ValueError(f"compare: all images must have one size, got sizes {sorted(sizes)}")
        self.ref = None if ref is None else plot.as_display(ref, "ref")
        self.crop_border = crop_border
        self._metrics: dict[str, str] = {}                       # name -> " (PSNR dB / SSIM)", computed once
        names, (h, w) = list(self.images), sizes.pop()
        self.left_dropdown = widgets.Dropdown(options=names, value=names[0], description="left")
        self.right_dropdown = widgets.Dropdown(options=names, value=names[min(1, len(names) - 1)],
                                               description="right")
        self.swipe_slider = widgets.FloatSlider(value=0.5, min=0, max=1, step=0.01, description="swipe")
        self.zoom_slider = widgets.IntSlider(value=1, min=1, max=8, description="zoom")
        self.center_x_slider = widgets.IntSlider(value=w // 2, min=0, max=w - 1, description="centre x")
        self.center_y_slider = widgets.IntSlider(value=h // 2, min=0, max=h - 1, description="centre y")
        self.readout = widgets.HTML()
        self.image_widget = widgets.Image(format="png", layout=widgets.Layout(max_width="100%", height="auto"))
        controls = [self.left_dropdown, self.right_dropdown, self.swipe_slider, self.zoom_slider,
                    self.center_x_slider, self.center_y_slider]
        self.widget = widgets.VBox([widgets.HBox(controls[:3]), widgets.HBox(controls[3:]), self.readout,
                                    self.image_widget])
        for w_, cls in [(self.widget, "srkit-compare"), (self.left_dropdown, "srkit-compare-left"),
                        (self.right_dropdown, "srkit-compare-right"), (self.swipe_slider, "srkit-compare-swipe"),
                        (self.zoom_slider, "srkit-compare-zoom"), (self.readout, "srkit-compare-readout"),
                        (self.image_widget, "srkit-compare-image")]:
            w_.add_class(cls)
        for control in controls:
            control.observe(self._update, names="value")
        self._update()

    def _view(self, image: np.ndarray) -> np.ndarray:
        """The zoomed window around the centre, enlarged back to about the full size."""
        z = self.zoom_slider.value
        h, w = image.shape[:2]
        vh, vw = max(1, h // z), max(1, w // z)
        top = min(max(0, self.center_y_slider.value - vh // 2), h - vh)
        left = min(max(0, self.center_x_slider.value - vw // 2), w - vw)
        return _enlarge(_rgb(image[top:top + vh, left:left + vw]), z)

    def _label(self, name: str) -> str:
        if name not in self._metrics:
            self._metrics[name] = _metrics_text(self.images[name], self.ref, self.crop_border)
        return name + self._metrics[name]

    def _update(self, change=None) -> None:
        left_name, right_name = self.left_dropdown.value, self.right_dropdown.value
        out = self._view(self.images[right_name]).copy()
        col = int(round(self.swipe_slider.value * out.shape[1]))
        out[:, :col] = self._view(self.images[left_name])[:, :col]
        if 0 < col < out.shape[1]:
            out[:, max(0, col - 1):col + 1] = (255, 200, 0)       # the swipe line
        self.image_widget.value = _png(out)
        self.readout.value = html.escape(f"left: {self._label(left_name)} | right: {self._label(right_name)}")


def _shuffled(candidates: dict, seed: int) -> list[tuple[str, np.ndarray]]:
    """The poll's ``(method, image)`` items in the order ``numpy.random.default_rng(seed)`` shuffles them."""
    items = [(method, plot.as_display(img, method)) for method, imgs in candidates.items()
             for img in ([imgs] if isinstance(imgs, np.ndarray) else list(imgs))]
    if not items:
        raise ValueError("mos_poll: no images given")
    return [items[i] for i in np.random.default_rng(seed).permutation(len(items))]


class MOSPoll(_View):
    """A blind Mean Opinion Score poll: images one at a time, in a shuffled order, rated 1 (bad) to 5 (excellent).

    ``candidates`` maps a method name to one image or a list of images. The items are shuffled with
    ``numpy.random.default_rng(seed)``; method names are not shown until every item is rated, then a table gives
    each method's MOS (mean score), std (sample standard deviation, ddof=1; NaN for one rating) and n.
    ``rate(score)`` is what the buttons call. Attributes: ``items`` (shuffled ``(method, image)``), ``ratings``
    (``(method, score)`` in rating order), ``buttons``, ``image_widget``, ``progress``, ``results``, ``done``.
    """

    def __init__(self, candidates: dict[str, np.ndarray | list[np.ndarray]], seed: int = 0):
        self.methods = list(candidates)
        self.items: list[tuple[str, np.ndarray]] = _shuffled(candidates, seed)
        self.ratings: list[tuple[str, int]] = []
        self.buttons = [widgets.Button(description=f"{s} ({label})") for s, label in SCORES.items()]
        for score, button in zip(SCORES, self.buttons):
            button.on_click(lambda _, score=score: self.rate(score))
            button.add_class("srkit-mos-button")
        self.progress, self.results = widgets.HTML(), widgets.HTML()
        self.image_widget = widgets.Image(format="png", layout=widgets.Layout(max_width="100%", height="auto"))
        self.widget = widgets.VBox([self.progress, self.image_widget, widgets.HBox(self.buttons), self.results])
        for w_, cls in [(self.widget, "srkit-mos"), (self.progress, "srkit-mos-progress"),
                        (self.image_widget, "srkit-mos-image"), (self.results, "srkit-mos-results")]:
            w_.add_class(cls)
        self._show()

    @property
    def done(self) -> bool:
        return len(self.ratings) == len(self.items)

    def rate(self, score: int) -> None:
        """Record ``score`` (an integer 1..5) for the image on screen and show the next one."""
        if self.done:
            raise RuntimeError(f"the poll is over: all {len(self.items)} images are rated; make a new poll to rate again")
        if isinstance(score, bool) or not isinstance(score, (int, np.integer)) or not 1 <= score <= 5:
            raise ValueError(f"a score must be an integer from 1 (bad) to 5 (excellent), got {score!r}")
        self.ratings.append((self.items[len(self.ratings)][0], int(score)))
        self._show()

    def mos(self) -> dict[str, dict]:
        """``{method: {"mos", "std", "n"}}`` over the ratings so far, methods in the order given."""
        out = {}
        for method in self.methods:
            scores = [s for m, s in self.ratings if m == method]
            if scores:
                std = float(np.std(scores, ddof=1)) if len(scores) > 1 else float("nan")
                out[method] = {"mos": float(np.mean(scores)), "std": std, "n": len(scores)}
        return out

    def _show(self) -> None:
        n = len(self.items)
        if not self.done:
            i = len(self.ratings)
            self.progress.value = f"Image {i + 1} of {n}: how good is its quality?"
            self.image_widget.value = _png(self.items[i][1])
            return
        self.progress.value = f"Done: {n} ratings. The methods, revealed:"
        self.image_widget.layout.display = "none"
        for button in self.buttons:
            button.disabled = True
        rows = "".join(f"<tr><td>{html.escape(m)}</td><td>{r['mos']:.2f}</td><td>{r['std']:.2f}</td>"
                       f"<td>{r['n']}</td></tr>" for m, r in self.mos().items())
        self.results.value = f"<table><tr><th>method</th><th>MOS</th><th>std</th><th>n</th></tr>{rows}</table>"


def upscale_explorer(image, methods=DEFAULT_METHODS, scales=range(2, 9), zoom=None,
                     static: bool = False) -> UpscaleExplorer | Figure:
    """An :class:`UpscaleExplorer` of ``image`` (the HR ground truth); a Figure without a kernel or if ``static``.

    The figure shows LR, every method and HR at the explorer's starting scale (4 if among ``scales``).
    """
    if not (static or _no_frontend()):
        return UpscaleExplorer(image, methods, scales, zoom)
    scales = sorted({int(s) for s in scales})
    scale = 4 if 4 in scales else scales[0]
    hr = modcrop(plot.as_display(image), scale)
    lr = imresize(hr, 1 / scale)
    panels = {f"LR x{scale} (nearest)": _enlarge(lr, scale)}
    panels.update({f"{m} x{scale}": bench.METHODS[m](lr, scale) for m in methods})
    panels["HR"] = hr
    return plot.compare(panels, ref=hr, zoom=zoom, crop_border=scale, ncols=min(len(panels), 3))


def compare(images: dict[str, np.ndarray], ref=None, crop_border: int = 0,
            static: bool = False) -> SwipeCompare | Figure:
    """A :class:`SwipeCompare` of ``images``; :func:`srkit.plot.compare` without a kernel or if ``static``."""
    if static or _no_frontend():
        return plot.compare(images, ref=ref, crop_border=crop_border)
    return SwipeCompare(images, ref, crop_border)


def mos_poll(candidates: dict[str, np.ndarray | list[np.ndarray]], seed: int = 0,
             static: bool = False) -> MOSPoll | Figure:
    """A :class:`MOSPoll`; without a kernel or if ``static``, a paper form: the shuffled images labelled A, B, ...

    The form's key (label -> method) is printed upside down along its bottom edge, like a quiz's answers.
    """
    if not (static or _no_frontend()):
        return MOSPoll(candidates, seed)
    items = _shuffled(candidates, seed)    # the same order as the interactive poll
    labels = [_letters(i) for i in range(len(items))]
    fig = plot.grid(dict(zip(labels, (img for _, img in items))), ncols=min(4, len(labels)),
                    suptitle="Rate each image: 1 (bad), 2 (poor), 3 (fair), 4 (good), 5 (excellent)")
    key = ", ".join(f"{label} = {method}" for label, (method, _) in zip(labels, items))
    fig.text(0.5, 0.01, f"Key: {key}", rotation=180, ha="center", va="bottom", fontsize=7, color="gray", wrap=True)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def _letters(i: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "AA", ... (spreadsheet column names)."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s
