"""Benchmark and training images: ``load_dataset``, ``lr_hr_pairs``, ``sample_images``, ``fetch``.

Where the files live: the folder named by the ``SRKIT_DATA`` environment variable, else a per-user
cache folder (``pooch.os_cache("srkit")``). Its layout is ``<root>/<dataset>/<file>``, e.g.
``<root>/Set5/baby.png``. ``registry.tsv`` (shipped inside the package) lists every file of every
dataset with its sha256 and a public download address pinned to a commit. A file that is present and
has the right checksum is used as it is; otherwise it is downloaded (with a progress bar) by pooch,
which checks the sha256; if that fails (offline), :class:`DataUnavailableError` says what to download
and where to put it. Downloads can be switched off: the ``SRKIT_OFFLINE=1`` environment variable, or
``with datasets.offline():`` (``srkit bench --offline``) makes a missing file an immediate
:class:`DataUnavailableError`, without a network request.

``sample_images()`` needs no download at all: scikit-image's bundled samples plus the synthetic test
images that srkit draws itself (:mod:`srkit.synthetic`, saved in the repository's ``data/`` folder).
"""

from __future__ import annotations

import csv
import hashlib
import os
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .io import load_image
from .resize import imresize, modcrop

__all__ = ["DATASETS", "DataUnavailableError", "data_dir", "downloads_allowed", "fetch", "is_available",
           "load_dataset", "lr_hr_pairs", "offline", "sample_images", "train_val_split", "Pair"]

# Test sets (report only, never used to choose anything) and training sets.
DATASETS = {"Set5": "test", "Set14": "test", "BSD100": "test", "Urban100": "test", "T91": "train", "BSD200": "train"}
REPO_DATA = Path(__file__).resolve().parents[1] / "data"   # the project's own images (a source checkout)


class DataUnavailableError(RuntimeError):
    """A dataset is neither on disk (with the right checksum) nor downloadable right now."""


class Pair(NamedTuple):
    name: str
    lr: np.ndarray   # imresize(hr, 1/scale), uint8
    hr: np.ndarray   # modcrop(original, scale), uint8


def data_dir() -> Path:
    """The data root: ``$SRKIT_DATA`` if set, else the per-user cache folder."""
    env = os.environ.get("SRKIT_DATA")
    if env:
        return Path(env).expanduser()
    import pooch
    return Path(pooch.os_cache("srkit"))


@lru_cache(maxsize=None)
def registry() -> dict[str, list[tuple[str, str, str]]]:
    """``{dataset: [(file, sha256, url), ...]}`` from the shipped ``registry.tsv``."""
    out: dict[str, list[tuple[str, str, str]]] = {}
    with open(Path(__file__).with_name("registry.tsv"), newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            out.setdefault(row["dataset"], []).append((row["file"], row["sha256"], row["url"]))
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_verified: set[tuple[Path, str]] = set()   # files already checked in this process


def mark_verified(path: str | Path, sha256: str) -> None:
    """Accept ``path`` as the registered file ``sha256`` for the rest of this process, without hashing its bytes.

    For a caller that checked the file by other means: ``tools/device_data.py`` re-encodes images for transfer
    and compares their decoded pixels, since a re-saved PNG has the same pixels but not the same bytes."""
    _verified.add((Path(path), sha256))


def _check_name(name: str) -> str:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}")
    return name


def is_available(name: str) -> bool:
    """True if every file of dataset ``name`` is on disk with the right checksum (never downloads)."""
    root = data_dir() / _check_name(name)
    for file, sha, _url in registry()[name]:
        path = root / file
        if (path, sha) in _verified:
            continue
        if not (path.is_file() and _sha256(path) == sha):
            return False
        _verified.add((path, sha))
    return True


def fetch(name: str, progress: bool = True) -> list[Path]:
    """Paths of all files of dataset ``name``, downloading those that are missing or corrupt."""
    root = data_dir() / _check_name(name)
    paths = []
    for file, sha, url in registry()[name]:
        path = root / file
        if (path, sha) not in _verified and not (path.is_file() and _sha256(path) == sha):
            _download(name, file, sha, url, root, progress)
        _verified.add((path, sha))
        paths.append(path)
    return paths


_offline_depth = 0   # > 0 inside ``with offline():``


@contextmanager
def offline():
    """Within this block, a dataset file that is not on disk raises :class:`DataUnavailableError` at once,
    instead of being downloaded. The ``SRKIT_OFFLINE=1`` environment variable does the same everywhere."""
    global _offline_depth
    _offline_depth += 1
    try:
        yield
    finally:
        _offline_depth -= 1


def downloads_allowed() -> bool:
    """False inside ``with offline():`` or when ``SRKIT_OFFLINE`` is set to anything but ``""``/``"0"``."""
    return _offline_depth == 0 and os.environ.get("SRKIT_OFFLINE", "") in ("", "0")


def _unavailable(name: str, file: str, root: Path, why: str) -> DataUnavailableError:
    return DataUnavailableError(
        f"{name} is not available: {root / file} is missing or its sha256 is wrong, and {why}.\n"
        f"Either connect to the internet and run `srkit download {name}`, or put the {len(registry()[name])} "
        f"files of {name} (names and sha256 in srkit/registry.tsv) into {root}/, or point the SRKIT_DATA "
        f"environment variable at a folder that holds {name}/.")


def _download(name, file, sha, url, root, progress):
    if not downloads_allowed():
        raise _unavailable(name, file, root, "downloads are switched off (SRKIT_OFFLINE=1, `--offline` or "
                                             "`datasets.offline()`)")
    import pooch
    created = not root.exists()
    try:
        root.mkdir(parents=True, exist_ok=True)
        pooch.retrieve(url, known_hash=f"sha256:{sha}", fname=file, path=root, progressbar=progress,
                       downloader=pooch.HTTPDownloader(progressbar=progress, timeout=60))
    except Exception as e:  # network, permissions or checksum: all end in the same advice
        if created and root.is_dir() and not any(root.iterdir()):
            root.rmdir()         # leave the data folder as it was
        raise _unavailable(name, file, root, f"downloading it failed ({type(e).__name__}: {str(e)[:200]})") from None


def load_dataset(name: str, scale: int | None = None, progress: bool = True) -> dict[str, np.ndarray]:
    """``{image name: HR uint8 image}`` of a dataset, in registry order.

    Colour images are ``(H, W, 3)``; grayscale ones stay ``(H, W)`` (the protocol measures them without a
    colour conversion). With ``scale``, each image is modcropped so that its sides divide by ``scale``.
    """
    images = {}
    for path in fetch(name, progress):
        hr = load_image(path, keep_gray=True, upright=False)       # pixels as stored, as MATLAB's imread reads them
        images[path.stem] = modcrop(hr, scale) if scale else hr
    return images


def train_val_split(names: str | list[str], val_every: int = 10) -> tuple[dict, dict]:
    """Training images of one or more datasets, split into ``(train, val)`` dicts of HR images.

    Every ``val_every``-th image (in registry order) is held out for validation: the course chooses settings
    and checkpoints on these, never on a test set. Keys are ``"<dataset>/<image>"``.
    """
    names = names.split(",") if isinstance(names, str) else list(names)
    train, val, seen = {}, {}, set()
    for name in names:
        if DATASETS[_check_name(name)] != "train":
            raise ValueError(f"{name} is a test set: train on {[n for n, k in DATASETS.items() if k == 'train']}")
        images = load_dataset(name)
        for i, (image_name, image) in enumerate(images.items()):
            digest = hashlib.sha256(image.tobytes()).hexdigest()
            if digest in seen:   # T91's t65 is a copy of t36: it must not sit in both halves
                continue
            seen.add(digest)
            (val if i % val_every == val_every - 1 else train)[f"{name}/{image_name}"] = image
    return train, val


def lr_hr_pairs(dataset: str | dict[str, np.ndarray], scale: int) -> list[Pair]:
    """(name, LR, HR) made by the protocol: ``hr = modcrop(image, scale)``, ``lr = imresize(hr, 1/scale)``.

    ``dataset`` is a dataset name or a ``{name: image}`` dict (e.g. ``sample_images()``).
    """
    images = load_dataset(dataset) if isinstance(dataset, str) else dataset
    pairs = []
    for name, image in images.items():
        hr = modcrop(image, scale)
        pairs.append(Pair(name, imresize(hr, 1 / scale), hr))
    return pairs


# scikit-image samples that live inside its wheel (no download), and what they stand for in the course.
_SKIMAGE_SAMPLES = {
    "astronaut": "astronaut",                # photography, faces
    "coffee": "coffee",                      # photography, texture
    "chelsea": "chelsea",                    # fur: texture that interpolation blurs
    "camera": "camera",                      # the classic grayscale test photo
    "page": "page",                          # scanned text: character recognition
    "hubble": "hubble_deep_field",           # astronomy
    "ihc": "immunohistochemistry",           # microscopy / medical
    "rocket": "rocket",                      # photography
}


def sample_images(names: list[str] | None = None) -> dict[str, np.ndarray]:
    """Images that need no download, as RGB ``uint8`` ``(H, W, 3)``: ``{name: image}``.

    scikit-image's bundled samples (astronaut, coffee, chelsea, camera, page, hubble, ihc, rocket) and
    srkit's synthetic images (zone_plate, siemens_star, text_page, test_chart). Pass ``names`` to load
    only some of them.
    """
    from . import synthetic

    available = list(_SKIMAGE_SAMPLES) + list(synthetic.SYNTHETIC)
    names = available if names is None else list(names)
    unknown = [n for n in names if n not in available]
    if unknown:
        raise ValueError(f"unknown sample image(s) {unknown}; available: {', '.join(available)}")
    out = {}
    for name in names:
        if name in synthetic.SYNTHETIC:
            png = REPO_DATA / f"{name}.png"
            # The committed PNG (a test keeps it equal to the code); drawn afresh outside a source checkout.
            out[name] = load_image(png) if png.is_file() else synthetic.SYNTHETIC[name]()
        else:
            import skimage.data
            img = getattr(skimage.data, _SKIMAGE_SAMPLES[name])()
            out[name] = np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., :3].copy()
    return out
