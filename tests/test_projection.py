"""Tests for the 2-D maps of latent codes (explorer.projection)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from explorer import projection as P


def gaussian_blobs(n: int = 300, d: int = 8, k: int = 3, sep: float = 12.0, seed: int = 0):
    """``k`` well separated unit Gaussian clusters in ``d`` dimensions: codes float32, labels."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, sep, (k, d))
    labels = np.arange(n) % k
    return (centres[labels] + rng.normal(0, 1, (n, d))).astype(np.float32), labels


Z, Y = gaussian_blobs()


def knn_accuracy(embedding: np.ndarray, labels: np.ndarray) -> float:
    """Leave-one-out 5-NN class accuracy on the map."""
    clf = KNeighborsClassifier(n_neighbors=6).fit(embedding, labels)
    idx = clf.kneighbors(embedding, return_distance=False)[:, 1:]
    votes = np.array([np.bincount(labels[row], minlength=labels.max() + 1).argmax() for row in idx])
    return float((votes == labels).mean())


@pytest.fixture(scope="module")
def tsne():
    return P.project(Z, "tsne", seed=3)


# -- the registry and the checks ---------------------------------------------------------------------
def test_registry():
    assert set(P.METHODS) == {"pca", "tsne", "umap", "dims"} == set(P.PARAMS)
    assert all(callable(f) for f in P.METHODS.values())


@pytest.mark.parametrize("method", ["pca", "dims"])
def test_shapes_and_fields(method):
    calls = []
    p = P.project(Z, method, seed=1, progress=lambda f, m: calls.append((f, m)))
    assert p.method == method and p.seed == 1 and p.params == P.PARAMS[method]
    assert p.embedding.shape == (len(Z), 2) and p.embedding.dtype == np.float32
    assert p.seconds >= 0
    assert calls[0][0] == 0.0 and calls[-1][0] == 1.0 and all(isinstance(m, str) for _, m in calls)


def test_unknown_method_names_the_choices():
    with pytest.raises(ValueError, match="dims, pca, tsne, umap"):
        P.project(Z, "isomap")


@pytest.mark.parametrize("params, match", [
    ({"x": 8}, r"x=8 is not a latent dimension: the codes have 8, numbered 0 to 7"),
    ({"y": -1}, r"y=-1 is not a latent dimension"),
    ({"x": 2, "y": 2}, "pick two different dimensions"),
    ({"x": 1.5}, "x must be a whole number"),
    ({"z": 1}, "dims has no parameter z; its parameters: x, y"),
])
def test_dims_validates(params, match):
    with pytest.raises(ValueError, match=match):
        P.project(Z, "dims", **params)


@pytest.mark.parametrize("method, params, match", [
    ("tsne", {"perplexity": 0}, "perplexity must be above 0"),
    ("tsne", {"perplexity": float("nan")}, "perplexity must be a finite number"),
    ("umap", {"n_neighbors": 1}, "n_neighbors must be at least 2"),
    ("umap", {"min_dist": -1}, "min_dist must be 0 or more"),
    ("pca", {"perplexity": 5}, "pca has no parameter perplexity; its parameters: none"),
    ("pca", {}, None),
])
def test_params_validated_before_fitting(method, params, match, monkeypatch):
    monkeypatch.setitem(P.METHODS, method, lambda *a, **k: pytest.fail("fitted despite bad params"))
    if match is None:  # good params reach the method
        with pytest.raises(pytest.fail.Exception):
            P.project(Z, method, **params)
    else:
        with pytest.raises(ValueError, match=match):
            P.project(Z, method, **params)


@pytest.mark.parametrize("latents, match", [
    (np.zeros(5), "2-D array"),
    (np.full((5, 3), np.nan), "NaN or infinite"),
    (np.zeros((5, 1)), "at least 2 dimensions"),
    (np.zeros((1, 3)), "pca needs at least 2 points"),
])
def test_bad_latents(latents, match):
    with pytest.raises(ValueError, match=match):
        P.project(latents, "pca")


def test_bad_seed():
    with pytest.raises(ValueError, match="seed must be between"):
        P.project(Z, "pca", seed=-1)


# -- PCA and dims: exact -----------------------------------------------------------------------------
def test_pca_place_and_invert_exact():
    p = P.project(Z, "pca")
    assert np.array_equal(p.place(Z), p.embedding)
    np.testing.assert_allclose(p.components @ p.components.T, np.eye(2), atol=1e-10)
    z = gaussian_blobs(20, seed=5)[0]
    codes, dist = p.invert(p.place(z))
    plane = p.mean + ((z - p.mean) @ p.components.T) @ p.components  # projection onto the PCA plane
    np.testing.assert_allclose(codes, plane, atol=1e-4)
    assert codes.shape == (20, 8) and codes.dtype == np.float32 and dist.shape == (20,)
    # a point in the plane comes back as itself
    np.testing.assert_allclose(p.place(codes), p.place(z), atol=1e-4)


def test_pca_matches_sklearn_up_to_sign():
    from sklearn.decomposition import PCA

    ref = PCA(2).fit_transform(Z)
    p = P.project(Z, "pca")
    np.testing.assert_allclose(np.abs(p.embedding), np.abs(ref), atol=1e-3)


def test_dims_place_and_invert():
    p = P.project(Z, "dims", x=3, y=5)
    np.testing.assert_array_equal(p.embedding, Z[:, [3, 5]])
    np.testing.assert_array_equal(p.place(Z[:7]), Z[:7, [3, 5]])
    codes, dist = p.invert(p.embedding[:4])
    np.testing.assert_allclose(codes, Z[:4], atol=1e-4)  # on a point: that point's code
    spot = np.array([[1e3, -1e3]])
    codes, dist = p.invert(spot)
    assert codes[0, 3] == 1e3 and codes[0, 5] == -1e3 and dist[0] > 3
    with pytest.raises(ValueError, match="codes of size 4 given"):
        p.place(np.zeros((2, 4)))


def test_large_n_pca_and_dims_fast():
    z = np.random.default_rng(0).normal(size=(100_000, 20)).astype(np.float32)
    for method in ("pca", "dims"):
        p = P.project(z, method)
        assert p.embedding.shape == (100_000, 2) and p.seconds < 5
    codes, dist = p.invert(np.zeros((3, 2)))
    assert codes.shape == (3, 20) and (dist < 3).all()  # the middle of the data


@pytest.mark.parametrize("method", ["pca", "dims"])
def test_deterministic_fast(method):
    a, b = P.project(Z, method, seed=4), P.project(Z, method, seed=4)
    np.testing.assert_array_equal(a.embedding, b.embedding)


# -- t-SNE -------------------------------------------------------------------------------------------------
def test_tsne_shapes_deterministic_and_separated(tsne):
    assert tsne.embedding.shape == (300, 2) and tsne.embedding.dtype == np.float32
    assert tsne.params == {"perplexity": 30.0}
    again = P.project(Z, "tsne", seed=3, perplexity=30)
    np.testing.assert_array_equal(again.embedding, tsne.embedding)
    assert knn_accuracy(tsne.embedding, Y) > 0.9


def test_tsne_progress_during_fit():
    calls = []
    P.project(Z[:120], "tsne", perplexity=10, progress=lambda f, m: calls.append((f, m)))
    fractions = [f for f, _ in calls]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0 and len(calls) > 10
    assert fractions == sorted(fractions) and any("iteration" in m for _, m in calls)


def test_tsne_place_training_points(tsne):
    placed = tsne.place(Z[:50])
    np.testing.assert_allclose(placed, tsne.embedding[:50], atol=1e-3 * tsne.spacing)
    # a new code from a cluster lands among that cluster's points
    new = Z[:3] + 0.01
    placed = tsne.place(new)
    for i in range(3):
        near = np.argsort(np.linalg.norm(tsne.embedding - placed[i], axis=1))[:10]
        assert (Y[near] == Y[i]).mean() >= 0.9


def test_tsne_invert(tsne):
    codes, dist = tsne.invert(tsne.embedding[:20])
    np.testing.assert_allclose(codes, Z[:20], atol=1e-3)
    assert (dist < 1).all()
    # a spot between a few points of one cluster: a code near those points' codes
    i = 7
    spot = tsne.embedding[i] + 0.3 * tsne.spacing
    code, dist = tsne.invert(spot[None])
    near = np.argsort(np.linalg.norm(tsne.embedding - spot, axis=1))[:10]
    assert np.linalg.norm(code[0] - Z[near].mean(0)) < 1.5
    assert np.linalg.norm(code[0] - Z[i]) < np.linalg.norm(code[0] - Z[Y != Y[i]], axis=1).min()
    # far outside the map
    far = tsne.embedding.max(0) + 50 * (tsne.embedding.max(0) - tsne.embedding.min(0))
    _, dist = tsne.invert(far[None])
    assert dist[0] > 3


def test_invert_rejects_bad_spots(tsne):
    with pytest.raises(ValueError, match=r"shape \(M, 2\)"):
        tsne.invert(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="codes of size 9 given; this map was made from codes of size 8"):
        tsne.place(np.zeros((2, 9)))
    with pytest.raises(ValueError, match="10 codes given but the map has 300 points"):
        tsne.invert(np.zeros((2, 2)), latents=Z[:10])


# -- UMAP (numba compiles on first use: slow) ----------------------------------------------------------
@pytest.mark.slow
def test_umap():
    calls = []
    a = P.project(Z, "umap", seed=2, progress=lambda f, m: calls.append(f))
    b = P.project(Z, "umap", seed=2)
    assert a.embedding.shape == (300, 2) and a.embedding.dtype == np.float32
    assert a.params == {"min_dist": 0.1, "n_neighbors": 15}
    np.testing.assert_array_equal(a.embedding, b.embedding)
    assert knn_accuracy(a.embedding, Y) > 0.9
    assert calls[0] == 0.0 and calls[-1] == 1.0
    np.testing.assert_allclose(a.place(Z[:10]), a.embedding[:10], atol=1e-3 * a.spacing)
    codes, dist = a.invert(a.embedding[:10])
    np.testing.assert_allclose(codes, Z[:10], atol=1e-3)
    assert (dist < 1).all()


# -- the disk cache --------------------------------------------------------------------------------------
def cache_files(bundle):
    folder = bundle / "projections"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_cache_second_call_loads(tmp_path, monkeypatch):
    assert P.cached_only(tmp_path, Z, "pca") is None
    first = P.cached_projection(tmp_path, Z, "pca", seed=0)
    files = cache_files(tmp_path)
    assert len(files) == 1 and files[0].startswith("pca-") and files[0].endswith(".npz")
    assert files[0] == P.cache_path(tmp_path, Z, "pca").name

    def boom(*a, **k):
        raise AssertionError("recomputed")

    monkeypatch.setitem(P.METHODS, "pca", boom)
    calls = []
    second = P.cached_projection(tmp_path, Z, "pca", seed=0, progress=lambda f, m: calls.append(f))
    assert calls == [1.0]
    np.testing.assert_array_equal(second.embedding, first.embedding)
    np.testing.assert_array_equal(second.mean, first.mean)
    np.testing.assert_array_equal(second.components, first.components)
    assert second.seconds == pytest.approx(first.seconds) and second.params == first.params
    assert np.array_equal(second.place(Z), first.embedding)  # still exact after the round trip
    only = P.cached_only(tmp_path, Z, "pca")
    assert only is not None and np.array_equal(only.embedding, first.embedding)


def test_cache_tsne_roundtrip(tmp_path, tsne, monkeypatch):
    monkeypatch.setitem(P.METHODS, "tsne", lambda *a, **k: P.Fitted(tsne.embedding))  # no refit
    P.cached_projection(tmp_path, Z, "tsne", seed=3)
    monkeypatch.setitem(P.METHODS, "tsne", lambda *a, **k: pytest.fail("recomputed"))
    loaded = P.cached_projection(tmp_path, Z, "tsne", seed=3, perplexity=30.0)  # explicit default: same key
    np.testing.assert_array_equal(loaded.embedding, tsne.embedding)
    np.testing.assert_allclose(loaded.place(Z[:5]), tsne.embedding[:5], atol=1e-3 * tsne.spacing)


def test_cache_key_depends_on_everything(tmp_path):
    P.cached_projection(tmp_path, Z, "dims")
    P.cached_projection(tmp_path, Z, "dims", x=0, y=1)  # the defaults: the same file
    assert len(cache_files(tmp_path)) == 1
    P.cached_projection(tmp_path, Z, "dims", seed=1)
    P.cached_projection(tmp_path, Z, "dims", x=2)
    other = Z.copy()
    other[0, 0] += 1
    P.cached_projection(tmp_path, other, "dims")
    P.cached_projection(tmp_path, Z[:, :4], "dims")  # other shape
    assert len(cache_files(tmp_path)) == 5
    assert P.cached_only(tmp_path, Z, "dims", x=3) is None


def test_corrupt_cache_recomputed(tmp_path):
    first = P.cached_projection(tmp_path, Z, "pca")
    file = P.cache_path(tmp_path, Z, "pca")
    for damage in (b"not a zip at all", file.read_bytes()[:100]):
        file.write_bytes(damage)
        assert P.cached_only(tmp_path, Z, "pca") is None
        again = P.cached_projection(tmp_path, Z, "pca")
        np.testing.assert_array_equal(again.embedding, first.embedding)
        assert P.cached_only(tmp_path, Z, "pca") is not None  # overwritten with a good file


def test_cache_file_for_other_codes_ignored(tmp_path):
    """A file whose stored key does not match (a 12-character prefix clash) is not used."""
    P.cached_projection(tmp_path, Z, "pca")
    file = P.cache_path(tmp_path, Z, "pca")
    other = Z[::-1].copy()
    target = P.cache_path(tmp_path, other, "pca")
    os.replace(file, target)
    assert P.cached_only(tmp_path, other, "pca") is None


def test_cache_write_atomic(tmp_path, monkeypatch):
    real_savez = np.savez

    def half_then_fail(file, **arrays):
        file.write(b"PK\x03\x04 partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", half_then_fail)
    p = P.cached_projection(tmp_path, Z, "pca")  # the map is still returned
    assert p.embedding.shape == (300, 2)
    assert cache_files(tmp_path) == []  # no partial file, no temp file
    monkeypatch.setattr(np, "savez", real_savez)
    P.cached_projection(tmp_path, Z, "pca")
    assert len(cache_files(tmp_path)) == 1


def test_unwritable_cache_folder_simulated(tmp_path, monkeypatch):
    """The read-only case as root sees it too: creating the temp file fails with PermissionError."""

    def denied(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(P.tempfile, "mkstemp", denied)
    assert P.cached_projection(tmp_path, Z, "pca").embedding.shape == (300, 2)
    assert cache_files(tmp_path) == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores file permissions")
def test_read_only_bundle(tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    bundle.chmod(0o555)
    try:
        p = P.cached_projection(bundle, Z, "dims")
        assert p.embedding.shape == (300, 2)
        assert not (bundle / "projections").exists()
        assert P.cached_only(bundle, Z, "dims") is None
    finally:
        bundle.chmod(0o755)
    # a read-only projections folder too
    (bundle / "projections").mkdir()
    (bundle / "projections").chmod(0o555)
    try:
        assert P.cached_projection(bundle, Z, "pca").embedding.shape == (300, 2)
        assert cache_files(bundle) == []
    finally:
        (bundle / "projections").chmod(0o755)
