"""tools/device_data.py: lossless copies of the training sets for a machine that cannot download them."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from conftest import require_dataset

_PATH = Path(__file__).resolve().parents[1] / "tools" / "device_data.py"
_spec = importlib.util.spec_from_file_location("device_data", _PATH)
device_data = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(device_data)


def test_pack_unpack_keeps_every_pixel_and_srkit_accepts_the_copies(tmp_path, monkeypatch):
    require_dataset("T91")
    from srkit import datasets

    originals = datasets.load_dataset("T91")
    manifest = device_data.pack(tmp_path / "carry", datasets=("T91",), limit=3)
    assert [m["file"] for m in manifest] == [f for f, _, _ in datasets.registry()["T91"][:3]]
    copies = sorted((tmp_path / "carry" / "T91").glob("*.webp"))
    assert len(copies) == 3 and all(c.stat().st_size > 0 for c in copies)

    root = tmp_path / "data"
    paths = device_data.unpack(tmp_path / "carry", root, workers=1)
    for path in paths:
        assert np.array_equal(srkit_load(path), originals[path.stem])
    # srkit rejects the re-encoded files by their sha256, until their pixels are checked and they are marked
    monkeypatch.setenv("SRKIT_DATA", str(root))
    monkeypatch.setattr(datasets, "_verified", set())
    assert device_data.mark_verified(tmp_path / "carry") == 3
    assert all((path, m["sha256"]) in datasets._verified for path, m in zip(paths, manifest))

    # a changed pixel is caught
    broken = np.array(srkit_load(paths[0]))
    broken[0, 0] ^= 1
    from PIL import Image
    Image.fromarray(broken).save(paths[0], format=manifest[0]["format"])
    with pytest.raises(RuntimeError, match="not the original's"):
        device_data.mark_verified(tmp_path / "carry")


def srkit_load(path):
    from srkit.io import load_image
    return load_image(path, keep_gray=True)
