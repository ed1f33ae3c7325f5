import numpy as np
import pytest

from explorer.data.split import oversample, split_codes, stratified_split
from explorer.errors import DataError


def test_splits_are_disjoint_cover_everything_and_keep_every_class():
    labels = np.array([0] * 20 + [1] * 100 + [2] * 7)
    s = stratified_split(labels, seed=3)
    all_idx = np.concatenate([s["train"], s["val"], s["test"]])
    assert len(all_idx) == len(labels) == len(set(all_idx.tolist()))
    for name in ("train", "val", "test"):
        assert set(labels[s[name]]) == {0, 1, 2}
    assert abs(len(s["test"]) - 0.1 * len(labels)) <= 3
    assert stratified_split(labels, seed=3)["test"].tolist() == s["test"].tolist()
    assert stratified_split(labels, seed=4)["test"].tolist() != s["test"].tolist()


def test_oversampling_stays_inside_the_training_split_and_balances_classes():
    labels = np.array([0] * 30 + [1] * 300 + [2] * 300)
    s = stratified_split(labels, seed=0)
    balanced = oversample(s["train"], labels, seed=0)
    assert set(balanced.tolist()) <= set(s["train"].tolist())
    assert not set(balanced.tolist()) & (set(s["val"].tolist()) | set(s["test"].tolist()))
    counts = np.bincount(labels[balanced])
    assert counts.min() == counts.max()
    codes = split_codes(len(labels), s)
    assert (codes[balanced] == 0).all()


def test_duplicate_images_cannot_reach_two_splits(blobs):
    from explorer.data.imageset import ImageSet

    doubled = ImageSet(np.concatenate([blobs.images, blobs.images[:10]]),
                       np.concatenate([blobs.labels, blobs.labels[:10]]), blobs.class_names,
                       blobs.ids + [f"copy:{i}" for i in range(10)], "doubled")
    clean = doubled.without_duplicates()
    assert len(clean) == len(blobs)
    assert "dropped 10 duplicate" in clean.warnings[0]
    s = stratified_split(clean.labels)
    flat = clean.as_uint8().reshape(len(clean), -1)
    seen = {flat[i].tobytes() for i in s["train"]}
    assert not any(flat[i].tobytes() in seen for i in np.concatenate([s["val"], s["test"]]))


def test_bad_split_requests_are_refused():
    with pytest.raises(DataError, match="sum to 1"):
        stratified_split(np.zeros(10), fractions=(0.5, 0.2, 0.2))
    with pytest.raises(DataError, match="at least 3 images"):
        stratified_split(np.zeros(2))
