"""A decoded atlas: the map window tiled with the images its spots decode to.

Each tile of a ``grid x grid`` tiling of the window ``[x0, x1] x [y0, y1]`` is the decoded image
of the latent code at the tile's centre (:meth:`explorer.projection.Projection.invert`). The tiles
are assembled edge to edge into one RGB image, row 0 at the *top* of the map (highest y), so the
app can lay it under the points as a Plotly layout image covering exactly the window:

>>> image, tiles = decoded_atlas(proj, bundle.decode, (x0, x1), (y0, y1), grid=20, max_distance=3)
>>> # layout image: source=image, x=x0, y=y1, sizex=x1 - x0, sizey=y1 - y0, xanchor="left", yanchor="top"

Tiles whose centre lies farther than ``max_distance`` from any data point (in the projection's
spacing units, the ``distance`` that ``invert`` returns) are dimmed, so the user sees where the
atlas extrapolates. Pure logic, no Streamlit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from explorer.export import to_rgb_uint8

DIM = 0.35
"""Brightness factor of tiles far from the data."""

SUGGESTED_MAX_DISTANCE = 3.0
"""A sensible ``max_distance``: :meth:`Projection.invert` calls spots above about 3 "away from any data"."""

Decode = Callable[[np.ndarray], np.ndarray]
"""``decode(codes (M, D)) -> images (M, C, H, W)`` float in [0, 1], e.g. ``bundle.decode``."""


@dataclass
class AtlasTiles:
    """What each tile of the atlas shows; (grid, grid) arrays, row 0 the top row of the image.

    ``centres`` (grid, grid, 2) are the map spots decoded; ``codes`` (grid, grid, D) their latent
    codes; ``distances`` (grid, grid) each spot's distance from the data (projection spacing
    units); ``dimmed`` which tiles were dimmed; ``tile_shape`` (h, w) in pixels; ``extent`` the
    window ``(x0, x1, y0, y1)`` the image covers.
    """

    centres: np.ndarray = field(repr=False)
    codes: np.ndarray = field(repr=False)
    distances: np.ndarray = field(repr=False)
    dimmed: np.ndarray = field(repr=False)
    tile_shape: tuple[int, int]
    extent: tuple[float, float, float, float]
    grid: int
    max_distance: Optional[float] = None

    def tile_at(self, x: float, y: float) -> tuple[int, int] | None:
        """(row, column) of the tile under map spot (x, y), or None outside the window."""
        x0, x1, y0, y1 = self.extent
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            return None
        col = min(int((x - x0) / (x1 - x0) * self.grid), self.grid - 1)
        row = min(int((y1 - y) / (y1 - y0) * self.grid), self.grid - 1)
        return row, col


def _window(name: str, r: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in r)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high); got {r!r}.") from None
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        raise ValueError(f"{name} must be finite with low < high; got ({lo}, {hi}).")
    return lo, hi


def tile_centres(xrange: Any, yrange: Any, grid: int) -> np.ndarray:
    """(grid, grid, 2) map spots at the tile centres; row 0 is the top (highest y)."""
    x0, x1 = _window("xrange", xrange)
    y0, y1 = _window("yrange", yrange)
    xs = x0 + (np.arange(grid) + 0.5) * (x1 - x0) / grid
    ys = y1 - (np.arange(grid) + 0.5) * (y1 - y0) / grid
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx, gy], axis=-1)


def decoded_atlas(projection: Any, decode: Decode, xrange: Any, yrange: Any, grid: int = 20,
                  max_distance: Optional[float] = None, dim: float = DIM,
                  latents: Optional[np.ndarray] = None) -> tuple[np.ndarray, AtlasTiles]:
    """The window ``xrange x yrange`` of ``projection``'s map as one RGB uint8 image
    (grid * h, grid * w, 3) of decoded tiles, and an :class:`AtlasTiles` describing them.

    ``max_distance`` None dims nothing; otherwise tiles whose centre is farther than that from
    any map point are multiplied by ``dim`` (:data:`SUGGESTED_MAX_DISTANCE` is a good value).
    ``latents`` goes to ``projection.invert`` (the codes the map was fitted on; needed only for
    a projection that does not keep them).
    """
    if isinstance(grid, bool) or not isinstance(grid, (int, np.integer)) or grid < 1:
        raise ValueError(f"grid must be a whole number >= 1; got {grid!r}.")
    grid = int(grid)
    if max_distance is not None and not (isinstance(max_distance, (int, float, np.number))
                                         and math.isfinite(float(max_distance)) and max_distance >= 0):
        raise ValueError(f"max_distance must be a number >= 0 or None; got {max_distance!r}.")
    if not 0 <= dim <= 1:
        raise ValueError(f"dim must be in [0, 1]; got {dim}.")
    centres = tile_centres(xrange, yrange, grid)
    x0, x1 = _window("xrange", xrange)
    y0, y1 = _window("yrange", yrange)
    spots = centres.reshape(-1, 2)
    codes, distance = projection.invert(spots, latents) if latents is not None else projection.invert(spots)
    images = np.asarray(decode(codes))
    if images.ndim != 4 or len(images) != len(spots):
        raise ValueError(f"decode returned shape {images.shape}; expected ({len(spots)}, C, H, W).")
    tiles = to_rgb_uint8(images)  # (M, h, w, 3)
    distances = np.asarray(distance, dtype=np.float64).reshape(grid, grid)
    dimmed = np.zeros((grid, grid), dtype=bool) if max_distance is None else distances > float(max_distance)
    if dimmed.any():
        flat = dimmed.reshape(-1)
        tiles[flat] = np.rint(tiles[flat].astype(np.float32) * dim).astype(np.uint8)
    h, w = tiles.shape[1:3]
    image = tiles.reshape(grid, grid, h, w, 3).transpose(0, 2, 1, 3, 4).reshape(grid * h, grid * w, 3)
    info = AtlasTiles(centres=centres, codes=np.asarray(codes).reshape(grid, grid, -1), distances=distances,
                      dimmed=dimmed, tile_shape=(int(h), int(w)), extent=(x0, x1, y0, y1), grid=grid,
                      max_distance=None if max_distance is None else float(max_distance))
    return np.ascontiguousarray(image), info
