"""``python -m explorer <command>``: the command-line face of the library."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from explorer.errors import ExplorerError


def _train(args: argparse.Namespace) -> None:
    from explorer.pipeline import train_bundle
    from explorer.train import TrainConfig

    out = Path(args.out) if args.out else Path("models") / f"{Path(str(args.data)).stem}-{args.model}"
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, patience=args.patience,
                         seed=args.seed, balance=args.balance, device=args.device)
    options = {"latent_dim": args.latent_dim, "arch": args.arch, "likelihood": args.likelihood,
               "beta": args.beta, "corruption": args.corruption, "noise": args.noise}
    train_bundle(args.data, out, kind=args.model, size=args.size, n=args.n, model_options=options,
                 config=config, resume=args.resume, progress=not args.quiet,
                 log=lambda m: print(m, file=sys.stderr, flush=True))


def build_parser() -> argparse.ArgumentParser:
    from explorer.autoencoders import MODELS, DenoisingAutoencoder
    from explorer.likelihoods import LIKELIHOODS
    from explorer.nets import ARCHS

    p = argparse.ArgumentParser(prog="python -m explorer", description="Latent Explorer: train and inspect autoencoders.")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a model on images and save it as a bundle",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    t.add_argument("--data", required=True, help="cells, digits, an image folder (one subfolder per class) or an .npz file")
    t.add_argument("--model", default="vae", choices=list(MODELS))
    t.add_argument("--arch", default="conv", choices=[a for a in ARCHS if a != "linear"] + ["linear"])
    t.add_argument("--latent-dim", type=int, default=20)
    t.add_argument("--size", type=int, default=28, help="images are resized to SIZE x SIZE")
    t.add_argument("--n", type=int, default=None, help="number of images (cells: how many to generate)")
    t.add_argument("--epochs", type=int, default=30)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--patience", type=int, default=8, help="early stopping: epochs without a better validation loss")
    t.add_argument("--likelihood", default="bernoulli", choices=list(LIKELIHOODS))
    t.add_argument("--beta", type=float, default=1.0, help="VAE: weight of the KL term")
    t.add_argument("--corruption", default="gaussian", choices=list(DenoisingAutoencoder.CORRUPTIONS), help="DAE: corruption")
    t.add_argument("--noise", type=float, default=0.2, help="DAE: corruption amount (noise std or fraction of pixels)")
    t.add_argument("--balance", action="store_true", help="oversample rare classes inside the training split")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="auto", help="auto (cuda when present), cpu or cuda")
    t.add_argument("--out", default=None, help="bundle folder (default models/<data>-<model>)")
    t.add_argument("--resume", action="store_true", help="continue an interrupted run from its last checkpoint")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(func=_train)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except ExplorerError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ValueError as e:  # an option value the model or data rejected
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; run again with --resume to continue from the last finished epoch", file=sys.stderr)
        return 130
    return 0
