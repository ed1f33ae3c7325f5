"""Model bundles: one folder per trained model.

```
models/<name>/
  bundle.json          schema version, model config, data source + hash, split, training config,
                       metrics, loss history, library versions, creation time
  weights.safetensors  the model's tensors (never pickle)
  latents.npz          mu, logvar, labels, split (0 train, 1 val, 2 test), ids for every image
  images.npz           the images as uint8 (N, C, H, W), so the explorer can show originals
```
Saving writes a complete new folder beside the old one and swaps the two in one atomic step, so
an interrupted save leaves the old bundle or the new one, never a mix. Loading checks every file
and says in one sentence what is missing or wrong.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from explorer.autoencoders import LatentModel, build_model
from explorer.data.split import SPLITS
from explorer.errors import BundleError

SCHEMA_VERSION = 1
FILES = ("bundle.json", "weights.safetensors", "latents.npz", "images.npz")
SPLIT_NAMES = SPLITS


@dataclass
class Bundle:
    """A loaded bundle: the model (eval mode, CPU unless asked), its metadata and its codes."""

    path: Path
    meta: dict[str, Any]
    model: LatentModel
    latents: dict[str, np.ndarray]
    _images: np.ndarray | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def class_names(self) -> list[str]:
        return list(self.meta["data"]["class_names"])

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.meta["model"]["input_shape"])  # type: ignore[return-value]

    @property
    def mu(self) -> np.ndarray:
        return self.latents["mu"]

    @property
    def labels(self) -> np.ndarray:
        return self.latents["labels"]

    @property
    def ids(self) -> np.ndarray:
        return self.latents["ids"]

    @property
    def split(self) -> np.ndarray:
        return self.latents["split"]

    @property
    def images(self) -> np.ndarray:
        """The bundle's images as float32 (N, C, H, W) in [0, 1], read on first use."""
        if self._images is None:
            self._images = _load_npz(self.path / "images.npz", ("images",))["images"].astype(np.float32) / 255
        return self._images

    def split_index(self, name: str) -> np.ndarray:
        return np.flatnonzero(self.split == SPLIT_NAMES.index(name))

    # -- the notebook API ------------------------------------------------------------------------
    @torch.no_grad()
    def encode(self, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """Code means for float images (N, C, H, W) in [0, 1], the shape the model was trained on."""
        x = np.asarray(images, dtype=np.float32)
        if x.shape[1:] != self.input_shape:
            raise BundleError(f"images of shape {x.shape[1:]} given; {self.name} takes {self.input_shape}.")
        dev = self.model.prior_mean.device
        out = [self.model.encode(torch.from_numpy(x[i:i + batch_size]).to(dev))[0].cpu().numpy()
               for i in range(0, len(x), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, self.model.latent_dim), np.float32)

    @torch.no_grad()
    def decode(self, z: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """Mean images (N, C, H, W) in [0, 1] for codes (N, latent_dim)."""
        z = np.atleast_2d(np.asarray(z, dtype=np.float32))
        if z.shape[1] != self.model.latent_dim:
            raise BundleError(f"codes of size {z.shape[1]} given; {self.name} has latent size {self.model.latent_dim}.")
        dev = self.model.prior_mean.device
        out = [self.model.decode(torch.from_numpy(z[i:i + batch_size]).to(dev)).cpu().numpy()
               for i in range(0, len(z), batch_size)]
        return np.concatenate(out)

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` images decoded from the model's prior, reproducible for a seed."""
        g = torch.Generator(device=self.model.prior_mean.device).manual_seed(seed)
        return self.model.sample(n, generator=g).cpu().numpy()


# -- saving ------------------------------------------------------------------------------------------
def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths with Linux's renameat2(RENAME_EXCHANGE); False if unsupported."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    if not hasattr(libc, "renameat2"):
        return False
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    rc = libc.renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE)
    return rc == 0


def recover_interrupted_save(path: Path) -> None:
    """Put back the old bundle if a save on a system without atomic exchange stopped mid-swap."""
    old = path.parent / f".{path.name}.old"
    if not path.exists() and old.exists():
        os.rename(old, path)


def save_bundle(path: Path, model: LatentModel, meta: dict[str, Any], latents: dict[str, np.ndarray],
                images_uint8: np.ndarray) -> Path:
    """Write a complete bundle to ``path`` atomically; an existing bundle there is replaced."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    recover_interrupted_save(path)
    meta = {**meta, "schema_version": SCHEMA_VERSION, "model": model.config()}
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.new-", dir=path.parent))
    try:
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(tmp / "weights.safetensors"), metadata={"schema_version": str(SCHEMA_VERSION)})
        np.savez(tmp / "latents.npz", **latents)
        np.savez_compressed(tmp / "images.npz", images=images_uint8)
        (tmp / "bundle.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False), encoding="utf-8")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        for f in FILES:
            os.chmod(tmp / f, 0o666 & ~umask)
            with open(tmp / f, "rb") as fh:
                os.fsync(fh.fileno())
        _fsync_dir(tmp)
        if path.exists():
            if not _exchange(tmp, path):
                old = path.parent / f".{path.name}.old"
                os.rename(path, old)
                os.rename(tmp, path)
                tmp = old
            # tmp now holds the previous bundle
        else:
            os.rename(tmp, path)
            tmp = None  # type: ignore[assignment]
        _fsync_dir(path.parent)
    finally:
        if tmp is not None and Path(tmp).exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return path


# -- loading -----------------------------------------------------------------------------------------
def _load_npz(file: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    try:
        with np.load(file, allow_pickle=False) as z:
            missing = [k for k in keys if k not in z.files]
            if missing:
                raise BundleError(f"{file}: missing array(s) {', '.join(missing)}.")
            return {k: z[k] for k in z.files}
    except BundleError:
        raise
    except Exception as e:  # zip, pickle and format errors all mean the same to the user
        raise BundleError(f"{file}: cannot be read ({type(e).__name__}: {e}).") from None


def read_meta(path: Path) -> dict[str, Any]:
    """The bundle's JSON metadata, checked for the schema version."""
    path = Path(path)
    recover_interrupted_save(path)
    if not path.is_dir():
        raise BundleError(f"{path}: no such bundle folder.")
    missing = [f for f in FILES if not (path / f).is_file()]
    if missing:
        raise BundleError(f"{path}: the bundle is incomplete, {', '.join(missing)} missing.")
    try:
        meta = json.loads((path / "bundle.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BundleError(f"{path / 'bundle.json'}: not valid JSON ({e}).") from None
    version = meta.get("schema_version") if isinstance(meta, dict) else None
    if version != SCHEMA_VERSION:
        raise BundleError(
            f"{path / 'bundle.json'}: schema version {version} is not the version {SCHEMA_VERSION} this code reads."
        )
    return meta


def load_bundle(path: Path | str, device: str = "cpu") -> Bundle:
    """Load and validate a bundle folder."""
    path = Path(path)
    meta = read_meta(path)
    try:
        model = build_model(meta["model"])
    except (KeyError, TypeError, ValueError) as e:
        raise BundleError(f"{path / 'bundle.json'}: the model description is invalid ({e}).") from None
    try:
        state = load_file(str(path / "weights.safetensors"))
    except (SafetensorError, OSError) as e:
        raise BundleError(f"{path / 'weights.safetensors'}: cannot be read ({e}).") from None
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise BundleError(
            f"{path / 'weights.safetensors'}: does not match the model in bundle.json "
            f"(missing {missing[:3]}, unexpected {extra[:3]})."
        )
    for k, v in expected.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise BundleError(
                f"{path / 'weights.safetensors'}: tensor {k} has shape {tuple(state[k].shape)} "
                f"but the model in bundle.json needs {tuple(v.shape)}."
            )
    model.load_state_dict(state)
    model.to(device).eval()
    latents = _load_npz(path / "latents.npz", ("mu", "labels", "split", "ids"))
    n = int(meta["data"]["n_images"])
    for k, v in latents.items():
        if len(v) != n:
            raise BundleError(f"{path / 'latents.npz'}: {k} has {len(v)} rows but the bundle has {n} images.")
    if latents["mu"].shape[1] != model.latent_dim:
        raise BundleError(
            f"{path / 'latents.npz'}: codes of size {latents['mu'].shape[1]}, but the model's latent size is {model.latent_dim}."
        )
    return Bundle(path=path, meta=meta, model=model, latents=latents)


def list_bundles(folder: Path | str) -> list[Path]:
    """Bundle folders directly inside ``folder`` (those with a bundle.json), sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".") and (p / "bundle.json").is_file())
