"""Stratified train / validation / test splits and oversampling inside the training split."""

from __future__ import annotations

import numpy as np

from explorer.errors import DataError

SPLITS = ("train", "val", "test")


def stratified_split(
    labels: np.ndarray, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1), seed: int = 0
) -> dict[str, np.ndarray]:
    """Split indices ``0..N-1`` into disjoint train / val / test sets, class by class.

    Every class with at least three images puts at least one in each split, so that held-out
    metrics exist for every class. Returns sorted index arrays.
    """
    labels = np.asarray(labels)
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != 3 or min(fractions) < 0 or not np.isclose(sum(fractions), 1.0):
        raise DataError(f"split fractions must be three non-negative numbers that sum to 1, got {fractions}.")
    if len(labels) < 3:
        raise DataError(f"need at least 3 images to make a train / validation / test split, got {len(labels)}.")
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {s: [] for s in SPLITS}
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n = len(idx)
        n_val = int(round(fractions[1] * n))
        n_test = int(round(fractions[2] * n))
        if n >= 3:
            n_val = max(n_val, 1 if fractions[1] > 0 else 0)
            n_test = max(n_test, 1 if fractions[2] > 0 else 0)
        n_train = n - n_val - n_test
        parts["train"].append(idx[:n_train])
        parts["val"].append(idx[n_train:n_train + n_val])
        parts["test"].append(idx[n_train + n_val:])
    out = {s: np.sort(np.concatenate(p)).astype(np.int64) for s, p in parts.items()}
    if len(out["train"]) == 0:
        raise DataError("the training split is empty; use more images or a larger training fraction.")
    return out


def split_codes(n: int, split: dict[str, np.ndarray]) -> np.ndarray:
    """Per-image split as small ints (0 train, 1 val, 2 test), the form stored with latents."""
    codes = np.full(n, -1, dtype=np.int8)
    for k, name in enumerate(SPLITS):
        codes[split[name]] = k
    return codes


def oversample(train_index: np.ndarray, labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """Repeat training images of rare classes until every class is as frequent as the largest.

    Takes and returns indices of the training split only, so repeats can never reach validation
    or test (the reference article duplicated images before splitting; this cannot).
    """
    train_index = np.asarray(train_index, dtype=np.int64)
    y = np.asarray(labels)[train_index]
    classes, counts = np.unique(y, return_counts=True)
    target = counts.max()
    rng = np.random.default_rng(seed)
    extra = [
        rng.choice(train_index[y == c], size=target - n, replace=True)
        for c, n in zip(classes, counts) if n < target
    ]
    return np.sort(np.concatenate([train_index, *extra])) if extra else train_index
