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


def _compare(args: argparse.Namespace) -> None:
    from explorer.compare import COMPARE_FILE, compare_baselines, format_table

    out = Path(args.out) if args.out else Path("models") / f"compare-{Path(str(args.data)).stem}"
    rows = compare_baselines(args.data, latent_dim=args.latent_dim, size=args.size, epochs=args.epochs, seed=args.seed,
                             out_dir=out, n=args.n, models=args.models.split(","), arch=args.arch,
                             likelihood=args.likelihood, k=args.k, progress=not args.quiet,
                             log=lambda m: print(m, file=sys.stderr, flush=True))
    print(format_table(rows))
    print(f"\nwrote {out / COMPARE_FILE}")


def _report(args: argparse.Namespace) -> None:
    from explorer.report import write_report

    def progress(fraction: float, message: str) -> None:
        if not args.quiet:
            print(f"[{100 * fraction:3.0f}%] {message}", file=sys.stderr, flush=True)

    res = write_report(args.bundle, args.out, seed=args.seed, k=args.k, compare_path=args.compare,
                       per_class=args.per_class, n_prior=args.n_prior, method=args.method, progress=progress)
    n = res.numbers
    print(f"test images: accuracy {100 * n['test_accuracy']:.1f}%, balanced {100 * n['test_balanced_accuracy']:.1f}%")
    print(f"reconstructions: accuracy {100 * n['recon_accuracy']:.1f}%, "
          f"balanced {100 * n['recon_balanced_accuracy']:.1f}%")
    if n["test_iwae_mean"] is not None:
        print(f"test log p(x): IWAE {n['test_iwae_mean']:.1f}, ELBO {n['test_elbo_mean']:.1f} nats per image")
    t = n["trust"]
    print(f"map trust: trustworthiness {t['trustworthiness']:.3f}, neighbours kept {t['neighbour_preservation']:.3f}")
    print(f"wrote {res.path} in {res.seconds:.1f} s")


def _score(args: argparse.Namespace) -> None:
    from explorer.bundle import load_bundle
    from explorer.errors import DataError
    from explorer.evaluation import MAX_UPLOAD_BYTES, likelihood_scores, score_image

    bundle = load_bundle(args.bundle)
    path = Path(args.image)
    if not path.is_file():
        raise DataError(f"{args.image}: no such file.")
    if path.stat().st_size > MAX_UPLOAD_BYTES:
        raise DataError(f"{path.name}: cannot be used: it is over the upload limit of "
                        f"{MAX_UPLOAD_BYTES / 2**20:.0f} MB.")
    scores = likelihood_scores(bundle, k=args.k, seed=args.seed)
    r = score_image(bundle, path.read_bytes(), path.name, scores, k=args.k, seed=args.seed)
    for note in r["notes"]:
        print(f"note: {note}")
    if r["iwae"] is None:
        print(r["reason"])
    else:
        print(f"{path.name} under {bundle.name}: IWAE log p(x) {r['iwae']:.1f}, ELBO {r['elbo']:.1f} "
              f"nats (k = {r['k']})")
        if r["percentiles"]:
            print("percentile among the test images of each class: "
                  + ", ".join(f"{c} {p:.0f}" for c, p in r["percentiles"].items()))
        print(f"caveat: {r['caveat']}")
    near = ", ".join(f"{bundle.ids[i]} ({bundle.class_names[c]}, d={d:.2f})"
                     for i, c, d in zip(r["neighbours"], r["neighbour_labels"], r["neighbour_distances"]))
    print(f"nearest images in latent space: {near}")


def _project(args: argparse.Namespace) -> None:
    from explorer.bundle import load_bundle
    from explorer.projection import cache_path, cached_projection

    bundle = load_bundle(args.bundle)
    for method in args.method:
        def progress(fraction: float, message: str, method=method) -> None:
            if not args.quiet:
                print(f"[{100 * fraction:3.0f}%] {method}: {message}", file=sys.stderr, flush=True)

        proj = cached_projection(bundle.path, bundle.mu, method, seed=args.seed, progress=progress)
        print(f"{method}: {len(bundle.mu):,} codes in {proj.seconds:.1f} s -> "
              f"{cache_path(bundle.path, bundle.mu, method, seed=args.seed)}")


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

    c = sub.add_parser("compare", help="fit truncated SVD, AE, DAE and VAE at one latent size on the same split",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    c.add_argument("--data", required=True, help="cells, digits, an image folder or an .npz file")
    c.add_argument("--latent-dim", type=int, default=20)
    c.add_argument("--size", type=int, default=28, help="images are resized to SIZE x SIZE")
    c.add_argument("--n", type=int, default=None, help="number of images (cells: how many to generate)")
    c.add_argument("--epochs", type=int, default=30)
    c.add_argument("--models", default="svd,ae,dae,vae", help="comma-separated models to fit")
    c.add_argument("--arch", default="conv", choices=[a for a in ARCHS if a != "linear"])
    c.add_argument("--likelihood", default="bernoulli", choices=list(LIKELIHOODS))
    c.add_argument("--k", type=int, default=100, help="importance samples for the VAE's log p(x)")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--out", default=None,
                   help="folder for the bundles and compare.json (default models/compare-<data>)")
    c.add_argument("--quiet", action="store_true", help="no progress bar")
    c.set_defaults(func=_compare)

    r = sub.add_parser("report", help="write a self-contained HTML report of a bundle",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    r.add_argument("bundle", help="bundle folder, e.g. models/cells-vae")
    r.add_argument("--out", default=None, help="HTML file (default <bundle>/report.html)")
    r.add_argument("--k", type=int, default=100, help="importance samples for log p(x)")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--per-class", type=int, default=100, help="reconstructions classified per class")
    r.add_argument("--n-prior", type=int, default=300, help="prior samples classified")
    r.add_argument("--method", default="pca", help="map method (pca, tsne, umap)")
    r.add_argument("--compare", default=None, help="a compare.json (default: in or next to the bundle)")
    r.add_argument("--quiet", action="store_true", help="no progress lines")
    r.set_defaults(func=_report)

    pr = sub.add_parser("project", help="compute 2-D maps of a bundle's codes and keep them beside it",
                        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    pr.add_argument("bundle", help="bundle folder, e.g. models/cells-vae")
    pr.add_argument("--method", nargs="+", default=["pca", "tsne", "umap"], choices=["pca", "tsne", "umap", "dims"])
    pr.add_argument("--seed", type=int, default=0)
    pr.add_argument("--quiet", action="store_true")
    pr.set_defaults(func=_project)

    s = sub.add_parser("score", help="log-likelihood and percentiles of an image under a bundle's model",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    s.add_argument("bundle", help="bundle folder, e.g. models/cells-vae")
    s.add_argument("image", help="an image file (PNG, JPEG, TIFF, BMP)")
    s.add_argument("--k", type=int, default=100, help="importance samples for log p(x)")
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=_score)
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
