"""Tests of the synthetic two-marker fluorescence cell generator."""

import numpy as np
import pytest

from explorer.data.cells import CLASS_NAMES, make_cells
from explorer.data.imageset import ImageSet
from explorer.errors import DataError


@pytest.fixture(scope="module")
def thousand() -> ImageSet:
    return make_cells(1000, seed=0)


def test_shapes_dtypes_and_metadata():
    s = make_cells(12, seed=5)
    assert isinstance(s, ImageSet)
    assert s.images.shape == (12, 3, 28, 28)
    assert s.images.dtype == np.float32
    assert s.labels.dtype == np.int64
    assert s.labels.shape == (12,)
    assert s.class_names == CLASS_NAMES
    assert s.ids == [f"cells:{i:06d}" for i in range(12)]
    assert s.ids[3] == "cells:000003"
    assert s.source == "cells(n=12, size=28, seed=5)"


def test_values_lie_in_unit_range_on_uint8_steps(thousand):
    images = thousand.images
    assert images.min() >= 0.0 and images.max() <= 1.0
    steps = images * 255
    assert np.array_equal(steps, np.round(steps))
    # Storing as uint8 and reading back gives the very same floats.
    assert np.array_equal(thousand.as_uint8().astype(np.float32) / np.float32(255), images)
    # Not degenerate: dark background, bright cells, some saturation is fine but rare.
    assert np.median(images) < 0.15
    assert images.max(axis=(1, 2, 3)).mean() > 0.4
    assert (images == 1.0).mean() < 0.01


def test_blue_channel_is_faint_but_not_zero(thousand):
    red, green, blue = (thousand.images[:, c].mean() for c in range(3))
    assert blue > 0.01
    assert blue < 0.5 * min(red, green)


def test_same_call_gives_identical_arrays():
    a = make_cells(40, seed=3)
    b = make_cells(40, seed=3)
    assert np.array_equal(a.images, b.images)
    assert np.array_equal(a.labels, b.labels)
    assert a.content_hash() == b.content_hash()


def test_image_i_does_not_depend_on_n():
    short = make_cells(50, seed=7)
    long = make_cells(100, seed=7)
    assert np.array_equal(long.images[:50], short.images)
    assert np.array_equal(long.labels[:50], short.labels)
    assert long.ids[:50] == short.ids
    assert np.array_equal(make_cells(1, seed=7).images[0], short.images[0])


def test_different_seeds_differ():
    a = make_cells(30, seed=0)
    b = make_cells(30, seed=1)
    assert np.abs(a.images - b.images).mean() > 0.02
    assert not np.array_equal(a.labels, b.labels)
    # Neighbouring images of one set differ as well.
    assert np.abs(a.images[0] - a.images[1]).mean() > 0.02


def test_class_zero_is_rarest_and_fractions_are_followed(thousand):
    counts = np.bincount(thousand.labels, minlength=3)
    assert counts[0] < counts[1] and counts[0] < counts[2]
    assert np.allclose(counts / counts.sum(), [0.2, 0.4, 0.4], atol=0.05)
    only_green = make_cells(40, class_fractions=(0, 1, 0))
    assert (only_green.labels == 1).all()
    skewed = make_cells(400, class_fractions=(8, 1, 1))
    assert (skewed.labels == 0).mean() > 0.7


def test_class_colours(thousand):
    means = np.array([thousand.images[thousand.labels == c].mean(axis=(0, 2, 3)) for c in range(3)])
    red, green = means[:, 0], means[:, 1]
    assert red[0] > 1.4 * green[0]  # CP-13: red
    assert green[1] > 1.4 * red[1]  # aCasp-6: green
    # Both markers: each channel clearly above what the single-marker class shows there.
    assert red[2] > 1.3 * red[1]
    assert green[2] > 1.3 * green[0]
    assert 0.7 < red[2] / green[2] < 1.5


def test_classes_overlap_but_are_learnable(thousand):
    from sklearn.linear_model import LogisticRegression

    n_train, n_test = 450, 150
    small = thousand.images[: n_train + n_test].reshape(-1, 3, 14, 2, 14, 2).mean(axis=(3, 5))
    x = small.reshape(len(small), -1)
    y = thousand.labels[: n_train + n_test]
    model = LogisticRegression(C=0.05, max_iter=300).fit(x[:n_train], y[:n_train])
    accuracy = (model.predict(x[n_train:]) == y[n_train:]).mean()
    chance = np.bincount(y[n_train:]).max() / n_test
    assert accuracy > chance + 0.2
    assert accuracy < 0.99


def test_other_sizes_render_the_same_scene():
    small = make_cells(24, size=28, seed=2)
    big = make_cells(24, size=64, seed=2)
    assert big.images.shape == (24, 3, 64, 64)
    assert big.source == "cells(n=24, size=64, seed=2)"
    assert np.array_equal(big.labels, small.labels)
    # The same cell drawn at a finer grid: per-image channel means agree closely.
    m_small = small.images.mean(axis=(2, 3)).ravel()
    m_big = big.images.mean(axis=(2, 3)).ravel()
    assert np.corrcoef(m_small, m_big)[0, 1] > 0.95
    tiny = make_cells(3, size=16)
    assert tiny.images.shape == (3, 3, 16, 16)


@pytest.mark.parametrize(
    "kwargs",
    [dict(n=0), dict(size=8), dict(size=200), dict(class_fractions=(1, 1)),
     dict(class_fractions=(0, 0, 0)), dict(class_fractions=(-1, 1, 1)), dict(seed=-1),
     dict(seed=1.5)],
)
def test_bad_arguments_raise_data_error(kwargs):
    with pytest.raises(DataError):
        make_cells(**kwargs)
