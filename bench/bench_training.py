"""Training speed on `cells`: images per second, and wall time until the validation loss reaches a target.

    python bench/bench_training.py [--n 2000] [--epochs 30] [--target LOSS] [--arch conv mlp]

Writes bench/results/training.json. Targets: an absolute validation loss (--target), and the time to get
within 5 %, 2 % and 1 % of the best validation loss of the run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from explorer.autoencoders import build_model  # noqa: E402
from explorer.data import load_data  # noqa: E402
from explorer.data.split import stratified_split  # noqa: E402
from explorer.pipeline import model_config  # noqa: E402
from explorer.train import TrainConfig, fit, pick_device  # noqa: E402

OUT = Path(__file__).parent / "results" / "training.json"


def run(arch: str, n: int, epochs: int, target: float | None, likelihood: str) -> dict:
    data = load_data("cells", n=n)
    split = stratified_split(data.labels)
    device = pick_device()
    x = torch.from_numpy(data.images).to(device)
    torch.manual_seed(0)
    model = build_model(model_config("vae", data.shape, arch=arch, likelihood=likelihood)).to(device)
    t0 = time.perf_counter()
    out = fit(model, x[torch.from_numpy(split["train"])], x[torch.from_numpy(split["val"])],
              TrainConfig(epochs=epochs, patience=epochs), progress=False, log=lambda m: None)
    wall = time.perf_counter() - t0
    hist = out["history"]
    elapsed = np.cumsum([h["seconds"] for h in hist])
    val = np.array([h["val"]["loss"] for h in hist])
    best = float(val.min())

    def time_to(level: float):
        hit = np.flatnonzero(val <= level)
        return None if len(hit) == 0 else {"epoch": int(hit[0]) + 1, "seconds": round(float(elapsed[hit[0]]), 2)}

    return {
        "arch": arch, "likelihood": likelihood, "n_train": len(split["train"]), "epochs": epochs, "device": str(device),
        "images_per_second_median": round(float(np.median([h["images_per_second"] for h in hist])), 1),
        "wall_seconds": round(wall, 2), "best_val_loss": round(best, 2),
        "time_to_target": {f"{target}": time_to(target)} if target is not None else {},
        "time_to_within": {f"{p}%": time_to(best + abs(best) * p / 100) for p in (5, 2, 1)},
        "val_loss_by_epoch": [round(float(v), 2) for v in val],
    }


def default_bundle_load_seconds() -> float | None:
    """Time to load the shipped bundle and read its images, in a fresh process (imports excluded)."""
    import subprocess

    code = ("import time; from explorer.bundle import load_bundle; t = time.perf_counter(); "
            "b = load_bundle('models/cells-vae'); b.images; print(time.perf_counter() - t)")
    root = Path(__file__).resolve().parents[1]
    if not (root / "models" / "cells-vae").is_dir():
        return None
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    return round(float(out.stdout.strip()), 3)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--target", type=float, default=None, help="absolute validation loss to reach")
    ap.add_argument("--arch", nargs="+", default=["conv", "mlp"])
    ap.add_argument("--likelihood", default="gaussian")
    args = ap.parse_args()
    results = {"machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                           "python": platform.python_version(), "torch": torch.__version__,
                           "load_average_at_start": os.getloadavg()},
               "runs": [run(a, args.n, args.epochs, args.target, args.likelihood) for a in args.arch],
               "default_bundle_load_seconds": default_bundle_load_seconds()}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=1))
    for r in results["runs"]:
        print(f"{r['arch']:5s} {r['images_per_second_median']:8.0f} img/s  wall {r['wall_seconds']:.0f} s  "
              f"best val {r['best_val_loss']:.1f}  within 2%: {r['time_to_within']['2%']}")
    print(f"default bundle loads in {results['default_bundle_load_seconds']} s")
    print(f"written to {OUT}")


if __name__ == "__main__":
    main()
