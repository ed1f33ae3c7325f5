"""In Chromium: click-to-reconstruction time at several map sizes, and slider-to-image time.

    python bench/bench_app.py [--sizes 2000 10000 100000]

For each size a bundle is trained for one epoch on that many `cells` images (kept in bench/out/ for
the next run), the app is started on it, and 10 points are clicked one after another; the time runs
from the mouse click to the picked image's name appearing in the side panel. Results in
bench/results/app.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.live_app import chromium_page, hover_map_point, panel_title, running_app, wait_for_map  # noqa: E402

OUT = ROOT / "bench" / "results" / "app.json"
WORK = ROOT / "bench" / "out"


def bundle_for(n: int) -> Path:
    models = WORK / f"models-{n}"
    path = models / f"cells-{n}"
    if not (path / "bundle.json").exists():
        subprocess.run([sys.executable, "-m", "explorer", "train", "--data", "cells", "--n", str(n), "--epochs", "1",
                        "--out", str(path), "--quiet"], check=True, cwd=ROOT)
    return models


def measure(n: int, clicks: int = 10) -> dict:
    import numpy as np

    from explorer.bundle import load_bundle
    from explorer.projection import cached_projection

    models = bundle_for(n)
    b = load_bundle(next(models.iterdir()))
    proj = cached_projection(b.path, b.mu, "pca")
    WORK.mkdir(exist_ok=True)
    with running_app(models) as url, chromium_page(1500, 1100) as page:
        t0 = time.perf_counter()
        page.goto(f"{url}/?bundle={b.name}&map=pca")
        wait_for_map(page)
        page.get_by_text("Click a point on the map").wait_for()
        first_load = time.perf_counter() - t0
        # points far from their neighbours, so each click hits the intended image
        rng = np.random.default_rng(0)
        from sklearn.neighbors import NearestNeighbors

        candidates = rng.choice(len(b.mu), min(len(b.mu), 3000), replace=False)
        d, _ = NearestNeighbors(n_neighbors=2).fit(proj.embedding).kneighbors(proj.embedding[candidates])
        order = candidates[np.argsort(-d[:, 1])]
        times = []
        done = 0
        for i in order:
            if done == clicks:
                break
            px, py = hover_map_point(page, *proj.embedding[i])
            t = time.perf_counter()
            page.mouse.click(px, py)
            try:
                panel_title(page, b.ids[i]).first.wait_for(timeout=20_000)
            except Exception:
                continue  # a point hidden by the subsample (large maps) picks nothing: try another
            times.append(time.perf_counter() - t)
            done += 1
        # slider to image: nudge the first latent slider with the keyboard, wait for the new image
        img = page.locator("[data-testid='stImage']", has_text="decoded from the sliders").locator("img")
        slider_times = []
        for _ in range(5):
            before = img.get_attribute("src")
            thumb = page.get_by_role("slider").first
            thumb.focus()
            t = time.perf_counter()
            page.keyboard.press("ArrowRight")
            page.wait_for_function("([el, s]) => el.getAttribute('src') !== s", arg=[img.element_handle(), before])
            slider_times.append(time.perf_counter() - t)
        page.screenshot(path=str(WORK / f"bench-app-{n}.png"))
    return {"n_points": n, "clicks": len(times),
            "note": "from the mouse click (once hovering) to the picked image's name in the side panel",
            "click_to_image_ms_median": round(1000 * statistics.median(times)),
            "click_to_image_ms_all": [round(1000 * t) for t in times],
            "slider_to_image_ms_median": round(1000 * statistics.median(slider_times)),
            "first_load_s": round(first_load, 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000, 100000])
    args = ap.parse_args()
    results = {"load_average_at_start": os.getloadavg(), "runs": []}
    for n in args.sizes:
        r = measure(n)
        print(json.dumps(r))
        results["runs"].append(r)
    proj_file = ROOT / "bench" / "results" / "projection.json"
    if proj_file.exists():
        results["projection_times"] = json.loads(proj_file.read_text())
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=1))
    print(f"written to {OUT}")


if __name__ == "__main__":
    main()
