"""Tests for latent paths (explorer.paths)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from explorer.paths import INTERPOLATIONS, LatentPath, lerp, loop_path, random_keys, slerp

rng = np.random.default_rng(0)


def keys(k=5, d=8, dtype=np.float32):
    return rng.normal(size=(k, d)).astype(dtype)


# -- interpolation -----------------------------------------------------------------------------------
def test_registry():
    assert INTERPOLATIONS == {"linear": lerp, "slerp": slerp}


def test_lerp_midpoint_and_shapes():
    a, b = np.array([0.0, 2.0, -4.0]), np.array([2.0, 4.0, 4.0])
    np.testing.assert_allclose(lerp(a, b, 0.5), [1.0, 3.0, 0.0])
    assert lerp(a, b, 0.5).shape == (3,)
    out = lerp(a, b, np.linspace(0, 1, 7))
    assert out.shape == (7, 3)
    np.testing.assert_array_equal(out[0], a)
    np.testing.assert_allclose(out[-1], b)


@pytest.mark.parametrize("d", [2, 16])
def test_slerp_endpoints_and_sphere(d):
    a, b = rng.normal(size=d), rng.normal(size=d)
    b *= np.linalg.norm(a) / np.linalg.norm(b)  # equal norms: the path stays on the sphere
    t = np.linspace(0, 1, 51)
    out = slerp(a, b, t)
    assert out.shape == (51, d)
    np.testing.assert_array_equal(out[0], a)
    np.testing.assert_allclose(out[-1], b, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), np.linalg.norm(a), rtol=1e-12)
    # it is not the straight line, which dips inside the sphere
    assert np.linalg.norm(lerp(a, b, 0.5)) < np.linalg.norm(slerp(a, b, 0.5))


def test_slerp_norms_between_for_unequal_norms():
    a, b = rng.normal(size=10), 3 * rng.normal(size=10)
    norms = np.linalg.norm(slerp(a, b, np.linspace(0, 1, 21)), axis=1)
    lo, hi = sorted([np.linalg.norm(a), np.linalg.norm(b)])
    assert np.all(norms >= lo - 1e-9) and np.all(norms <= hi + 1e-9)


def test_slerp_angle_is_linear_in_t():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    np.testing.assert_allclose(slerp(a, b, 0.5), [np.sqrt(0.5), np.sqrt(0.5)])
    np.testing.assert_allclose(slerp(a, b, 1 / 3), [np.cos(np.pi / 6), np.sin(np.pi / 6)])


@pytest.mark.parametrize("a,b", [
    (np.zeros(4), np.ones(4)),                         # a zero vector
    (np.array([1.0, 2, 3]), np.array([2.0, 4, 6])),    # parallel
    (np.array([1.0, 2, 3]), np.array([-1.0, -2, -3])), # anti-parallel
])
def test_slerp_falls_back_to_linear(a, b):
    t = np.linspace(0, 1, 9)
    out = slerp(a, b, t)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, lerp(a, b, t))


def test_interpolation_shape_errors():
    with pytest.raises(ValueError, match="same length"):
        lerp(np.zeros(3), np.zeros(4), 0.5)


# -- loop_path ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["linear", "slerp"])
def test_closed_loop(method):
    k = keys(5, 8)
    frames, seg, t = loop_path(k, 100, method, closed=True)
    assert frames.shape == (500, 8) and seg.shape == t.shape == (500,)
    assert frames.dtype == np.float32
    for s in range(5):
        np.testing.assert_array_equal(frames[s * 100], k[s])  # exact
        assert seg[s * 100] == s and t[s * 100] == 0.0
    assert seg.tolist() == np.repeat(np.arange(5), 100).tolist()
    assert np.all((t >= 0) & (t < 1))
    # no repeated frame where the loop closes, and no two consecutive frames equal
    assert not np.array_equal(frames[-1], frames[0])
    assert np.all(np.abs(np.diff(np.vstack([frames, frames[:1]]), axis=0)).sum(axis=1) > 0)
    # the last frame is one step before key 0 on the segment back to it
    step_back = INTERPOLATIONS[method](k[-1].astype(np.float64), k[0].astype(np.float64), 0.99)
    np.testing.assert_allclose(frames[-1], step_back, rtol=1e-5)


@pytest.mark.parametrize("method", ["linear", "slerp"])
def test_open_path(method):
    k = keys(5, 3, dtype=np.float64)
    frames, seg, t = loop_path(k, 10, method, closed=False)
    assert frames.shape == (41, 3)
    for s in range(4):
        np.testing.assert_array_equal(frames[s * 10], k[s])
    np.testing.assert_array_equal(frames[-1], k[-1])
    assert seg[-1] == 3 and t[-1] == 1.0
    assert seg.max() == 3


def test_linear_midpoints():
    k = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 4.0]])
    frames, _, _ = loop_path(k, 2, "linear", closed=True)
    np.testing.assert_allclose(frames, [[0, 0], [1, 0], [2, 0], [2, 2], [2, 4], [1, 2]])


def test_two_keys_and_one_frame_per_segment():
    k = keys(2, 4)
    assert loop_path(k, 1, closed=True)[0].shape == (2, 4)
    frames, _, _ = loop_path(k, 1, closed=False)
    np.testing.assert_array_equal(frames, k)
    frames, _, _ = loop_path(k.astype(int), 4)
    assert frames.dtype == np.float64


def test_loop_path_validation():
    with pytest.raises(ValueError, match="at least 2 key codes"):
        loop_path(keys(1, 4))
    with pytest.raises(ValueError, match="at least 2 key codes"):
        loop_path(keys(1, 4), closed=False)
    with pytest.raises(ValueError, match=r"\(K, D\)"):
        loop_path(np.zeros(5))
    with pytest.raises(ValueError, match="frames_per_segment must be >= 1"):
        loop_path(keys(), 0)
    with pytest.raises(ValueError, match="whole number"):
        loop_path(keys(), 2.5)
    with pytest.raises(ValueError, match="linear, slerp"):
        loop_path(keys(), 10, method="cubic")
    bad = keys()
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        loop_path(bad)


# -- random_keys -------------------------------------------------------------------------------------
LABELS = np.array([0, 1, 2] * 10)  # 10 images per class


def test_random_keys_distinct_class_and_reproducible():
    idx = random_keys(LABELS, 1, n=5, seed=3)
    assert len(idx) == 5 and len(set(idx.tolist())) == 5
    assert np.all(LABELS[idx] == 1)
    np.testing.assert_array_equal(idx, random_keys(LABELS, 1, n=5, seed=3))
    assert not np.array_equal(idx, random_keys(LABELS, 1, n=5, seed=4))


def test_random_keys_pool():
    pool = np.arange(15, 30)
    idx = random_keys(LABELS, 2, n=5, seed=0, pool=pool)
    assert set(idx.tolist()) <= set(pool.tolist()) and np.all(LABELS[idx] == 2)
    mask = np.zeros(len(LABELS), bool)
    mask[:9] = True  # three images of each class
    assert sorted(random_keys(LABELS, 0, n=3, pool=mask).tolist()) == [0, 3, 6]


def test_random_keys_too_few():
    with pytest.raises(ValueError, match="class 1 has only 10 image"):
        random_keys(LABELS, 1, n=11)
    with pytest.raises(ValueError, match="only 3 image.*in the chosen pool"):
        random_keys(LABELS, 0, n=5, pool=np.arange(9))
    with pytest.raises(ValueError, match="only 0"):
        random_keys(LABELS, 7, n=1)
    with pytest.raises(ValueError, match="n must be"):
        random_keys(LABELS, 0, n=0)


# -- LatentPath --------------------------------------------------------------------------------------
def test_latent_path_frames_and_json_round_trip():
    mu = keys(20, 6)
    ids = [f"img{i:02d}.png" for i in range(20)]
    path = LatentPath.from_codes(mu, [3, 7, 11], ids=ids, frames_per_segment=4, method="slerp")
    path.key_indices.append(None)  # a key picked on the map, not an image
    path.key_ids.append(None)
    path.keys = np.vstack([path.keys, np.full((1, 6), 0.5, np.float32)])
    frames, seg, t = path.frames()
    assert frames.shape == (16, 6) and path.n_frames == 16
    xy = rng.normal(size=(16, 2))

    text = path.to_json("cells-vae", projection="tsne", seed=0, frame_xy=xy)
    doc = json.loads(text)
    assert doc["bundle"] == "cells-vae" and doc["projection"] == "tsne" and doc["seed"] == 0
    assert doc["method"] == "slerp" and doc["frames_per_segment"] == 4 and doc["closed"] is True
    assert doc["created"] and doc["n_frames"] == 16 and doc["latent_dim"] == 6
    assert [k["index"] for k in doc["keys"]] == [3, 7, 11, None]
    assert [k["id"] for k in doc["keys"]] == ["img03.png", "img07.png", "img11.png", None]
    assert len(doc["frames"]["z"]) == 16 and len(doc["frames"]["xy"]) == 16
    assert all(type(v) is float for v in doc["frames"]["z"][1])

    back = LatentPath.from_json(text)
    assert back.key_indices == [3, 7, 11, None]
    assert back.key_ids == ["img03.png", "img07.png", "img11.png", None]
    np.testing.assert_array_equal(back.keys, path.keys)  # keys are stored exactly
    assert (back.frames_per_segment, back.method, back.closed) == (4, "slerp", True)
    np.testing.assert_allclose(back.frames()[0], frames, rtol=1e-6, atol=1e-6)
    assert back.meta["bundle"] == "cells-vae" and back.meta["projection"] == "tsne"
    np.testing.assert_allclose(back.meta["frames"]["z"], frames, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(back.meta["frames"]["xy"], xy, rtol=1e-5)
    np.testing.assert_array_equal(back.meta["frames"]["segment"], seg)


def test_latent_path_json_without_extras():
    path = LatentPath([0, 1], keys(2, 3), frames_per_segment=5, closed=False)
    back = LatentPath.from_json(path.to_json("b"))
    assert back.key_ids is None and back.meta["projection"] is None and back.meta["seed"] is None
    assert back.meta["frames"]["xy"] is None and back.n_frames == 6


def test_latent_path_validation():
    with pytest.raises(ValueError, match="2 key indices for 3 key codes"):
        LatentPath([0, 1], keys(3, 2))
    with pytest.raises(ValueError, match="choose one of"):
        LatentPath([0, 1], keys(2, 2), method="bezier")
    with pytest.raises(ValueError, match=r"frame_xy must have shape \(10, 2\)"):
        LatentPath([0, 1], keys(2, 2), frames_per_segment=5).to_json("b", frame_xy=np.zeros((9, 2)))
    with pytest.raises(ValueError, match="invalid JSON"):
        LatentPath.from_json("{nope")
    with pytest.raises(ValueError, match="not a latent path"):
        LatentPath.from_json('{"a": 1}')
