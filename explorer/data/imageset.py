"""The in-memory image collection every part of the project works on."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from explorer.errors import DataError


@dataclass
class ImageSet:
    """Images as float32 ``(N, C, H, W)`` in [0, 1] with labels and ids.

    ``labels`` are int64 class indices into ``class_names``; an unlabelled set has one class
    named ``"all"``. ``ids`` name each image (a relative file path, or ``"<set>:<index>"``).
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    ids: list[str]
    source: str
    warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.images = np.ascontiguousarray(self.images, dtype=np.float32)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.ids = [str(i) for i in self.ids]
        if self.images.ndim != 4:
            raise DataError(f"{self.source}: images must have shape (N, C, H, W), got {self.images.shape}.")
        n = len(self.images)
        if n == 0:
            raise DataError(f"{self.source}: no usable images.")
        if self.images.shape[1] not in (1, 3):
            raise DataError(f"{self.source}: images must have 1 or 3 channels, got {self.images.shape[1]}.")
        if len(self.labels) != n or len(self.ids) != n:
            raise DataError(
                f"{self.source}: {n} images but {len(self.labels)} labels and {len(self.ids)} ids."
            )
        if not np.isfinite(self.images).all():
            raise DataError(f"{self.source}: images contain NaN or infinite values.")
        if self.images.min() < 0 or self.images.max() > 1:
            raise DataError(f"{self.source}: image values must lie in [0, 1].")
        if self.labels.min() < 0 or self.labels.max() >= len(self.class_names):
            raise DataError(
                f"{self.source}: labels must lie in 0..{len(self.class_names) - 1} "
                f"(one per class name), got {self.labels.min()}..{self.labels.max()}."
            )

    def __len__(self) -> int:
        return len(self.images)

    @property
    def shape(self) -> tuple[int, int, int]:
        """The shape of one image, ``(C, H, W)``."""
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def as_uint8(self) -> np.ndarray:
        """The images as uint8 ``(N, C, H, W)``, the exact form stored in bundles."""
        return np.round(self.images * 255).astype(np.uint8)

    def content_hash(self) -> str:
        """A sha256 over the quantised pixels, labels and class names: the data's fingerprint."""
        h = hashlib.sha256()
        h.update(np.asarray(self.shape, dtype=np.int64).tobytes())
        h.update(self.as_uint8().tobytes())
        h.update(self.labels.tobytes())
        h.update("\x00".join(self.class_names).encode())
        return h.hexdigest()

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.labels, minlength=len(self.class_names))
        return {name: int(c) for name, c in zip(self.class_names, counts)}

    def subset(self, index: np.ndarray) -> "ImageSet":
        index = np.asarray(index, dtype=np.int64)
        return ImageSet(
            self.images[index], self.labels[index], list(self.class_names),
            [self.ids[i] for i in index], self.source, list(self.warnings),
        )

    def without_duplicates(self) -> "ImageSet":
        """Drop exact repeats of an image (same pixels after quantisation), keeping the first.

        A repeated image could otherwise land in two splits and leak training data into the
        test set, the flaw the reference article admits.
        """
        q = self.as_uint8().reshape(len(self), -1)
        digests = [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in q]
        seen: dict[bytes, int] = {}
        keep: list[int] = []
        dropped: list[str] = []
        for i, d in enumerate(digests):
            if d in seen:
                dropped.append(f"{self.ids[i]} (same pixels as {self.ids[seen[d]]})")
            else:
                seen[d] = i
                keep.append(i)
        if not dropped:
            return self
        out = self.subset(np.asarray(keep))
        msg = f"{self.source}: dropped {len(dropped)} duplicate image(s): " + ", ".join(dropped[:10])
        if len(dropped) > 10:
            msg += f", and {len(dropped) - 10} more"
        out.warnings.append(msg)
        return out
