"""scikit-learn's handwritten digits (8x8, 1,797 images, ships with the package), upsampled."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from explorer.data.imageset import ImageSet


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """Resize float images ``(N, C, H, W)`` to ``size`` x ``size`` (bilinear, antialiased), clipped to [0, 1]."""
    if images.shape[-2:] == (size, size):
        return images.astype(np.float32)
    t = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    out = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return out.clamp_(0, 1).numpy()


def load_digits_set(size: int = 28) -> ImageSet:
    from sklearn.datasets import load_digits

    d = load_digits()
    images = (d.images / 16.0).astype(np.float32)[:, None]  # values 0..16
    images = resize_images(images, size)
    images = np.round(images * 255) / 255  # the uint8 grid bundles store
    return ImageSet(
        images=images,
        labels=d.target,
        class_names=[str(c) for c in d.target_names],
        ids=[f"digits:{i:04d}" for i in range(len(images))],
        source=f"digits(size={size})",
    )
