"""Tests for the decoded atlas (explorer.atlas)."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.atlas import SUGGESTED_MAX_DISTANCE, decoded_atlas, tile_centres
from explorer.bundle import load_bundle
from explorer.export import to_rgb_uint8
from explorer.projection import project


@pytest.fixture(scope="module")
def bundle(tiny_bundle):
    return load_bundle(tiny_bundle)


@pytest.fixture(scope="module")
def proj(bundle):
    return project(bundle.mu, "pca")


def window(proj, margin=0.05):
    lo, hi = proj.embedding.min(0), proj.embedding.max(0)
    pad = (hi - lo) * margin
    return (lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1])


def test_shape_and_dtype(bundle, proj):
    xr, yr = window(proj)
    image, tiles = decoded_atlas(proj, bundle.decode, xr, yr, grid=4)
    c, h, w = bundle.input_shape
    assert image.shape == (4 * h, 4 * w, 3) and image.dtype == np.uint8
    assert tiles.distances.shape == (4, 4) and tiles.codes.shape == (4, 4, bundle.model.latent_dim)
    assert tiles.tile_shape == (h, w) and not tiles.dimmed.any()  # max_distance None: nothing dimmed
    assert tiles.extent == (xr[0], xr[1], yr[0], yr[1])


def test_rows_run_top_down_and_tiles_sit_in_place():
    centres = tile_centres((0, 4), (0, 2), 4)
    assert centres[0, 0].tolist() == [0.5, 1.75]  # row 0 is the top (highest y)
    assert centres[-1, -1].tolist() == [3.5, 0.25]

    class Plane:  # codes = the spot itself; distance = 0
        def invert(self, xy):
            return np.asarray(xy, np.float32), np.zeros(len(xy))

    def decode(codes):  # a 2x3 grey tile whose brightness encodes the spot
        v = (codes[:, 0] / 4 * 0.5 + codes[:, 1] / 2 * 0.5)[:, None, None, None]
        return np.broadcast_to(v, (len(codes), 1, 2, 3)).copy()

    image, tiles = decoded_atlas(Plane(), decode, (0, 4), (0, 2), grid=4)
    assert image.shape == (8, 12, 3)
    for r in range(4):
        for c in range(4):
            x, y = centres[r, c]
            expect = np.rint((x / 4 * 0.5 + y / 2 * 0.5) * 255)
            assert (image[2 * r:2 * r + 2, 3 * c:3 * c + 3] == expect).all()
    assert tiles.tile_at(0.1, 1.9) == (0, 0) and tiles.tile_at(3.9, 0.1) == (3, 3)
    assert tiles.tile_at(5, 1) is None


def test_tile_on_a_data_point_decodes_like_that_point(bundle, proj):
    emb = proj.embedding.astype(np.float64)
    recon = bundle.decode(bundle.mu)
    half = 0.25 * np.ptp(emb, axis=0).max()
    for i in range(5):
        px, py = emb[i]
        far = int(np.argmax(np.linalg.norm(emb - emb[i], axis=1)))
        # grid 5: the centre tile (2, 2) sits exactly on point i
        image, tiles = decoded_atlas(proj, bundle.decode, (px - half, px + half), (py - half, py + half), grid=5)
        assert tiles.distances[2, 2] == pytest.approx(0, abs=1e-3)
        tile = bundle.decode(tiles.codes[2, 2][None])[0]
        assert np.mean((tile - recon[i]) ** 2) < np.mean((tile - recon[far]) ** 2)
        h, w = tiles.tile_shape
        np.testing.assert_array_equal(image[2 * h:3 * h, 2 * w:3 * w], to_rgb_uint8(tile[None])[0])


def test_tiles_far_from_the_data_are_dimmed(bundle, proj):
    emb = proj.embedding.astype(np.float64)
    j = int(np.argmin(np.linalg.norm(emb - emb.mean(0), axis=1)))  # a point near the middle of the data
    half = 3.5 * np.ptp(emb, axis=0)  # the data fills about the middle tile of 7
    xr, yr = (emb[j, 0] - half[0], emb[j, 0] + half[0]), (emb[j, 1] - half[1], emb[j, 1] + half[1])
    plain, tiles = decoded_atlas(proj, bundle.decode, xr, yr, grid=7)
    dimmed, tiles_d = decoded_atlas(proj, bundle.decode, xr, yr, grid=7, max_distance=SUGGESTED_MAX_DISTANCE)
    np.testing.assert_array_equal(tiles.distances, tiles_d.distances)
    assert tiles_d.dimmed[0, 0] and tiles_d.dimmed[-1, -1] and not tiles_d.dimmed[3, 3]
    np.testing.assert_array_equal(tiles_d.dimmed, tiles.distances > SUGGESTED_MAX_DISTANCE)
    h, w = tiles.tile_shape
    for r, c in [(0, 0), (3, 3), (6, 2)]:
        a = plain[r * h:(r + 1) * h, c * w:(c + 1) * w].astype(np.float32)
        b = dimmed[r * h:(r + 1) * h, c * w:(c + 1) * w].astype(np.float32)
        if tiles_d.dimmed[r, c]:
            np.testing.assert_allclose(b, np.rint(a * 0.35), atol=1)
            assert b.mean() < 0.5 * a.mean()
        else:
            np.testing.assert_array_equal(a, b)


def test_other_projections(bundle):
    proj = project(bundle.mu, "dims", x=0, y=2)
    image, tiles = decoded_atlas(proj, bundle.decode, (-1, 1), (-1, 1), grid=3)
    assert image.shape[0] == 3 * bundle.input_shape[1]
    np.testing.assert_allclose(tiles.codes[..., 0], tiles.centres[..., 0], rtol=1e-6)
    np.testing.assert_allclose(tiles.codes[..., 2], tiles.centres[..., 1], rtol=1e-6)


def test_bad_inputs(bundle, proj):
    for kwargs in [{"grid": 0}, {"xrange": (1, 0)}, {"yrange": (0, np.nan)}, {"max_distance": -1}]:
        args = {"xrange": (0, 1), "yrange": (0, 1), "grid": 2, **kwargs}
        with pytest.raises(ValueError):
            decoded_atlas(proj, bundle.decode, **args)
    with pytest.raises(ValueError, match="decode returned"):
        decoded_atlas(proj, lambda z: np.zeros((1, 3, 2, 2)), (0, 1), (0, 1), grid=2)
