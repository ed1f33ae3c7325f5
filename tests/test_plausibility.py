"""Tests for per-frame plausibility (explorer.plausibility)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import norm

from explorer.bundle import load_bundle
from explorer.paths import loop_path
from explorer.plausibility import (Calibration, attribute_vector, calibrate, frame_plausibility, log_prior,
                                   move_along, roundtrip_error, summarise)


@pytest.fixture(scope="module")
def bundle(tiny_bundle):
    return load_bundle(tiny_bundle)


@pytest.fixture(scope="module")
def cal(bundle):
    return calibrate(bundle)


def outward_path(bundle, cal, n=30):
    """From the training code with the best round trip straight out to 10x the largest code norm."""
    train = bundle.split_index("train")
    start_index = train[np.argmin(cal.train_roundtrip)]
    z0 = bundle.mu[start_index].astype(np.float64)
    far = z0 / np.linalg.norm(z0) * 10 * np.linalg.norm(bundle.mu, axis=1).max()
    t = np.linspace(0, 1, n)[:, None]
    return z0 + t * (far - z0), start_index


def test_frames_far_from_the_data_are_flagged(bundle, cal):
    frames, start_index = outward_path(bundle, cal)
    p = frame_plausibility(bundle, frames, calibration=cal)
    assert len(p) == len(frames)
    assert not p.flags[0] and p.criterion[0] == ""
    assert p.flags[-5:].all() and p.flag_nn[-5:].all()
    assert p.nn_distance[0] == pytest.approx(0, abs=1e-6) and p.nn_index[0] == start_index
    assert np.all(np.diff(p.log_prior) < 0)  # leaving the prior's centre, radially
    assert np.all(p.roundtrip >= 0)
    assert p.nn_distance[-1] > p.nn_distance[0]
    assert set(p.criterion) <= {"", "nn_distance", "roundtrip", "both"}
    np.testing.assert_array_equal(p.flags, p.flag_nn | p.flag_roundtrip)
    np.testing.assert_array_equal(p.criterion == "both", p.flag_nn & p.flag_roundtrip)
    assert p.thresholds == cal.thresholds


def test_thresholds_come_from_held_out_and_training_data(bundle, cal):
    train = bundle.split_index("train")
    held = np.concatenate([bundle.split_index("val"), bundle.split_index("test")])
    assert len(held) > 0
    d = np.linalg.norm(bundle.mu[held][:, None, :].astype(np.float64) - bundle.mu[train][None], axis=2).min(1)
    assert cal.nn_threshold == pytest.approx(np.percentile(d, 99))
    z = bundle.mu[train].astype(np.float64)
    with torch.no_grad():
        x = bundle.model.decode(torch.from_numpy(z).float())
        back = bundle.model.encode(x)[0].double().numpy()
    rt = np.linalg.norm(back - z, axis=1)
    assert cal.roundtrip_threshold == pytest.approx(np.percentile(rt, 99), rel=1e-4)
    np.testing.assert_allclose(roundtrip_error(bundle, z), rt, rtol=1e-4, atol=1e-6)
    assert cal.notes == []


def test_nearest_training_code(bundle, cal):
    train = bundle.split_index("train")
    test = bundle.split_index("test")
    frames = bundle.mu[np.concatenate([train[:3], test[:3]])]
    p = frame_plausibility(bundle, frames, calibration=cal)
    np.testing.assert_array_equal(p.nn_index[:3], train[:3])
    assert np.all(np.isin(p.nn_index, train))  # only training codes count
    np.testing.assert_allclose(p.nn_distance, np.linalg.norm(frames - bundle.mu[p.nn_index], axis=1), atol=1e-6)
    # explicit training codes: nn_index is the row
    p2 = frame_plausibility(bundle, frames, train_codes=bundle.mu[train[::-1]], calibration=cal)
    np.testing.assert_array_equal(train[::-1][p2.nn_index], p.nn_index)


def test_log_prior(bundle):
    z = np.random.default_rng(0).normal(size=(7, bundle.model.latent_dim))
    np.testing.assert_allclose(log_prior(bundle, z), norm.logpdf(z).sum(1))
    other = load_bundle(bundle.path)
    other.model.prior_mean.fill_(0.5)
    other.model.prior_std.fill_(2.0)
    np.testing.assert_allclose(log_prior(other, z), norm.logpdf(z, 0.5, 2.0).sum(1))


def test_classifier_hook(bundle, cal):
    frames, _, _ = loop_path(bundle.mu[:3], 4)
    seen = {}

    def dummy(images):
        seen["shape"] = images.shape
        m = images.reshape(len(images), -1).mean(1)
        return np.stack([m, 1 - m, np.zeros_like(m)], axis=1)

    p = frame_plausibility(bundle, frames, classifier=dummy, calibration=cal)
    assert seen["shape"] == (12, *bundle.input_shape)
    images = bundle.decode(frames)
    m = images.reshape(12, -1).mean(1)
    np.testing.assert_array_equal(p.pred_class, np.where(m >= 0.5, 0, 1))
    np.testing.assert_allclose(p.confidence, np.maximum(m, 1 - m), rtol=1e-5)
    s = summarise(p)
    assert {"mean_confidence", "majority_class", "majority_class_fraction", "class_changes"} <= set(s)
    with pytest.raises(ValueError, match="classifier returned"):
        frame_plausibility(bundle, frames, classifier=lambda x: np.ones(len(x)), calibration=cal)


def test_iwae_log_likelihood(bundle, cal):
    frames, _ = outward_path(bundle, cal, n=6)
    p = frame_plausibility(bundle, frames, k_likelihood=4, calibration=cal, seed=3)
    assert p.log_likelihood.shape == (6,) and np.isfinite(p.log_likelihood).all()
    assert p.k_likelihood == 4
    again = frame_plausibility(bundle, frames, k_likelihood=4, calibration=cal, seed=3)
    np.testing.assert_array_equal(p.log_likelihood, again.log_likelihood)
    assert frame_plausibility(bundle, frames, calibration=cal).log_likelihood is None
    s = summarise(p)
    assert s["min_log_likelihood"] == pytest.approx(p.log_likelihood.min())


def test_no_likelihood_for_deterministic_models(bundle, cal):
    other = load_bundle(bundle.path)
    other.model.stochastic = False  # stands in for an AE / SVD model
    p = frame_plausibility(other, bundle.mu[:2], k_likelihood=3, calibration=cal)
    assert p.log_likelihood is None and any("log-likelihood" in n for n in p.notes)


def test_calibration_is_computed_when_not_given(bundle, cal):
    p = frame_plausibility(bundle, bundle.mu[:2])
    assert p.thresholds == pytest.approx(cal.thresholds)
    assert isinstance(p.calibration, Calibration)


def test_calibration_without_held_out_codes(bundle):
    other = load_bundle(bundle.path)
    other.latents = {**other.latents, "split": np.zeros_like(other.split)}
    c = calibrate(other)
    assert c.notes and np.isfinite(c.nn_threshold) and c.nn_threshold > 0


def test_summary_and_rows(bundle, cal):
    frames, _ = outward_path(bundle, cal, n=20)
    p = frame_plausibility(bundle, frames, calibration=cal)
    s = summarise(p)
    assert s["n_frames"] == 20
    assert s["fraction_flagged"] == pytest.approx(p.flags.mean())
    assert s["mean_nn_distance"] == pytest.approx(p.nn_distance.mean())
    assert s["min_log_prior"] == pytest.approx(p.log_prior.min())
    assert s["longest_flagged_run"] == 19
    assert s["nn_threshold"] == cal.nn_threshold
    rows = p.to_rows()
    assert len(rows) == 20 and rows[0]["frame"] == 0
    assert {"log_prior", "nn_distance", "nn_index", "roundtrip", "flags", "criterion"} <= set(rows[0])
    assert isinstance(rows[0]["nn_distance"], float) and isinstance(rows[-1]["flags"], bool)


def test_bad_inputs(bundle, cal):
    with pytest.raises(ValueError, match="frames must be"):
        frame_plausibility(bundle, np.zeros((3, bundle.model.latent_dim + 1)), calibration=cal)
    with pytest.raises(ValueError, match="k_likelihood"):
        frame_plausibility(bundle, bundle.mu[:2], k_likelihood=-1, calibration=cal)


# -- attribute vectors ---------------------------------------------------------------------------------
def test_attribute_vector_is_the_difference_of_class_means():
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(60, 5))
    labels = np.arange(60) % 3
    v = attribute_vector(codes, labels, 0, 2)
    np.testing.assert_allclose(v, codes[labels == 2].mean(0) - codes[labels == 0].mean(0))
    mean_a = codes[labels == 0].mean(0)
    np.testing.assert_allclose(move_along(mean_a, v, 1.0), codes[labels == 2].mean(0))
    np.testing.assert_allclose(move_along(mean_a, v, 0.0), mean_a)
    steps = move_along(mean_a, v, np.linspace(0, 1, 5))
    assert steps.shape == (5, 5)
    np.testing.assert_allclose(steps[-1], codes[labels == 2].mean(0))
    np.testing.assert_allclose(move_along(codes[:4], v, 0.5), codes[:4] + 0.5 * v)


def test_attribute_vector_training_split_only():
    rng = np.random.default_rng(1)
    codes = rng.normal(size=(40, 3))
    labels = np.arange(40) % 2
    split = np.where(np.arange(40) < 30, 0, 2)
    codes[split == 2] += 100  # held-out codes must not move the vector
    v = attribute_vector(codes, labels, 1, 0, split=split)
    tr = split == 0
    np.testing.assert_allclose(v, codes[tr & (labels == 0)].mean(0) - codes[tr & (labels == 1)].mean(0))
    with pytest.raises(ValueError, match="class 5 has no codes"):
        attribute_vector(codes, labels, 0, 5)
    with pytest.raises(ValueError, match="training split"):
        attribute_vector(codes, labels, 0, 1, split=np.full(40, 2))
    with pytest.raises(ValueError, match="does not fit"):
        move_along(codes[:3], v, np.ones(4))
