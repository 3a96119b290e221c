from __future__ import annotations

import numpy as np
import pytest
from conftest import require_dataset

import srkit
from srkit import datasets


def test_registry_lists_every_benchmark_file():
    reg = datasets.registry()
    counts = {name: len(files) for name, files in reg.items()}
    assert counts == {"Set5": 5, "Set14": 14, "BSD100": 100, "Urban100": 100, "T91": 91, "BSD200": 200}
    for files in reg.values():
        for file, sha, url in files:
            assert len(sha) == 64 and url.startswith("https://")


def test_data_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SRKIT_DATA", str(tmp_path))
    assert datasets.data_dir() == tmp_path
    monkeypatch.delenv("SRKIT_DATA")
    assert "srkit" in str(datasets.data_dir())


def test_load_set5_with_modcrop():
    require_dataset("Set5")
    images = srkit.load_dataset("Set5", scale=3)
    assert list(images) == ["baby", "bird", "butterfly", "head", "woman"]
    assert images["baby"].shape == (510, 510, 3) and images["woman"].shape == (342, 228, 3)


def test_lr_hr_pairs_follow_the_protocol():
    image = srkit.sample_images(["astronaut"])["astronaut"][:101, :98]
    (pair,) = srkit.lr_hr_pairs({"a": image}, 4)
    assert pair.name == "a" and pair.hr.shape == (100, 96, 3) and pair.lr.shape == (25, 24, 3)
    assert np.array_equal(pair.lr, srkit.imresize(pair.hr, 1 / 4))


def test_offline_error_says_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("SRKIT_DATA", str(tmp_path))

    def no_network(*args, **kwargs):
        raise ConnectionError("network unreachable")
    import pooch
    monkeypatch.setattr(pooch, "retrieve", no_network)
    assert not datasets.is_available("Set5")
    with pytest.raises(datasets.DataUnavailableError) as info:
        srkit.load_dataset("Set5", progress=False)
    message = str(info.value)
    assert "srkit download Set5" in message and str(tmp_path) in message and "SRKIT_DATA" in message


def _no_request(*args, **kwargs):
    raise AssertionError("a download was attempted while downloads are switched off")


def test_offline_block_and_environment_never_request_the_network(monkeypatch, tmp_path):
    monkeypatch.setenv("SRKIT_DATA", str(tmp_path))
    import pooch
    monkeypatch.setattr(pooch, "retrieve", _no_request)
    assert datasets.downloads_allowed()
    with datasets.offline():
        assert not datasets.downloads_allowed()
        with pytest.raises(datasets.DataUnavailableError, match="downloads are switched off") as info:
            srkit.load_dataset("Set5", progress=False)
    assert "srkit download Set5" in str(info.value) and str(tmp_path) in str(info.value)
    assert datasets.downloads_allowed()           # the block restores the default
    assert not (tmp_path / "Set5").exists()       # and created nothing
    monkeypatch.setenv("SRKIT_OFFLINE", "1")
    assert not datasets.downloads_allowed()
    with pytest.raises(datasets.DataUnavailableError, match="SRKIT_OFFLINE"):
        datasets.fetch("Set14", progress=False)
    monkeypatch.setenv("SRKIT_OFFLINE", "0")
    assert datasets.downloads_allowed()


def test_offline_still_uses_files_on_disk(monkeypatch):
    monkeypatch.setenv("SRKIT_OFFLINE", "1")
    if not datasets.is_available("Set5"):
        pytest.skip("Set5 is not in $SRKIT_DATA")
    assert len(srkit.load_dataset("Set5", progress=False)) == 5


def test_corrupt_file_is_not_used(monkeypatch, tmp_path):
    monkeypatch.setenv("SRKIT_DATA", str(tmp_path))
    (tmp_path / "Set5").mkdir()
    (tmp_path / "Set5" / "baby.png").write_bytes(b"garbage")
    calls = []

    def fake_retrieve(url, known_hash, fname, path, **kwargs):
        calls.append(fname)
        raise ValueError("SHA256 hash of downloaded file does not match")
    import pooch
    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    with pytest.raises(datasets.DataUnavailableError, match="baby.png"):
        datasets.fetch("Set5", progress=False)
    assert calls == ["baby.png"]


def test_download_path_uses_pooch_with_the_checksum(monkeypatch, tmp_path):
    monkeypatch.setenv("SRKIT_DATA", str(tmp_path))
    seen = []

    def fake_retrieve(url, known_hash, fname, path, **kwargs):
        seen.append((url, known_hash, fname, path))
        raise OSError("offline")
    import pooch
    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    with pytest.raises(datasets.DataUnavailableError):
        datasets.fetch("Urban100", progress=False)
    file, sha, url = datasets.registry()["Urban100"][0]
    assert seen == [(url, f"sha256:{sha}", file, tmp_path / "Urban100")]


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown dataset"):
        srkit.load_dataset("Set6")


def test_sample_images_need_no_download(monkeypatch, tmp_path):
    monkeypatch.setenv("SRKIT_DATA", str(tmp_path))
    images = srkit.sample_images()
    assert {"astronaut", "hubble", "page", "zone_plate", "text_page"} <= set(images)
    for name, image in images.items():
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3, name
    with pytest.raises(ValueError, match="unknown sample"):
        srkit.sample_images(["lena"])


def test_synthetic_images_are_drawn_when_the_data_folder_is_missing(monkeypatch, tmp_path):
    from srkit import synthetic
    monkeypatch.setattr(datasets, "REPO_DATA", tmp_path)
    assert np.array_equal(srkit.sample_images(["zone_plate"])["zone_plate"], synthetic.zone_plate())
