"""Writers for what the explorer offers as downloads: movies, GIFs, PNG figures, sprite sheets, CSV.

Every writer returns ``bytes``. Images come in as the models give them, float (N, C, H, W) in
[0, 1] with C = 1 (grayscale) or 3; :func:`to_rgb_uint8` turns them into uint8 RGB frames
(N, H, W, 3), which the movie writers take. Upscaling is always nearest-neighbour, so pixels stay
sharp squares. Pure logic: no Streamlit imports.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import tempfile
import unicodedata
from typing import Any, Mapping, Sequence

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from explorer.data.split import SPLITS as SPLIT_NAMES  # numpy only: keeps torch out of exports


# -- pixels ------------------------------------------------------------------------------------------
def _check_scale(scale: Any) -> int:
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"scale must be a whole number >= 1; got {scale!r}.")
    return int(scale)


def to_rgb_uint8(images: Any, scale: int = 1) -> np.ndarray:
    """Float images (N, C, H, W) in [0, 1] (C = 1 or 3; (N, H, W) counts as C = 1) as uint8 RGB
    (N, H * scale, W * scale, 3). Grayscale is copied to the three channels; values outside
    [0, 1] are clipped and NaN becomes black; upscaling repeats pixels (nearest neighbour)."""
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"images must be (N, C, H, W) with C = 1 or 3; got shape {np.shape(images)}.")
    scale = _check_scale(scale)
    if x.dtype == np.uint8:
        u = x
    else:
        f = np.nan_to_num(x.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
        u = np.rint(np.clip(f, 0.0, 1.0) * 255.0).astype(np.uint8)
    u = np.transpose(u, (0, 2, 3, 1))
    if u.shape[-1] == 1:
        u = np.repeat(u, 3, axis=-1)
    if scale > 1:
        u = np.repeat(np.repeat(u, scale, axis=1), scale, axis=2)
    return np.ascontiguousarray(u)


def _as_frames(frames: Any, name: str = "frames") -> np.ndarray:
    f = np.asarray(frames)
    if f.dtype != np.uint8 or f.ndim != 4 or f.shape[-1] != 3:
        raise ValueError(f"{name} must be uint8 RGB (F, H, W, 3); got {f.dtype} of shape {f.shape} "
                         "(to_rgb_uint8 makes them from float images).")
    if len(f) == 0:
        raise ValueError(f"{name} is empty.")
    return np.ascontiguousarray(f)


def _pad_even(frames: np.ndarray) -> np.ndarray:
    """Pad (F, H, W, 3) with one black row at the bottom / column at the right where odd."""
    ph, pw = frames.shape[1] % 2, frames.shape[2] % 2
    if ph or pw:
        frames = np.pad(frames, ((0, 0), (0, ph), (0, pw), (0, 0)))
    return frames


def video_scale(height: int, width: int, target: int = 224) -> int:
    """The smallest whole scale that makes the longer side at least ``target`` (1 if already)."""
    return max(1, math.ceil(target / max(int(height), int(width), 1)))


def upscale_for_video(images: Any, target: int = 224) -> np.ndarray:
    """Frames ready for :func:`mp4_bytes`: uint8 RGB (N, H', W', 3) with even H', W'.

    ``images`` are float (N, C, H, W) in [0, 1] or uint8 frames (N, H, W, 3). They are scaled up by
    the whole factor :func:`video_scale` (longer side >= ``target``; nearest neighbour, no blur),
    then padded with one black row / column where a side is odd (H.264 in yuv420p needs even
    sizes). E.g. 28 px -> x8 = 224 px; 64 px -> x4 = 256 px; 45 px -> x5 = 225 -> 226 px.
    """
    x = np.asarray(images)
    if x.dtype == np.uint8 and x.ndim == 4 and x.shape[-1] == 3:
        frames = x
        scale = video_scale(x.shape[1], x.shape[2], target)
        if scale > 1:
            frames = np.repeat(np.repeat(frames, scale, axis=1), scale, axis=2)
    else:
        if x.ndim not in (3, 4):
            raise ValueError(f"images must be (N, C, H, W) floats or (N, H, W, 3) uint8; got shape {x.shape}.")
        h, w = x.shape[-2:]
        frames = to_rgb_uint8(x, scale=video_scale(h, w, target))
    return np.ascontiguousarray(_pad_even(frames))


# -- movies ------------------------------------------------------------------------------------------
def mp4_bytes(frames: Any, fps: float = 30, crf: int = 20, preset: str = "medium") -> bytes:
    """An MP4 movie (H.264, yuv420p, moov atom first) that browsers play, from uint8 RGB frames
    (F, H, W, 3).

    Encoded by the ffmpeg that imageio-ffmpeg carries. Odd sides are padded with one black
    row / column (yuv420p needs even sizes; use :func:`upscale_for_video` first, since tiny frames
    look blurry when a browser scales them). ``crf`` is x264's constant rate factor (0 lossless,
    18-23 visually good, 51 worst).
    """
    import imageio_ffmpeg

    f = _pad_even(_as_frames(frames))
    if not (isinstance(fps, (int, float, np.integer, np.floating)) and fps > 0):
        raise ValueError(f"fps must be a positive number; got {fps!r}.")
    if not 0 <= int(crf) <= 51:
        raise ValueError(f"crf must be between 0 and 51; got {crf}.")
    n, h, w, _ = f.shape
    with tempfile.TemporaryDirectory(prefix="latent-explorer-") as tmp:
        path = os.path.join(tmp, "movie.mp4")
        writer = imageio_ffmpeg.write_frames(
            path, (w, h), pix_fmt_in="rgb24", pix_fmt_out="yuv420p", fps=float(fps),
            codec="libx264", quality=None, macro_block_size=1, ffmpeg_log_level="error",
            output_params=["-crf", str(int(crf)), "-preset", preset, "-movflags", "+faststart"],
        )
        writer.send(None)  # start ffmpeg
        try:
            for frame in f:
                writer.send(frame)
        finally:
            writer.close()  # waits for ffmpeg to finish the file
        with open(path, "rb") as fh:
            return fh.read()


def gif_frame_ms(fps: float) -> int:
    """The frame delay :func:`gif_bytes` writes for ``fps``: GIF stores delays in hundredths of a
    second, so the delay is ``1000 / fps`` rounded to 10 ms (at least 10 ms)."""
    if not (isinstance(fps, (int, float, np.integer, np.floating)) and fps > 0):
        raise ValueError(f"fps must be a positive number; got {fps!r}.")
    return 10 * max(1, round(100 / fps))


def gif_bytes(frames: Any, fps: float = 30) -> bytes:
    """A looping animated GIF from uint8 RGB frames (F, H, W, 3), written with Pillow.

    Grayscale frames (R = G = B) are stored exactly with a 256-level gray palette; colour frames
    share one palette fitted to a sample of the frames (no dithering, so smooth walks don't
    shimmer). The frame delay is :func:`gif_frame_ms` (GIF counts in 10 ms steps, so 30 fps plays
    at 33.3 fps). Browsers clamp delays under 20 ms (above 50 fps) to about 100 ms, so such GIFs
    play *slower*; keep fps <= 50 for GIFs (the MP4 has no such limit). Pillow merges identical
    consecutive frames into one longer frame, so a GIF can have fewer frames than given (same
    total duration).
    """
    f = _as_frames(frames)
    duration = gif_frame_ms(fps)
    if np.array_equal(f[..., 0], f[..., 1]) and np.array_equal(f[..., 0], f[..., 2]):
        pil = [Image.fromarray(np.ascontiguousarray(fr[..., 0])) for fr in f]  # mode "L"
    else:
        step = max(1, len(f) // 32)
        sample = np.concatenate(list(f[::step][:32]), axis=0)  # frames stacked into one tall image
        palette = Image.fromarray(sample).quantize(colors=256, method=Image.Quantize.MEDIANCUT)
        pil = [Image.fromarray(fr).quantize(palette=palette, dither=Image.Dither.NONE) for fr in f]
    buf = io.BytesIO()
    pil[0].save(buf, format="GIF", save_all=True, append_images=pil[1:], loop=0, duration=duration)
    return buf.getvalue()


# -- still images ------------------------------------------------------------------------------------
def png_bytes(image: Any, metadata: Mapping[str, Any] | None = None, compress_level: int = 6) -> bytes:
    """A PNG from a uint8 image (H, W, 3) or (H, W). ``metadata`` is written as text chunks
    (tEXt; iTXt where a value is not Latin-1), e.g. ``{"bundle": ..., "projection": ..., "seed": 0}``;
    Pillow reads them back in ``Image.open(...).text``. ``compress_level`` 1 is several times faster
    (for images shown on screen), 6 smaller (for files)."""
    a = np.asarray(image)
    if a.dtype != np.uint8 or not (a.ndim == 2 or (a.ndim == 3 and a.shape[-1] in (1, 3))):
        raise ValueError(f"image must be uint8 (H, W, 3) or (H, W); got {a.dtype} of shape {a.shape}.")
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    info = None
    if metadata:
        info = PngInfo()
        for key, value in metadata.items():
            key = str(key)
            if not 1 <= len(key) <= 79 or not all(32 <= ord(c) <= 255 for c in key):
                raise ValueError(f"PNG text key {key!r} must be 1-79 printable Latin-1 characters.")
            info.add_text(key, "" if value is None else str(value))
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(a)).save(buf, format="PNG", pnginfo=info, optimize=False,
                                                   compress_level=compress_level)
    return buf.getvalue()


def image_grid(images: Any, ncols: int, scale: int = 4, pad: int = 2, pad_value: float = 1.0) -> np.ndarray:
    """Tile float images (N, C, H, W) in [0, 1] into one uint8 RGB image (H', W', 3).

    Tiles are scaled by ``scale`` (nearest neighbour) and separated by ``pad`` pixels of gray level
    ``pad_value`` (1.0 white); there is no border around the outside. ``ncols`` is capped at N;
    ``nrows = ceil(N / ncols)`` and empty slots in the last row are ``pad_value``. Size:
    ``H' = nrows * H * scale + (nrows - 1) * pad`` and ``W' = ncols * W * scale + (ncols - 1) * pad``.
    """
    tiles = to_rgb_uint8(images, scale=scale)
    n, th, tw, _ = tiles.shape
    if n == 0:
        raise ValueError("no images to put in a grid.")
    if isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise ValueError(f"ncols must be a whole number >= 1; got {ncols!r}.")
    if isinstance(pad, bool) or not isinstance(pad, (int, np.integer)) or pad < 0:
        raise ValueError(f"pad must be a whole number >= 0; got {pad!r}.")
    ncols = min(int(ncols), n)
    nrows = math.ceil(n / ncols)
    fill = np.uint8(round(float(np.clip(pad_value, 0.0, 1.0)) * 255))
    out = np.full((nrows * th + (nrows - 1) * pad, ncols * tw + (ncols - 1) * pad, 3), fill, dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, ncols)
        y, x = r * (th + pad), c * (tw + pad)
        out[y:y + th, x:x + tw] = tiles[i]
    return out


def sprite_sheet(frames: Any, ncols: int | None = None) -> tuple[bytes, int, int]:
    """All frames (F, h, w, 3) uint8 tiled edge to edge into one PNG, for a canvas player:
    frame ``i`` sits at column ``i % ncols``, row ``i // ncols``. ``ncols`` defaults to
    ``ceil(sqrt(F))`` (a roughly square sheet). Returns ``(png bytes, ncols, nrows)``; unused
    cells at the end are black."""
    f = _as_frames(frames)
    n, h, w, _ = f.shape
    if ncols is None:
        ncols = math.ceil(math.sqrt(n))
    if isinstance(ncols, bool) or not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise ValueError(f"ncols must be a whole number >= 1; got {ncols!r}.")
    ncols = min(int(ncols), n)
    nrows = math.ceil(n / ncols)
    sheet = np.zeros((nrows * h, ncols * w, 3), dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, ncols)
        sheet[r * h:(r + 1) * h, c * w:(c + 1) * w] = f[i]
    return png_bytes(sheet), ncols, nrows


# -- tables ------------------------------------------------------------------------------------------
def _split_names(splits: Any) -> list[str]:
    s = np.asarray(splits)
    if np.issubdtype(s.dtype, np.integer):
        bad = sorted(set(s[(s < 0) | (s >= len(SPLIT_NAMES))].tolist()))
        if bad:
            raise ValueError(f"split codes must be 0 (train), 1 (val) or 2 (test); got {bad[:5]}.")
        return [SPLIT_NAMES[int(v)] for v in s]
    return [str(v) for v in s]


def map_csv(ids: Sequence[Any], files: Sequence[Any] | None, classes: Sequence[Any], splits: Any,
            xy: Any, mu: Any) -> bytes:
    """The map as CSV (UTF-8): one row per image with columns
    ``id, file, class, split, map_x, map_y, z0 .. z{D-1}``.

    ``files`` may be None (empty column); ``splits`` may be names or the bundle's codes
    (0 train, 1 val, 2 test). Numbers are written with 7 significant digits (float32 precision).
    """
    n = len(ids)
    xy = np.asarray(xy, dtype=np.float64)
    mu = np.asarray(mu, dtype=np.float64)
    if mu.ndim == 1:
        mu = mu[:, None]
    files = [""] * n if files is None else ["" if v is None else str(v) for v in files]
    split_names = _split_names(splits)
    shapes = {"files": len(files), "classes": len(classes), "splits": len(split_names),
              "xy": len(xy), "mu": len(mu)}
    wrong = {k: v for k, v in shapes.items() if v != n}
    if wrong:
        raise ValueError(f"{n} ids but " + ", ".join(f"{v} {k}" for k, v in wrong.items()) + ".")
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"xy must have shape (N, 2); got {xy.shape}.")
    if mu.ndim != 2:
        raise ValueError(f"mu must have shape (N, D); got {mu.shape}.")

    def num(v: float) -> str:
        return "" if not np.isfinite(v) else f"{v:.7g}"

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["id", "file", "class", "split", "map_x", "map_y", *[f"z{j}" for j in range(mu.shape[1])]])
    for i in range(n):
        w.writerow([str(ids[i]), files[i], str(classes[i]), split_names[i],
                    num(xy[i, 0]), num(xy[i, 1]), *[num(v) for v in mu[i]]])
    return buf.getvalue().encode("utf-8")


# -- names -------------------------------------------------------------------------------------------
def safe_filename(*parts: Any, max_length: int = 150) -> str:
    """Join ``parts`` with '_' into a name safe on any file system and in a download header.

    Accents are dropped (``café`` -> ``cafe``), every run of other characters becomes '-', and only
    ASCII letters, digits, '-', '.' and '_' remain; empty parts are skipped; the result never starts
    with '.' or '-'. ``safe_filename("cells-vae", "tsne", "seed0", "movie") + ".mp4"`` gives
    ``cells-vae_tsne_seed0_movie.mp4``. Falls back to ``"export"`` when nothing is left.
    """
    clean = []
    for p in parts:
        if p is None:
            continue
        s = unicodedata.normalize("NFKD", str(p)).encode("ascii", "ignore").decode("ascii")
        s = re.sub(r"[^A-Za-z0-9._-]+", "-", s)
        s = re.sub(r"\.{2,}", ".", s).strip("-._")
        if s:
            clean.append(s)
    name = "_".join(clean)[:max_length].rstrip("-._")
    return name or "export"
