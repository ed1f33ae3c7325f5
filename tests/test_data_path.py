"""Tests for the data-following path (explorer.paths.data_path, path_frames)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from explorer.paths import INTERPOLATIONS, PATH_METHODS, PathFrames, data_path, loop_path, path_frames


def ring(n=400, noise=0.02, dim=4, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, 2 * np.pi, n)
    codes = np.zeros((n, dim))
    codes[:, 0], codes[:, 1] = np.cos(a), np.sin(a)
    codes[:, :2] += rng.normal(0, noise, (n, 2))
    return codes


def ring_keys(codes, degrees=(0, 90, 180, 270)):
    targets = np.zeros((len(degrees), codes.shape[1]))
    rad = np.deg2rad(degrees)
    targets[:, 0], targets[:, 1] = np.cos(rad), np.sin(rad)
    return codes[cKDTree(codes).query(targets)[1]]


def test_ring_follows_the_data_where_straight_cuts_inside():
    codes = ring()
    keys = ring_keys(codes)
    tree = cKDTree(codes)
    p = data_path(keys, codes, frames_per_segment=50)
    straight, _, _ = loop_path(keys, 50)
    d_data = tree.query(p.frames)[0].mean()
    d_straight = tree.query(straight)[0].mean()
    assert d_data < 0.5 * d_straight
    assert d_data < 0.05  # on the ring, within the noise
    radius = np.linalg.norm(p.frames[:, :2], axis=1)
    assert np.all(np.abs(radius - 1) < 0.1)
    np.testing.assert_array_equal(p.frames[:, 2:], 0)  # never leaves the data's plane
    assert p.warnings == [] and p.fallback == []
    assert all(h > 0 for h in p.hops)


def test_ring_frames_move_at_even_speed_and_smoothly():
    codes = ring()
    p = data_path(ring_keys(codes), codes, frames_per_segment=50)
    for s in range(4):
        seg = p.frames[p.segment == s]
        steps = np.linalg.norm(np.diff(seg, axis=0), axis=1)
        assert steps.max() < 1.5 * np.median(steps)


@pytest.mark.parametrize("closed,fps", [(True, 100), (True, 7), (False, 100), (False, 1)])
def test_frame_counts_and_exact_keys(closed, fps):
    codes = ring(200)
    keys = ring_keys(codes).astype(np.float32)
    p = data_path(keys, codes, frames_per_segment=fps, closed=closed)
    frames, segment, t = p  # unpacks like loop_path
    ref_f, ref_s, ref_t = loop_path(keys, fps, closed=closed)
    assert frames.shape == ref_f.shape and frames.dtype == ref_f.dtype == np.float32
    np.testing.assert_array_equal(segment, ref_s)
    np.testing.assert_allclose(t, ref_t)
    for s in range(len(keys) if closed else len(keys) - 1):
        np.testing.assert_array_equal(frames[s * fps], keys[s])
    if not closed:
        np.testing.assert_array_equal(frames[-1], keys[-1])


def test_keys_off_the_data_are_joined_through_it():
    codes = ring()
    keys = np.zeros((2, 4))
    keys[0, :2] = [1.3, 0.0]  # just outside the ring
    keys[1, :2] = [-1.3, 0.0]
    p = data_path(keys, codes, frames_per_segment=60, closed=False)
    mid = p.frames[20:40]
    assert np.all(np.linalg.norm(mid[:, :2], axis=1) > 0.85)  # around the ring, not through the centre


def test_disconnected_graph_falls_back_to_straight_with_a_warning():
    rng = np.random.default_rng(1)
    a = rng.normal(0, 0.1, (50, 3))
    b = rng.normal(0, 0.1, (50, 3)) + [10, 0, 0]
    codes = np.concatenate([a, b])
    keys = np.stack([a[0], a[1], b[0]])
    p = data_path(keys, codes, frames_per_segment=20, closed=True, k=3)
    assert p.fallback == [1, 2]  # a1 -> b0 and b0 -> a0 cross the gap
    assert len(p.warnings) == 2 and "straight line" in p.warnings[0]
    straight, _, _ = loop_path(keys, 20)
    np.testing.assert_allclose(p.frames[20:], straight[20:])
    assert p.hops[1:] == [0, 0] and p.hops[0] >= 0


def test_path_frames_dispatch():
    codes = ring(200)
    keys = ring_keys(codes)
    assert set(PATH_METHODS) == set(INTERPOLATIONS) | {"data"}
    for method in INTERPOLATIONS:
        got = path_frames(method, keys, codes, 10)
        assert isinstance(got, PathFrames) and got.warnings == []
        for a, b in zip(got, loop_path(keys, 10, method)):
            np.testing.assert_array_equal(a, b)
    got = path_frames("data", keys, codes, 10, closed=False, k=5)
    ref = data_path(keys, codes, 10, closed=False, k=5)
    np.testing.assert_array_equal(got.frames, ref.frames)
    with pytest.raises(ValueError, match="unknown path method"):
        path_frames("bezier", keys, codes)
    with pytest.raises(ValueError, match="training codes"):
        path_frames("data", keys)


def test_bad_inputs():
    codes = ring(50)
    keys = ring_keys(codes)
    with pytest.raises(ValueError, match="dimensions"):
        data_path(keys, codes[:, :3])
    with pytest.raises(ValueError, match="k must be"):
        data_path(keys, codes, k=0)
    with pytest.raises(ValueError, match="smooth"):
        data_path(keys, codes, smooth=-1)
    with pytest.raises(ValueError, match="at least 2"):
        data_path(keys[:1], codes)
    with pytest.raises(ValueError, match="finite"):
        data_path(keys, np.full_like(codes, np.nan))


def test_repeated_and_coincident_codes():
    codes = np.repeat(ring(40), 3, axis=0)  # every code three times
    keys = codes[[0, 30, 60]]
    p = data_path(keys, codes, frames_per_segment=10, k=15)  # 15 neighbours = 5 distinct codes
    assert np.isfinite(p.frames).all() and p.fallback == []
    same = data_path(np.stack([codes[0], codes[0]]), codes, frames_per_segment=5)
    np.testing.assert_allclose(same.frames, np.repeat(codes[:1], 10, axis=0))
