"""The default bundle that ships in models/ loads and matches the current code and data generator."""

import numpy as np
import pytest

from explorer.bundle import SCHEMA_VERSION, load_bundle
from explorer.data import load_data
from explorer.projection import cached_only
from tests.live_app import ROOT

DEFAULT = ROOT / "models" / "cells-vae"


@pytest.fixture(scope="module")
def shipped():
    return load_bundle(DEFAULT)


def test_the_default_bundle_loads_and_its_codes_match_its_weights(shipped):
    assert shipped.meta["schema_version"] == SCHEMA_VERSION
    assert shipped.meta["model"]["kind"] == "vae"
    np.testing.assert_allclose(shipped.encode(shipped.images), shipped.mu, atol=1e-4)


def test_the_default_bundle_was_made_from_the_current_cells_generator(shipped):
    data = load_data("cells", n=shipped.meta["data"]["n_images"], seed=shipped.meta["training"]["seed"])
    assert data.content_hash() == shipped.meta["data"]["content_hash"]
    np.testing.assert_array_equal(data.as_uint8(), np.round(shipped.images * 255).astype(np.uint8))


@pytest.mark.parametrize("method", ["pca", "tsne", "umap"])
def test_the_default_bundle_ships_its_maps(shipped, method):
    assert cached_only(shipped.path, shipped.mu, method) is not None


def test_the_default_bundle_is_small(shipped):
    size = sum(f.stat().st_size for f in DEFAULT.rglob("*") if f.is_file() and f.name != "report.html")
    assert size < 8 * 2**20
