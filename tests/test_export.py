"""Tests for the download writers (explorer.export)."""

from __future__ import annotations

import csv
import io

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image

from explorer.export import (gif_bytes, gif_frame_ms, image_grid, map_csv, mp4_bytes, png_bytes,
                             safe_filename, sprite_sheet, to_rgb_uint8, upscale_for_video, video_scale)

rng = np.random.default_rng(0)


def float_images(n=4, c=1, h=5, w=7):
    return rng.random((n, c, h, w)).astype(np.float32)


def smooth_frames(n=20, size=32):
    """Frames of a moving blob with colour, so video and GIF tests see realistic content."""
    yy, xx = np.mgrid[0:size, 0:size]
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        cx = size / 2 + size / 4 * np.cos(2 * np.pi * i / n)
        blob = np.exp(-((xx - cx) ** 2 + (yy - size / 2) ** 2) / (2 * (size / 8) ** 2))
        out[i, ..., 0] = 255 * blob
        out[i, ..., 1] = 255 * (1 - blob)
        out[i, ..., 2] = i * 255 // n
    return out


# -- pixels ------------------------------------------------------------------------------------------
def test_to_rgb_uint8_gray_and_scale():
    x = float_images(3, 1, 4, 6)
    x[0, 0, 0, 0], x[0, 0, 0, 1], x[0, 0, 0, 2] = -0.5, 1.5, np.nan
    u = to_rgb_uint8(x)
    assert u.shape == (3, 4, 6, 3) and u.dtype == np.uint8
    assert np.all(u[..., 0] == u[..., 1]) and np.all(u[..., 0] == u[..., 2])
    np.testing.assert_array_equal(u[1, ..., 0], np.rint(x[1, 0] * 255).astype(np.uint8))
    assert u[0, 0, 0, 0] == 0 and u[0, 0, 1, 0] == 255 and u[0, 0, 2, 0] == 0
    s = to_rgb_uint8(x, scale=3)
    assert s.shape == (3, 12, 18, 3)
    # nearest neighbour: every 3x3 block is one source pixel, exactly
    np.testing.assert_array_equal(s[:, ::3, ::3], u)
    for dy in range(3):
        for dx in range(3):
            np.testing.assert_array_equal(s[:, dy::3, dx::3], u)


def test_to_rgb_uint8_colour_and_errors():
    x = float_images(2, 3, 4, 4)
    u = to_rgb_uint8(x)
    np.testing.assert_array_equal(u[1, 2, 3], np.rint(x[1, :, 2, 3] * 255))
    with pytest.raises(ValueError, match="C = 1 or 3"):
        to_rgb_uint8(float_images(2, 2, 4, 4))
    with pytest.raises(ValueError, match="scale"):
        to_rgb_uint8(x, scale=0)


@pytest.mark.parametrize("side,scale,out", [(28, 8, 224), (64, 4, 256), (45, 5, 226), (300, 1, 300), (32, 7, 224)])
def test_upscale_for_video(side, scale, out):
    x = float_images(2, 1, side, side)
    assert video_scale(side, side) == scale
    v = upscale_for_video(x, target=224)
    assert v.shape == (2, out, out, 3) and v.dtype == np.uint8
    src = to_rgb_uint8(x)
    np.testing.assert_array_equal(v[:, : side * scale : scale, : side * scale : scale], src)  # exact pixels
    if out != side * scale:  # one black row/column pads an odd side
        assert np.all(v[:, -1] == 0) and np.all(v[:, :, -1] == 0)


def test_upscale_for_video_takes_uint8_frames_and_non_square():
    v = upscale_for_video(smooth_frames(3, 32), target=100)
    assert v.shape == (3, 128, 128, 3)
    v = upscale_for_video(float_images(1, 3, 15, 21), target=100)  # x5: 75 x 105 -> 76 x 106
    assert v.shape == (1, 76, 106, 3)


# -- movies ------------------------------------------------------------------------------------------
def test_mp4_round_trip():
    frames = smooth_frames(20, 32)
    data = mp4_bytes(frames, fps=30)
    assert data[4:8] == b"ftyp"
    assert data.find(b"moov") < data.find(b"mdat")  # faststart: index before the media data
    back = iio.imread(data, index=None, extension=".mp4", plugin="FFMPEG")
    assert back.shape == (20, 32, 32, 3)
    meta = iio.immeta(data, extension=".mp4", plugin="FFMPEG")
    assert meta["codec"] == "h264" and meta["fps"] == pytest.approx(30)
    assert np.abs(back.astype(int) - frames.astype(int)).mean() < 8  # lossy but close


def test_mp4_pads_odd_sizes():
    frames = smooth_frames(6, 32)[:, :31, :29]
    back = iio.imread(mp4_bytes(frames, fps=10), index=None, extension=".mp4", plugin="FFMPEG")
    assert back.shape == (6, 32, 30, 3)


def test_mp4_rejects_bad_input():
    with pytest.raises(ValueError, match="uint8 RGB"):
        mp4_bytes(np.zeros((2, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="fps"):
        mp4_bytes(np.zeros((2, 8, 8, 3), np.uint8), fps=0)


@pytest.mark.parametrize("fps,ms", [(20, 50), (30, 30), (10, 100)])
def test_gif_round_trip_colour(fps, ms):
    frames = smooth_frames(20, 32)
    assert gif_frame_ms(fps) == ms
    with Image.open(io.BytesIO(gif_bytes(frames, fps=fps))) as im:
        assert im.n_frames == 20 and im.size == (32, 32)
        assert im.info["loop"] == 0
        durations = []
        for i in range(im.n_frames):
            im.seek(i)
            durations.append(im.info["duration"])
            if i == 7:
                err = np.abs(np.asarray(im.convert("RGB")).astype(int) - frames[7].astype(int)).mean()
                assert err < 6
    assert durations == [ms] * 20


def test_gif_gray_is_exact():
    frames = np.repeat(rng.integers(0, 256, (20, 32, 32, 1), dtype=np.uint8), 3, axis=-1)
    with Image.open(io.BytesIO(gif_bytes(frames, fps=25))) as im:
        assert im.n_frames == 20 and im.info["duration"] == 40
        for i in (0, 19):
            im.seek(i)
            np.testing.assert_array_equal(np.asarray(im.convert("RGB")), frames[i])


# -- still images ------------------------------------------------------------------------------------
def test_png_metadata_round_trip():
    img = rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)
    meta = {"bundle": "cells-vae", "projection": "tsne", "seed": 0, "note": "Zellkern ü → ok"}
    with Image.open(io.BytesIO(png_bytes(img, meta))) as im:
        assert im.format == "PNG" and im.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(im), img)
        assert im.text == {"bundle": "cells-vae", "projection": "tsne", "seed": "0", "note": "Zellkern ü → ok"}
    gray = img[..., 0]
    with Image.open(io.BytesIO(png_bytes(gray))) as im:
        assert im.mode == "L"
        np.testing.assert_array_equal(np.asarray(im), gray)
    with pytest.raises(ValueError, match="uint8"):
        png_bytes(img.astype(np.float32))
    with pytest.raises(ValueError, match="text key"):
        png_bytes(img, {"": "x"})


def test_image_grid_size_and_layout():
    x = float_images(7, 1, 5, 6)
    g = image_grid(x, ncols=3, scale=2, pad=2, pad_value=1.0)
    assert g.shape == (3 * 10 + 2 * 2, 3 * 12 + 2 * 2, 3) and g.dtype == np.uint8
    tiles = to_rgb_uint8(x, scale=2)
    np.testing.assert_array_equal(g[0:10, 0:12], tiles[0])
    np.testing.assert_array_equal(g[12:22, 14:26], tiles[4])  # row 1, column 1
    assert np.all(g[10:12] == 255) and np.all(g[:, 12:14] == 255)  # padding
    assert np.all(g[24:, 14:] == 255)  # empty slots in the last row
    g = image_grid(x[:2], ncols=5, scale=1, pad=0, pad_value=0.0)
    assert g.shape == (5, 12, 3)  # ncols capped at N
    with pytest.raises(ValueError, match="ncols"):
        image_grid(x, ncols=0)


def test_sprite_sheet():
    frames = smooth_frames(20, 8)
    data, ncols, nrows = sprite_sheet(frames)
    assert (ncols, nrows) == (5, 4)
    with Image.open(io.BytesIO(data)) as im:
        sheet = np.asarray(im)
    assert sheet.shape == (32, 40, 3)
    for i in (0, 7, 19):
        r, c = divmod(i, ncols)
        np.testing.assert_array_equal(sheet[r * 8:(r + 1) * 8, c * 8:(c + 1) * 8], frames[i])
    assert sprite_sheet(frames, ncols=6)[1:] == (6, 4)


# -- tables ------------------------------------------------------------------------------------------
def test_map_csv():
    n, d = 6, 3
    mu = rng.normal(size=(n, d)).astype(np.float32)
    xy = rng.normal(size=(n, 2))
    data = map_csv([f"id{i}" for i in range(n)], [f"f,{i}.png" for i in range(n)],
                   ["a", "b", "a", "c", "b", "a"], np.array([0, 1, 2, 0, 0, 1]), xy, mu)
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert len(rows) == n
    assert list(rows[0]) == ["id", "file", "class", "split", "map_x", "map_y", "z0", "z1", "z2"]
    assert rows[1]["file"] == "f,1.png" and rows[2]["split"] == "test" and rows[3]["class"] == "c"
    np.testing.assert_allclose([[float(r[f"z{j}"]) for j in range(d)] for r in rows], mu, rtol=1e-6)
    np.testing.assert_allclose([[float(r["map_x"]), float(r["map_y"])] for r in rows], xy, rtol=1e-6)
    names = map_csv(["x"], None, ["a"], ["val"], [[0, 1]], [[2.0]]).decode().splitlines()
    assert names == ["id,file,class,split,map_x,map_y,z0", "x,,a,val,0,1,2"]
    with pytest.raises(ValueError, match="6 ids but 5 xy"):
        map_csv([f"id{i}" for i in range(n)], None, ["a"] * n, [0] * n, xy[:5], mu)


def test_safe_filename():
    assert safe_filename("cells-vae", "tsne", "seed0", "movie") + ".mp4" == "cells-vae_tsne_seed0_movie.mp4"
    assert safe_filename("my model/v2", "PCA (1,2)", "", None, "café") == "my-model-v2_PCA-1-2_cafe"
    assert safe_filename("../../etc", "passwd") == "etc_passwd"
    assert safe_filename("???") == "export"
