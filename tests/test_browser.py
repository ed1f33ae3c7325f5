"""The real app in Debian's Chromium: click a point, see its reconstruction, build a path, play the movie."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.live_app import CHROMIUM, POINT_PIXEL_JS, ROOT, chromium_page, running_app

pytestmark = [pytest.mark.slow, pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("LATENT_EXPLORER_REQUIRE_BROWSER"),
                                 reason="Debian's chromium is not installed")]
SHOTS = ROOT / "bench" / "out"


def click_map_point(page, x: float, y: float) -> None:
    px, py = page.evaluate(POINT_PIXEL_JS, [".js-plotly-plot", float(x), float(y)])
    page.mouse.click(px, py)


@pytest.fixture(scope="module")
def app_url():
    with running_app() as url:
        yield url


def test_click_reconstruct_and_path_movie(app_url):
    import numpy as np

    from explorer.bundle import load_bundle
    from explorer.projection import cached_only

    b = load_bundle(ROOT / "models" / "cells-vae")
    proj = cached_only(b.path, b.mu, "tsne", seed=0)
    assert proj is not None, "the shipped bundle carries its t-SNE map"
    SHOTS.mkdir(exist_ok=True)
    with chromium_page() as page:
        page.goto(app_url)
        page.wait_for_selector(".js-plotly-plot .scatterlayer, .js-plotly-plot canvas")
        page.wait_for_function("() => { const g = document.querySelector('.js-plotly-plot');"
                               " return g && g._fullLayout && g._fullLayout.xaxis; }")
        # a point away from the others so that the click is unambiguous
        xy = proj.embedding
        d = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
        np.fill_diagonal(d, np.inf)
        i = int(np.argmax(d.min(1)))
        click_map_point(page, *xy[i])
        page.get_by_text(str(b.ids[i]), exact=True).wait_for()
        page.get_by_text("reconstruction (decoded mean code)").wait_for()
        assert page.locator("[data-testid='stImage'] img").count() >= 3
        page.screenshot(path=str(SHOTS / "browser-map.png"), full_page=True)

        page.get_by_role("link", name="Paths").click()
        page.get_by_role("button", name="Replace the keys with random images").click()
        video = page.locator("video")
        video.wait_for()
        page.wait_for_function("() => { const v = document.querySelector('video');"
                               " return v && v.readyState >= 2 && v.duration > 10; }")
        duration = page.evaluate("() => document.querySelector('video').duration")
        assert abs(duration - 500 / 30) < 0.5  # 5 keys x 100 frames at 30 fps
        page.evaluate("() => { const v = document.querySelector('video'); v.muted = true; return v.play(); }")
        page.wait_for_function("() => document.querySelector('video').currentTime > 0.5")
        page.screenshot(path=str(SHOTS / "browser-paths.png"), full_page=True)
