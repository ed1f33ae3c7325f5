"""Data in, bundle out: the steps behind ``python -m explorer train``."""

from __future__ import annotations

import datetime as _dt
import platform
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from explorer.autoencoders import MODELS, LatentModel, build_model
from explorer.bundle import save_bundle
from explorer.data import load_data
from explorer.data.imageset import ImageSet
from explorer.data.split import SPLITS, oversample, split_codes, stratified_split
from explorer.train import TrainConfig, evaluate_terms, fit, pick_device


def library_versions() -> dict[str, str]:
    import safetensors
    import sklearn

    import explorer

    return {"python": platform.python_version(), "explorer": explorer.__version__, "torch": torch.__version__,
            "numpy": np.__version__, "scikit-learn": sklearn.__version__, "safetensors": safetensors.__version__}


def model_config(kind: str, shape, latent_dim: int = 20, arch: str = "conv", likelihood: str = "bernoulli",
                 beta: float = 1.0, corruption: str = "gaussian", noise: float = 0.2) -> dict[str, Any]:
    """The constructor arguments for a model kind, dropping options that kind does not take."""
    if kind not in MODELS:
        raise ValueError(f"unknown model {kind!r}; choose one of {', '.join(MODELS)}")
    cfg: dict[str, Any] = {"kind": kind, "input_shape": list(shape), "latent_dim": latent_dim,
                           "arch": arch, "likelihood": likelihood}
    if kind == "svd":
        cfg.update(arch="linear", likelihood="gaussian")
    if kind == "vae":
        cfg["beta"] = beta
    if kind == "dae":
        cfg.update(corruption=corruption, noise=noise)
    return cfg


@torch.no_grad()
def encode_all(model: LatentModel, x: torch.Tensor, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray | None]:
    mus, lvs = [], []
    for i in range(0, len(x), batch_size):
        mu, lv = model.encode(x[i:i + batch_size])
        mus.append(mu.cpu().numpy())
        if lv is not None:
            lvs.append(lv.cpu().numpy())
    return np.concatenate(mus), (np.concatenate(lvs) if lvs else None)


@torch.no_grad()
def split_metrics(model: LatentModel, x: torch.Tensor, seed: int) -> dict[str, float]:
    """Loss terms plus the mean squared error of reconstructions from the code means."""
    out = evaluate_terms(model, x, seed=seed)
    se = sum(float((model.reconstruct(x[i:i + 512]) - x[i:i + 512]).pow(2).sum()) for i in range(0, len(x), 512))
    out["mse"] = se / x.numel()
    return out


def checkpoint_path(out: Path) -> Path:
    return out.parent / f".{out.name}.checkpoint.safetensors"


def train_bundle(data: str | ImageSet, out: Path, kind: str = "vae", size: int = 28, n: int | None = None,
                 model_options: dict[str, Any] | None = None, config: TrainConfig | None = None,
                 resume: bool = False, progress: bool = True, log: Callable[[str], None] = print) -> Path:
    """Load data, split it, train a model and save the bundle at ``out``. Returns ``out``."""
    config = config or TrainConfig()
    out = Path(out)
    t_start = time.perf_counter()
    images = data if isinstance(data, ImageSet) else load_data(data, size=size, seed=config.seed, n=n)
    for w in images.warnings:
        log(f"warning: {w}")
    split = stratified_split(images.labels, seed=config.seed)
    cfg = model_config(kind, images.shape, **(model_options or {}))
    torch.manual_seed(config.seed)  # weight initialisation
    model = build_model(cfg)
    device = pick_device(config.device)
    model.to(device)
    x = torch.from_numpy(images.images).to(device)
    train_index = oversample(split["train"], images.labels, config.seed) if config.balance else split["train"]
    log(f"{images.source}: {len(images)} images {images.shape}, classes {images.class_counts()}; "
        f"split {', '.join(f'{s} {len(split[s])}' for s in SPLITS)}; {kind} on {device}")
    fingerprint = f"{images.content_hash()}|{cfg}|{config.to_dict() | {'device': None}}"
    if getattr(model, "closed_form", False):
        model.fit_closed_form(images.images[train_index], seed=config.seed)
        summary = {"history": [], "best_epoch": 0, "epochs_run": 0, "stopped_early": False}
    else:
        summary = fit(model, x[torch.from_numpy(train_index).to(device)], x[torch.from_numpy(split["val"]).to(device)],
                      config, checkpoint=checkpoint_path(out), resume=resume, fingerprint=fingerprint,
                      progress=progress, log=log)
        if not model.stochastic:
            model.fit_code_distribution(torch.from_numpy(encode_all(model, x[torch.from_numpy(split["train"]).to(device)])[0]))
    model.eval()
    mu, logvar = encode_all(model, x)
    latents: dict[str, np.ndarray] = {"mu": mu.astype(np.float32), "labels": images.labels,
                                      "split": split_codes(len(images), split), "ids": np.asarray(images.ids)}
    if logvar is not None:
        latents["logvar"] = logvar.astype(np.float32)
    metrics = {s: split_metrics(model, x[torch.from_numpy(split[s]).to(device)], config.seed)
               for s in SPLITS if len(split[s])}
    meta = {
        "name": out.name,
        "data": {"source": images.source, "spec": data if isinstance(data, str) else images.source,
                 "content_hash": images.content_hash(), "n_images": len(images), "size": images.shape[-1],
                 "class_names": images.class_names, "class_counts": images.class_counts(),
                 "warnings": images.warnings},
        "split": {s: split[s].tolist() for s in SPLITS},
        "training": {**config.to_dict(), "device": str(device), "train_images_seen_per_epoch": len(train_index),
                     **{k: v for k, v in summary.items() if k != "history"},
                     "seconds": time.perf_counter() - t_start},
        "history": summary["history"],
        "metrics": metrics,
        "versions": library_versions(),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    model.cpu()
    save_bundle(out, model, meta, latents, images.as_uint8())
    checkpoint_path(out).unlink(missing_ok=True)
    log(f"saved {out}  (test mse {metrics.get('test', {}).get('mse', float('nan')):.4f}, "
        f"test loss {metrics.get('test', {}).get('loss', float('nan')):.2f})")
    return out
