"""Interactive views for the notebooks: ``upscale_explorer``, ``compare`` and ``mos_poll``.

Built on ipywidgets 8. Each view draws into one ``ipywidgets.Image`` (PNG bytes) with ``HTML`` readouts, not
matplotlib in an ``Output``: a PNG redraws in milliseconds and a browser test can watch the ``<img>`` change.
Results are cached per setting. DOM elements carry CSS classes ``srkit-<view>-<part>`` for browser tests.

Every function takes ``static=False``. With ``static=True``, or when no Jupyter kernel is attached (a script, a
plain IPython terminal, a test run), it returns a matplotlib ``Figure`` with the same content (:mod:`srkit.plot`).
The classes (:class:`UpscaleExplorer`, :class:`SwipeCompare`, :class:`MOSPoll`) can be built directly, kernel or
not; they display themselves in a notebook and expose their controls. Images are numpy ``uint8`` ``(H, W, 3)`` or
``(H, W)``; metrics follow :mod:`srkit.metrics` (Y channel).
"""

from __future__ import annotations

import html
import sys

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from . import bench, plot
from .plot import enlarge, hstack, png_bytes, rgb
from .metrics import psnr, ssim
from .resize import imresize, modcrop

__all__ = ["upscale_explorer", "compare", "mos_poll", "UpscaleExplorer", "SwipeCompare", "MOSPoll"]

DEFAULT_METHODS = ("nearest", "bilinear", "bicubic", "lanczos3")
SCORES = {1: "bad", 2: "poor", 3: "fair", 4: "good", 5: "excellent"}   # ITU-T P.800 absolute category rating
_ZOOM_PIXELS = 256       # an explorer zoom crop is enlarged (whole pixels) to about this size


def _no_frontend() -> bool:
    """True unless a Jupyter kernel runs this code (only a kernel can show widgets)."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return shell is None or not hasattr(shell, "kernel")


def _image_widget(max_width: str = "100%") -> widgets.Image:
    return widgets.Image(format="png", layout=widgets.Layout(max_width=max_width, height="auto"))


class _View:
    """Displays ``self.widget`` (an ``ipywidgets.VBox``) when it is the value of a notebook cell."""

    widget: widgets.VBox

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def _wire(self, view: str, parts: dict[str, widgets.Widget], controls=()) -> None:
        """CSS class ``srkit-<view>-<part>`` on each part (``srkit-<view>`` on the whole), redraw on changes, draw."""
        for part, w in {"": self.widget, **parts}.items():
            w.add_class(f"srkit-{view}-{part}" if part else f"srkit-{view}")
        for control in controls:
            control.observe(self._update, names="value")
        self._update()


class UpscaleExplorer(_View):
    """LR (nearest-enlarged) | SR | HR for a method and scale chosen with a dropdown and a slider.

    For scale ``s``: ``hr = modcrop(image, s)``, ``lr = imresize(hr, 1/s)``, ``sr = bench.METHODS[method](lr, s)``;
    the readout gives PSNR / SSIM of ``sr`` (Y, ``crop_border = s``). ``zoom = (top, left, height, width)`` in HR
    pixels shows that region, enlarged, with sliders to move it. Controls: ``method_dropdown``, ``scale_slider``
    (``zoom_top_slider``, ``zoom_left_slider``); outputs: ``image_widget``, ``readout``, ``caption``.
    """

    def __init__(self, image, methods=DEFAULT_METHODS, scales=range(2, 9), zoom=None):
        self.image = plot.as_display(image)
        methods = list(methods)
        unknown = [m for m in methods if m not in bench.METHODS]
        if not methods or unknown:
            raise ValueError(f"unknown method(s) {unknown}; choose from {', '.join(bench.METHODS)}")
        scales = sorted({int(s) for s in scales})
        if not scales or scales[0] < 2 or scales != list(range(scales[0], scales[-1] + 1)):
            raise ValueError(f"scales must be consecutive integers >= 2, got {scales}")
        self.zoom = None if zoom is None else tuple(int(v) for v in zoom)
        if zoom is not None:
            plot.zoom_box(self.image, self.zoom)                 # validates the box
        self._pairs: dict[int, tuple] = {}                       # scale -> (hr, lr, lr enlarged)
        self._cache: dict[tuple[str, int], dict] = {}            # (method, scale) -> {"sr", "psnr", "ssim"}
        self.method_dropdown = widgets.Dropdown(options=methods, description="method",
                                                value="bicubic" if "bicubic" in methods else methods[0])
        # A new scale takes a moment to compute: update on release, not at every step of a drag. Start at x4.
        self.scale_slider = widgets.IntSlider(value=4 if 4 in scales else scales[0], min=scales[0], max=scales[-1],
                                              description="scale", continuous_update=False)
        self.readout, self.caption, self.image_widget = widgets.HTML(), widgets.HTML(), _image_widget()
        parts = {"method": self.method_dropdown, "scale": self.scale_slider}
        rows = [widgets.HBox(list(parts.values()))]
        if self.zoom is not None:
            (top, left, zh, zw), (h, w) = self.zoom, self.image.shape[:2]
            self.zoom_top_slider = widgets.IntSlider(value=top, min=0, max=h - zh, description="zoom top")
            self.zoom_left_slider = widgets.IntSlider(value=left, min=0, max=w - zw, description="zoom left")
            rows.append(widgets.HBox([self.zoom_top_slider, self.zoom_left_slider]))
            parts.update({"zoom-top": self.zoom_top_slider, "zoom-left": self.zoom_left_slider})
        self.widget = widgets.VBox(rows + [self.readout, self.caption, self.image_widget])
        self._wire("explorer", {**parts, "readout": self.readout, "caption": self.caption, "image": self.image_widget},
                   controls=list(parts.values()))

    def result(self, method: str, scale: int) -> dict:
        """``{"hr", "lr", "sr", "psnr", "ssim"}`` for one setting, computed once and then cached."""
        if scale not in self._pairs:
            hr = modcrop(self.image, scale)
            lr = imresize(hr, 1 / scale)
            self._pairs[scale] = (hr, lr, enlarge(lr, scale))
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
            (h, w), (_, _, zh, zw) = r["hr"].shape[:2], self.zoom
            # modcrop may have shaved a few rows/columns: keep the box inside this scale's HR.
            top = max(0, min(self.zoom_top_slider.value, h - zh))
            left = max(0, min(self.zoom_left_slider.value, w - zw))
            factor = max(1, round(_ZOOM_PIXELS / max(zh, zw)))
            panels = [enlarge(p[top:top + zh, left:left + zw], factor) for p in panels]
            what = f"zoom: rows {top}-{top + zh - 1}, columns {left}-{left + zw - 1}, shown x{factor}"
        self.image_widget.value = png_bytes(hstack(panels))
        self.caption.value = html.escape(f"LR x{scale} (nearest-enlarged) | SR: {method} | HR ({what})")
        self.readout.value = html.escape(f"{method} x{scale}: PSNR {r['psnr']:.2f} dB, SSIM {r['ssim']:.4f}")


class SwipeCompare(_View):
    """Two images of one size, left | right of a swipe line, zoomed in sync; metrics against ``ref``.

    Controls: ``left_dropdown``, ``right_dropdown``, ``swipe_slider`` (0..1: the split column as a fraction of the
    width), ``zoom_slider`` (1..8), ``center_x_slider``, ``center_y_slider``; outputs: ``image_widget``, ``readout``.
    """

    def __init__(self, images: dict[str, np.ndarray], ref=None, crop_border: int = 0):
        if not images:
            raise ValueError("compare: no images given")
        self.images = {name: plot.as_display(img, name) for name, img in images.items()}
        sizes = {a.shape[:2] for a in self.images.values()}
        if len(sizes) > 1:
            raise ValueError(f"compare: all images must have one size, got sizes {sorted(sizes)}")
        self.ref, self.crop_border = None if ref is None else plot.as_display(ref, "ref"), crop_border
        self._labels: dict[str, str] = {}                        # name -> "name (PSNR dB / SSIM)", computed once
        names, (h, w) = list(self.images), sizes.pop()
        self.left_dropdown = widgets.Dropdown(options=names, value=names[0], description="left")
        self.right_dropdown = widgets.Dropdown(options=names, value=names[min(1, len(names) - 1)],
                                               description="right")
        self.swipe_slider = widgets.FloatSlider(value=0.5, min=0, max=1, step=0.01, description="swipe")
        self.zoom_slider = widgets.IntSlider(value=1, min=1, max=8, description="zoom")
        self.center_x_slider = widgets.IntSlider(value=w // 2, min=0, max=w - 1, description="centre x")
        self.center_y_slider = widgets.IntSlider(value=h // 2, min=0, max=h - 1, description="centre y")
        self.readout, self.image_widget = widgets.HTML(), _image_widget()
        parts = {"left": self.left_dropdown, "right": self.right_dropdown, "swipe": self.swipe_slider,
                 "zoom": self.zoom_slider, "center-x": self.center_x_slider, "center-y": self.center_y_slider}
        c = list(parts.values())
        self.widget = widgets.VBox([widgets.HBox(c[:3]), widgets.HBox(c[3:]), self.readout, self.image_widget])
        self._wire("compare", {**parts, "readout": self.readout, "image": self.image_widget}, controls=c)

    def _view(self, image: np.ndarray) -> np.ndarray:
        """The zoomed window around the centre, enlarged back to about the full size."""
        z = self.zoom_slider.value
        h, w = image.shape[:2]
        vh, vw = max(1, h // z), max(1, w // z)
        top = min(max(0, self.center_y_slider.value - vh // 2), h - vh)
        left = min(max(0, self.center_x_slider.value - vw // 2), w - vw)
        return enlarge(rgb(image[top:top + vh, left:left + vw]), z)

    def _label(self, name: str) -> str:
        if name not in self._labels:
            image, ref, border = self.images[name], self.ref, self.crop_border
            self._labels[name] = (name if ref is None else f"{name} (reference)" if np.array_equal(image, ref)
                                  else f"{name} ({psnr(image, ref, border):.2f} dB / {ssim(image, ref, border):.4f})")
        return self._labels[name]

    def _update(self, change=None) -> None:
        left_name, right_name = self.left_dropdown.value, self.right_dropdown.value
        out = self._view(self.images[right_name]).copy()
        col = int(round(self.swipe_slider.value * out.shape[1]))
        out[:, :col] = self._view(self.images[left_name])[:, :col]
        if 0 < col < out.shape[1]:
            out[:, max(0, col - 1):col + 1] = (255, 200, 0)       # the swipe line
        self.image_widget.value = png_bytes(out)
        self.readout.value = html.escape(f"left: {self._label(left_name)} | right: {self._label(right_name)}")


def _shuffled(candidates: dict, seed: int) -> list[tuple[str, np.ndarray]]:
    """The poll's ``(method, image)`` items in the order ``numpy.random.default_rng(seed)`` shuffles them."""
    items = [(method, plot.as_display(img, method)) for method, imgs in candidates.items()
             for img in ([imgs] if isinstance(imgs, np.ndarray) else list(imgs))]
    if not items:
        raise ValueError("mos_poll: no images given")
    return [items[i] for i in np.random.default_rng(seed).permutation(len(items))]


class MOSPoll(_View):
    """A blind Mean Opinion Score poll: one image at a time, shuffled, rated 1 (bad) to 5 (excellent).

    ``candidates`` maps a method name to an image or a list of images; the items are shuffled with
    ``numpy.random.default_rng(seed)``. Names stay hidden until all are rated, then a table gives each method's
    MOS (mean), std (sample, ddof=1; NaN for one rating) and n. The buttons call ``rate(score)``. Attributes:
    ``items`` (shuffled ``(method, image)``), ``ratings`` (``(method, score)``), ``buttons``, ``image_widget``,
    ``progress``, ``results``, ``done``.
    """

    def __init__(self, candidates: dict[str, np.ndarray | list[np.ndarray]], seed: int = 0):
        self.methods = list(candidates)
        self.items: list[tuple[str, np.ndarray]] = _shuffled(candidates, seed)
        self.ratings: list[tuple[str, int]] = []
        self.buttons = [widgets.Button(description=f"{s} ({label})") for s, label in SCORES.items()]
        for score, button in zip(SCORES, self.buttons):
            button.on_click(lambda _, score=score: self.rate(score))
            button.add_class("srkit-mos-button")
        # Rated images are shown at a fixed, moderate size: stretched to the page they would be judged blurred.
        self.progress, self.results, self.image_widget = widgets.HTML(), widgets.HTML(), _image_widget("512px")
        self.widget = widgets.VBox([self.progress, self.image_widget, widgets.HBox(self.buttons), self.results])
        self._wire("mos", {"progress": self.progress, "image": self.image_widget, "results": self.results})

    @property
    def done(self) -> bool:
        return len(self.ratings) == len(self.items)

    def rate(self, score: int) -> None:
        """Record ``score`` (an integer 1..5) for the image on screen and show the next one."""
        if self.done:
            raise RuntimeError(f"the poll is over: all {len(self.items)} images are rated; start a new poll")
        if isinstance(score, bool) or not isinstance(score, (int, np.integer)) or not 1 <= score <= 5:
            raise ValueError(f"a score must be an integer from 1 (bad) to 5 (excellent), got {score!r}")
        self.ratings.append((self.items[len(self.ratings)][0], int(score)))
        self._update()

    def mos(self) -> dict[str, dict]:
        """``{method: {"mos", "std", "n"}}`` over the ratings so far, methods in the order given."""
        out = {}
        for method in self.methods:
            scores = [s for m, s in self.ratings if m == method]
            if scores:
                std = float(np.std(scores, ddof=1)) if len(scores) > 1 else float("nan")
                out[method] = {"mos": float(np.mean(scores)), "std": std, "n": len(scores)}
        return out

    def _update(self) -> None:
        i, n = len(self.ratings), len(self.items)
        if not self.done:
            self.progress.value = f"Image {i + 1} of {n}: how good is its quality?"
            self.image_widget.value = png_bytes(self.items[i][1])
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
    panels = {f"LR x{scale} (nearest)": enlarge(lr, scale), **{m: bench.METHODS[m](lr, scale) for m in methods},
              "HR": hr}
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
    labels = [chr(65 + i % 26) + (str(i // 26) if i >= 26 else "") for i in range(len(items))]   # A..Z, A1..Z1, ...
    fig = plot.grid(dict(zip(labels, (img for _, img in items))), ncols=min(4, len(labels)),
                    suptitle="Rate each image: 1 (bad), 2 (poor), 3 (fair), 4 (good), 5 (excellent)")
    key = ", ".join(f"{label} = {method}" for label, (method, _) in zip(labels, items))
    fig.text(0.5, 0.01, f"Key: {key}", rotation=180, ha="center", va="bottom", fontsize=7, color="gray", wrap=True)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig
