"""How plausible is each frame of a latent path? Numbers for the "drifts off the data" question.

The reference article's straight-line loop "largely follows the model manifold, but it often
clearly drifts off generating unlikely images". This module puts numbers on every frame of a path
so the app can draw them as a strip under the movie, and flag the frames that are off the data:

>>> plaus = frame_plausibility(bundle, frames)            # frames (F, D) from explorer.paths
>>> plaus.flags, plaus.thresholds                          # off the data?, the dashed lines
>>> summarise(plaus)["fraction_flagged"]                   # one number per path, to compare two

Per frame ``z``:

* ``log_prior``: log-density of ``z`` under the model's code distribution (the VAE's standard
  normal prior; for the other models the normal fitted to their training codes).
* ``nn_distance`` / ``nn_index``: Euclidean distance to the nearest *training* code, and which.
* ``roundtrip``: ``|enc(dec(z)) - z|``: codes the model can reproduce come back close to where they
  started; codes off the data often do not.
* ``pred_class`` / ``confidence``: from an optional pixel classifier on the decoded frame.
* ``log_likelihood``: the VAE's importance-weighted estimate of log p(x) of the decoded frame
  (optional, ``k_likelihood`` samples; slow).

A frame is **off the data** when its ``nn_distance`` is above the 99th percentile of the held-out
(val + test) codes' distances to their nearest training code, or its ``roundtrip`` is above the
99th percentile of the training codes' own round-trip errors. Both thresholds come from the bundle
itself (:func:`calibrate`), so they mean "further than 99% of real held-out images" and "worse than
99% of real training images", whatever the model and latent size.

Pure logic: numpy and torch, no Streamlit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
import torch

PERCENTILE = 99.0
"""The percentile of the real codes' values each threshold sits at."""

MAX_CALIBRATION_CODES = 2000
"""At most this many training codes are round-tripped for the round-trip threshold."""

Classifier = Callable[[np.ndarray], np.ndarray]
"""``classifier(images (F, C, H, W) float in [0, 1]) -> class probabilities (F, K)``."""


# -- calibration ------------------------------------------------------------------------------------
@dataclass
class Calibration:
    """The data's own reference values and the two thresholds drawn from them.

    ``held_out_nn``: each held-out (val + test) code's distance to its nearest training code (if
    the bundle has no held-out codes: each training code's distance to its nearest *other*
    training code, said in ``notes``). ``train_roundtrip``: the round-trip errors of (up to
    :data:`MAX_CALIBRATION_CODES`) training codes.
    """

    nn_threshold: float
    roundtrip_threshold: float
    held_out_nn: np.ndarray = field(repr=False)
    train_roundtrip: np.ndarray = field(repr=False)
    percentile: float = PERCENTILE
    notes: list[str] = field(default_factory=list)

    @property
    def thresholds(self) -> dict[str, float]:
        return {"nn_distance": self.nn_threshold, "roundtrip": self.roundtrip_threshold}


def _codes_array(x: Any, dim: int, name: str) -> np.ndarray:
    z = np.asarray(x, dtype=np.float64)
    if z.ndim == 1:
        z = z[None, :]
    if z.ndim != 2 or z.shape[1] != dim:
        raise ValueError(f"{name} must be (N, {dim}) codes; got shape {np.shape(x)}.")
    if not np.isfinite(z).all():
        raise ValueError(f"{name} contain NaN or infinite values.")
    return z


def _train_codes(bundle: Any, train_codes: Any) -> tuple[np.ndarray, np.ndarray]:
    """(training codes, the index that ``nn_index`` reports for each row)."""
    if train_codes is None:
        idx = bundle.split_index("train")
        if len(idx) == 0:
            raise ValueError(f"{bundle.name} has no training codes to measure distances to.")
        return np.asarray(bundle.mu[idx], dtype=np.float64), idx.astype(np.int64)
    z = _codes_array(train_codes, bundle.model.latent_dim, "train_codes")
    if len(z) == 0:
        raise ValueError("train_codes is empty.")
    return z, np.arange(len(z), dtype=np.int64)


def _tree(codes: np.ndarray):
    from scipy.spatial import cKDTree

    return cKDTree(codes)


def roundtrip_error(bundle: Any, codes: Any, batch_size: int = 256) -> np.ndarray:
    """``|enc(dec(z)) - z|`` (Euclidean) for codes (N, D), as float64 (N,)."""
    z = _codes_array(codes, bundle.model.latent_dim, "codes")
    out = []
    for i in range(0, len(z), batch_size):
        zb = z[i:i + batch_size]
        back = bundle.encode(bundle.decode(zb, batch_size=batch_size), batch_size=batch_size)
        out.append(np.linalg.norm(back.astype(np.float64) - zb, axis=1))
    return np.concatenate(out) if out else np.zeros(0)


def calibrate(bundle: Any, train_codes: Any = None, percentile: float = PERCENTILE,
              max_codes: int = MAX_CALIBRATION_CODES, seed: int = 0, batch_size: int = 256) -> Calibration:
    """The "off the data" thresholds for ``bundle`` (see the module docstring).

    Costs one decode and encode of up to ``max_codes`` training codes (a fraction of a second
    for the cells bundle); compute it once per bundle and pass it to :func:`frame_plausibility`.
    ``train_codes`` defaults to the bundle's training-split codes.
    """
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100]; got {percentile}.")
    train, _ = _train_codes(bundle, train_codes)
    tree = _tree(train)
    notes: list[str] = []
    held_idx = np.sort(np.concatenate([bundle.split_index("val"), bundle.split_index("test")]))
    if len(held_idx):
        held_nn, _ = tree.query(np.asarray(bundle.mu[held_idx], dtype=np.float64))
        held_nn = np.asarray(held_nn, dtype=np.float64).reshape(-1)
    elif len(train) > 1:
        d, _ = tree.query(train, 2)
        held_nn = np.asarray(d[:, 1], dtype=np.float64)
        notes.append("the bundle has no validation or test codes; the distance threshold comes from each "
                     "training code's distance to its nearest other training code instead.")
    else:
        held_nn = np.zeros(1)
        notes.append("one training code and no held-out codes: the distance threshold is 0.")
    pick = np.arange(len(train))
    if len(pick) > max_codes:
        pick = np.sort(np.random.default_rng(seed).choice(len(train), max_codes, replace=False))
        notes.append(f"the round-trip threshold comes from {max_codes} of the {len(train)} training codes.")
    rt = roundtrip_error(bundle, train[pick], batch_size=batch_size)
    return Calibration(nn_threshold=float(np.percentile(held_nn, percentile)),
                       roundtrip_threshold=float(np.percentile(rt, percentile)),
                       held_out_nn=held_nn, train_roundtrip=rt, percentile=float(percentile), notes=notes)


# -- per frame --------------------------------------------------------------------------------------------
def log_prior(bundle: Any, codes: Any) -> np.ndarray:
    """Log-density (nats) of codes (N, D) under the model's code distribution: the diagonal normal
    N(prior_mean, prior_std^2), which is the standard normal for a VAE."""
    z = _codes_array(codes, bundle.model.latent_dim, "codes")
    m = bundle.model.prior_mean.detach().cpu().double().numpy()
    s = bundle.model.prior_std.detach().cpu().double().numpy()
    return -0.5 * (((z - m) / s) ** 2 + math.log(2 * math.pi) + 2 * np.log(s)).sum(axis=1)


CRITERIA = ("", "nn_distance", "roundtrip", "both")
"""``Plausibility.criterion`` values: which threshold(s) a frame crossed ("" for none)."""


@dataclass
class Plausibility:
    """Per-frame plausibility numbers for a path of F frames (arrays of length F).

    ``pred_class``/``confidence`` are None without a classifier, ``log_likelihood`` None unless
    asked for (and for models without one: see ``notes``). ``flags`` is "off the data";
    ``flag_nn`` and ``flag_roundtrip`` say which threshold fired, ``criterion`` the same as text.
    ``thresholds`` (``nn_distance``, ``roundtrip``) are the dashed lines for the strip.
    """

    log_prior: np.ndarray
    nn_distance: np.ndarray
    nn_index: np.ndarray
    roundtrip: np.ndarray
    flag_nn: np.ndarray
    flag_roundtrip: np.ndarray
    thresholds: dict[str, float]
    calibration: Calibration = field(repr=False)
    pred_class: Optional[np.ndarray] = None
    confidence: Optional[np.ndarray] = None
    log_likelihood: Optional[np.ndarray] = None
    k_likelihood: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def flags(self) -> np.ndarray:
        return self.flag_nn | self.flag_roundtrip

    @property
    def criterion(self) -> np.ndarray:
        return np.asarray(CRITERIA, dtype=object)[self.flag_nn.astype(int) + 2 * self.flag_roundtrip.astype(int)]

    def __len__(self) -> int:
        return len(self.log_prior)

    def arrays(self) -> dict[str, np.ndarray]:
        """Every per-frame array that is present, by name (``flags`` and ``criterion`` included)."""
        out = {"log_prior": self.log_prior, "nn_distance": self.nn_distance, "nn_index": self.nn_index,
               "roundtrip": self.roundtrip}
        for name in ("pred_class", "confidence", "log_likelihood"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        out.update(flags=self.flags, flag_nn=self.flag_nn, flag_roundtrip=self.flag_roundtrip,
                   criterion=self.criterion)
        return out

    def to_rows(self) -> list[dict[str, Any]]:
        """One dict of plain Python values per frame (``frame`` first), e.g. for a table or CSV."""
        arrays = self.arrays()
        rows = []
        for i in range(len(self)):
            row: dict[str, Any] = {"frame": i}
            for name, a in arrays.items():
                v = a[i]
                row[name] = v.item() if isinstance(v, np.generic) else v
            rows.append(row)
        return rows


@torch.no_grad()
def _iwae(bundle: Any, images: np.ndarray, k: int, seed: int, batch_size: int) -> np.ndarray:
    model = bundle.model
    dev = model.prior_mean.device
    g = torch.Generator(device=dev).manual_seed(int(seed))
    out = []
    for i in range(0, len(images), batch_size):
        x = torch.from_numpy(np.ascontiguousarray(images[i:i + batch_size], dtype=np.float32)).to(dev)
        _, iwae = model.log_likelihood(x, k=k, generator=g)
        out.append(iwae.double().cpu().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def frame_plausibility(bundle: Any, frames: Any, train_codes: Any = None, classifier: Optional[Classifier] = None,
                       k_likelihood: int = 0, batch_size: int = 256, seed: int = 0,
                       calibration: Optional[Calibration] = None) -> Plausibility:
    """Plausibility numbers for every frame (F, D) of a path (see the module docstring).

    * ``train_codes``: the codes ``nn_distance`` measures to; default the bundle's training split,
      and then ``nn_index`` is the *image index* in the bundle of the nearest training image
      (for explicit ``train_codes`` it is the row of ``train_codes``).
    * ``classifier``: ``images -> probabilities (F, K)``, e.g. ``FittedClassifier.predict_proba``.
    * ``k_likelihood``: > 0 adds the IWAE log p(x) of each decoded frame with that many samples
      (VAE only; for other models a note says why it is absent). Reproducible for ``seed``.
    * ``calibration``: reuse a :func:`calibrate` result (else it is computed here).
    """
    dim = bundle.model.latent_dim
    z = _codes_array(frames, dim, "frames")
    if isinstance(k_likelihood, bool) or not isinstance(k_likelihood, (int, np.integer)) or k_likelihood < 0:
        raise ValueError(f"k_likelihood must be a whole number >= 0; got {k_likelihood!r}.")
    train, train_index = _train_codes(bundle, train_codes)
    cal = calibration if calibration is not None else calibrate(bundle, train_codes, seed=seed, batch_size=batch_size)
    notes = list(cal.notes)

    nn_d, nn_i = _tree(train).query(z) if len(z) else (np.zeros(0), np.zeros(0, dtype=np.int64))
    nn_d = np.asarray(nn_d, dtype=np.float64).reshape(-1)
    nn_index = train_index[np.asarray(nn_i, dtype=np.int64).reshape(-1)]

    images = bundle.decode(z, batch_size=batch_size) if len(z) else np.zeros((0, *bundle.input_shape), np.float32)
    back = bundle.encode(images, batch_size=batch_size).astype(np.float64)
    roundtrip = np.linalg.norm(back - z, axis=1)

    pred = conf = None
    if classifier is not None:
        proba = np.asarray(classifier(images), dtype=np.float64)
        if proba.ndim != 2 or len(proba) != len(z):
            raise ValueError(f"the classifier returned shape {proba.shape}; expected ({len(z)}, n_classes).")
        pred = proba.argmax(axis=1).astype(np.int64) if len(z) else np.zeros(0, np.int64)
        conf = proba.max(axis=1) if len(z) else np.zeros(0)

    ll = None
    if k_likelihood > 0:
        if getattr(bundle.model, "stochastic", False) and hasattr(bundle.model, "log_likelihood"):
            ll = _iwae(bundle, images, int(k_likelihood), seed, batch_size)
        else:
            notes.append(f"no log-likelihood: a {getattr(bundle.model, 'kind', 'non-VAE')} model has no "
                         "encoder distribution or prior of its own to estimate log p(x) with.")

    return Plausibility(
        log_prior=log_prior(bundle, z), nn_distance=nn_d, nn_index=nn_index, roundtrip=roundtrip,
        flag_nn=nn_d > cal.nn_threshold, flag_roundtrip=roundtrip > cal.roundtrip_threshold,
        thresholds=cal.thresholds, calibration=cal, pred_class=pred, confidence=conf, log_likelihood=ll,
        k_likelihood=int(k_likelihood) if ll is not None else 0, notes=notes,
    )


# -- one path in numbers ---------------------------------------------------------------------------------
def _longest_run(mask: np.ndarray) -> int:
    best = run = 0
    for v in mask:
        run = run + 1 if v else 0
        best = max(best, run)
    return best


def summarise(plaus: Plausibility) -> dict[str, Any]:
    """A path's plausibility in a few numbers (plain floats and ints), to compare two paths.

    Fractions of frames flagged (in all, by each criterion), the longest run of flagged frames,
    mean and max ``nn_distance`` and ``roundtrip``, mean and min ``log_prior``, and where present
    the mean classifier confidence, the share of frames of the most common predicted class and
    the number of class changes along the path, and mean and min log-likelihood.
    """
    n = len(plaus)

    def stat(fn, a):
        return float(fn(a)) if len(a) else float("nan")

    out: dict[str, Any] = {
        "n_frames": n,
        "fraction_flagged": stat(np.mean, plaus.flags),
        "fraction_flagged_nn": stat(np.mean, plaus.flag_nn),
        "fraction_flagged_roundtrip": stat(np.mean, plaus.flag_roundtrip),
        "longest_flagged_run": _longest_run(plaus.flags),
        "mean_nn_distance": stat(np.mean, plaus.nn_distance),
        "max_nn_distance": stat(np.max, plaus.nn_distance),
        "mean_roundtrip": stat(np.mean, plaus.roundtrip),
        "max_roundtrip": stat(np.max, plaus.roundtrip),
        "mean_log_prior": stat(np.mean, plaus.log_prior),
        "min_log_prior": stat(np.min, plaus.log_prior),
        "nn_threshold": plaus.thresholds["nn_distance"],
        "roundtrip_threshold": plaus.thresholds["roundtrip"],
    }
    if plaus.pred_class is not None:
        counts = np.bincount(plaus.pred_class) if n else np.zeros(1, int)
        out["mean_confidence"] = stat(np.mean, plaus.confidence)
        out["majority_class"] = int(counts.argmax())
        out["majority_class_fraction"] = float(counts.max() / n) if n else float("nan")
        out["class_changes"] = int((np.diff(plaus.pred_class) != 0).sum())
    if plaus.log_likelihood is not None:
        out["mean_log_likelihood"] = stat(np.mean, plaus.log_likelihood)
        out["min_log_likelihood"] = stat(np.min, plaus.log_likelihood)
        out["k_likelihood"] = plaus.k_likelihood
    return out


# -- attribute vectors -----------------------------------------------------------------------------------
def attribute_vector(codes: Any, labels: Any, from_class: int, to_class: int, split: Any = None) -> np.ndarray:
    """The direction from class ``from_class`` to class ``to_class``: the difference of their mean
    codes, ``mean(codes[to]) - mean(codes[from])``, (D,) float64.

    ``split`` (the bundle's split codes, 0 = train) restricts the means to the training split, so
    held-out images never shape the vector.
    """
    z = np.asarray(codes, dtype=np.float64)
    y = np.asarray(labels)
    if z.ndim != 2 or y.shape != (len(z),):
        raise ValueError(f"codes (N, D) and labels (N,) must match; got shapes {z.shape} and {y.shape}.")
    use = np.ones(len(z), dtype=bool)
    where = ""
    if split is not None:
        sp = np.asarray(split)
        if sp.shape != y.shape:
            raise ValueError(f"split must have one entry per code ({len(z)}); got shape {sp.shape}.")
        use = sp == 0
        where = " in the training split"
    means = []
    for c in (from_class, to_class):
        m = use & (y == c)
        if not m.any():
            raise ValueError(f"class {c} has no codes{where}.")
        means.append(z[m].mean(axis=0))
    return means[1] - means[0]


def move_along(z: Any, vector: Any, amount: Any) -> np.ndarray:
    """``z + amount * vector``. ``z`` (D,) or (N, D); ``amount`` a number, or (T,) values to get
    (T, D) steps from one code (e.g. ``np.linspace(0, 1, 50)`` for a movie along the vector)."""
    z = np.asarray(z, dtype=np.float64)
    v = np.asarray(vector, dtype=np.float64)
    a = np.asarray(amount, dtype=np.float64)
    if v.ndim != 1 or z.shape[-1] != len(v):
        raise ValueError(f"vector must be (D,) matching the codes' size {z.shape[-1]}; got shape {v.shape}.")
    if a.ndim == 0:
        return z + float(a) * v
    if a.ndim == 1 and z.ndim == 1:
        return z[None, :] + a[:, None] * v[None, :]
    if a.ndim == 1 and z.ndim == 2 and len(a) == len(z):
        return z + a[:, None] * v[None, :]
    raise ValueError(f"amount of shape {a.shape} does not fit codes of shape {z.shape}.")
