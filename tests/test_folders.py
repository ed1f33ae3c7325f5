"""Tests for loading image folders (explorer.data.folders)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from explorer.data import folders
from explorer.data.folders import load_image_folder
from explorer.errors import DataError

rng = np.random.default_rng(0)


def gray(path, w=20, h=20, value=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = rng.integers(0, 256, (h, w), dtype=np.uint8) if value is None else np.full((h, w), value, np.uint8)
    Image.fromarray(arr, "L").save(path)
    return path


def rgb(path, w=20, h=20):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB").save(path)
    return path


def warnings_text(s) -> str:
    return "\n".join(s.warnings)


# --- layouts -----------------------------------------------------------------------------


def test_class_folders(tmp_path):
    for i in range(3):
        gray(tmp_path / "cats" / f"c{i}.png")
    for i in range(2):
        gray(tmp_path / "dogs" / f"d{i}.png")
    s = load_image_folder(tmp_path)
    assert s.class_names == ["cats", "dogs"]
    assert s.labels.tolist() == [0, 0, 0, 1, 1]
    assert s.images.shape == (5, 1, 28, 28)
    assert s.images.dtype == np.float32
    assert 0 <= s.images.min() and s.images.max() <= 1
    assert s.ids[0] == "cats/c0.png" and s.ids[-1] == "dogs/d1.png"
    assert s.source == f"folder {tmp_path}"
    assert s.warnings == []


def test_resize_to_32(tmp_path):
    gray(tmp_path / "a" / "x.png", w=50, h=40)
    gray(tmp_path / "b" / "y.png", w=50, h=40)
    s = load_image_folder(tmp_path, size=32)
    assert s.images.shape == (2, 1, 32, 32)
    assert 0 <= s.images.min() and s.images.max() <= 1


def test_resize_keeps_constant_value(tmp_path):
    gray(tmp_path / "x.png", w=60, h=30, value=200)
    s = load_image_folder(tmp_path, size=10)
    np.testing.assert_allclose(s.images, 200 / 255, atol=1e-3)


def test_flat_folder_is_unlabelled(tmp_path):
    gray(tmp_path / "one.png")
    gray(tmp_path / "two.jpg")
    gray(tmp_path / "three.PNG")  # suffix case does not matter
    s = load_image_folder(tmp_path)
    assert s.class_names == ["all"]
    assert sorted(s.ids) == ["one.png", "three.PNG", "two.jpg"]
    assert set(s.labels.tolist()) == {0}


def test_files_beside_class_folders_are_ignored(tmp_path):
    gray(tmp_path / "a" / "x.png")
    gray(tmp_path / "b" / "y.png")
    gray(tmp_path / "stray.png")
    s = load_image_folder(tmp_path)
    assert "stray.png" not in s.ids
    assert "stray.png" in warnings_text(s)


def test_hidden_files_and_folders_ignored(tmp_path):
    gray(tmp_path / "a" / "x.png")
    gray(tmp_path / "a" / ".hidden.png")
    gray(tmp_path / ".cache" / "z.png")
    s = load_image_folder(tmp_path)
    assert s.ids == ["a/x.png"]
    assert s.class_names == ["a"]


def test_non_image_suffix_ignored(tmp_path):
    gray(tmp_path / "a.png")
    (tmp_path / "notes.txt").write_text("hello")
    s = load_image_folder(tmp_path)
    assert s.ids == ["a.png"]
    assert "notes.txt" in warnings_text(s)
    assert "skipped" not in warnings_text(s)


def test_empty_class_folder_warns(tmp_path):
    gray(tmp_path / "a" / "x.png")
    gray(tmp_path / "b" / "y.png")
    (tmp_path / "empty").mkdir()
    s = load_image_folder(tmp_path)
    assert s.class_names == ["a", "b"]
    assert "'empty'" in warnings_text(s) and "dropped" in warnings_text(s)


def test_class_folder_with_only_bad_files_is_dropped(tmp_path):
    gray(tmp_path / "a" / "x.png")
    gray(tmp_path / "b" / "y.png")
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "broken.png").write_bytes(b"not a png")
    s = load_image_folder(tmp_path)
    assert s.class_names == ["a", "b"]
    assert "c/broken.png" in warnings_text(s)
    assert "'c'" in warnings_text(s)


def test_single_class_warns(tmp_path):
    gray(tmp_path / "only" / "x.png")
    gray(tmp_path / "only" / "y.png")
    s = load_image_folder(tmp_path)
    assert s.class_names == ["only"]
    assert "one class" in warnings_text(s) and "'only'" in warnings_text(s)


def test_unicode_and_spaces(tmp_path):
    gray(tmp_path / "Zellen ü" / "bild 1.png")
    rgb(tmp_path / "类" / "图.png")
    s = load_image_folder(tmp_path)
    assert s.class_names == ["Zellen ü", "类"]
    assert s.ids == ["Zellen ü/bild 1.png", "类/图.png"]


# --- modes and value scaling -------------------------------------------------------------


def test_grayscale_stays_one_channel(tmp_path):
    gray(tmp_path / "a.png")
    Image.fromarray(np.eye(20, dtype=bool)).save(tmp_path / "b.png")  # mode "1"
    s = load_image_folder(tmp_path)
    assert s.images.shape[1] == 1


def test_rgba_composited_on_black(tmp_path):
    arr = np.zeros((20, 20, 4), np.uint8)
    arr[..., 0] = 255  # red
    arr[:10, :, 3] = 255  # top half opaque, bottom half transparent
    Image.fromarray(arr, "RGBA").save(tmp_path / "x.png")
    s = load_image_folder(tmp_path, size=20)
    assert s.images.shape == (1, 3, 20, 20)
    img = s.images[0]
    assert img[0, :10].min() > 0.99 and img[1:, :10].max() < 0.01
    assert img[:, 10:].max() < 0.01


def test_palette_and_cmyk(tmp_path):
    Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).convert("P").save(tmp_path / "p.png")
    Image.new("CMYK", (20, 20), (0, 255, 255, 0)).save(tmp_path / "c.jpg")
    s = load_image_folder(tmp_path)
    assert s.images.shape == (2, 3, 28, 28)
    cmyk = s.images[s.ids.index("c.jpg")]
    assert cmyk[0].mean() > 0.9 and cmyk[1].mean() < 0.1  # CMYK (0,255,255,0) is red


def test_grey_palette_stays_one_channel(tmp_path):
    gray(tmp_path / "g.png")
    Image.open(tmp_path / "g.png").convert("P").save(tmp_path / "p.png")  # L -> P keeps a grey palette
    s = load_image_folder(tmp_path)
    assert s.images.shape[1] == 1


def test_mixed_gray_and_rgb_become_rgb(tmp_path):
    gray(tmp_path / "g1.png", value=100)
    gray(tmp_path / "g2.png")
    rgb(tmp_path / "c.png")
    s = load_image_folder(tmp_path)
    assert s.images.shape == (3, 3, 28, 28)
    g1 = s.images[s.ids.index("g1.png")]
    np.testing.assert_allclose(g1[0], g1[2])
    text = warnings_text(s)
    assert "converted 2 grayscale" in text


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_16bit_grayscale_scaled(tmp_path, suffix):
    Image.fromarray(np.full((20, 20), 65535, np.uint16)).save(tmp_path / f"hi{suffix}")
    Image.fromarray(np.full((20, 20), 32768, np.uint16)).save(tmp_path / f"mid{suffix}")
    s = load_image_folder(tmp_path, size=20)
    assert s.images.shape[1] == 1
    np.testing.assert_allclose(s.images[s.ids.index(f"hi{suffix}")], 1.0, atol=1e-5)
    np.testing.assert_allclose(s.images[s.ids.index(f"mid{suffix}")], 32768 / 65535, atol=1e-5)


def test_float_tiff(tmp_path):
    Image.fromarray(np.full((20, 20), 0.25, np.float32)).save(tmp_path / "in.tif")
    Image.fromarray(np.linspace(-5, 5, 400, dtype=np.float32).reshape(20, 20)).save(tmp_path / "out.tif")
    s = load_image_folder(tmp_path, size=20)
    np.testing.assert_allclose(s.images[s.ids.index("in.tif")], 0.25, atol=1e-6)
    out = s.images[s.ids.index("out.tif")]
    assert out.min() == pytest.approx(0) and out.max() == pytest.approx(1)
    assert "out.tif" in warnings_text(s) and "min-max" in warnings_text(s)


def test_exif_orientation_applied(tmp_path):
    img = Image.fromarray(rng.integers(0, 256, (10, 30), dtype=np.uint8), "L")  # 30 wide, 10 high
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    img.save(tmp_path / "r.jpg", exif=exif.tobytes())
    img.save(tmp_path / "plain.jpg")
    s = load_image_folder(tmp_path, size=10)
    assert "2 different sizes" in warnings_text(s)  # 10x30 after rotation vs 30x10


def test_mixed_sizes_warn(tmp_path):
    gray(tmp_path / "a.png", 20, 20)
    gray(tmp_path / "b.png", 40, 30)
    gray(tmp_path / "c.png", 16, 64)
    s = load_image_folder(tmp_path, size=16)
    assert s.images.shape == (3, 1, 16, 16)
    assert "3 different sizes" in warnings_text(s)


# --- bad files ---------------------------------------------------------------------------


def test_corrupt_files_are_skipped(tmp_path):
    gray(tmp_path / "good.png")
    gray(tmp_path / "good2.png")
    (tmp_path / "random.png").write_bytes(rng.integers(0, 256, 500, dtype=np.uint8).tobytes())
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (64, 64), dtype=np.uint8)).save(buf, "PNG")
    (tmp_path / "truncated.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("this is not a picture")
    s = load_image_folder(tmp_path)
    assert s.ids == ["good.png", "good2.png"]
    by_name = {name: next(w for w in s.warnings if name in w)
               for name in ["random.png", "truncated.png", "empty.png", "text.jpg"]}
    assert "truncated" in by_name["truncated.png"]
    assert "empty" in by_name["empty.png"]
    assert "not an image" in by_name["text.jpg"]
    assert "skipped 4 of 6" in warnings_text(s)


def test_decompression_bomb_skipped(tmp_path, monkeypatch):
    monkeypatch.setattr(folders, "MAX_PIXELS", 100)
    gray(tmp_path / "big.png", 20, 20)
    gray(tmp_path / "small.png", 8, 8)
    s = load_image_folder(tmp_path)
    assert s.ids == ["small.png"]
    msg = next(w for w in s.warnings if "big.png" in w)
    assert "pixel cap" in msg and "400" in msg


def test_all_files_bad(tmp_path):
    (tmp_path / "a.png").write_bytes(b"\x00\x01garbage")
    (tmp_path / "b.jpg").write_bytes(b"")
    with pytest.raises(DataError) as e:
        load_image_folder(tmp_path)
    msg = str(e.value)
    assert str(tmp_path) in msg and "2 image file(s), all unreadable" in msg and "a.png" in msg


def test_no_image_files(tmp_path):
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(DataError, match="no files with suffixes .png"):
        load_image_folder(tmp_path)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DataError) as e:
        load_image_folder(tmp_path / "nothing")
    assert "nothing" in str(e.value) and "empty" in str(e.value)


def test_nonexistent_and_file_paths(tmp_path):
    with pytest.raises(DataError) as e:
        load_image_folder(tmp_path / "missing")
    assert "missing" in str(e.value) and "does not exist" in str(e.value)
    f = gray(tmp_path / "file.png")
    with pytest.raises(DataError) as e:
        load_image_folder(f)
    assert "file.png" in str(e.value) and "not a folder" in str(e.value)
