"""Latent paths: walks through a model's latent space between key codes, decoded into movies.

The reference experiment takes five images of one class, joins their codes with straight
segments, samples 100 frames per segment and decodes the 500 codes into a movie that loops:

>>> keys = random_keys(bundle.labels, class_index=3, n=5, seed=0)
>>> path = LatentPath.from_codes(bundle.mu, keys, frames_per_segment=100)
>>> frames, segment, t = path.frames()          # (500, D), (500,), (500,)
>>> images = bundle.decode(frames)              # (500, C, H, W) in [0, 1]

Pure logic: numpy only, no Streamlit, no torch.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

import numpy as np

PATH_FORMAT = "latent-explorer.path"
PATH_FORMAT_VERSION = 1

# Below this, a vector counts as zero (slerp has no angle to follow) and two directions count as
# parallel (sin of the angle between them), and slerp falls back to linear interpolation.
_ZERO_NORM = 1e-12
_PARALLEL_SIN = 1e-6


def _as_t(t: Any) -> tuple[np.ndarray, bool]:
    """``t`` as a float64 1-D array, and whether it was a scalar."""
    arr = np.asarray(t, dtype=np.float64)
    return np.atleast_1d(arr).reshape(-1), arr.ndim == 0


def _as_vectors(a: Any, b: Any) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape:
        raise ValueError(f"a and b must be vectors of the same length; got shapes {a.shape} and {b.shape}.")
    return a, b


def lerp(a: Any, b: Any, t: Any) -> np.ndarray:
    """Linear interpolation ``a + t (b - a)``: shape (D,) for a scalar ``t``, (T, D) for T values.

    ``t = 0`` gives ``a`` exactly; ``t = 1`` gives ``b`` up to rounding (``loop_path`` puts the
    key codes in exactly).
    """
    a, b = _as_vectors(a, b)
    tt, scalar = _as_t(t)
    out = a[None, :] + tt[:, None] * (b - a)[None, :]
    return out[0] if scalar else out


def slerp(a: Any, b: Any, t: Any) -> np.ndarray:
    """Spherical linear interpolation (White 2016, "Sampling Generative Networks").

    Follows the great circle between ``a`` and ``b`` seen as vectors from the origin::

        omega = angle(a, b)
        slerp(a, b, t) = sin((1 - t) omega) / sin(omega) * a + sin(t omega) / sin(omega) * b

    For two vectors of equal norm the path stays on the sphere of that norm; for unequal norms
    the norm changes smoothly between the two. Falls back to :func:`lerp` when either vector is
    (nearly) zero or the two are (nearly) parallel or anti-parallel, where the angle gives no
    unique great circle. Vectorised over ``t``: (D,) for a scalar, (T, D) for T values.
    """
    a, b = _as_vectors(a, b)
    tt, scalar = _as_t(t)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na < _ZERO_NORM or nb < _ZERO_NORM:
        return lerp(a, b, t)
    cos = float(np.clip(np.dot(a / na, b / nb), -1.0, 1.0))
    omega = math.acos(cos)
    so = math.sin(omega)
    if so < _PARALLEL_SIN:
        return lerp(a, b, t)
    wa = np.sin((1.0 - tt) * omega) / so
    wb = np.sin(tt * omega) / so
    out = wa[:, None] * a[None, :] + wb[:, None] * b[None, :]
    return out[0] if scalar else out


Interpolation = Callable[[Any, Any, Any], np.ndarray]
INTERPOLATIONS: dict[str, Interpolation] = {"linear": lerp, "slerp": slerp}


def _check_method(method: str) -> Interpolation:
    try:
        return INTERPOLATIONS[method]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown interpolation {method!r}; choose one of {', '.join(sorted(INTERPOLATIONS))}."
        ) from None


def _check_fps(frames_per_segment: Any) -> int:
    if isinstance(frames_per_segment, bool) or not isinstance(frames_per_segment, (int, np.integer)):
        raise ValueError(f"frames_per_segment must be a whole number >= 1; got {frames_per_segment!r}.")
    if frames_per_segment < 1:
        raise ValueError(f"frames_per_segment must be >= 1; got {frames_per_segment}.")
    return int(frames_per_segment)


def _check_keys(keys: Any) -> np.ndarray:
    k = np.asarray(keys)
    if k.ndim != 2:
        raise ValueError(f"keys must be a (K, D) array of codes; got shape {k.shape}.")
    if len(k) < 2:
        raise ValueError(f"a path needs at least 2 key codes; got {len(k)}.")
    if k.shape[1] < 1:
        raise ValueError("key codes must have at least one dimension.")
    if not np.issubdtype(k.dtype, np.number) or np.issubdtype(k.dtype, np.complexfloating):
        raise ValueError(f"key codes must be real numbers; got dtype {k.dtype}.")
    if not np.all(np.isfinite(k)):
        raise ValueError("key codes must be finite (no NaN or infinity).")
    return k


def loop_path(keys: Any, frames_per_segment: int = 100, method: str = "linear",
              closed: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample a path through the key codes ``keys`` (K, D).

    Returns ``(frames (F, D), segment (F,) int, t (F,) float)``: frame ``i`` lies on segment
    ``segment[i]`` (from key ``s`` to key ``s + 1``, wrapping to key 0 for a closed loop) at
    position ``t[i]`` in [0, 1).

    * ``closed=True``: K segments, ``F = K * frames_per_segment``. Each segment leaves out its
      end point, so the movie loops with no repeated frame; frame ``s * frames_per_segment`` is
      exactly key ``s``.
    * ``closed=False``: K - 1 segments, ``F = (K - 1) * frames_per_segment + 1``; the last frame
      is exactly the last key (segment K - 2, ``t = 1``).

    Frames have the keys' float dtype (float64 for integer keys).
    """
    k = _check_keys(keys)
    fps = _check_fps(frames_per_segment)
    interp = _check_method(method)
    dtype = np.result_type(k.dtype, np.float32)
    n_keys, dim = k.shape
    n_seg = n_keys if closed else n_keys - 1
    ts = np.arange(fps, dtype=np.float64) / fps
    n_frames = n_seg * fps + (0 if closed else 1)
    frames = np.empty((n_frames, dim), dtype=dtype)
    segment = np.empty(n_frames, dtype=np.int64)
    t = np.empty(n_frames, dtype=np.float64)
    k64 = k.astype(np.float64)
    for s in range(n_seg):
        sl = slice(s * fps, (s + 1) * fps)
        frames[sl] = interp(k64[s], k64[(s + 1) % n_keys], ts)
        frames[s * fps] = k[s]  # exact, whatever rounding the interpolation does
        segment[sl] = s
        t[sl] = ts
    if not closed:
        frames[-1] = k[-1]
        segment[-1] = n_seg - 1
        t[-1] = 1.0
    return frames, segment, t


def random_keys(labels: Any, class_index: int, n: int = 5, seed: int | None = 0,
                pool: Any = None) -> np.ndarray:
    """Indices of ``n`` distinct images of class ``class_index``, drawn reproducibly for ``seed``.

    ``pool`` (indices, or a boolean mask as long as ``labels``) restricts the draw to those
    images, e.g. ``bundle.split_index("test")`` for held-out images only. The indices come back in
    the drawn order (the order of the keys along the path).
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be one label per image (1-D); got shape {labels.shape}.")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a whole number >= 1; got {n!r}.")
    candidates = np.flatnonzero(labels == class_index)
    where = ""
    if pool is not None:
        p = np.asarray(pool)
        if p.dtype == bool:
            if p.shape != labels.shape:
                raise ValueError(f"a boolean pool must have one entry per image ({len(labels)}); got {p.shape}.")
            p = np.flatnonzero(p)
        elif p.size and not np.issubdtype(p.dtype, np.integer):
            raise ValueError(f"pool must be image indices or a boolean mask; got dtype {p.dtype}.")
        candidates = np.intersect1d(candidates, p.reshape(-1).astype(np.int64))
        where = " in the chosen pool"
    if len(candidates) < n:
        raise ValueError(
            f"class {class_index} has only {len(candidates)} image(s){where}; {n} distinct images are needed."
        )
    rng = np.random.default_rng(seed)
    return rng.choice(candidates, size=n, replace=False).astype(np.int64)


# -- a path to keep and share ------------------------------------------------------------------------
def _g6(x: float) -> float:
    """A float rounded to 6 significant digits, as plain Python float."""
    return float(f"{float(x):.6g}")


def _rows(a: np.ndarray, exact: bool) -> list[list[float]]:
    if exact:
        return [[float(v) for v in row] for row in a]
    return [[_g6(v) for v in row] for row in a]


@dataclass
class LatentPath:
    """A path through latent space: key codes and how to walk between them.

    ``key_indices[i]`` is the image index key ``i`` came from (``None`` for a key that is not an
    image's code, e.g. a point picked on the map); ``key_ids`` optionally holds those images' ids.
    ``meta`` holds what :meth:`from_json` read beside the path (bundle, projection, seed, ...).
    """

    key_indices: list[int | None]
    keys: np.ndarray
    frames_per_segment: int = 100
    method: str = "linear"
    closed: bool = True
    key_ids: list[str | None] | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.keys = _check_keys(self.keys)
        self.frames_per_segment = _check_fps(self.frames_per_segment)
        _check_method(self.method)
        self.closed = bool(self.closed)
        self.key_indices = [None if i is None else int(i) for i in self.key_indices]
        if len(self.key_indices) != len(self.keys):
            raise ValueError(f"{len(self.key_indices)} key indices for {len(self.keys)} key codes.")
        if self.key_ids is not None:
            self.key_ids = [None if i is None else str(i) for i in self.key_ids]
            if len(self.key_ids) != len(self.keys):
                raise ValueError(f"{len(self.key_ids)} key ids for {len(self.keys)} key codes.")

    @classmethod
    def from_codes(cls, mu: Any, indices: Sequence[int], ids: Sequence[Any] | None = None,
                   **kwargs: Any) -> "LatentPath":
        """A path through the codes ``mu[indices]`` (e.g. ``bundle.mu``); ``ids`` (e.g.
        ``bundle.ids``) names the key images in the JSON."""
        mu = np.asarray(mu)
        idx = [int(i) for i in indices]
        key_ids = [str(ids[i]) for i in idx] if ids is not None else None
        return cls(key_indices=idx, keys=mu[idx], key_ids=key_ids, **kwargs)

    @property
    def n_frames(self) -> int:
        n_seg = len(self.keys) if self.closed else len(self.keys) - 1
        return n_seg * self.frames_per_segment + (0 if self.closed else 1)

    def frames(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``loop_path`` for this path: ``(frames (F, D), segment (F,), t (F,))``."""
        return loop_path(self.keys, self.frames_per_segment, self.method, self.closed)

    def to_json(self, bundle_name: str, projection: str | None = None, seed: int | None = None,
                frame_xy: Any = None) -> str:
        """The path as JSON: metadata, the keys (image index, id and exact code) and every frame
        (segment, t, code rounded to 6 significant digits, and map position if ``frame_xy``
        (F, 2) is given)."""
        frames, segment, t = self.frames()
        xy = None
        if frame_xy is not None:
            xy = np.asarray(frame_xy, dtype=np.float64)
            if xy.shape != (len(frames), 2):
                raise ValueError(f"frame_xy must have shape ({len(frames)}, 2); got {xy.shape}.")
        key_ids = self.key_ids or [None] * len(self.keys)
        doc = {
            "format": PATH_FORMAT,
            "version": PATH_FORMAT_VERSION,
            "bundle": str(bundle_name),
            "method": self.method,
            "frames_per_segment": self.frames_per_segment,
            "closed": self.closed,
            "projection": projection,
            "seed": None if seed is None else int(seed),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "latent_dim": int(self.keys.shape[1]),
            "n_keys": len(self.keys),
            "n_frames": len(frames),
            "keys": [
                {"index": i, "id": d, "z": z}
                for i, d, z in zip(self.key_indices, key_ids, _rows(self.keys, exact=True))
            ],
            "frames": {
                "segment": segment.tolist(),
                "t": [_g6(v) for v in t],
                "z": _rows(frames, exact=False),
                "xy": None if xy is None else _rows(xy, exact=False),
            },
        }
        return json.dumps(doc, allow_nan=False, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> "LatentPath":
        """Read a path written by :meth:`to_json`; the metadata lands in ``.meta`` and the frame
        table (``segment``, ``t``, ``z``, ``xy`` as arrays) in ``.meta["frames"]``."""
        try:
            doc = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"not a latent path file: invalid JSON ({e}).") from None
        if not isinstance(doc, dict) or doc.get("format") != PATH_FORMAT:
            raise ValueError("not a latent path file (no 'format': 'latent-explorer.path').")
        if doc.get("version") != PATH_FORMAT_VERSION:
            raise ValueError(f"latent path version {doc.get('version')} is not the version "
                             f"{PATH_FORMAT_VERSION} this code reads.")
        try:
            keys = doc["keys"]
            path = cls(
                key_indices=[k.get("index") for k in keys],
                keys=np.asarray([k["z"] for k in keys], dtype=np.float64),
                frames_per_segment=doc["frames_per_segment"],
                method=doc["method"],
                closed=doc["closed"],
                key_ids=[k.get("id") for k in keys] if any(k.get("id") is not None for k in keys) else None,
            )
        except (KeyError, TypeError, AttributeError) as e:
            raise ValueError(f"latent path file is incomplete or malformed ({type(e).__name__}: {e}).") from None
        meta = {k: v for k, v in doc.items() if k not in ("keys", "frames")}
        fr = doc.get("frames") or {}
        meta["frames"] = {
            "segment": np.asarray(fr.get("segment", []), dtype=np.int64),
            "t": np.asarray(fr.get("t", []), dtype=np.float64),
            "z": np.asarray(fr.get("z", []), dtype=np.float64),
            "xy": None if fr.get("xy") is None else np.asarray(fr["xy"], dtype=np.float64),
        }
        path.meta = meta
        return path
