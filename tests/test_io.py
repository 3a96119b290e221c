from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from srkit.io import load_image, save_image, to_uint8


@pytest.fixture
def rgb():
    return np.random.default_rng(0).integers(0, 256, (12, 17, 3), dtype=np.uint8)


def test_round_trip_png(tmp_path, rgb):
    path = save_image(tmp_path / "a.png", rgb)
    assert np.array_equal(load_image(path), rgb)


def test_modes_are_normalised(tmp_path, rgb):
    gray = rgb[..., 0]
    Image.fromarray(gray).save(tmp_path / "g.png")
    assert np.array_equal(load_image(tmp_path / "g.png"), np.repeat(gray[..., None], 3, axis=2))
    assert np.array_equal(load_image(tmp_path / "g.png", keep_gray=True), gray)

    rgba = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 7, np.uint8)], axis=2)
    Image.fromarray(rgba).save(tmp_path / "a.png")
    assert np.array_equal(load_image(tmp_path / "a.png"), rgb)

    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(tmp_path / "p.png")
    p = load_image(tmp_path / "p.png")
    assert p.shape == rgb.shape and p.dtype == np.uint8 and len(np.unique(p.reshape(-1, 3), axis=0)) <= 16

    sixteen = (gray.astype(np.uint16) * 257)
    Image.fromarray(sixteen).save(tmp_path / "s.png")
    assert np.array_equal(load_image(tmp_path / "s.png", keep_gray=True), gray)

    Image.fromarray(rgb).save(tmp_path / "b.bmp")
    assert np.array_equal(load_image(tmp_path / "b.bmp"), rgb)


def test_bad_files_name_the_file(tmp_path, rgb):
    with pytest.raises(FileNotFoundError, match="nope.png"):
        load_image(tmp_path / "nope.png")
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ValueError, match="text.png"):
        load_image(tmp_path / "text.png")
    Image.fromarray(rgb).save(tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cut.png"):
        load_image(tmp_path / "cut.png")


def test_save_accepts_float_and_tensors(tmp_path, rgb):
    x = rgb / 255.0
    assert np.array_equal(load_image(save_image(tmp_path / "f.png", x)), rgb)
    t = torch.from_numpy(x).permute(2, 0, 1)[None].float()
    assert np.array_equal(load_image(save_image(tmp_path / "t.png", t)), rgb)
    assert np.array_equal(to_uint8(np.array([[-0.2, 0.5, 1.3]])), np.array([[0, 128, 255]], np.uint8))


def test_save_errors_are_clear_and_leave_nothing_behind(tmp_path, rgb):
    with pytest.raises(ValueError, match=r"\.notaformat is not an image format"):
        save_image(tmp_path / "x.notaformat", rgb)
    with pytest.raises(ValueError, match="no extension is not an image format"):
        save_image(tmp_path / "x", rgb)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_image(tmp_path / "missing" / "x.png", rgb)
    with pytest.raises(ValueError, match="shape"):
        save_image(tmp_path / "x.png", np.zeros((4, 4, 2), np.uint8))
    assert list(tmp_path.iterdir()) == []


def test_save_never_clobbers_an_existing_file_with_half_an_image(tmp_path, rgb, monkeypatch):
    path = save_image(tmp_path / "keep.png", rgb)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise ValueError("disk full")
    monkeypatch.setattr(Image.Image, "save", boom)
    with pytest.raises(ValueError):
        save_image(path, rgb[::-1])
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.png"]


def test_float_tiffs_exif_orientation_and_huge_images(tmp_path, rgb, monkeypatch):
    gray = rgb[..., 0]
    Image.fromarray((gray / 255).astype(np.float32), mode="F").save(tmp_path / "unit.tif")
    assert np.array_equal(load_image(tmp_path / "unit.tif", keep_gray=True), gray)    # [0, 1]: scaled, not black
    Image.fromarray(gray.astype(np.float32), mode="F").save(tmp_path / "bytes.tif")
    assert np.array_equal(load_image(tmp_path / "bytes.tif"), np.repeat(gray[..., None], 3, axis=2))
    Image.fromarray(np.full((4, 4), 300.0, np.float32), mode="F").save(tmp_path / "hot.tif")
    with pytest.raises(ValueError, match="hot.tif.*values from 300 to 300"):
        load_image(tmp_path / "hot.tif")
    Image.fromarray(np.full((4, 4), np.nan, np.float32), mode="F").save(tmp_path / "nan.tif")
    with pytest.raises(ValueError, match="nan.tif.*NaN"):
        load_image(tmp_path / "nan.tif")

    exif = Image.Exif()
    exif[0x0112] = 6                                       # orientation: rotate 90 degrees clockwise to view
    Image.fromarray(rgb).save(tmp_path / "turned.jpg", exif=exif, quality=100)
    upright = load_image(tmp_path / "turned.jpg")
    assert upright.shape == (rgb.shape[1], rgb.shape[0], 3)                  # as a viewer shows it
    assert load_image(tmp_path / "turned.jpg", upright=False).shape == rgb.shape   # as stored: datasets, MATLAB

    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 50)     # 12 x 17 = 204 pixels: over twice the limit
    with pytest.raises(ValueError, match="full.png.*MAX_IMAGE_PIXELS = None"):
        Image.fromarray(rgb).save(tmp_path / "full.png")
        load_image(tmp_path / "full.png")


def test_alpha_and_what_load_leaves_out(tmp_path, rgb):
    from srkit.io import load_alpha, what_load_leaves_out
    rgba = np.concatenate([rgb, np.arange(rgb[..., :1].size, dtype=np.uint8).reshape(rgb.shape[:2] + (1,))], axis=2)
    Image.fromarray(rgba).save(tmp_path / "a.png")
    assert np.array_equal(load_alpha(tmp_path / "a.png"), rgba[..., 3])
    assert what_load_leaves_out(tmp_path / "a.png") == {"alpha": f"{tmp_path / 'a.png'} has transparency (alpha), "
                                                                 "which load_image drops; load_alpha reads it"}
    Image.fromarray(rgb).save(tmp_path / "plain.png")
    assert load_alpha(tmp_path / "plain.png") is None and what_load_leaves_out(tmp_path / "plain.png") == {}
    Image.fromarray(rgb[..., 0].astype(np.uint16) * 257).save(tmp_path / "deep.png")
    assert "more than 8 bits" in what_load_leaves_out(tmp_path / "deep.png")["bits"]
    frames = [Image.fromarray(rgb // (i + 1)) for i in range(4)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    assert "4 frames; only the first is read" in what_load_leaves_out(tmp_path / "anim.gif")["frames"]
    for folder in (tmp_path, "."):                 # "." is a folder, not an empty path
        with pytest.raises(ValueError, match="is a folder, not an image file"):
            load_image(folder)


def test_save_refuses_what_it_would_get_wrong(tmp_path, rgb):
    with pytest.raises(ValueError, match=r"run from 0 to 255.*divide by 255"):     # 0..255 floats: not all white
        save_image(tmp_path / "f.png", np.linspace(0, 255, 12 * 17 * 3).reshape(rgb.shape).astype(np.float32))
    with pytest.raises(ValueError, match="NaN"):
        save_image(tmp_path / "n.png", np.full((4, 4), np.nan))
    rgba = np.concatenate([rgb, rgb[..., :1]], axis=2)
    with pytest.raises(ValueError, match=r"transparency \(alpha\) as JPEG"):
        save_image(tmp_path / "a.jpg", rgba)
    for ext in (".psd", ".ico", ".gif"):          # read-only in Pillow, or they change the pixels
        with pytest.raises(ValueError, match=f"\\{ext} is not an image format srkit writes"):
            save_image(tmp_path / f"x{ext}", rgb)
    (tmp_path / "file").write_text("a file, not a folder")
    with pytest.raises(FileNotFoundError, match="is a file, not a folder"):
        save_image(tmp_path / "file" / "x.png", rgb)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
    for ext in (".png", ".tif", ".webp", ".tga"):  # with alpha, as written
        assert np.array_equal(np.asarray(Image.open(save_image(tmp_path / f"a{ext}", rgba))), rgba), ext
