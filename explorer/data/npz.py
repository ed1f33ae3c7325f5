"""Load images (and optional labels) from a NumPy ``.npz`` archive into an :class:`ImageSet`.

Keys read from the archive:

* ``images`` (required): uint8 (0..255), bool, or float values in [0, 1]. Shapes accepted:
  ``(N, H, W)`` grayscale; ``(N, H, W, C)`` with C in 1, 3, 4 (channels last); and
  ``(N, C, H, W)`` with C in 1, 3 (channels first), used only when the last dimension is not
  1, 3 or 4, so channels last wins when both readings fit. A fourth (alpha) channel is dropped.
* ``labels`` (optional): one value per image, integers (or strings). The sorted distinct values
  become classes 0..K-1.
* ``class_names`` (optional, strings): names indexed by label value when every label lies in
  0..len(class_names)-1; otherwise, when there is one name per distinct label, they name the
  sorted distinct labels in order. Without labels the set has the single class ``"all"``.

The archive is read with ``allow_pickle=False``: object arrays are refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from explorer.data.imageset import ImageSet
from explorer.errors import DataError

_CHUNK = 2048  # images resized per batch


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Read every array of the archive; raise :class:`DataError` for pickles or corrupt data."""
    try:
        with open(path, "rb") as fh:  # our own handle, so it is closed even when numpy fails
            magic = fh.read(6)
            if magic.startswith(b"\x93NUMPY"):
                raise DataError(
                    f"{path} is a single .npy array, not an .npz archive with an 'images' key."
                )
            if not magic.startswith(b"PK"):
                raise DataError(f"{path} is not an .npz archive (it is not a zip file).")
            fh.seek(0)
            with np.load(fh, allow_pickle=False) as archive:
                return {key: archive[key] for key in archive.files}
    except DataError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object arrays" in str(exc).lower():
            raise DataError(
                f"{path} holds object arrays (Python pickles), which are refused for safety; "
                "save plain numeric or string arrays instead."
            ) from None
        raise DataError(f"{path} is not a readable .npz archive ({exc}).") from None
    except Exception as exc:  # BadZipFile, EOFError, OSError, zlib errors, ...
        raise DataError(f"{path} is not a readable .npz archive ({type(exc).__name__}: {exc}).") from None


def _as_nhwc(images: np.ndarray, path: Path) -> np.ndarray:
    """Give ``images`` the layout ``(N, H, W, C)`` following the rule in the module docstring."""
    accepted = "(N, H, W), (N, H, W, C) with C in 1, 3, 4, or (N, C, H, W) with C in 1, 3"
    if images.ndim == 3:
        images = images[..., None]
    elif images.ndim == 4 and images.shape[3] not in (1, 3, 4):
        if images.shape[1] not in (1, 3):
            raise DataError(f"{path}: 'images' has shape {images.shape}; accepted shapes are {accepted}.")
        images = images.transpose(0, 2, 3, 1)
    elif images.ndim != 4:
        raise DataError(f"{path}: 'images' has shape {images.shape}; accepted shapes are {accepted}.")
    if 0 in images.shape:
        raise DataError(f"{path}: 'images' has shape {images.shape}, which holds no pixels.")
    return images


def _to_unit_float(images: np.ndarray, path: Path) -> np.ndarray:
    """Scale uint8/bool to [0, 1]; check that float data is finite and already in [0, 1]."""
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 255.0
    if images.dtype == np.bool_:
        return images.astype(np.float32)
    if images.dtype.kind != "f":
        raise DataError(
            f"{path}: 'images' has dtype {images.dtype}; use uint8 (0..255) or floats in [0, 1]."
        )
    bad = int(np.size(images) - np.count_nonzero(np.isfinite(images)))
    if bad:
        raise DataError(f"{path}: 'images' contains {bad} NaN or infinite value(s).")
    lo, hi = float(images.min()), float(images.max())
    if lo < 0 or hi > 1:
        raise DataError(
            f"{path}: float 'images' range from {lo:g} to {hi:g}, outside [0, 1]; "
            "scale them to [0, 1] or store uint8."
        )
    return images.astype(np.float32)


def _resize(images: np.ndarray, size: int) -> np.ndarray:
    """Center-crop ``(N, C, H, W)`` to a square and resize it to ``size`` x ``size``.

    Bilinear with antialiasing (torch), in batches; the result is clipped to [0, 1].
    """
    import torch
    import torch.nn.functional as F

    h, w = images.shape[2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    images = images[:, :, top:top + side, left:left + side]
    out = np.empty((len(images), images.shape[1], size, size), dtype=np.float32)
    for start in range(0, len(images), _CHUNK):
        batch = torch.from_numpy(np.ascontiguousarray(images[start:start + _CHUNK]))
        resized = F.interpolate(batch, size=(size, size), mode="bilinear",
                                antialias=True, align_corners=False)
        out[start:start + _CHUNK] = resized.clamp_(0.0, 1.0).numpy()
    return out


def _labels_and_names(
    arrays: dict[str, np.ndarray], n: int, path: Path, notes: list[str]
) -> tuple[np.ndarray, list[str]]:
    """Turn the optional ``labels`` and ``class_names`` arrays into indices 0..K-1 and names."""
    names = arrays.get("class_names")
    if names is not None:
        if names.ndim != 1 or names.dtype.kind not in "USiuf":
            raise DataError(
                f"{path}: 'class_names' must be a 1-D array of strings, got shape {names.shape} "
                f"and dtype {names.dtype}."
            )
        names = [x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x) for x in names.tolist()]
    if "labels" not in arrays:
        if names is not None:
            notes.append(f"{path.name}: 'class_names' ignored because there are no 'labels'")
        return np.zeros(n, dtype=np.int64), ["all"]

    labels = arrays["labels"]
    if labels.ndim != 1 or len(labels) != n:
        raise DataError(
            f"{path}: 'labels' has shape {labels.shape} but there are {n} images; "
            f"give one label per image, shape ({n},)."
        )
    if labels.dtype.kind == "f":
        if not np.isfinite(labels).all() or (labels != np.round(labels)).any():
            raise DataError(f"{path}: 'labels' must be whole numbers, found non-integer values.")
        labels = labels.astype(np.int64)
    elif labels.dtype.kind not in "iubUS":
        raise DataError(f"{path}: 'labels' has dtype {labels.dtype}; use integers.")
    values, index = np.unique(labels, return_inverse=True)
    numeric = values.dtype.kind in "iub"

    if names is not None and numeric and values.min() >= 0 and values.max() < len(names):
        class_names = [names[int(v)] for v in values]
    elif names is not None and len(names) == len(values):
        class_names = list(names)
    else:
        if names is not None:
            notes.append(
                f"{path.name}: {len(names)} 'class_names' do not fit the {len(values)} label "
                "values; the label values are used as names"
            )
        class_names = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                       for v in values.tolist()]
        if numeric and not np.array_equal(values, np.arange(len(values))):
            notes.append(
                f"{path.name}: label values {class_names[:10]}{' ...' if len(values) > 10 else ''} "
                f"were renumbered 0..{len(values) - 1}"
            )
    return index.reshape(-1).astype(np.int64), class_names


def load_npz(path, size: int | None = None) -> ImageSet:
    """Load the ``.npz`` archive at ``path`` (see the module docstring for the keys and shapes).

    With ``size``, images that are not already ``size`` x ``size`` are center-cropped to a
    square and resized. Raises :class:`DataError` with one sentence for any unusable input.
    """
    file = Path(path)
    if not file.exists():
        raise DataError(f"The file {path} does not exist.")
    if not file.is_file():
        raise DataError(f"{path} is not a file.")
    arrays = _read_arrays(file)
    if "images" not in arrays:
        found = ", ".join(repr(k) for k in arrays) or "none"
        raise DataError(f"{path} has no 'images' array (keys found: {found}).")
    for key in ("images", "labels", "class_names"):
        if key in arrays and not isinstance(arrays[key], np.ndarray):
            raise DataError(f"{path}: the member {key!r} is not a NumPy array.")

    notes: list[str] = []
    images = _as_nhwc(arrays["images"], file)
    if images.shape[3] == 4:
        images = images[..., :3]
        notes.append(f"{file.name}: dropped the alpha channel of the RGBA images")
    images = _to_unit_float(images, file).transpose(0, 3, 1, 2)
    labels, class_names = _labels_and_names(arrays, len(images), file, notes)

    if size is not None:
        size = int(size)
        if size < 1:
            raise DataError(f"The image size must be a positive number of pixels, got {size}.")
        if images.shape[2:] != (size, size):
            notes.append(
                f"{file.name}: resized {images.shape[2]} x {images.shape[3]} images to {size} x {size}"
            )
            images = _resize(images, size)

    ids = [f"{file.name}:{i}" for i in range(len(images))]
    return ImageSet(images, labels, class_names, ids, f"npz {path}", notes)
