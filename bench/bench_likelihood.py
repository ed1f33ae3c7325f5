"""Time the IWAE log-likelihood (explorer.evaluation) on a bundle's images.

    python bench/bench_likelihood.py [BUNDLE_DIR] [--k 100] [--batch-size 256] [--n N]

BUNDLE_DIR defaults to models/cells-vae when it exists, else a tiny VAE trained here on 90 blob
images (2 epochs, a few seconds). Times ``likelihood_scores`` first (the full
computation, including writing scores.npz into a copy of the bundle) and then again (loading it), plus one upload
scored by ``score_image``. Writes bench/results/likelihood.json and prints a summary.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from explorer import evaluation as E  # noqa: E402
from explorer.bundle import load_bundle  # noqa: E402
from explorer.export import png_bytes, to_rgb_uint8  # noqa: E402


def tiny_bundle(folder: Path) -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import blobs_imageset  # noqa: E402

    from explorer.pipeline import train_bundle
    from explorer.train import TrainConfig

    out = folder / "tiny-vae"
    train_bundle(blobs_imageset(), out, kind="vae", model_options={"latent_dim": 4},
                 config=TrainConfig(epochs=2, batch_size=32), progress=False, log=lambda m: None)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("bundle", nargs="?", default=None)
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--n", type=int, default=None, help="use only the first N images")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "likelihood.json"))
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-likelihood-") as tmp:
        tmp = Path(tmp)
        if args.bundle:
            src = Path(args.bundle)
        elif (ROOT / "models" / "cells-vae").is_dir():
            src = ROOT / "models" / "cells-vae"
        else:
            print("models/cells-vae not found; training a tiny VAE on blob images", file=sys.stderr)
            src = tiny_bundle(tmp)
        work = tmp / src.name  # a copy: the benchmark never touches the bundle's own scores.npz
        shutil.copytree(src, work, ignore=shutil.ignore_patterns("scores.npz", "report.html", "projections"))
        b = load_bundle(work)
        if E.likelihood_unavailable(b):
            print(E.likelihood_unavailable(b), file=sys.stderr)
            return 2
        images = b.images if args.n is None else b.images[: args.n]

        if args.n is not None:
            b._images = images
            b.latents = {k: v[: args.n] for k, v in b.latents.items()}
        t0 = time.perf_counter()
        s = E.likelihood_scores(b, k=args.k, seed=0, batch_size=args.batch_size)  # computes, writes the cache
        compute_s = time.perf_counter() - t0
        elbo, iwae = s.elbo, s.iwae
        t0 = time.perf_counter()
        cached = E.likelihood_scores(b, k=args.k, seed=0, batch_size=args.batch_size)
        cached_s = time.perf_counter() - t0
        assert cached is not None and cached.from_cache

        upload = png_bytes(to_rgb_uint8(b.images[:1])[0])
        t0 = time.perf_counter()
        E.score_image(b, upload, "bench.png", s, k=args.k)
        upload_s = time.perf_counter() - t0

    result = {
        "bundle": str(src), "model": b.meta["model"], "n_images": int(len(images)), "k": args.k,
        "batch_size": args.batch_size, "seconds": compute_s, "images_per_second": len(images) / compute_s,
        "cached_load_seconds": cached_s, "upload_seconds": upload_s,
        "mean_elbo": float(np.mean(elbo)), "mean_iwae": float(np.mean(iwae)),
        "torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
        "platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"{src.name}: IWAE k={args.k} on {len(images)} images in {compute_s:.1f} s "
          f"({result['images_per_second']:.0f} images/s); cached load {cached_s * 1000:.0f} ms; "
          f"one upload {upload_s:.2f} s; mean ELBO {result['mean_elbo']:.1f}, IWAE {result['mean_iwae']:.1f}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
