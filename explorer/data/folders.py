"""Load a folder of image files into an :class:`ImageSet`.

Two layouts are understood:

* ``DIR/<class>/<files>``: one subfolder per class (files may sit deeper inside a class
  folder); class names are the subfolder names, sorted.
* ``DIR/<files>``: no subfolder holds images, so the set is unlabelled (one class ``"all"``).

Hidden files and folders (name starting with ``.``) are ignored. Files that cannot be used are
skipped, and every skip is recorded in ``ImageSet.warnings``; a :class:`DataError` is raised
only when nothing usable remains.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from explorer.data.imageset import ImageSet
from explorer.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
MAX_PIXELS = 50_000_000  # decompression-bomb cap: larger images are skipped, never decoded

_MAX_LISTED = 10  # how many names a summary warning spells out


class _Skip(Exception):
    """Raised inside the loader when one file cannot be used; the message is the reason."""


def _is_hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def _is_image_name(p: Path) -> bool:
    return p.suffix.lower() in IMAGE_SUFFIXES


def _files_under(folder: Path, root: Path) -> list[Path]:
    """All non-hidden files below ``folder`` (recursively), sorted by their path from ``root``."""
    found = [
        p for p in folder.rglob("*")
        if p.is_file() and not _is_hidden(p.relative_to(root))
    ]
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def _listing(names: list[str]) -> str:
    text = ", ".join(names[:_MAX_LISTED])
    if len(names) > _MAX_LISTED:
        text += f", and {len(names) - _MAX_LISTED} more"
    return text


def _to_array(img: Image.Image, name: str, notes: list[str]) -> np.ndarray:
    """Convert a decoded Pillow image to float32 ``(H, W, C)`` in [0, 1], C being 1 or 3.

    Alpha is composited on black; palettes become RGB, or grey when the palette is grey;
    CMYK and other colour spaces become RGB. 16-bit data is divided by 65535; mode ``I``
    (32-bit integers) likewise when its values fit 0..65535; float data is kept when it lies
    in [0, 1] and otherwise min-max scaled per image, with a note.
    """
    mode = img.mode
    if mode == "1":
        img, mode = img.convert("L"), "L"
    if mode == "P":
        palette = np.asarray(img.getpalette("RGB") or [0, 0, 0], dtype=np.int64).reshape(-1, 3)
        grey = bool((palette == palette[:, :1]).all())
        img = img.convert("LA" if grey else "RGBA")
        mode = img.mode
    if not (mode in ("L", "LA", "RGB", "RGBA", "I", "F") or mode.startswith("I;16")):
        # CMYK, YCbCr, LAB, HSV, premultiplied alpha (La, RGBa), PA, ...
        img = img.convert("RGBA" if mode.endswith(("A", "a")) else "RGB")
        mode = img.mode

    if mode.startswith("I;16"):
        arr = np.asarray(img).astype(np.float64) / 65535.0
    elif mode in ("I", "F"):
        arr = np.asarray(img).astype(np.float64)
        if not np.isfinite(arr).all():
            raise _Skip("it contains NaN or infinite pixel values")
        lo, hi = float(arr.min()), float(arr.max())
        top = 65535.0 if mode == "I" else 1.0
        if lo >= 0 and hi <= top:
            arr = arr / top
        else:
            arr = (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)
            notes.append(
                f"{name}: {mode} pixel values range from {lo:g} to {hi:g}; "
                "scaled to [0, 1] per image (min-max)"
            )
    else:
        arr = np.asarray(img).astype(np.float64) / 255.0

    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.shape[2] in (2, 4):  # LA / RGBA: composite on black
        arr = arr[:, :, :-1] * arr[:, :, -1:]
    return np.clip(arr, 0.0, 1.0).astype(np.float32)


def square_resize(arr: np.ndarray, size: int) -> np.ndarray:
    """Scale ``(H, W, C)`` floats so the shorter side is ``size``, then center-crop to square.

    Uses Lanczos to shrink and bicubic to enlarge, channel by channel in Pillow's float mode;
    the result is clipped to [0, 1].
    """
    h, w = arr.shape[:2]
    if (h, w) == (size, size):
        return arr
    side = min(h, w)
    left, top = (w - side) / 2, (h - side) / 2
    box = (left, top, left + side, top + side)
    resample = Image.Resampling.LANCZOS if side > size else Image.Resampling.BICUBIC
    channels = [
        np.asarray(
            Image.fromarray(np.ascontiguousarray(arr[:, :, c], dtype=np.float32), mode="F")
            .resize((size, size), resample, box=box)
        )
        for c in range(arr.shape[2])
    ]
    return np.clip(np.stack(channels, axis=2), 0.0, 1.0).astype(np.float32)


def _read_image(file: Path | io.BytesIO, name: str, notes: list[str],
                max_pixels: int | None = None) -> tuple[np.ndarray, tuple[int, int]]:
    """Open, fully decode and convert one file (a path, or the bytes of an upload in a ``BytesIO``);
    raise :class:`_Skip` with the reason if unusable. ``max_pixels`` defaults to :data:`MAX_PIXELS`.

    Returns the ``(H, W, C)`` float array (not yet resized) and the original ``(width, height)``.
    """
    cap = MAX_PIXELS if max_pixels is None else int(max_pixels)
    n_bytes = file.getbuffer().nbytes if isinstance(file, io.BytesIO) else file.stat().st_size
    if n_bytes == 0:
        raise _Skip("the file is empty (0 bytes)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # Pillow's warnings become notes, not stderr output
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(file) as img:
                w, h = img.size
                if w * h > cap:
                    raise _Skip(
                        f"it is {w} x {h} = {w * h:,} pixels, which exceeds the pixel cap "
                        f"of {cap:,}"
                    )
                img.load()
                try:
                    img = ImageOps.exif_transpose(img)
                except Exception:  # broken EXIF: keep the pixels as stored
                    notes.append(f"{name}: unreadable EXIF orientation ignored")
                arr = _to_array(img, name, notes)
                notes.extend(f"{name}: {warning.message}" for warning in caught)
                return arr, img.size
        except _Skip:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _Skip(f"it exceeds the pixel cap of {cap:,} pixels") from None
        except Image.UnidentifiedImageError:
            raise _Skip("it is not an image Pillow can read (unknown or wrong format)") from None
        except Exception as exc:  # any decoder failure means a corrupt or truncated file
            raise _Skip(f"the image data is truncated or corrupt ({exc})") from None


def decode_image_bytes(data: bytes, name: str, size: int, max_pixels: int | None = None) -> tuple[np.ndarray, list[str]]:
    """Decode one image file given as bytes (an upload) with the folder loader's checks and resize.

    The same rules as :func:`load_image_folder` apply to the one file: it must be non-empty, a
    format Pillow reads, at most ``max_pixels`` pixels (default :data:`MAX_PIXELS`; checked from
    the header, before decoding) and decode completely; EXIF orientation is applied and the image
    is scaled and center-cropped to ``size`` x ``size``. Returns float32 ``(size, size, C)`` in
    [0, 1] (C is 1 or 3) and notes (e.g. Pillow's warnings). A file that cannot be used raises
    :class:`DataError` whose message starts with ``name`` and gives the reason.
    """
    notes: list[str] = []
    try:
        arr, _ = _read_image(io.BytesIO(bytes(data)), name, notes, max_pixels)
    except _Skip as skip:
        raise DataError(f"{name}: cannot be used: {skip}.") from None
    return square_resize(arr, int(size)), notes


def load_image_folder(path, size: int = 28) -> ImageSet:
    """Load every image below folder ``path`` as a ``size`` x ``size`` :class:`ImageSet`.

    See the module docstring for the layouts. Images are fully decoded, EXIF orientation is
    applied, each is scaled (shorter side to ``size``) and center-cropped. If any image is in
    colour the whole set is RGB, otherwise it is grayscale. Files that cannot be used are
    skipped with a warning naming them and the reason; ``DataError`` is raised when the path
    is not a folder or when no usable image remains.
    """
    root = Path(path)
    if not root.exists():
        raise DataError(f"The folder {path} does not exist.")
    if not root.is_dir():
        raise DataError(f"{path} is not a folder.")
    if int(size) < 1:
        raise DataError(f"The image size must be a positive number of pixels, got {size}.")
    size = int(size)

    notes: list[str] = []
    children = sorted(p for p in root.iterdir() if not p.name.startswith("."))
    top_files = [p for p in children if p.is_file()]
    per_dir = {d.name: _files_under(d, root) for d in children if d.is_dir()}
    class_dirs = [n for n in per_dir if any(_is_image_name(p) for p in per_dir[n])]
    all_files = top_files + [p for files in per_dir.values() for p in files]

    if class_dirs:
        groups = [(n, per_dir[n]) for n in class_dirs]
        stray = [p.name for p in top_files if _is_image_name(p)]
        if stray:
            notes.append(
                f"ignored {len(stray)} image file(s) directly in {path} because it has class "
                f"subfolders: {_listing(stray)}"
            )
        for n in per_dir:
            if n not in class_dirs:
                notes.append(f"class folder {n!r} has no image files and was dropped")
    else:
        groups = [("all", top_files)]

    ignored = [p.relative_to(root).as_posix() for p in all_files if not _is_image_name(p)]
    if ignored:
        notes.append(
            f"ignored {len(ignored)} file(s) without an image suffix "
            f"({', '.join(IMAGE_SUFFIXES)}): {_listing(ignored)}"
        )

    arrays: list[np.ndarray] = []
    labels: list[int] = []
    ids: list[str] = []
    class_names: list[str] = []
    sizes: set[tuple[int, int]] = set()
    skips: list[tuple[str, str]] = []  # (relative path, reason)
    n_candidates = 0
    for class_name, files in groups:
        label = len(class_names)
        for file in (f for f in files if _is_image_name(f)):
            n_candidates += 1
            rel = file.relative_to(root).as_posix()
            try:
                arr, orig = _read_image(file, rel, notes)
            except _Skip as skip:
                skips.append((rel, str(skip)))
                continue
            except OSError as exc:  # unreadable on disk (permissions, vanished file)
                skips.append((rel, f"the file cannot be read ({exc.strerror or exc})"))
                continue
            sizes.add(orig)
            arrays.append(square_resize(arr, size))
            labels.append(label)
            ids.append(rel)
        if len(labels) > 0 and labels[-1] == label:
            class_names.append(class_name)
        elif class_dirs:
            notes.append(f"class folder {class_name!r} has no readable images and was dropped")

    if not arrays:
        if n_candidates == 0:
            found = f"{len(all_files)} other file(s)" if all_files else "the folder is empty"
            reason = f"no files with suffixes {', '.join(IMAGE_SUFFIXES)} ({found})"
        else:
            reason = (
                f"{n_candidates} image file(s), all unreadable "
                f"(first: {skips[0][0]}: {skips[0][1]})"
            )
        raise DataError(f"No usable images in {path}: {reason}.")

    n_colour = sum(a.shape[2] == 3 for a in arrays)
    if 0 < n_colour < len(arrays):
        n_grey = len(arrays) - n_colour
        arrays = [np.repeat(a, 3, axis=2) if a.shape[2] == 1 else a for a in arrays]
        notes.append(
            f"converted {n_grey} grayscale image(s) to RGB because {n_colour} image(s) are in colour"
        )
    if len(sizes) > 1:
        notes.append(
            f"images come in {len(sizes)} different sizes; all were scaled and center-cropped "
            f"to {size} x {size}"
        )
    if class_dirs and len(class_names) == 1:
        notes.append(
            f"only one class ({class_names[0]!r}) has images, so class-coloured views will be uniform"
        )
    messages = [f"skipped {rel}: {reason}" for rel, reason in skips]
    if skips:
        messages.append(f"skipped {len(skips)} of {n_candidates} image files in {path}")

    images = np.stack(arrays).transpose(0, 3, 1, 2)
    return ImageSet(
        images, np.asarray(labels, dtype=np.int64), class_names, ids,
        f"folder {path}", messages + notes,
    )
