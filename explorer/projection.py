"""2-D maps of latent codes: PCA, t-SNE, UMAP or two raw dimensions, with a disk cache.

Pure logic, no Streamlit: the app calls :func:`cached_only` to show at once what is already
computed, and :func:`cached_projection` (with a ``progress`` callable for its progress bar) to
compute the rest.

Every method is a function in :data:`METHODS`, ``fn(latents, seed, progress, **params) -> Fitted``;
:data:`PARAMS` holds each method's parameters with their defaults. :func:`project` checks the
method and parameters, times the fit and returns a :class:`Projection`, which can also

* :meth:`Projection.place` new codes on the map (PCA and dims exactly; t-SNE and UMAP by an
  inverse-distance-weighted mean of the map positions of the k nearest reference codes, an
  approximation that is fast enough to be interactive, where UMAP's own ``transform`` takes about
  12 s per 100 points), and
* :meth:`Projection.invert` a spot on the map back to a latent code (PCA exactly: the least-norm
  preimage in the PCA plane; otherwise a blend of the codes of the nearest map points), with the
  spot's distance from the data in units of the map's typical point spacing.

The cache lives in ``<bundle>/projections/<method>-<key[:12]>.npz``, the key being a SHA-256 of
the method, its resolved parameters, the seed and the codes themselves; so a changed bundle never
reuses a stale map. Files are written atomically, corrupt ones are recomputed, and a bundle folder
that cannot be written to simply gets no cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import numbers
import os
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
"""``progress(fraction, message)``: fraction in [0, 1], message a short line for the UI."""

K_NEIGHBOURS = 10
"""Neighbours blended by :meth:`Projection.place` (t-SNE, UMAP) and :meth:`Projection.invert`."""

CACHE_FOLDER = "projections"
CACHE_VERSION = 1  # part of the key: bump it when a method's output changes for the same inputs
TSNE_BH_MAX_N = 5000  # Barnes-Hut below this many points, FFT-accelerated interpolation above
UMAP_APPROX_MAX_N = 4096  # umap-learn's exact kNN is slower than NN-descent below 4096 points too
MAX_SEED = 2**32 - 1


@dataclass
class Fitted:
    """What a method function returns: the map, plus the linear map for PCA."""

    embedding: np.ndarray  # (N, 2)
    mean: Optional[np.ndarray] = None  # (D,) PCA only
    components: Optional[np.ndarray] = None  # (2, D) PCA only, orthonormal rows


def _report(progress: Optional[Progress], fraction: float, message: str) -> None:
    if progress is not None:
        progress(float(min(max(fraction, 0.0), 1.0)), message)


# -- the methods ----------------------------------------------------------------------------------
def _fit_pca(latents: np.ndarray, seed: int, progress: Optional[Progress], **params: Any) -> Fitted:
    _report(progress, 0.0, "PCA: fitting")
    # float64 fit: orthonormal components to ~1e-15, so invert(place(z)) is the exact plane projection
    pca = PCA(n_components=2, random_state=seed).fit(np.asarray(latents, np.float64))
    mean = pca.mean_.astype(np.float64)
    components = pca.components_.astype(np.float64)
    embedding = _pca_forward(latents, mean, components)
    _report(progress, 1.0, "PCA: done")
    return Fitted(embedding, mean, components)


def _pca_forward(latents: np.ndarray, mean: np.ndarray, components: np.ndarray) -> np.ndarray:
    """PCA coordinates of ``latents``; the one formula both the fit and :meth:`Projection.place` use."""
    return ((np.asarray(latents, np.float64) - mean) @ components.T).astype(np.float32)


class _TSNEProgress:
    """openTSNE callback turning its iterations (both phases) into a progress fraction."""

    def __init__(self, progress: Progress, total_calls: int, total_iters: int, every: int) -> None:
        self.progress, self.total_calls, self.total_iters, self.every = progress, total_calls, total_iters, every
        self.calls = 0

    def __call__(self, iteration: int, error: float, embedding: np.ndarray) -> bool:
        self.calls += 1
        done = min(self.calls * self.every, self.total_iters)
        _report(self.progress, 0.1 + 0.85 * self.calls / self.total_calls,
                f"t-SNE: iteration {done} of {self.total_iters} (KL divergence {error:.3f})")
        return False  # never stop early


def _fit_tsne(latents: np.ndarray, seed: int, progress: Optional[Progress], *, perplexity: float) -> Fitted:
    from openTSNE import TSNE  # imported on use: the app starts faster

    n = len(latents)
    early, main, every = 250, 500, 25
    callbacks = None
    if progress is not None:
        callbacks = _TSNEProgress(progress, total_calls=early // every + main // every,
                                  total_iters=early + main, every=every)
    _report(progress, 0.0, f"t-SNE: finding the neighbours of {n:,} points")
    tsne = TSNE(
        n_components=2,
        perplexity=perplexity,
        early_exaggeration_iter=early,
        n_iter=main,
        negative_gradient_method="bh" if n < TSNE_BH_MAX_N else "fft",
        n_jobs=1,  # one thread: 2 barely helps and is 3x slower when the CPUs are busy; same map anywhere
        random_state=seed,
        callbacks=callbacks,
        callbacks_every_iters=every,
        verbose=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openTSNE warns when it lowers the perplexity for small N
        embedding = tsne.fit(latents)
    _report(progress, 1.0, "t-SNE: done")
    return Fitted(np.asarray(embedding).astype(np.float32))


def _fit_umap(latents: np.ndarray, seed: int, progress: Optional[Progress], *, n_neighbors: int,
              min_dist: float) -> Fitted:
    _report(progress, 0.0, f"UMAP: embedding {len(latents):,} points (the first run compiles for a minute or two)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "n_jobs overridden by random_state", numba chatter
        import umap  # imported on use: it takes seconds

        reducer = umap.UMAP(
            n_components=2,
            n_neighbors=n_neighbors,
            min_dist=min_dist,
            random_state=seed,
            force_approximation_algorithm=len(latents) < UMAP_APPROX_MAX_N,
        )
        embedding = reducer.fit_transform(latents)
    _report(progress, 1.0, "UMAP: done")
    return Fitted(np.asarray(embedding, dtype=np.float32))


def _fit_dims(latents: np.ndarray, seed: int, progress: Optional[Progress], *, x: int, y: int) -> Fitted:
    _report(progress, 0.0, f"dimensions {x} and {y}")
    embedding = np.ascontiguousarray(latents[:, [x, y]], dtype=np.float32)
    _report(progress, 1.0, "done")
    return Fitted(embedding)


METHODS: dict[str, Callable[..., Fitted]] = {
    "pca": _fit_pca,
    "tsne": _fit_tsne,
    "umap": _fit_umap,
    "dims": _fit_dims,
}
"""Method name -> ``fn(latents, seed, progress, **params) -> Fitted``."""

PARAMS: dict[str, dict[str, Any]] = {
    "pca": {},
    "tsne": {"perplexity": 30.0},
    "umap": {"n_neighbors": 15, "min_dist": 0.1},
    "dims": {"x": 0, "y": 1},
}
"""Method name -> its parameters and their defaults (the default's type is the parameter's type)."""

MIN_POINTS = {"pca": 2, "tsne": 4, "umap": 4, "dims": 1}


# -- checking the inputs --------------------------------------------------------------------------
def _as_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a whole number, not {value!r}.")
    return int(value)


def _as_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite number, not {value!r}.")
    return float(value)


def _check_tsne(p: dict[str, Any], n: int, d: int) -> None:
    if p["perplexity"] <= 0:
        raise ValueError(f"perplexity must be above 0, not {p['perplexity']:g}.")


def _check_umap(p: dict[str, Any], n: int, d: int) -> None:
    if p["n_neighbors"] < 2:
        raise ValueError(f"n_neighbors must be at least 2, not {p['n_neighbors']}.")
    if p["min_dist"] < 0:
        raise ValueError(f"min_dist must be 0 or more, not {p['min_dist']:g}.")


def _check_dims(p: dict[str, Any], n: int, d: int) -> None:
    for axis in ("x", "y"):
        if not 0 <= p[axis] < d:
            raise ValueError(f"{axis}={p[axis]} is not a latent dimension: the codes have {d}, numbered 0 to {d - 1}.")
    if p["x"] == p["y"]:
        raise ValueError(f"x and y are both dimension {p['x']}; pick two different dimensions.")


_CHECKS: dict[str, Callable[[dict[str, Any], int, int], None]] = {
    "pca": lambda p, n, d: None,
    "tsne": _check_tsne,
    "umap": _check_umap,
    "dims": _check_dims,
}
_CONVERT = {int: _as_int, float: _as_float}


def check_latents(latents: Any) -> np.ndarray:
    """``latents`` as a C-contiguous float32 (N, D) array, or a ValueError saying what is wrong."""
    z = np.asarray(latents)
    if z.ndim != 2:
        raise ValueError(f"latent codes must be a 2-D array (points x dimensions), not shape {z.shape}.")
    if not np.issubdtype(z.dtype, np.number) or np.issubdtype(z.dtype, np.complexfloating):
        raise ValueError(f"latent codes must be real numbers, not {z.dtype}.")
    z = np.ascontiguousarray(z, dtype=np.float32)
    if not np.isfinite(z).all():
        raise ValueError("latent codes contain NaN or infinite values.")
    return z


def resolve(method: str, latents_shape: tuple[int, int], seed: int = 0,
            **params: Any) -> tuple[str, int, dict[str, Any]]:
    """Check a method, seed and parameters for codes of ``latents_shape``.

    Returns ``(method, seed, params)`` with every parameter present (defaults filled in) as a plain
    Python number, so equal requests give equal cache keys. Raises ValueError with one sentence.
    """
    if method not in METHODS or method not in PARAMS:
        raise ValueError(f"unknown projection method {method!r}; choose one of {', '.join(sorted(METHODS))}.")
    seed = _as_int("seed", seed)
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be between 0 and {MAX_SEED}, not {seed}.")
    defaults = PARAMS[method]
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        allowed = ", ".join(sorted(defaults)) or "none"
        raise ValueError(f"{method} has no parameter {', '.join(unknown)}; its parameters: {allowed}.")
    resolved = {k: _CONVERT[type(v)](k, params.get(k, v)) for k, v in sorted(defaults.items())}
    n, d = latents_shape
    if d < 2:
        raise ValueError(f"a 2-D map needs codes with at least 2 dimensions, these have {d}.")
    if n < MIN_POINTS[method]:
        raise ValueError(f"{method} needs at least {MIN_POINTS[method]} points, got {n}.")
    _CHECKS[method](resolved, n, d)
    return method, seed, resolved


# -- the result ---------------------------------------------------------------------------------------
@dataclass(eq=False)
class Projection:
    """A 2-D map of N latent codes.

    ``latents`` are the codes it was fitted on (kept for :meth:`place` and :meth:`invert`; not
    part of the cache file). ``mean`` and ``components`` are set for PCA only.
    """

    method: str
    params: dict[str, Any]
    seed: int
    embedding: np.ndarray = field(repr=False)  # (N, 2) float32
    seconds: float  # fit time; for a map loaded from the cache, the time the original fit took
    mean: Optional[np.ndarray] = field(default=None, repr=False)  # (D,) float64
    components: Optional[np.ndarray] = field(default=None, repr=False)  # (2, D) float64, orthonormal rows
    latents: Optional[np.ndarray] = field(default=None, repr=False)  # (N, D) float32
    _latent_nn: Any = field(default=None, init=False, repr=False)
    _map_nn: Any = field(default=None, init=False, repr=False)
    _spacing: Optional[float] = field(default=None, init=False, repr=False)

    @property
    def exact(self) -> bool:
        """True where :meth:`place` is exact (PCA, dims); t-SNE and UMAP positions of new codes are estimates."""
        return self.method in ("pca", "dims")

    def _codes(self, latents: Optional[np.ndarray]) -> np.ndarray:
        z = self.latents if latents is None else check_latents(latents)
        if z is None:
            raise ValueError("this projection has no reference codes; pass the codes it was fitted on.")
        if len(z) != len(self.embedding):
            raise ValueError(f"{len(z)} codes given but the map has {len(self.embedding)} points.")
        return z

    def _check_new(self, new_latents: Any, d: Optional[int]) -> np.ndarray:
        z = check_latents(np.atleast_2d(new_latents) if np.ndim(new_latents) == 1 else new_latents)
        if d is not None and z.shape[1] != d:
            raise ValueError(f"codes of size {z.shape[1]} given; this map was made from codes of size {d}.")
        return z

    # -- codes -> map ------------------------------------------------------------------------------
    def place(self, new_latents: Any) -> np.ndarray:
        """Where codes (M, D) lie on the map, as (M, 2) float32.

        PCA and dims: exact (the training codes land exactly on :attr:`embedding`). t-SNE and UMAP
        have no exact map for new points; a code is placed at the inverse-distance-weighted mean of
        the map positions of its ``K_NEIGHBOURS`` nearest reference codes (in latent space). That
        is an approximation (a point between two clusters lands between them, where t-SNE might put
        it in one), chosen because it is instant; UMAP's own transform takes ~12 s per 100 points.
        A reference code itself lands on its own map position.
        """
        if self.method == "pca":
            return _pca_forward(self._check_new(new_latents, len(self.mean)), self.mean, self.components)
        if self.method == "dims":
            x, y = self.params["x"], self.params["y"]
            d = self.latents.shape[1] if self.latents is not None else None
            z = self._check_new(new_latents, d)
            if max(x, y) >= z.shape[1]:
                raise ValueError(f"codes of size {z.shape[1]} given; this map shows dimensions {x} and {y}.")
            return np.ascontiguousarray(z[:, [x, y]], dtype=np.float32)
        ref = self._codes(None)
        z = self._check_new(new_latents, ref.shape[1])
        if self._latent_nn is None:
            self._latent_nn = _neighbours(ref, "ball_tree")
        dist, idx = self._latent_nn.kneighbors(z)
        return _blend(dist, idx, self.embedding).astype(np.float32)

    # -- map -> codes ------------------------------------------------------------------------------
    def invert(self, xy: Any, latents: Optional[np.ndarray] = None) -> tuple[np.ndarray, np.ndarray]:
        """Latent codes (M, D) float32 for spots ``xy`` (M, 2) on the map, and each spot's distance.

        * PCA: exact, ``mean + xy @ components``: the code in the PCA plane that lands on the spot
          (the least-norm preimage; the other directions are left at the mean).
        * dims: the two mapped dimensions are set to the spot; the others are the
          inverse-distance-weighted mean of those of the ``K_NEIGHBOURS`` nearest map points.
        * t-SNE, UMAP: the inverse-distance-weighted mean of the codes of the ``K_NEIGHBOURS``
          nearest map points (on a point, that point's own code).

        ``distance`` (M,) is how far each spot is from the nearest map point, in units of the
        median distance between a map point and its nearest neighbour: about 0 on a point, about
        1 in the gaps inside a cluster, above about 3 away from any data, where the code is an
        extrapolation (PCA) or just the code of the nearest edge of the data (the others).

        ``latents`` defaults to the codes the map was fitted on (needed for all but PCA).
        """
        spots = np.asarray(xy, dtype=np.float64)
        if spots.ndim == 1:
            spots = spots[None, :]
        if spots.ndim != 2 or spots.shape[1] != 2 or not np.isfinite(spots).all():
            raise ValueError(f"map spots must be finite (x, y) pairs, shape (M, 2), not shape {spots.shape}.")
        if self._map_nn is None:
            self._map_nn = _neighbours(self.embedding.astype(np.float64), "kd_tree")
        dist, idx = self._map_nn.kneighbors(spots)
        distance = (dist[:, 0] / self.spacing).astype(np.float64)
        if self.method == "pca":
            codes = self.mean + spots @ self.components
        else:
            codes = _blend(dist, idx, self._codes(latents))
            if self.method == "dims":
                codes[:, self.params["x"]] = spots[:, 0]
                codes[:, self.params["y"]] = spots[:, 1]
        return codes.astype(np.float32), distance

    @property
    def spacing(self) -> float:
        """Median distance from a map point to its nearest other map point (the unit of ``distance``).

        Estimated on up to 20,000 points; duplicates (distance 0) are left out, and a map whose
        points all coincide gets 1.
        """
        if self._spacing is None:
            emb = self.embedding.astype(np.float64)
            if self._map_nn is None:
                self._map_nn = _neighbours(emb, "kd_tree")
            if len(emb) > 20_000:
                sample = emb[np.random.default_rng(0).choice(len(emb), 20_000, replace=False)]
            else:
                sample = emb
            if len(emb) < 2:
                self._spacing = 1.0
            else:
                d, _ = self._map_nn.kneighbors(sample, n_neighbors=2)
                positive = d[:, 1][d[:, 1] > 0]
                self._spacing = float(np.median(positive)) if len(positive) else 1.0
        return self._spacing


def _neighbours(points: np.ndarray, algorithm: str) -> NearestNeighbors:
    """A kNN index. Trees, not sklearn's "auto" (brute force here): brute force runs on OpenMP
    threads and takes ~100 ms per query when the CPUs are busy; a tree query takes ~1-5 ms."""
    return NearestNeighbors(n_neighbors=min(K_NEIGHBOURS, len(points)), algorithm=algorithm).fit(points)


def _blend(dist: np.ndarray, idx: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Inverse-distance-weighted mean of ``values[idx]`` per row (float64); a zero distance wins."""
    scale = dist.mean(axis=1, keepdims=True)
    w = 1.0 / (dist + 1e-9 * scale + 1e-30)
    w /= w.sum(axis=1, keepdims=True)
    return np.einsum("mk,mkd->md", w, values[idx].astype(np.float64))


# -- computing ------------------------------------------------------------------------------------------
def project(latents: Any, method: str, seed: int = 0, progress: Optional[Progress] = None,
            **params: Any) -> Projection:
    """Fit a 2-D map of ``latents`` (N, D) with ``method`` (a key of :data:`METHODS`).

    ``params`` are the method's (see :data:`PARAMS`); missing ones take their defaults. The same
    codes, method, parameters and seed give the same map. Raises ValueError for a bad request.
    """
    z = check_latents(latents)
    method, seed, resolved = resolve(method, z.shape, seed, **params)
    start = time.perf_counter()
    fitted = METHODS[method](z, seed, progress, **resolved)
    seconds = time.perf_counter() - start
    embedding = np.ascontiguousarray(fitted.embedding, dtype=np.float32)
    if embedding.shape != (len(z), 2):
        raise RuntimeError(f"{method} returned a map of shape {embedding.shape} for {len(z)} points.")
    return Projection(method=method, params=resolved, seed=seed, embedding=embedding, seconds=seconds,
                      mean=fitted.mean, components=fitted.components, latents=z)


# -- the disk cache ----------------------------------------------------------------------------------
def cache_key(latents: np.ndarray, method: str, seed: int, params: dict[str, Any]) -> str:
    """SHA-256 (hex) of the request and the codes (float32 bytes and shape)."""
    z = check_latents(latents)
    h = hashlib.sha256()
    head = {"version": CACHE_VERSION, "method": method, "params": dict(sorted(params.items())), "seed": seed,
            "shape": list(z.shape), "dtype": "float32"}
    h.update(json.dumps(head, sort_keys=True).encode())
    h.update(z.tobytes())
    return h.hexdigest()


def cache_path(bundle_dir: Path | str, latents: Any, method: str, seed: int = 0, **params: Any) -> Path:
    """The cache file a request would use (whether or not it exists)."""
    z = check_latents(latents)
    method, seed, resolved = resolve(method, z.shape, seed, **params)
    return _cache_file(Path(bundle_dir), method, cache_key(z, method, seed, resolved))


def _cache_file(bundle_dir: Path, method: str, key: str) -> Path:
    return bundle_dir / CACHE_FOLDER / f"{method}-{key[:12]}.npz"


def _load(file: Path, key: str, z: np.ndarray, method: str, seed: int, params: dict[str, Any]) -> Optional[Projection]:
    """The cached projection, or None if the file is missing, unreadable or not the one asked for."""
    if not file.is_file():
        return None
    try:
        with np.load(file, allow_pickle=False) as f:
            meta = json.loads(str(f["meta"][()]))
            embedding = np.ascontiguousarray(f["embedding"], dtype=np.float32)
            mean = np.asarray(f["mean"], np.float64) if "mean" in f.files else None
            components = np.asarray(f["components"], np.float64) if "components" in f.files else None
        if meta.get("key") != key or meta.get("method") != method:
            raise ValueError("the file belongs to another request")
        if embedding.shape != (len(z), 2) or not np.isfinite(embedding).all():
            raise ValueError(f"embedding of shape {embedding.shape} or with non-finite values")
        if method == "pca" and (mean is None or components is None or mean.shape != (z.shape[1],)
                                or components.shape != (2, z.shape[1])):
            raise ValueError("PCA mean or components missing or of the wrong shape")
        return Projection(method=method, params=params, seed=seed, embedding=embedding,
                          seconds=float(meta.get("seconds", 0.0)), mean=mean, components=components, latents=z)
    except Exception as e:  # a damaged file of any kind: recompute
        log.warning("ignoring the projection cache file %s: %s: %s", file, type(e).__name__, e)
        return None


def _save(file: Path, key: str, proj: Projection) -> bool:
    """Write ``proj`` to ``file`` atomically; False (and a log line) if the folder cannot be written."""
    tmp = None
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        meta = {"key": key, "method": proj.method, "params": proj.params, "seed": proj.seed,
                "seconds": proj.seconds, "version": CACHE_VERSION}
        arrays: dict[str, np.ndarray] = {"embedding": proj.embedding, "meta": np.array(json.dumps(meta))}
        if proj.mean is not None and proj.components is not None:
            arrays["mean"], arrays["components"] = proj.mean, proj.components
        fd, tmp = tempfile.mkstemp(prefix=f".{file.stem}-", suffix=".tmp", dir=file.parent)
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, file)
        tmp = None
        return True
    except Exception as e:  # the cache is a convenience: never fail the map because of it
        log.warning("could not cache the projection in %s: %s: %s", file, type(e).__name__, e)
        return False
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def cached_only(bundle_dir: Path | str, latents: Any, method: str, seed: int = 0,
                **params: Any) -> Optional[Projection]:
    """The cached projection for this request, or None if there is none (never computes)."""
    z = check_latents(latents)
    method, seed, resolved = resolve(method, z.shape, seed, **params)
    key = cache_key(z, method, seed, resolved)
    return _load(_cache_file(Path(bundle_dir), method, key), key, z, method, seed, resolved)


def cached_projection(bundle_dir: Path | str, latents: Any, method: str, seed: int = 0,
                      progress: Optional[Progress] = None, **params: Any) -> Projection:
    """:func:`project`, through the cache in ``<bundle_dir>/projections/``.

    A cached map is loaded; otherwise it is computed and saved (atomically). A corrupt cache file
    is recomputed and overwritten; a folder that cannot be written to gets no cache file.
    """
    z = check_latents(latents)
    method, seed, resolved = resolve(method, z.shape, seed, **params)
    key = cache_key(z, method, seed, resolved)
    file = _cache_file(Path(bundle_dir), method, key)
    proj = _load(file, key, z, method, seed, resolved)
    if proj is not None:
        _report(progress, 1.0, f"{method}: loaded from the cache")
        return proj
    proj = project(z, method, seed, progress, **resolved)
    _save(file, key, proj)
    return proj
