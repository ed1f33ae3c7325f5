"""The training loop. It knows the model only through ``loss_terms`` (batch means, ``loss`` minimised).

Reproducible and resumable: epoch e shuffles and draws noise from generators seeded by
``(seed, e)``, and a checkpoint after every epoch holds everything else (weights, optimiser,
best weights, history), so a run killed at any moment and resumed equals an uninterrupted one.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from tqdm.auto import tqdm

from explorer.checkpoint import load_checkpoint, save_checkpoint
from explorer.errors import TrainingError


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    patience: int = 8  # epochs without a better validation loss before stopping
    seed: int = 0
    balance: bool = False  # oversample rare classes inside the training split
    device: str = "auto"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _generator(device: torch.device, seed: int) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


@torch.no_grad()
def evaluate_terms(model, x: torch.Tensor, batch_size: int = 512, seed: int = 0) -> dict[str, float]:
    """Means of the loss terms over ``x`` (in eval mode, with a fixed noise seed)."""
    was_training = model.training
    model.eval()
    g = _generator(x.device, seed)
    sums: dict[str, float] = {}
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size]
        for k, v in model.loss_terms(xb, generator=g).items():
            sums[k] = sums.get(k, 0.0) + float(v) * len(xb)
    model.train(was_training)
    return {k: v / len(x) for k, v in sums.items()}


def fit(model, train_x: torch.Tensor, val_x: torch.Tensor, config: TrainConfig,
        checkpoint: Path | None = None, resume: bool = False, fingerprint: str = "",
        progress: bool = True, log: Callable[[str], None] = tqdm.write) -> dict[str, Any]:
    """Train ``model`` in place with Adam and early stopping on the validation loss.

    Leaves the best weights (lowest validation loss) in the model and returns a summary with
    the per-epoch history. ``fingerprint`` identifies data and configuration so that a resume
    cannot continue a different run.
    """
    device = train_x.device
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    state = {"epoch": 0, "history": [], "best_val": math.inf, "best_epoch": 0, "bad_epochs": 0,
             "fingerprint": fingerprint}
    best = copy.deepcopy(model.state_dict())
    if resume and checkpoint is not None and Path(checkpoint).exists():
        best, state = load_checkpoint(Path(checkpoint), model, optimizer)
        if state.get("fingerprint") != fingerprint:
            raise TrainingError(
                f"{checkpoint}: this checkpoint belongs to a run with other data or settings; "
                "run without --resume to start afresh."
            )
        best = {k: v.to(device) for k, v in best.items()}
        log(f"resuming after epoch {state['epoch']} from {checkpoint}")
    n = len(train_x)
    n_batches = math.ceil(n / config.batch_size)
    stopped_early = state["bad_epochs"] >= config.patience
    model.train()
    for epoch in range(state["epoch"] + 1, config.epochs + 1):
        if stopped_early:
            break
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=_generator(torch.device("cpu"), config.seed * 1_000_003 + epoch))
        noise = _generator(device, config.seed * 1_000_003 + epoch)
        sums: dict[str, float] = {}
        bar = tqdm(total=n_batches, desc=f"epoch {epoch}/{config.epochs}", disable=not progress,
                   leave=False, unit="batch", dynamic_ncols=True)
        for b in range(n_batches):
            xb = train_x[perm[b * config.batch_size:(b + 1) * config.batch_size].to(device)]
            terms = model.loss_terms(xb, generator=noise)
            loss = terms["loss"]
            if not torch.isfinite(loss):
                bar.close()
                kept = (f"the last good checkpoint (epoch {state['epoch']}) is kept at {checkpoint}"
                        if checkpoint is not None and state["epoch"] > 0 else "no checkpoint was written yet")
                raise TrainingError(
                    f"the training loss became {float(loss.detach())} at epoch {epoch} (batch {b + 1}); "
                    f"training stopped and {kept}. A lower learning rate (--lr) may help."
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach()) * len(xb)
            bar.update(1)
            bar.set_postfix({k: f"{sums[k] / min(n, (b + 1) * config.batch_size):.2f}" for k in terms})
        bar.close()
        val = evaluate_terms(model, val_x, seed=config.seed)
        model.train()
        seconds = time.perf_counter() - t0
        entry = {"epoch": epoch, "train": {k: v / n for k, v in sums.items()}, "val": val,
                 "seconds": seconds, "images_per_second": n / seconds}
        state["history"].append(entry)
        if not math.isfinite(val["loss"]):
            raise TrainingError(f"the validation loss became {val['loss']} at epoch {epoch}; training stopped.")
        improved = val["loss"] < state["best_val"]
        if improved:
            state.update(best_val=val["loss"], best_epoch=epoch, bad_epochs=0)
            best = copy.deepcopy(model.state_dict())
        else:
            state["bad_epochs"] += 1
        stopped_early = state["bad_epochs"] >= config.patience
        state["epoch"] = epoch
        if checkpoint is not None:
            save_checkpoint(Path(checkpoint), model, best, optimizer, state)
        log(f"epoch {epoch}/{config.epochs}  train loss {entry['train']['loss']:.2f}  "
            f"val loss {val['loss']:.2f}{'  (best)' if improved else ''}  {n / seconds:.0f} img/s")
        if stopped_early:
            log(f"early stop: no better validation loss for {config.patience} epochs")
    model.load_state_dict(best)
    model.eval()
    return {"history": state["history"], "best_epoch": state["best_epoch"], "best_val_loss": state["best_val"],
            "epochs_run": state["epoch"], "stopped_early": stopped_early}
