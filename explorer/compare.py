"""Baselines at one latent size: truncated SVD, AE, DAE and VAE on the same images and the same split.

The reference article frames the truncated SVD as the linear autoencoder that the non-linear ones
must beat. :func:`compare_baselines` trains each model with :func:`explorer.pipeline.train_bundle`
(so every baseline is a real bundle, ``<out_dir>/svd``, ``<out_dir>/ae``, ...), checks that they all
used the same split, and measures them on the same held-out test images:

* ``test_mse``: mean squared error per pixel of the reconstruction from the code (mean);
* ``test_bce_nats``: binary cross-entropy of that reconstruction, summed over pixels, in nats per
  image, with reconstructed pixels clipped to [1e-4, 1 - 1e-4]: the same formula for every model,
  so it compares them (it is the Bernoulli 'likelihood' of the article, not a density, see
  :data:`explorer.evaluation.CAVEATS`);
* ``test_nll_nats`` with ``likelihood``: the model's own reconstruction term -log p(x | z) per image
  (comparable only between models with the same likelihood; the SVD's is Gaussian);
* ``log_likelihood``: the mean IWAE log p(x) of the test images with ``k`` samples, VAE only (None,
  printed "n/a", for the others: they define no p(x));
* ``parameters`` (the SVD's tied W and W^T counted once) and ``train_seconds``.

``<out_dir>/compare.json`` holds the table and the settings; the app and the report show it.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import tempfile
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np
import torch

from explorer.checkpoint import atomic_write
from explorer.data import load_data
from explorer.data.imageset import ImageSet
from explorer.data.split import SPLITS

COMPARE_FILE = "compare.json"
MODELS = ("svd", "ae", "dae", "vae")
BCE_CLIP = 1e-4
COLUMNS = [("model", "model"), ("test_mse", "test MSE"), ("test_bce_nats", "test BCE (nats/image)"),
           ("test_nll_nats", "test NLL (nats/image)"), ("likelihood", "likelihood"),
           ("log_likelihood", "test IWAE log p(x)"), ("parameters", "parameters"), ("train_seconds", "train s")]


def parameter_count(model: torch.nn.Module) -> int:
    """Trainable numbers in the model; the SVD's encoder and decoder share one matrix, counted once."""
    n = sum(p.numel() for p in model.parameters())
    if getattr(model, "kind", "") == "svd":
        n -= model.decoder[0].weight.numel()  # W^T is W
    return int(n)


@torch.no_grad()
def held_out_errors(bundle, split: str = "test", batch_size: int = 512) -> dict[str, float]:
    """MSE per pixel and clipped BCE per image (nats) of reconstructions from the code means."""
    idx = bundle.split_index(split)
    x = bundle.images[idx]
    se = bce = 0.0
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size].astype(np.float64)
        r = bundle.decode(bundle.mu[idx[i:i + batch_size]]).astype(np.float64)
        se += float(((r - xb) ** 2).sum())
        p = np.clip(r, BCE_CLIP, 1 - BCE_CLIP)
        bce += float(-(xb * np.log(p) + (1 - xb) * np.log1p(-p)).sum())
    return {"mse": se / x.size if x.size else float("nan"), "bce": bce / len(x) if len(x) else float("nan"),
            "n": int(len(x))}


def compare_baselines(data: str | ImageSet, latent_dim: int = 20, size: int = 28, epochs: int = 30, seed: int = 0,
                      out_dir: Optional[Path | str] = None, n: Optional[int] = None, models: Sequence[str] = MODELS,
                      arch: str = "conv", likelihood: str = "bernoulli", k: int = 100, batch_size: int = 64,
                      progress: bool = False, log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Train each of ``models`` at ``latent_dim`` on the same images and split; return the table rows.

    ``data`` is a data spec (``"cells"``, a folder, an .npz) or an :class:`ImageSet`. With ``out_dir``
    the bundles stay in ``<out_dir>/<model>`` and the table is written to ``<out_dir>/compare.json``;
    without it they are trained in a temporary folder and discarded.
    """
    from explorer.bundle import load_bundle
    from explorer.evaluation import likelihood_scores
    from explorer.pipeline import train_bundle
    from explorer.train import TrainConfig

    models = list(models)
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        raise ValueError(f"unknown model(s) {unknown}; choose from {', '.join(MODELS)}")
    images = data if isinstance(data, ImageSet) else load_data(data, size=size, seed=seed, n=n)
    spec = data if isinstance(data, str) else images.source
    tmp = None
    if out_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="compare-")
        root = Path(tmp.name)
    else:
        root = Path(out_dir)
    try:
        rows: list[dict[str, Any]] = []
        splits = {}
        for kind in models:
            log(f"[compare] {kind}: training at latent size {latent_dim}")
            config = TrainConfig(epochs=epochs, batch_size=batch_size, seed=seed)
            options = {"latent_dim": latent_dim, "arch": arch, "likelihood": likelihood}
            path = train_bundle(images, root / kind, kind=kind, size=size, model_options=options, config=config,
                                progress=progress, log=log)
            b = load_bundle(path)
            splits[kind] = b.split.copy()
            if not np.array_equal(splits[kind], splits[models[0]]):
                raise RuntimeError(f"{kind} was trained on another split than {models[0]}; the comparison is void.")
            err = held_out_errors(b)
            test = b.meta["metrics"].get("test", {})
            ll = None
            if b.model.stochastic:
                log(f"[compare] {kind}: IWAE log p(x) with k = {k}")
                scores = likelihood_scores(b, k=k, seed=seed)
                if scores is not None:
                    ll = float(scores.iwae[b.split_index("test")].mean())
            rows.append({
                "model": kind, "bundle": str(path), "latent_dim": latent_dim,
                "test_mse": err["mse"], "test_bce_nats": err["bce"],
                "test_nll_nats": float(test.get("recon", float("nan"))), "likelihood": b.model.likelihood.name,
                "log_likelihood": ll, "k": k if ll is not None else None,
                "parameters": parameter_count(b.model), "train_seconds": float(b.meta["training"]["seconds"]),
                "epochs_run": int(b.meta["training"].get("epochs_run", 0)),
                "best_epoch": int(b.meta["training"].get("best_epoch", 0)), "n_test": err["n"],
            })
        if out_dir is not None:
            write_compare(root / COMPARE_FILE, rows, {
                "data": spec, "data_hash": images.content_hash(), "n_images": len(images),
                "class_names": images.class_names, "latent_dim": latent_dim, "size": size, "epochs": epochs,
                "seed": seed, "k": k, "arch": arch, "likelihood": likelihood,
                "split_sizes": {s: int((splits[models[0]] == i).sum()) for i, s in enumerate(SPLITS)},
            })
        return rows
    finally:
        if tmp is not None:
            tmp.cleanup()


def _json_safe(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_json_safe(x) for x in v]
    return v


def write_compare(file: Path, rows: list[dict[str, Any]], settings: dict[str, Any]) -> Path:
    from explorer.pipeline import library_versions

    doc = {"settings": settings, "rows": rows, "columns": dict(COLUMNS), "versions": library_versions(),
           "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
           "notes": __doc__.split("\n\n", 2)[2].strip()}
    text = json.dumps(_json_safe(doc), indent=1, ensure_ascii=False)
    atomic_write(Path(file), lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return Path(file)


def read_compare(file: Path | str) -> dict[str, Any]:
    """The document :func:`compare_baselines` wrote (``settings``, ``rows``, ...)."""
    return json.loads(Path(file).read_text(encoding="utf-8"))


def find_compare(bundle_path: Path | str) -> Optional[Path]:
    """``compare.json`` inside the bundle folder or next to it (a baseline bundle of a comparison)."""
    p = Path(bundle_path)
    for f in (p / COMPARE_FILE, p.parent / COMPARE_FILE):
        if f.is_file():
            return f
    return None


def _cell(key: str, v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    if key == "test_mse":
        return f"{v:.5f}"
    if key in ("test_bce_nats", "test_nll_nats", "log_likelihood"):
        return f"{v:.1f}"
    if key == "parameters":
        return f"{v:,}"
    if key == "train_seconds":
        return f"{v:.1f}"
    return str(v)


def table_cells(rows: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """Header and formatted cells of the table (missing numbers as "n/a")."""
    return [h for _, h in COLUMNS], [[_cell(k, r.get(k)) for k, _ in COLUMNS] for r in rows]


def format_table(rows: list[dict[str, Any]]) -> str:
    head, cells = table_cells(rows)
    table = [head, *cells]
    widths = [max(len(r[c]) for r in table) for c in range(len(head))]
    return "\n".join("  ".join(cell.ljust(w) if c == 0 else cell.rjust(w) for c, (cell, w) in enumerate(zip(r, widths)))
                     for r in table)


def table_frame(rows: list[dict[str, Any]]):
    """The rows as a pandas DataFrame (numbers stay numbers; missing log-likelihoods are NaN)."""
    import pandas as pd

    return pd.DataFrame(rows)
