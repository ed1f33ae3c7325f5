"""Data in: image folders, ``.npz`` files and the shipped sets, as one :class:`ImageSet`.

``load_data("cells")``, ``load_data("digits")`` or ``load_data("path/to/folder_or.npz")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from explorer.data.imageset import ImageSet
from explorer.errors import DataError


def _cells(size: int, seed: int, n: int | None) -> ImageSet:
    from explorer.data.cells import make_cells

    return make_cells(n=1000 if n is None else n, size=size, seed=seed)


def _digits(size: int, seed: int, n: int | None) -> ImageSet:
    from explorer.data.digits import load_digits_set

    data = load_digits_set(size=size)
    return data if n is None else data.subset(range(min(n, len(data))))


SHIPPED_SETS: dict[str, Callable[[int, int, int | None], ImageSet]] = {"cells": _cells, "digits": _digits}


def load_data(spec: str, size: int = 28, seed: int = 0, n: int | None = None) -> ImageSet:
    """Load a shipped set by name, an image folder, or an ``.npz`` file; exact duplicates are dropped."""
    if not 8 <= int(size) <= 512:
        raise DataError(f"image size must lie between 8 and 512 pixels, got {size}.")
    if spec in SHIPPED_SETS:
        data = SHIPPED_SETS[spec](int(size), int(seed), n)
    else:
        path = Path(spec).expanduser()
        if not path.exists():
            names = ", ".join(SHIPPED_SETS)
            raise DataError(f"{spec}: no such file or folder (and not a shipped set: {names}).")
        if path.is_dir():
            from explorer.data.folders import load_image_folder

            data = load_image_folder(path, size=size)
        elif path.suffix.lower() == ".npz":
            from explorer.data.npz import load_npz

            data = load_npz(path, size=size)
        else:
            raise DataError(f"{spec}: expected an image folder or an .npz file.")
        if n is not None:
            data = data.subset(range(min(n, len(data))))
    return data.without_duplicates()
