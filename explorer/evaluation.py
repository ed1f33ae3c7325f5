"""Checks of a trained bundle, after the reference article, with its two admitted flaws fixed.

The article checks its VAE in four ways; each has a function here:

* **A pixel classifier** (:func:`fit_classifier`, :func:`confusion`): gradient boosting on the raw
  pixels, with its confusion matrix on held-out images. The article's class-0 row was inflated by
  duplicated images in its test set; here the classifier sees the bundle's *training split* only
  (indices taken from the stored split, disjointness checked in code), and training images whose
  pixels equal a held-out image's are left out as well.
* **Reconstructions classified** (:func:`reconstruction_check`): held-out images of each class are
  encoded, a code is drawn from the posterior (a VAE: ``z = mu + sigma * eps``; the other models: the
  code itself), decoded, and given to the same classifier. :func:`prior_class_mix` does the same for
  images decoded from the prior.
* **Likelihood** (:func:`likelihood_scores`, :func:`score_image`): the article argues that a VAE
  gives evidence that a candidate image belongs to the data. Here that evidence is the ELBO and the
  importance-weighted estimate of log p(x) (Burda et al., 2016), per image, cached in
  ``<bundle>/scores.npz``. The likelihood's name matters (the article's second flaw): a Bernoulli
  likelihood on [0, 1] pixels is not a normalised density, see :data:`CAVEATS`.
* **Projection trust** (:func:`projection_trust`): how faithful a 2-D map of the codes is.

Pure logic: no Streamlit. Long steps take ``progress(fraction, message)``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

from explorer.bundle import SPLIT_NAMES, Bundle
from explorer.checkpoint import atomic_write
from explorer.errors import BundleError, DataError

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
"""``progress(fraction, message)``: fraction in [0, 1], message a short line for the UI."""

SCORES_FILE = "scores.npz"
SCORES_VERSION = 1  # part of the cache key: bump when the computation changes for the same inputs
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # uploads larger than this are refused before decoding
UPLOAD_MAX_PIXELS = 25_000_000  # uploads with more pixels (from the header) are refused before decoding
N_NEIGHBOURS = 8  # nearest training-set neighbours reported for an upload

CLASSIFIER_NOTE = (
    "scikit-learn's HistGradientBoostingClassifier: the histogram-based variant of the gradient "
    "boosting (GradientBoostingClassifier) the article used; pixels are binned into at most 255 "
    "levels per feature, which makes it much faster at nearly the same accuracy."
)

CAVEATS = {
    "bernoulli": (
        "The Bernoulli likelihood scores a pixel value x in [0, 1] as x log p + (1 - x) log(1 - p). "
        "That is a probability only for pixels that are exactly 0 or 1; for grey values it is not a "
        "normalised density on [0, 1] (the continuous Bernoulli's normalising constant is missing), "
        "the article's admitted 'statistical crime'. So these 'log p(x)' numbers are not log "
        "densities: they rank images under this one model, but cannot be compared with numbers from "
        "another likelihood, and even a perfect reconstruction scores below 0 for grey pixels."
    ),
    "continuous-bernoulli": (
        "The continuous Bernoulli is a normalised density on [0, 1] per pixel (Loaiza-Ganem & "
        "Cunningham, 2019), so these are log densities in nats: they can be positive, and they "
        "compare with other normalised densities on the same [0, 1] pixel scale."
    ),
    "gaussian": (
        "The Gaussian likelihood is a normalised density on the real line per pixel, so it also puts "
        "mass outside [0, 1]; these are log densities in nats (they can be positive) and depend on "
        "the pixel scale ([0, 1] here)."
    ),
}
IWAE_NOTE = (
    "Both numbers are lower bounds on log p(x) in nats per image. The IWAE estimate with k samples "
    "(Burda et al., 2016) is at least the ELBO on average and tightens as k grows."
)

ARTICLE_CLASSIFIER = {
    "caption": "the article's gradient boosting on 200 held-out images (class 0 inflated by duplicates)",
    "row_percent": [[96.88, 0.0, 3.13], [4.00, 88.00, 8.00], [13.11, 6.56, 80.33]],
}
ARTICLE_RECONSTRUCTIONS = {
    "caption": "the article's 100 reconstructions per class, classified by its gradient boosting",
    "row_percent": [[76.0, 9.0, 17.0], [4.0, 92.0, 4.0], [11.0, 9.0, 80.0]],
}


def _report(progress: Optional[Progress], fraction: float, message: str) -> None:
    if progress is not None:
        progress(float(min(max(fraction, 0.0), 1.0)), message)


def weights_hash(bundle: Bundle) -> str:
    """SHA-256 (hex) of the bundle's weights file: identifies the exact model."""
    h = hashlib.sha256()
    with open(Path(bundle.path) / "weights.safetensors", "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _flat(images: np.ndarray) -> np.ndarray:
    x = np.asarray(images, dtype=np.float32)
    return x.reshape(len(x), -1)


# -- confusion matrices ---------------------------------------------------------------------------------
@dataclass
class Confusion:
    """A confusion matrix: rows are true classes, columns predicted classes.

    ``row_percent`` rows sum to 100; a class with no samples has a row of NaN and is listed in
    ``empty_rows``; its recall is NaN and it is left out of ``balanced_accuracy`` (the mean recall
    over the classes that have samples, as scikit-learn's ``balanced_accuracy_score``).
    """

    class_names: list[str]
    counts: np.ndarray  # (K, K) int64
    row_percent: np.ndarray  # (K, K) float64
    recall: dict[str, float]
    accuracy: float
    balanced_accuracy: float
    empty_rows: list[str]
    n: int
    title: str = ""

    @property
    def row_totals(self) -> np.ndarray:
        return self.counts.sum(axis=1)

    def to_dict(self) -> dict[str, Any]:
        def clean(v: float) -> float | None:
            return None if not np.isfinite(v) else float(v)

        return {"title": self.title, "class_names": self.class_names, "counts": self.counts.tolist(),
                "row_percent": [[clean(v) for v in row] for row in self.row_percent],
                "recall": {k: clean(v) for k, v in self.recall.items()}, "accuracy": clean(self.accuracy),
                "balanced_accuracy": clean(self.balanced_accuracy), "empty_rows": self.empty_rows, "n": self.n}

    def _cells(self) -> list[list[str]]:
        rows = []
        for i, name in enumerate(self.class_names):
            cells = [name]
            for j in range(len(self.class_names)):
                p = self.row_percent[i, j]
                cells.append("n/a" if not np.isfinite(p) else f"{p:.1f}% ({self.counts[i, j]})")
            r = self.recall[name]
            cells += [str(int(self.row_totals[i])), "n/a" if not np.isfinite(r) else f"{100 * r:.1f}%"]
            rows.append(cells)
        return rows

    def _footer(self) -> str:
        text = (f"accuracy {100 * self.accuracy:.1f}%, balanced accuracy {100 * self.balanced_accuracy:.1f}% "
                f"({self.n} images)") if self.n else "no images"
        if self.empty_rows:
            text += f"; no samples of {', '.join(self.empty_rows)} (rows shown as n/a)"
        return text

    def to_text(self) -> str:
        """A plain-text table: row percentages with counts, row totals and recall."""
        head = ["true \\ predicted", *self.class_names, "n", "recall"]
        rows = [head, *self._cells()]
        widths = [max(len(r[c]) for r in rows) for c in range(len(head))]
        lines = ["  ".join(cell.ljust(w) if c == 0 else cell.rjust(w) for c, (cell, w) in enumerate(zip(r, widths)))
                 for r in rows]
        title = [self.title] if self.title else []
        return "\n".join(title + lines + [self._footer()])

    def to_markdown(self) -> str:
        head = ["true \\ predicted", *self.class_names, "n", "recall"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in self._cells()]
        title = [f"**{self.title}**", ""] if self.title else []
        return "\n".join(title + lines + ["", self._footer()])


def confusion(y_true: Sequence[int], y_pred: Sequence[int], class_names: Sequence[str], title: str = "") -> Confusion:
    """The confusion matrix of integer labels ``y_true`` vs ``y_pred`` (both in 0..K-1)."""
    names = [str(c) for c in class_names]
    k = len(names)
    t = np.asarray(y_true, dtype=np.int64).ravel()
    p = np.asarray(y_pred, dtype=np.int64).ravel()
    if len(t) != len(p):
        raise ValueError(f"{len(t)} true labels but {len(p)} predictions.")
    for what, a in (("true labels", t), ("predictions", p)):
        if len(a) and (a.min() < 0 or a.max() >= k):
            raise ValueError(f"{what} must lie in 0..{k - 1} (one per class name), got {a.min()}..{a.max()}.")
    counts = np.zeros((k, k), dtype=np.int64)
    np.add.at(counts, (t, p), 1)
    totals = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        row_percent = np.where(totals[:, None] > 0, 100.0 * counts / totals[:, None], np.nan)
        recall_arr = np.where(totals > 0, np.diag(counts) / np.maximum(totals, 1), np.nan)
    present = totals > 0
    return Confusion(
        class_names=names, counts=counts, row_percent=row_percent,
        recall={n: float(r) for n, r in zip(names, recall_arr)},
        accuracy=float(np.trace(counts) / len(t)) if len(t) else float("nan"),
        balanced_accuracy=float(recall_arr[present].mean()) if present.any() else float("nan"),
        empty_rows=[n for n, ok in zip(names, present) if not ok], n=int(len(t)), title=title,
    )


# -- the pixel classifier ---------------------------------------------------------------------------------
@dataclass
class FittedClassifier:
    """A gradient-boosting pixel classifier fitted on a bundle's training split (see :data:`CLASSIFIER_NOTE`)."""

    model: Any  # sklearn HistGradientBoostingClassifier
    train_index: np.ndarray  # the bundle images it was fitted on (training split only)
    class_names: list[str]
    seed: int
    seconds: float
    dropped_duplicates: int = 0  # training images left out because a held-out image has the same pixels
    n_threads: Optional[int] = 1  # OpenMP threads for fit and predict (None: no cap)
    note: str = CLASSIFIER_NOTE

    def _limits(self):
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=self.n_threads, user_api="openmp")

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Class indices for float images (N, C, H, W) in [0, 1]."""
        if len(images) == 0:
            return np.zeros(0, dtype=np.int64)
        with self._limits():
            return np.asarray(self.model.predict(_flat(images)), dtype=np.int64)

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities (N, K), columns in class-index order (absent classes get 0)."""
        with self._limits():
            proba = self.model.predict_proba(_flat(images))
        out = np.zeros((len(images), len(self.class_names)))
        out[:, np.asarray(self.model.classes_, dtype=np.int64)] = proba
        return out


def _held_out_index(bundle: Bundle) -> np.ndarray:
    return np.sort(np.concatenate([bundle.split_index("val"), bundle.split_index("test")]))


def fit_classifier(bundle: Bundle, seed: int = 0, max_iter: int = 100,
                   n_threads: Optional[int] = 1) -> FittedClassifier:
    """Fit the pixel classifier on the bundle's training split only.

    The training indices come from the bundle's stored split (``latents.npz`` split codes, checked
    against ``bundle.json``); validation and test images can never reach it, and training images
    whose 8-bit pixels equal a held-out image's are left out too (the article's duplicate flaw).

    ``n_threads`` caps scikit-learn's OpenMP threads (None: no cap). One thread is the default: on a
    few thousand images threads gain little, and on a shared 2-core machine OpenMP's busy-waiting
    made 2 threads 5x slower than 1 (800 images of 28x28x3: 9 s with 1 thread, 45 s with 2).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    train = bundle.split_index("train")
    held = _held_out_index(bundle)
    stored = bundle.meta.get("split")
    if isinstance(stored, dict) and "train" in stored:
        if not np.array_equal(np.sort(np.asarray(stored["train"], dtype=np.int64)), train):
            raise BundleError(f"{bundle.path}: the training split in bundle.json and latents.npz disagree.")
    if len(train) == 0:
        raise BundleError(f"{bundle.path}: the bundle has no training images to fit a classifier on.")
    # duplicates: a training image with the exact pixels of a held-out image would leak it
    q = np.round(bundle.images * 255).astype(np.uint8).reshape(len(bundle.images), -1)
    held_digests = {hashlib.blake2b(q[i].tobytes(), digest_size=16).digest() for i in held}
    keep = np.array([hashlib.blake2b(q[i].tobytes(), digest_size=16).digest() not in held_digests for i in train],
                    dtype=bool)
    dropped = int((~keep).sum())
    train = train[keep]
    if np.intersect1d(train, held).size:  # cannot happen; a guard against future edits
        raise RuntimeError("a validation or test image reached the classifier's training set.")
    y = bundle.labels[train]
    if len(np.unique(y)) < 2:
        raise BundleError(f"{bundle.path}: the training split holds only one class; a classifier needs two.")
    t0 = time.perf_counter()
    clf = HistGradientBoostingClassifier(max_iter=max_iter, early_stopping=False, random_state=seed)
    with threadpool_limits(limits=n_threads, user_api="openmp"):
        clf.fit(_flat(bundle.images[train]), y)
    return FittedClassifier(model=clf, train_index=train.copy(), class_names=bundle.class_names, seed=seed,
                            seconds=time.perf_counter() - t0, dropped_duplicates=dropped, n_threads=n_threads)


def held_out_confusion(bundle: Bundle, clf: FittedClassifier, split: str = "test") -> Confusion:
    """The classifier's confusion matrix on a held-out split of the bundle's own images."""
    if split == "train":
        raise ValueError("the classifier was fitted on the training split; evaluate it on 'val' or 'test'.")
    idx = bundle.split_index(split)
    if np.intersect1d(idx, clf.train_index).size:
        raise RuntimeError(f"{split} images overlap the classifier's training images.")
    return confusion(bundle.labels[idx], clf.predict(bundle.images[idx]), bundle.class_names,
                     title=f"Pixel classifier on the {len(idx)} {split} images")



# -- reconstructions and prior samples classified ------------------------------------------------------------
@dataclass
class ReconstructionCheck:
    """Held-out images per class decoded from posterior draws, and what the classifier calls them."""

    confusion: Confusion
    index: np.ndarray  # (per_class * K_present,) the bundle images used, class by class
    labels: np.ndarray  # their true classes
    predicted: np.ndarray
    reconstructions: np.ndarray  # (M, C, H, W) float
    distinct: dict[str, int]  # distinct held-out images per class (fewer than per_class: drawn with replacement)
    per_class: int
    posterior: str  # how the codes were drawn


@torch.no_grad()
def posterior_codes(bundle: Bundle, index: np.ndarray, seed: int = 0) -> np.ndarray:
    """One code per image: ``mu + sigma * eps`` for a VAE (q(z|x)), the code itself for the others."""
    mu = bundle.mu[index].astype(np.float32)
    logvar = bundle.latents.get("logvar")
    if not bundle.model.stochastic or logvar is None:
        return mu
    g = torch.Generator().manual_seed(seed)
    eps = torch.randn(mu.shape, generator=g).numpy()
    return (mu + np.exp(0.5 * logvar[index].astype(np.float32)) * eps).astype(np.float32)


def reconstruction_check(bundle: Bundle, clf: FittedClassifier, per_class: int = 100, seed: int = 0,
                         split: str = "test") -> ReconstructionCheck:
    """The article's test: ``per_class`` held-out images of each class, decoded from a posterior draw
    and classified. A class with fewer held-out images than ``per_class`` uses each of them once and
    draws the rest with replacement (``distinct`` records how many were different)."""
    if per_class < 1:
        raise ValueError(f"per_class must be at least 1, got {per_class}.")
    rng = np.random.default_rng(seed)
    held = bundle.split_index(split)
    chosen, distinct = [], {}
    for c, name in enumerate(bundle.class_names):
        pool = held[bundle.labels[held] == c]
        distinct[name] = int(min(len(pool), per_class))
        if len(pool) == 0:
            continue
        if len(pool) >= per_class:
            pick = rng.choice(pool, per_class, replace=False)
        else:
            pick = np.concatenate([rng.permutation(pool), rng.choice(pool, per_class - len(pool), replace=True)])
        chosen.append(pick)
    index = np.concatenate(chosen) if chosen else np.zeros(0, np.int64)
    z = posterior_codes(bundle, index, seed)
    recon = bundle.decode(z) if len(index) else np.zeros((0, *bundle.input_shape), np.float32)
    predicted = clf.predict(recon)
    labels = bundle.labels[index]
    kind = "z = mu + sigma * eps from q(z|x)" if bundle.model.stochastic else "z = the encoder's code"
    conf = confusion(labels, predicted, bundle.class_names,
                     title=f"Pixel classifier on reconstructions of {per_class} {split} images per class")
    return ReconstructionCheck(conf, index, labels, predicted, recon, distinct, per_class, kind)


def prior_class_mix(bundle: Bundle, clf: FittedClassifier, n: int = 300, seed: int = 0) -> dict[str, Any]:
    """Classify ``n`` images decoded from the model's prior (``bundle.sample``).

    Returns ``counts`` and ``percent`` per class (what the classifier calls them), the training
    split's class ``train_percent`` for comparison, and the ``images``.
    """
    images = bundle.sample(n, seed=seed)
    pred = clf.predict(images)
    k = len(bundle.class_names)
    counts = np.bincount(pred, minlength=k)
    train_counts = np.bincount(bundle.labels[bundle.split_index("train")], minlength=k)
    return {
        "n": int(n), "seed": int(seed), "images": images, "predicted": pred,
        "counts": {c: int(v) for c, v in zip(bundle.class_names, counts)},
        "percent": {c: 100.0 * float(v) / max(n, 1) for c, v in zip(bundle.class_names, counts)},
        "train_percent": {c: 100.0 * float(v) / max(train_counts.sum(), 1)
                          for c, v in zip(bundle.class_names, train_counts)},
    }


# -- likelihood ---------------------------------------------------------------------------------------
@dataclass
class Scores:
    """Per-image ELBO and IWAE log p(x) (nats) for every image of a bundle, in bundle order."""

    elbo: np.ndarray
    iwae: np.ndarray
    k: int
    seed: int
    batch_size: int
    weights_sha256: str
    likelihood: str
    seconds: float
    labels: np.ndarray = field(repr=False)
    split: np.ndarray = field(repr=False)
    class_names: list[str] = field(default_factory=list)
    from_cache: bool = False

    @property
    def caveat(self) -> str:
        return CAVEATS.get(self.likelihood, f"Likelihood {self.likelihood!r}: see its documentation.") + " " + IWAE_NOTE

    def summary(self) -> list[dict[str, Any]]:
        """Rows of (split, class, n, mean/median/std IWAE, mean ELBO, mean gap IWAE - ELBO); class 'all' too."""
        rows = []
        for s, sname in enumerate(SPLIT_NAMES):
            in_split = self.split == s
            for c, cname in [*enumerate(self.class_names), (-1, "all")]:
                sel = in_split & ((self.labels == c) if c >= 0 else True)
                n = int(sel.sum())
                if n == 0:
                    continue
                iw, el = self.iwae[sel], self.elbo[sel]
                rows.append({"split": sname, "class": cname, "n": n, "iwae_mean": float(iw.mean()),
                             "iwae_median": float(np.median(iw)), "iwae_std": float(iw.std()),
                             "elbo_mean": float(el.mean()), "gap_mean": float((iw - el).mean())})
        return rows

    def percentiles(self, value: float, split: str = "test") -> dict[str, float]:
        """Where ``value`` (an IWAE log p(x)) ranks among the ``split`` images of each class, in percent
        (ties count half); key ``"all"`` ranks it among all of them. NaN for a class with none."""
        out = {}
        in_split = self.split == SPLIT_NAMES.index(split)
        for c, cname in [*enumerate(self.class_names), (-1, "all")]:
            ref = self.iwae[in_split & ((self.labels == c) if c >= 0 else True)]
            out[cname] = (100.0 * (float((ref < value).sum()) + 0.5 * float((ref == value).sum())) / len(ref)
                          if len(ref) else float("nan"))
        return out


def likelihood_unavailable(bundle: Bundle) -> Optional[str]:
    """Why a bundle has no log-likelihood (None when it has one: a VAE)."""
    if hasattr(bundle.model, "log_likelihood") and bundle.model.stochastic:
        return None
    return (f"{bundle.name} is a {bundle.model.kind} model: it has no encoder distribution q(z|x) and no prior "
            "p(z) of its own, so it gives no ELBO or log p(x); train a VAE (--model vae) to score images.")


@torch.no_grad()
def _compute(model, images: np.ndarray, k: int, seed: int, batch_size: int,
             progress: Optional[Progress]) -> tuple[np.ndarray, np.ndarray]:
    dev = model.prior_mean.device
    g = torch.Generator(device=dev).manual_seed(int(seed))
    elbos, iwaes = [], []
    n = len(images)
    for i in range(0, n, batch_size):
        x = torch.from_numpy(np.ascontiguousarray(images[i:i + batch_size], dtype=np.float32)).to(dev)
        e, w = model.log_likelihood(x, k=k, generator=g)
        elbos.append(e.double().cpu().numpy())
        iwaes.append(w.double().cpu().numpy())
        _report(progress, min(i + batch_size, n) / n, f"log p(x): {min(i + batch_size, n)} of {n} images (k = {k})")
    return np.concatenate(elbos), np.concatenate(iwaes)


def _scores_key(k: int, seed: int, batch_size: int, wh: str, n: int, likelihood: str) -> dict[str, Any]:
    return {"version": SCORES_VERSION, "k": int(k), "seed": int(seed), "batch_size": int(batch_size),
            "weights_sha256": wh, "n": int(n), "likelihood": likelihood}


def load_scores(bundle: Bundle, k: Optional[int] = None, seed: Optional[int] = None,
                batch_size: Optional[int] = None) -> Optional[Scores]:
    """The scores cached in ``<bundle>/scores.npz``, or None when there are none, they belong to other
    weights (a retrained model), the file is unreadable, or ``k`` / ``seed`` / ``batch_size`` are given
    and differ."""
    file = Path(bundle.path) / SCORES_FILE
    if not file.is_file():
        return None
    try:
        with np.load(file, allow_pickle=False) as f:
            meta = json.loads(str(f["meta"][()]))
            elbo = np.asarray(f["elbo"], np.float64)
            iwae = np.asarray(f["iwae"], np.float64)
        n = len(bundle.labels)
        if meta.get("version") != SCORES_VERSION or meta.get("n") != n or elbo.shape != (n,) or iwae.shape != (n,):
            return None
        if meta.get("weights_sha256") != weights_hash(bundle):
            return None
        for name, want in (("k", k), ("seed", seed), ("batch_size", batch_size)):
            if want is not None and meta.get(name) != int(want):
                return None
    except Exception as e:  # a damaged file of any kind: recompute
        log.warning("ignoring the scores file %s: %s: %s", file, type(e).__name__, e)
        return None
    return Scores(elbo=elbo, iwae=iwae, k=int(meta["k"]), seed=int(meta["seed"]), batch_size=int(meta["batch_size"]),
                  weights_sha256=meta["weights_sha256"], likelihood=meta["likelihood"], seconds=float(meta["seconds"]),
                  labels=bundle.labels, split=bundle.split, class_names=bundle.class_names, from_cache=True)


def likelihood_scores(bundle: Bundle, k: int = 100, seed: int = 0, batch_size: int = 256,
                      progress: Optional[Progress] = None, cache: bool = True) -> Optional[Scores]:
    """Per-image ELBO and IWAE log p(x) with ``k`` importance samples for every image of a VAE bundle.

    Computed once and stored as ``<bundle>/scores.npz`` (atomic write); the file's key holds ``k``,
    ``seed``, ``batch_size`` and the SHA-256 of the weights, so other settings or a retrained model
    recompute. Not a VAE: returns None (:func:`likelihood_unavailable` says why). A folder that cannot
    be written to simply gets no cache. Read :attr:`Scores.caveat` before quoting the numbers.
    """
    if likelihood_unavailable(bundle) is not None:
        return None
    if int(k) < 1:
        raise ValueError(f"k (importance samples) must be at least 1, got {k}.")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    if cache:
        hit = load_scores(bundle, k=k, seed=seed, batch_size=batch_size)
        if hit is not None:
            _report(progress, 1.0, "log p(x): loaded from scores.npz")
            return hit
    wh = weights_hash(bundle)
    t0 = time.perf_counter()
    elbo, iwae = _compute(bundle.model, bundle.images, int(k), int(seed), int(batch_size), progress)
    seconds = time.perf_counter() - t0
    lik = bundle.model.likelihood.name
    scores = Scores(elbo=elbo, iwae=iwae, k=int(k), seed=int(seed), batch_size=int(batch_size), weights_sha256=wh,
                    likelihood=lik, seconds=seconds, labels=bundle.labels, split=bundle.split,
                    class_names=bundle.class_names)
    if cache:
        meta = {**_scores_key(k, seed, batch_size, wh, len(elbo), lik), "seconds": seconds}

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as fh:  # a file object: np.savez would add ".npz" to a path
                np.savez(fh, elbo=elbo, iwae=iwae, meta=np.array(json.dumps(meta)))

        try:
            atomic_write(Path(bundle.path) / SCORES_FILE, write)
        except OSError as e:
            log.warning("could not cache the scores in %s: %s", bundle.path, e)
    return scores


# -- scoring an upload ----------------------------------------------------------------------------------
def _match_channels(arr: np.ndarray, channels: int, notes: list[str], name: str) -> np.ndarray:
    """(H, W, c) -> (H, W, channels): grey copied to RGB, or RGB to grey by ITU-R 601 luma (Pillow's 'L')."""
    c = arr.shape[2]
    if c == channels:
        return arr
    if channels == 3:
        notes.append(f"{name}: grayscale image copied to the 3 colour channels the model takes")
        return np.repeat(arr, 3, axis=2)
    notes.append(f"{name}: colour image converted to grayscale (the model takes 1 channel)")
    return (arr @ np.array([0.299, 0.587, 0.114], np.float32))[:, :, None]


def decode_upload(bundle: Bundle, data: bytes, filename: str, max_bytes: int = MAX_UPLOAD_BYTES,
                  max_pixels: int = UPLOAD_MAX_PIXELS) -> tuple[np.ndarray, list[str]]:
    """An uploaded file's bytes as the float image (C, H, W) the bundle's model takes, and notes.

    Checks, each failing with a :class:`DataError` that names the file: at most ``max_bytes``, not
    empty, a real image Pillow recognises, at most ``max_pixels`` pixels (read from the header,
    before decoding), decodes completely. Decoding, resizing and cropping are the folder loader's.
    """
    from explorer.data.folders import decode_image_bytes

    name = str(filename) or "upload"
    if data is None or len(data) == 0:
        raise DataError(f"{name}: cannot be used: the file is empty (0 bytes).")
    if len(data) > max_bytes:
        raise DataError(f"{name}: cannot be used: it is {len(data) / 2**20:.1f} MB, over the upload limit of "
                        f"{max_bytes / 2**20:.0f} MB.")
    c, h, w = bundle.input_shape
    if h != w:
        raise BundleError(f"{bundle.name} takes {h} x {w} images; uploads are resized to squares only.")
    arr, notes = decode_image_bytes(data, name, h, max_pixels=max_pixels)
    arr = _match_channels(arr, c, notes, name)
    return np.ascontiguousarray(arr.transpose(2, 0, 1), dtype=np.float32), notes


@torch.no_grad()
def score_image(bundle: Bundle, data: bytes, filename: str, scores: Optional[Scores], k: Optional[int] = None,
                seed: int = 0) -> dict[str, Any]:
    """Score an uploaded image under the bundle's model.

    Returns a dict with ``image`` (C, H, W) as the model sees it, ``reconstruction``, ``code`` (the
    code mean) and ``logvar`` (VAE), ``elbo`` and ``iwae`` (log p(x) estimate with ``k`` samples; None
    without a likelihood, ``reason`` then says why), ``percentiles`` (of ``iwae`` among the held-out
    test images of each class and ``"all"``, from ``scores``), ``neighbours`` (indices of the
    :data:`N_NEIGHBOURS` nearest bundle images in latent space), their ``neighbour_distances``,
    ``neighbour_labels`` and ``neighbour_splits``, ``k``, ``caveat`` and ``notes``. ``k`` defaults
    to the ``scores``' k, so the upload and the reference images are scored alike.
    """
    x, notes = decode_upload(bundle, data, filename)
    model = bundle.model
    dev = model.prior_mean.device
    xt = torch.from_numpy(x[None]).to(dev)
    mu_t, logvar_t = model.encode(xt)
    mu = mu_t[0].cpu().numpy()
    out: dict[str, Any] = {
        "filename": str(filename), "image": x, "code": mu,
        "logvar": None if logvar_t is None else logvar_t[0].cpu().numpy(),
        "reconstruction": model.decode(mu_t)[0].cpu().numpy(), "notes": notes,
        "elbo": None, "iwae": None, "k": None, "percentiles": None, "caveat": None, "reason": None,
    }
    d = np.linalg.norm(bundle.mu.astype(np.float64) - mu.astype(np.float64), axis=1)
    nn = np.argsort(d, kind="stable")[:N_NEIGHBOURS]
    out.update(neighbours=nn, neighbour_distances=d[nn], neighbour_labels=bundle.labels[nn],
               neighbour_splits=bundle.split[nn])
    reason = likelihood_unavailable(bundle)
    if reason is not None:
        out["reason"] = reason
        return out
    k = int(k if k is not None else (scores.k if scores is not None else 100))
    if scores is not None and scores.k != k:
        notes.append(f"the upload is scored with k = {k} but the reference images with k = {scores.k}; "
                     "percentiles compare slightly different estimates")
    g = torch.Generator(device=dev).manual_seed(int(seed))
    elbo, iwae = model.log_likelihood(xt, k=k, generator=g)
    out.update(elbo=float(elbo[0]), iwae=float(iwae[0]), k=k,
               caveat=CAVEATS.get(model.likelihood.name, "") + " " + IWAE_NOTE)
    if scores is not None:
        out["percentiles"] = scores.percentiles(out["iwae"], split="test")
    return out


# -- projection trust -----------------------------------------------------------------------------------
def projection_trust(latents: np.ndarray, embedding: np.ndarray, labels: np.ndarray, k: int = 10,
                     sample: int = 2000, seed: int = 0) -> dict[str, Any]:
    """How far a 2-D map can be trusted, on a random subsample of ``sample`` points.

    * ``trustworthiness`` (scikit-learn, in [0, 1]): 1 when no point's map neighbours are strangers
      in the latent space;
    * ``neighbour_preservation``: the mean fraction of each point's ``k`` latent neighbours that are
      among its ``k`` map neighbours (1 = all kept);
    * ``knn_accuracy_map`` / ``knn_accuracy_latent``: cross-validated accuracy of a ``k``-nearest-
      neighbour class vote on the map and in the latent space (how much class structure the map loses).
    """
    from sklearn.manifold import trustworthiness
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

    z = np.asarray(latents, dtype=np.float64)
    e = np.asarray(embedding, dtype=np.float64)
    y = np.asarray(labels)
    if z.ndim != 2 or e.ndim != 2 or len(z) != len(e) or len(y) != len(z):
        raise ValueError(f"latents {z.shape}, embedding {e.shape} and labels {y.shape} must have the same rows.")
    n_all = len(z)
    idx = np.arange(n_all)
    if n_all > sample:
        idx = np.sort(np.random.default_rng(seed).choice(n_all, sample, replace=False))
    z, e, y = z[idx], e[idx], y[idx]
    n = len(z)
    kk = int(min(k, (n - 1) // 2))  # trustworthiness needs k < n / 2
    if kk < 1:
        raise ValueError(f"need at least 3 points to measure a projection, got {n}.")
    trust = float(trustworthiness(z, e, n_neighbors=kk))
    nz = NearestNeighbors(n_neighbors=kk).fit(z).kneighbors(return_distance=False)  # excludes each point itself
    ne = NearestNeighbors(n_neighbors=kk).fit(e).kneighbors(return_distance=False)
    keep = float(np.mean([len(np.intersect1d(a, b)) / kk for a, b in zip(nz, ne)]))
    _, counts = np.unique(y, return_counts=True)
    folds = int(min(5, counts.min())) if len(counts) > 1 else 0
    if folds >= 2:
        cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        knn = KNeighborsClassifier(n_neighbors=min(kk, max(1, int(n * (folds - 1) / folds) - 1)))
        acc_map = float(cross_val_score(knn, e, y, cv=cv).mean())
        acc_lat = float(cross_val_score(knn, z, y, cv=cv).mean())
    else:
        acc_map = acc_lat = float("nan")
    return {"trustworthiness": trust, "neighbour_preservation": keep, "knn_accuracy_map": acc_map,
            "knn_accuracy_latent": acc_lat, "k": kk, "n": n, "n_total": n_all, "folds": folds, "seed": seed}


# -- everything at once ---------------------------------------------------------------------------------
@dataclass
class Evaluation:
    """All checks of one bundle (what the report shows and a UI page can reuse)."""

    bundle_name: str
    weights_sha256: str
    seed: int
    classifier: FittedClassifier
    test: Confusion
    reconstructions: ReconstructionCheck
    prior: dict[str, Any]
    scores: Optional[Scores]
    no_likelihood: Optional[str]
    projection: Any  # explorer.projection.Projection
    trust: dict[str, Any]
    seconds: dict[str, float]


def evaluate_bundle(bundle: Bundle, seed: int = 0, k: int = 100, per_class: int = 100, n_prior: int = 300,
                    method: str = "pca", progress: Optional[Progress] = None) -> Evaluation:
    """Run every check on ``bundle`` with one seed; long steps report through ``progress``."""
    from explorer.projection import cached_projection

    seconds: dict[str, float] = {}

    def step(name: str, fraction: float, fn):
        _report(progress, fraction, name)
        t0 = time.perf_counter()
        out = fn()
        seconds[name] = time.perf_counter() - t0
        return out

    clf = step("classifier", 0.0, lambda: fit_classifier(bundle, seed=seed))
    test = step("test confusion", 0.15, lambda: held_out_confusion(bundle, clf))
    recon = step("reconstructions", 0.2, lambda: reconstruction_check(bundle, clf, per_class=per_class, seed=seed))
    prior = step("prior samples", 0.25, lambda: prior_class_mix(bundle, clf, n=n_prior, seed=seed))

    def sub(fraction: float, message: str) -> None:
        _report(progress, 0.3 + 0.6 * fraction, message)

    scores = step("likelihood", 0.3, lambda: likelihood_scores(bundle, k=k, seed=seed, progress=sub))
    proj = step("projection", 0.9, lambda: cached_projection(bundle.path, bundle.mu, method, seed=seed))
    trust = step("projection trust", 0.95,
                 lambda: projection_trust(bundle.mu, proj.embedding, bundle.labels, seed=seed))
    _report(progress, 1.0, "done")
    return Evaluation(bundle_name=bundle.name, weights_sha256=weights_hash(bundle), seed=seed, classifier=clf,
                      test=test, reconstructions=recon, prior=prior, scores=scores,
                      no_likelihood=likelihood_unavailable(bundle), projection=proj, trust=trust, seconds=seconds)
