"""Atomic files and training checkpoints in safetensors (never pickle).

A checkpoint holds the model, the best model so far and the optimiser state as tensors, and the
rest (epoch, history, optimiser hyper-parameters) as JSON in the safetensors metadata.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from explorer.errors import TrainingError


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)`` then move the file into place: readers see the old or the new file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _flat(prefix: str, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{k}": v.detach().cpu().contiguous() for k, v in state.items()}


def _unflat(prefix: str, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    p = prefix + "."
    return {k[len(p):]: v for k, v in tensors.items() if k.startswith(p)}


def save_checkpoint(path: Path, model: torch.nn.Module, best: dict[str, torch.Tensor],
                    optimizer: torch.optim.Optimizer, info: dict[str, Any]) -> None:
    opt = optimizer.state_dict()
    tensors = {**_flat("model", model.state_dict()), **_flat("best", best)}
    opt_scalars: dict[str, dict[str, Any]] = {}
    for pid, st in opt["state"].items():
        for name, value in st.items():
            if torch.is_tensor(value):
                tensors[f"opt.{pid}.{name}"] = value.detach().cpu().contiguous()
            else:
                opt_scalars.setdefault(str(pid), {})[name] = value
    meta = {"info": json.dumps(info), "param_groups": json.dumps(opt["param_groups"]),
            "opt_scalars": json.dumps(opt_scalars)}
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=meta))


def load_checkpoint(path: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> tuple[dict, dict]:
    """Restore model and optimiser in place; return ``(best_state, info)``."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(str(path))
        info = json.loads(meta["info"])
        groups = json.loads(meta["param_groups"])
        scalars = json.loads(meta["opt_scalars"])
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError) as e:
        raise TrainingError(f"{path}: the checkpoint cannot be read ({e}); delete it to start afresh.") from None
    model.load_state_dict(_unflat("model", tensors))
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("opt."):
            _, pid, name = key.split(".", 2)
            state.setdefault(int(pid), {})[name] = value
    for pid, st in scalars.items():
        state.setdefault(int(pid), {}).update(st)
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    return _unflat("best", tensors), info
