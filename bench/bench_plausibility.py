"""Time the decoded atlas and the plausibility strip; compare a straight loop with a data-following one.

    python bench/bench_plausibility.py [BUNDLE_DIR] [--grid 20] [--fps 100] [--k 10] [--seed 0]
                                       [--class-index 0] [--no-classifier] [--atlas-png FILE]

BUNDLE_DIR defaults to models/cells-vae. The map is the bundle's cached t-SNE (default parameters,
seed 0) when there is one, else PCA. Times:

* the atlas: ``decoded_atlas`` of the whole map (5% margin), grid x grid tiles (first call, which
  builds the projection's neighbour index, and a second one);
* calibration (``calibrate``: the off-the-data thresholds), once per bundle;
* the plausibility strip for the reference loop (5 test images of one class, ``--fps`` frames per
  segment, closed: 500 frames), without and with the IWAE log-likelihood (``--k`` samples), and
  with the pixel classifier;
* ``data_path`` through the training codes.

Then prints the plausibility summary of the straight loop against the data-following loop through
the same keys (classifier and log-likelihood included), and writes bench/results/plausibility.json.
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

import torch  # noqa: E402

from explorer.atlas import SUGGESTED_MAX_DISTANCE, decoded_atlas  # noqa: E402
from explorer.bundle import load_bundle  # noqa: E402
from explorer.paths import data_path, loop_path, random_keys  # noqa: E402
from explorer.plausibility import calibrate, frame_plausibility, summarise  # noqa: E402
from explorer.projection import cached_only, project  # noqa: E402

ROWS = [  # (summary key, label, format)
    ("n_frames", "frames", "{:d}"),
    ("fraction_flagged", "frames off the data (either test)", "{:.1%}"),
    ("fraction_flagged_nn", "  far from every training code", "{:.1%}"),
    ("fraction_flagged_roundtrip", "  bad round trip enc(dec(z))", "{:.1%}"),
    ("longest_flagged_run", "longest run of flagged frames", "{:d}"),
    ("mean_nn_distance", "mean distance to nearest training code", "{:.3f}"),
    ("max_nn_distance", "max distance to nearest training code", "{:.3f}"),
    ("mean_roundtrip", "mean round-trip error", "{:.3f}"),
    ("max_roundtrip", "max round-trip error", "{:.3f}"),
    ("mean_log_prior", "mean log prior (nats)", "{:.2f}"),
    ("min_log_prior", "min log prior (nats)", "{:.2f}"),
    ("mean_confidence", "mean classifier confidence", "{:.3f}"),
    ("majority_class_fraction", "frames of the majority class", "{:.1%}"),
    ("class_changes", "predicted-class changes along the loop", "{:d}"),
    ("mean_log_likelihood", "mean IWAE log p(x) of decoded frames", "{:.1f}"),
    ("min_log_likelihood", "min IWAE log p(x) of decoded frames", "{:.1f}"),
]


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("bundle", nargs="?", default=str(ROOT / "models" / "cells-vae"))
    p.add_argument("--grid", type=int, default=20)
    p.add_argument("--fps", type=int, default=100, help="frames per segment")
    p.add_argument("--n-keys", type=int, default=5)
    p.add_argument("--class-index", type=int, default=0)
    p.add_argument("--k", type=int, default=10, help="IWAE samples per frame")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-classifier", action="store_true")
    p.add_argument("--atlas-png", default=None, help="also save the atlas image here")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "plausibility.json"))
    args = p.parse_args(argv)

    b = load_bundle(args.bundle)
    train = b.split_index("train")
    res: dict = {"bundle": str(Path(args.bundle).resolve()), "data": b.meta["data"].get("source"),
                 "content_hash": b.meta["data"].get("content_hash"), "model": b.meta["model"],
                 "n_images": int(len(b.mu)), "n_train": int(len(train))}

    # -- the atlas -----------------------------------------------------------------------------------
    proj = cached_only(b.path, b.mu, "tsne", seed=0)
    if proj is None:
        proj, fit_s = timed(project, b.mu, "pca")
        res["projection"] = {"method": "pca", "fit_seconds": fit_s, "cached_tsne": False}
    else:
        res["projection"] = {"method": "tsne", "cached_tsne": True}
    lo, hi = proj.embedding.min(0).astype(float), proj.embedding.max(0).astype(float)
    pad = 0.05 * (hi - lo)
    xr, yr = (lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1])
    (image, tiles), atlas_cold = timed(decoded_atlas, proj, b.decode, xr, yr, grid=args.grid,
                                       max_distance=SUGGESTED_MAX_DISTANCE)
    _, atlas_warm = timed(decoded_atlas, proj, b.decode, xr, yr, grid=args.grid, max_distance=SUGGESTED_MAX_DISTANCE)
    res["atlas"] = {"grid": args.grid, "image_shape": list(image.shape), "seconds_first": atlas_cold,
                    "seconds": atlas_warm, "dimmed_fraction": float(tiles.dimmed.mean()),
                    "max_distance": SUGGESTED_MAX_DISTANCE}
    if args.atlas_png:
        from explorer.export import png_bytes

        Path(args.atlas_png).write_bytes(png_bytes(image))

    # -- the paths -----------------------------------------------------------------------------------
    keys_idx = random_keys(b.labels, args.class_index, n=args.n_keys, seed=args.seed, pool=b.split_index("test"))
    keys = b.mu[keys_idx]
    straight, _, _ = loop_path(keys, args.fps, "linear", closed=True)
    dpath, data_s = timed(data_path, keys, b.mu[train], args.fps, True)
    res["keys"] = {"indices": keys_idx.tolist(), "ids": [str(b.ids[i]) for i in keys_idx],
                   "class_index": args.class_index, "class_name": b.class_names[args.class_index],
                   "split": "test", "seed": args.seed, "frames_per_segment": args.fps}
    res["data_path"] = {"seconds": data_s, "hops": dpath.hops, "fallback": dpath.fallback, "warnings": dpath.warnings}

    # -- the strip -----------------------------------------------------------------------------------
    cal, cal_s = timed(calibrate, b, seed=args.seed)
    res["calibration"] = {"seconds": cal_s, **cal.thresholds, "percentile": cal.percentile, "notes": cal.notes,
                          "held_out_nn_median": float(np.median(cal.held_out_nn)),
                          "train_roundtrip_median": float(np.median(cal.train_roundtrip))}
    n = len(straight)
    _, strip_s = timed(frame_plausibility, b, straight, calibration=cal)
    _, strip_k_s = timed(frame_plausibility, b, straight, calibration=cal, k_likelihood=args.k, seed=args.seed)
    res["strip"] = {"frames": n, "seconds": strip_s, f"seconds_k{args.k}": strip_k_s, "k_likelihood": args.k,
                    "seconds_with_calibration": strip_s + cal_s}
    classifier = None
    if not args.no_classifier:
        from explorer.evaluation import fit_classifier

        clf, clf_s = timed(fit_classifier, b, seed=args.seed)
        classifier = clf.predict_proba
        _, strip_c_s = timed(frame_plausibility, b, straight, calibration=cal, classifier=classifier)
        res["strip"].update(classifier_fit_seconds=clf_s, seconds_classifier=strip_c_s)

    # -- straight against data-following -------------------------------------------------------------
    summaries = {}
    for name, frames in (("straight", straight), ("data", dpath.frames)):
        pl = frame_plausibility(b, frames, calibration=cal, classifier=classifier, k_likelihood=args.k, seed=args.seed)
        summaries[name] = summarise(pl)
    res["comparison"] = summaries
    res.update(torch_threads=torch.get_num_threads(), cpu_count=os.cpu_count(), platform=platform.platform(),
               python=platform.python_version(), torch=torch.__version__, when=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1, default=float) + "\n", encoding="utf-8")

    # -- printout ------------------------------------------------------------------------------------
    a, s = res["atlas"], res["strip"]
    print(f"bundle {b.name}: {res['data']}, {res['model']['kind']} latent {res['model']['latent_dim']}, "
          f"{res['n_images']} images ({res['n_train']} train)")
    print(f"atlas {args.grid}x{args.grid} on the {res['projection']['method']} map: {a['seconds']:.2f} s "
          f"(first call {a['seconds_first']:.2f} s), image {a['image_shape']}, {a['dimmed_fraction']:.0%} tiles dimmed")
    print(f"calibration {cal_s:.2f} s; strip for {n} frames: {strip_s:.2f} s, with IWAE k={args.k}: {strip_k_s:.2f} s"
          + (f", with classifier: {s['seconds_classifier']:.2f} s (fit {s['classifier_fit_seconds']:.1f} s)"
             if classifier else ""))
    print(f"data_path through {len(train)} training codes: {data_s:.3f} s; codes visited per segment {dpath.hops}"
          + (f"; WARNINGS: {dpath.warnings}" if dpath.warnings else ""))
    print()
    print(f"Loop through {args.n_keys} test images of class {args.class_index} ({b.class_names[args.class_index]}), "
          f"seed {args.seed}, {args.fps} frames per segment, closed ({n} frames); indices {keys_idx.tolist()}")
    print(f"off the data = distance to nearest training code > {cal.nn_threshold:.3f} (99th pct of held-out codes) "
          f"or round trip > {cal.roundtrip_threshold:.3f} (99th pct of training codes)")
    print(f"for scale: median held-out distance to nearest training code {np.median(cal.held_out_nn):.3f}, "
          f"median training round-trip error {np.median(cal.train_roundtrip):.3f}")
    print(f"{'':42s}{'straight':>12s}{'data-following':>16s}")
    for key, label, fmt in ROWS:
        if key in summaries["straight"]:
            vals = [fmt.format(summaries[m][key]) for m in ("straight", "data")]
            print(f"{label:42s}{vals[0]:>12s}{vals[1]:>16s}")
    if classifier:
        print(f"(majority class: straight {b.class_names[summaries['straight']['majority_class']]}, "
              f"data-following {b.class_names[summaries['data']['majority_class']]})")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
