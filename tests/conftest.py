"""Shared fixtures: tiny data and a tiny trained bundle, made in seconds."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.data.imageset import ImageSet

torch.set_num_threads(2)


def blobs_imageset(n: int = 90, size: int = 16, channels: int = 3, seed: int = 0) -> ImageSet:
    """Three classes of soft blobs at different places: quick to learn, clearly structured."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    labels = np.arange(n) % 3
    centres = np.array([[0.3, 0.3], [0.7, 0.3], [0.5, 0.7]])
    images = np.zeros((n, channels, size, size), np.float32)
    for i, c in enumerate(labels):
        cy, cx = centres[c] + rng.normal(0, 0.05, 2)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * rng.uniform(0.08, 0.14) ** 2))
        for ch in range(channels):
            images[i, ch] = blob * (0.5 + 0.5 * ((ch + c) % channels == 0)) + rng.uniform(0, 0.05, (size, size))
    images = np.clip(images, 0, 1)
    return ImageSet(np.round(images * 255) / 255, labels, ["a", "b", "c"], [f"blob:{i}" for i in range(n)], "blobs")


@pytest.fixture
def blobs() -> ImageSet:
    return blobs_imageset()


def train_tiny(out, kind: str = "vae", epochs: int = 2):
    """A bundle of ``kind`` (latent size 4) trained for ``epochs`` on 90 blob images, saved at ``out``."""
    from explorer.pipeline import train_bundle
    from explorer.train import TrainConfig

    return train_bundle(blobs_imageset(), out, kind=kind, model_options={"latent_dim": 4},
                        config=TrainConfig(epochs=epochs, batch_size=32), progress=False, log=lambda m: None)


@pytest.fixture(scope="session")
def tiny_bundle(tmp_path_factory):
    """A 2-epoch conv VAE bundle on 90 blob images."""
    return train_tiny(tmp_path_factory.mktemp("bundles") / "tiny-vae")
