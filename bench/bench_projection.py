"""Time the 2-D map methods of explorer.projection.

    python bench/bench_projection.py [BUNDLE_DIR] [--quick] [--compare-tsne]

Fits pca, tsne and umap at N = 2,000 and 10,000 (and pca, dims at 100,000) on 20-d codes:
Gaussian blobs, or a bundle's codes (``latents.npz`` "mu", sampled to N, all of them if fewer)
when a bundle folder is given. Also times ``place`` and ``invert`` for 100 points each.
UMAP's first call compiles numba code; that call is timed separately as "umap (first call)".
``--quick`` runs only N = 2,000; ``--compare-tsne`` also times t-SNE with the other gradient
method (Barnes-Hut vs FFT) at each N, to check the switch-over point.

Writes bench/results/projection.json and prints a table. The default run takes a few minutes.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from explorer import projection as P  # noqa: E402

D = 20


def blob_codes(n: int, d: int = D, k: int = 10, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, (k, d))
    return (centres[rng.integers(0, k, n)] + rng.normal(0, 1, (n, d))).astype(np.float32)


def bundle_codes(bundle: Path, n: int) -> np.ndarray:
    with np.load(bundle / "latents.npz", allow_pickle=False) as f:
        mu = np.asarray(f["mu"], np.float32)
    if len(mu) <= n:
        return mu
    return mu[np.random.default_rng(0).choice(len(mu), n, replace=False)]


def run_one(label: str, z: np.ndarray, method: str, **params) -> dict:
    start = time.perf_counter()
    proj = P.project(z, method, seed=0, **params)
    wall = time.perf_counter() - start
    new = z[np.random.default_rng(1).choice(len(z), 100)] + 0.05
    t = time.perf_counter()
    proj.place(new)
    place_s = time.perf_counter() - t  # includes building the latent kNN index once
    t = time.perf_counter()
    proj.place(new)
    place_again_s = time.perf_counter() - t  # the index is kept on the projection
    spots = proj.embedding[:100] + 0.1
    t = time.perf_counter()
    proj.invert(spots)
    invert_s = time.perf_counter() - t  # includes the map kNN index and the spacing estimate
    row = {"label": label, "method": method, "n": int(len(z)), "d": int(z.shape[1]), "params": proj.params,
           "fit_s": round(proj.seconds, 3), "wall_s": round(wall, 3),
           "place_100_ms": round(place_s * 1e3, 1),
           "place_100_again_ms": round(place_again_s * 1e3, 1), "invert_100_ms": round(invert_s * 1e3, 1)}
    print(f"{label:<24}{row['n']:>9,}{row['fit_s']:>10.2f}{row['place_100_ms']:>12.1f}"
          f"{row['place_100_again_ms']:>8.1f}{row['invert_100_ms']:>13.1f}", flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bundle", nargs="?", type=Path, help="a bundle folder whose codes to use")
    ap.add_argument("--quick", action="store_true", help="only N = 2,000")
    ap.add_argument("--compare-tsne", action="store_true", help="also time the other t-SNE gradient method")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "projection.json")
    args = ap.parse_args()

    def codes(n: int) -> np.ndarray:
        return bundle_codes(args.bundle, n) if args.bundle else blob_codes(n)

    sizes = [2_000] if args.quick else [2_000, 10_000]
    print(f"{'method':<24}{'N':>9}{'fit s':>10}{'place100 ms':>12}{'again':>8}{'invert100 ms':>13}")
    rows = []
    start = time.perf_counter()
    # UMAP's first call pays for numba compilation; time it apart, on a small set
    rows.append(run_one("umap (first call)", codes(500), "umap"))
    for n in sizes:
        z = codes(n)
        for method in ("pca", "tsne", "umap"):
            rows.append(run_one(method, z, method))
        if args.compare_tsne:
            other = "fft" if n < P.TSNE_BH_MAX_N else "bh"
            saved = P.TSNE_BH_MAX_N
            P.TSNE_BH_MAX_N = 0 if other == "fft" else 10**12
            try:
                rows.append(run_one(f"tsne ({other})", z, "tsne"))
            finally:
                P.TSNE_BH_MAX_N = saved
    if not args.quick:
        z = codes(100_000)
        for method in ("pca", "dims"):
            rows.append(run_one(method, z, method))
    total = time.perf_counter() - start

    import openTSNE
    import sklearn
    import umap

    result = {
        "codes": str(args.bundle) if args.bundle else f"Gaussian blobs, 10 clusters, d={D}",
        "quick": args.quick,
        "total_s": round(total, 1),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
                    "python": platform.python_version(), "numpy": np.__version__,
                    "sklearn": sklearn.__version__, "openTSNE": openTSNE.__version__,
                    "umap": umap.__version__},
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1))
    os.replace(tmp, args.out)
    print(f"total {total:.0f} s; load average {result['machine']['load_average']}; written to {args.out}")


if __name__ == "__main__":
    main()
