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
    ``method`` is any of :data:`PATH_METHODS`; ``"data"`` walks through ``codes`` (the training
    codes), which are needed to make its frames and are not written to the JSON.
    """

    key_indices: list[int | None]
    keys: np.ndarray
    frames_per_segment: int = 100
    method: str = "linear"
    closed: bool = True
    key_ids: list[str | None] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    codes: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.keys = _check_keys(self.keys)
        self.frames_per_segment = _check_fps(self.frames_per_segment)
        if self.method not in PATH_METHODS:
            raise ValueError(f"unknown path method {self.method!r}; choose one of {', '.join(sorted(PATH_METHODS))}.")
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

    def frames(self) -> "PathFrames":
        """The path's frames, unpacking as ``(frames (F, D), segment (F,), t (F,))``."""
        if self.method == "data" and self.codes is None:
            raise ValueError("a data-following path needs the training codes to make its frames.")
        return path_frames(self.method, self.keys, self.codes, self.frames_per_segment, self.closed)

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


# -- a path that follows the data ----------------------------------------------------------------------
# Added for the plausibility work: straight segments cut across empty regions of latent space
# (the reference article's movie "often clearly drifts off generating unlikely images"); this
# path walks from key to key over the training codes instead.
DATA_PATH_K = 10
"""Neighbours per code in the graph :func:`data_path` walks on."""

DATA_PATH_SMOOTH = 8
"""Passes of the [1/4, 1/2, 1/4] filter :func:`data_path` smooths each segment with."""

_SAMPLES_PER_HOP = 16  # dense resampling for the smoothing: the filter's reach is in hops, not frames
_MIN_EDGE = 1e-12  # an edge between identical codes still counts as an edge


@dataclass
class PathFrames:
    """Frames of a path plus what went wrong building it.

    Unpacks like :func:`loop_path`'s tuple: ``frames, segment, t = data_path(...)``.

    * ``warnings``: one sentence per problem (e.g. a pair of keys the data graph cannot join).
    * ``fallback``: the segments drawn as straight lines instead of through the data.
    * ``hops``: for each segment, how many training codes the graph path visits (0 for a fallback
      and for linear/slerp paths).
    """

    frames: np.ndarray
    segment: np.ndarray
    t: np.ndarray
    warnings: list[str] = field(default_factory=list)
    fallback: list[int] = field(default_factory=list)
    hops: list[int] = field(default_factory=list)

    def __iter__(self):
        return iter((self.frames, self.segment, self.t))

    def __getitem__(self, i):
        return (self.frames, self.segment, self.t)[i]

    def __len__(self) -> int:
        return 3


def _polyline_resample(points: np.ndarray, m: int) -> np.ndarray:
    """``m`` points (m >= 2) along the polyline ``points`` (P, D), evenly spaced by arc length,
    the first and last exactly the polyline's ends."""
    seg = np.linalg.norm(np.diff(points, axis=0), axis=1)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    total = cum[-1]
    if total <= 0 or len(points) < 2:
        return np.repeat(points[:1], m, axis=0)
    s = np.linspace(0.0, total, m)
    j = np.clip(np.searchsorted(cum, s, side="right") - 1, 0, len(points) - 2)
    width = seg[j]
    frac = np.divide(s - cum[j], width, out=np.zeros_like(s), where=width > 0)
    out = points[j] + frac[:, None] * (points[j + 1] - points[j])
    out[0], out[-1] = points[0], points[-1]
    return out


def _smooth_curve(points: np.ndarray, m: int, passes: int) -> np.ndarray:
    """The polyline resampled densely, smoothed ``passes`` times on its interior (ends fixed), and
    resampled to ``m`` points evenly spaced by arc length."""
    if passes > 0 and len(points) > 2:
        dense = _polyline_resample(points, max(m, _SAMPLES_PER_HOP * (len(points) - 1) + 1))
        for _ in range(passes):
            dense[1:-1] = 0.25 * dense[:-2] + 0.5 * dense[1:-1] + 0.25 * dense[2:]
        points = dense
    return _polyline_resample(points, m)


def _data_graph(codes: np.ndarray, keys: np.ndarray, k: int):
    """Directed sparse graph: codes 0..N-1 joined to their k nearest neighbours (both ways, so the
    code part is the symmetric kNN graph); key ``s`` appears twice, as a source node ``N + s``
    with edges out to its k nearest codes, and as a sink node ``N + K + s`` with edges in from
    them. So no walk can pass *through* a key, only start or end there."""
    from scipy.sparse import coo_matrix
    from scipy.spatial import cKDTree

    n, n_keys = len(codes), len(keys)
    tree = cKDTree(codes)
    rows, cols, wts = [], [], []
    if n > 1:
        kk = min(k + 1, n)
        d, idx = tree.query(codes, kk)
        d, idx = d.reshape(n, kk), idx.reshape(n, kk)
        src = np.repeat(np.arange(n), kk)
        dst, w = idx.reshape(-1), d.reshape(-1)
        keep = dst != src
        src, dst, w = src[keep], dst[keep], w[keep]
        rows += [src, dst]
        cols += [dst, src]
        wts += [w, w]
    kk = min(k, n)
    d, idx = tree.query(keys, kk)
    d, idx = d.reshape(n_keys, kk), idx.reshape(n_keys, kk)
    key_rows = np.repeat(np.arange(n_keys), kk)
    rows += [n + key_rows, idx.reshape(-1)]
    cols += [idx.reshape(-1), n + n_keys + key_rows]
    wts += [d.reshape(-1), d.reshape(-1)]
    r, c = np.concatenate(rows), np.concatenate(cols)
    w = np.maximum(np.concatenate(wts), _MIN_EDGE)
    size = n + 2 * n_keys
    # duplicate (r, c) pairs (an edge found from both ends) would be summed by tocsr(): keep one
    order = np.lexsort((w, c, r))
    r, c, w = r[order], c[order], w[order]
    first = np.ones(len(r), dtype=bool)
    first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    return coo_matrix((w[first], (r[first], c[first])), shape=(size, size)).tocsr()


def data_path(keys: Any, codes: Any, frames_per_segment: int = 100, closed: bool = True,
              k: int = DATA_PATH_K, smooth: int = DATA_PATH_SMOOTH) -> PathFrames:
    """A path through the key codes ``keys`` (K, D) that follows the data ``codes`` (N, D).

    Meant for the training codes (``bundle.mu[bundle.split_index("train")]``). Between two
    consecutive keys it takes the shortest path (Dijkstra, Euclidean edge lengths) over the
    symmetric k-nearest-neighbour graph of ``codes``, each key attached to its ``k`` nearest codes
    (keys are never passed through on the way to another key). That chain of codes is smoothed
    (``smooth`` passes of a [1/4, 1/2, 1/4] moving average at 16 samples per hop, the ends
    fixed: corners round off by about 1/8 of a hop) and resampled evenly by arc length, so the
    frames move at constant speed along a smooth curve through the data. ``smooth=0`` keeps the
    raw chain.

    Same frame conventions as :func:`loop_path`: closed, ``K * frames_per_segment`` frames; open,
    ``(K - 1) * frames_per_segment + 1``; frame ``s * frames_per_segment`` is exactly key ``s``
    (and the last frame of an open path exactly the last key); ``t`` is the fraction of the
    segment's arc length, ``i / frames_per_segment``.

    Where the graph does not join two keys (the data falls apart into pieces at this ``k``), that
    segment is the straight line, listed in ``.fallback`` with a sentence in ``.warnings``.

    Returns a :class:`PathFrames`, which unpacks as ``frames, segment, t``.
    """
    from scipy.sparse.csgraph import dijkstra

    kz = _check_keys(keys)
    fps = _check_fps(frames_per_segment)
    c = np.asarray(codes)
    if c.ndim != 2 or len(c) < 1:
        raise ValueError(f"codes must be a non-empty (N, D) array; got shape {c.shape}.")
    if c.shape[1] != kz.shape[1]:
        raise ValueError(f"codes have {c.shape[1]} dimensions but the keys have {kz.shape[1]}.")
    if not np.issubdtype(c.dtype, np.number) or not np.all(np.isfinite(c)):
        raise ValueError("codes must be finite real numbers.")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a whole number >= 1; got {k!r}.")
    if isinstance(smooth, bool) or not isinstance(smooth, (int, np.integer)) or smooth < 0:
        raise ValueError(f"smooth must be a whole number >= 0; got {smooth!r}.")

    c64, k64 = c.astype(np.float64), kz.astype(np.float64)
    n, n_keys = len(c64), len(k64)
    dtype = np.result_type(kz.dtype, np.float32)
    n_seg = n_keys if closed else n_keys - 1
    graph = _data_graph(c64, k64, int(k))
    sources = np.arange(n, n + n_seg)
    dist, pred = dijkstra(graph, directed=True, indices=sources, return_predecessors=True)

    n_frames = n_seg * fps + (0 if closed else 1)
    frames = np.empty((n_frames, kz.shape[1]), dtype=dtype)
    segment = np.repeat(np.arange(n_seg, dtype=np.int64), fps)
    t = np.tile(np.arange(fps, dtype=np.float64) / fps, n_seg)
    if not closed:
        segment, t = np.append(segment, n_seg - 1), np.append(t, 1.0)
    out = PathFrames(frames, segment, t)
    for s in range(n_seg):
        e = (s + 1) % n_keys
        sink = n + n_keys + e
        if not np.isfinite(dist[s, sink]):
            chain = np.stack([k64[s], k64[e]])
            out.fallback.append(s)
            out.hops.append(0)
            out.warnings.append(
                f"segment {s} (key {s} to key {e}): the {k}-nearest-neighbour graph of the {n} codes does not "
                "join these keys, so this segment is a straight line; a larger k may join them.")
        else:
            nodes = []
            v = pred[s, sink]
            while v != sources[s]:
                nodes.append(v)
                v = pred[s, v]
            nodes = nodes[::-1]
            out.hops.append(len(nodes))
            chain = np.concatenate([k64[s][None], c64[nodes], k64[e][None]])
        curve = _smooth_curve(chain, fps + 1, int(smooth))
        frames[s * fps:(s + 1) * fps] = curve[:fps]
        frames[s * fps] = kz[s]  # exact
    if not closed:
        frames[-1] = kz[-1]
    return out


def _interpolated(method: str) -> Callable[..., PathFrames]:
    def build(keys: Any, codes: Any = None, frames_per_segment: int = 100, closed: bool = True,
              **_: Any) -> PathFrames:
        return PathFrames(*loop_path(keys, frames_per_segment, method, closed))

    build.__doc__ = f":func:`loop_path` with method {method!r} (``codes`` unused), as a :class:`PathFrames`."
    return build


def _through_data(keys: Any, codes: Any = None, frames_per_segment: int = 100, closed: bool = True,
                  **options: Any) -> PathFrames:
    if codes is None:
        raise ValueError("the 'data' path needs the training codes to follow.")
    return data_path(keys, codes, frames_per_segment, closed, **options)


PATH_METHODS: dict[str, Callable[..., PathFrames]] = {
    **{name: _interpolated(name) for name in INTERPOLATIONS},
    "data": _through_data,
}
"""Path method -> ``fn(keys, codes, frames_per_segment, closed, **options) -> PathFrames``:
the interpolations of :data:`INTERPOLATIONS` plus ``"data"`` (:func:`data_path`)."""


def path_frames(method: str, keys: Any, codes: Any = None, frames_per_segment: int = 100,
                closed: bool = True, **options: Any) -> PathFrames:
    """Frames for any path method in :data:`PATH_METHODS` (what the UI calls).

    ``"linear"`` and ``"slerp"`` are :func:`loop_path` (``codes`` is ignored); ``"data"`` is
    :func:`data_path` through ``codes`` (the training codes), ``options`` going to it (``k``,
    ``smooth``). Always a :class:`PathFrames`: check ``.warnings`` for fallbacks.
    """
    try:
        fn = PATH_METHODS[method]
    except (KeyError, TypeError):
        raise ValueError(f"unknown path method {method!r}; choose one of {', '.join(sorted(PATH_METHODS))}.") from None
    return fn(keys, codes, frames_per_segment, closed, **options)
