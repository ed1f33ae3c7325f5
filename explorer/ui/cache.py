"""Streamlit caches: models and projections shared read-only by every session.

Never call ``.train()`` or ``.to()`` on a cached model: all sessions use the same object.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from explorer.bundle import Bundle, load_bundle
from explorer.projection import Projection, cached_only, cached_projection


def stamp(path: Path) -> int:
    """Changes whenever the bundle is rewritten, so caches never serve a replaced model."""
    return sum((path / f).stat().st_mtime_ns for f in ("bundle.json", "weights.safetensors"))


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def bundle(path: str, stamp: int) -> Bundle:
    b = load_bundle(path)
    b.images  # read the images once, here, rather than on a user's first click
    return b


@st.cache_resource(max_entries=16, show_spinner="Computing the map…")
def projection(path: str, stamp: int, method: str, seed: int, params: tuple) -> Projection:
    """A projection from the disk cache beside the bundle (computed and stored there if missing)."""
    b = bundle(path, stamp)
    return cached_projection(Path(path), b.mu, method, seed=seed, **dict(params))


def compute_projection(path: str, stamp_: int, method: str, seed: int, params: tuple, progress) -> Projection:
    """Compute a projection with a progress callback, store it on disk, then serve it from the cache."""
    b = bundle(path, stamp_)
    fresh = cached_projection(Path(path), b.mu, method, seed=seed, progress=progress, **dict(params))
    if cached_only(Path(path), b.mu, method, seed=seed, **dict(params)) is None:
        return fresh  # a read-only bundle folder: nothing to share through the disk cache
    return projection(path, stamp_, method, seed, params)


def projection_ready(path: str, stamp_: int, method: str, seed: int, params: tuple) -> bool:
    """True when the projection can be shown without a wait (on disk already, or instant)."""
    if method in ("pca", "dims"):
        return True
    b = bundle(path, stamp_)
    return cached_only(Path(path), b.mu, method, seed=seed, **dict(params)) is not None


@st.cache_resource(max_entries=4, show_spinner=False)
def neighbours(path: str, stamp: int):
    """A nearest-neighbour index over the bundle's latent means."""
    from sklearn.neighbors import NearestNeighbors

    return NearestNeighbors(n_neighbors=9).fit(bundle(path, stamp).mu)


@st.cache_resource(max_entries=4, show_spinner=False)
def scores(path: str, stamp: int):
    """The per-image ELBO / IWAE scores stored beside the bundle, or None when not computed yet."""
    from explorer.evaluation import load_scores

    return load_scores(bundle(path, stamp))


@st.cache_resource(max_entries=4, show_spinner="Training the pixel classifier on the training split…")
def classifier(path: str, stamp: int, seed: int):
    from explorer.evaluation import fit_classifier

    return fit_classifier(bundle(path, stamp), seed=seed)


@st.cache_resource(max_entries=4, show_spinner="Calibrating what counts as off the data…")
def calibration(path: str, stamp: int):
    """Thresholds for "off the data" from the bundle's own held-out codes."""
    from explorer.plausibility import calibrate

    return calibrate(bundle(path, stamp))


@st.cache_resource(max_entries=16, show_spinner=False)
def trust(path: str, stamp: int, method: str, seed: int, params: tuple) -> dict:
    """How faithful a map is to the latent space (on up to 2,000 points)."""
    from explorer.evaluation import projection_trust

    b = bundle(path, stamp)
    return projection_trust(b.mu, projection(path, stamp, method, seed, params).embedding, b.labels, seed=seed)


@st.cache_data(max_entries=4, show_spinner=False)
def kl_per_dimension(path: str, stamp: int):
    """Mean KL to the prior per latent dimension (VAE); the code variance for models without a posterior.

    Once per bundle rather than on every click: it runs over every code."""
    import torch

    from explorer.autoencoders import VAE

    b = bundle(path, stamp)
    if "logvar" not in b.latents:
        return b.mu.var(0)
    return VAE.kl_to_prior(torch.from_numpy(b.mu), torch.from_numpy(b.latents["logvar"])).mean(0).numpy()
