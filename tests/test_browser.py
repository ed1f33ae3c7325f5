"""The real app in Debian's Chromium: click a point, see its reconstruction, build a path, play the movie."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.live_app import CHROMIUM, POINT_PIXEL_JS, ROOT, chromium, click_map_point, new_page, panel_title, running_app, wait_for_map

pytestmark = [pytest.mark.slow, pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).exists() and not os.environ.get("LATENT_EXPLORER_REQUIRE_BROWSER"),
                                 reason="Debian's chromium is not installed")]
SHOTS = ROOT / "bench" / "out"


@pytest.fixture(scope="module")
def app_url():
    with running_app() as url:
        yield url


def emptiest_spot(xy):
    """The spot inside the map's bounding box farthest from every point."""
    import numpy as np

    lo, hi = xy.min(0), xy.max(0)
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 40), np.linspace(lo[1], hi[1], 40))
    spots = np.stack([gx.ravel(), gy.ravel()], 1)
    d = np.linalg.norm(spots[:, None] - xy[None], axis=-1).min(1)
    return spots[int(np.argmax(d))]


def isolated_points(xy, n):
    """Indices of the n points farthest from their nearest neighbour: unambiguous click targets."""
    import numpy as np

    d = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    return list(np.argsort(-d.min(1))[:n])


def test_click_reconstruct_and_path_movie(app_url):

    from explorer.bundle import load_bundle
    from explorer.projection import cached_only

    b = load_bundle(ROOT / "models" / "cells-vae")
    proj = cached_only(b.path, b.mu, "tsne", seed=0)
    assert proj is not None, "the shipped bundle carries its t-SNE map"
    SHOTS.mkdir(exist_ok=True)
    with chromium() as browser:
        page = new_page(browser, 1500, 1600)
        page.goto(app_url)
        wait_for_map(page)
        i, j = isolated_points(proj.embedding, 2)
        click_map_point(page, *proj.embedding[i])
        panel_title(page, b.ids[i]).wait_for()
        page.get_by_text("reconstruction (decoded mean code)").wait_for()
        assert page.locator("[data-testid='stImage'] img").count() >= 3
        page.get_by_text("the 8 nearest neighbours in latent space").wait_for()
        page.screenshot(path=str(SHOTS / "browser-map.png"))

        # probe mode: a click on empty space (a corner of the map window) decodes the code there
        page.get_by_text("Probe", exact=True).click()
        page.get_by_text("Atlas", exact=True).click()
        wait_for_map(page)
        page.wait_for_function("""() => { const gd = document.querySelector('.js-plotly-plot');
            return gd.data.some(t => t.name === 'probe') && (gd.layout.images || []).length > 0; }""")
        click_map_point(page, *emptiest_spot(proj.embedding))
        page.locator("h3", has_text="Probe at").wait_for()
        page.get_by_text("decoded at this spot").wait_for()
        page.screenshot(path=str(SHOTS / "browser-probe-atlas.png"))
        page.get_by_text("Probe", exact=True).click()
        page.get_by_text("Atlas", exact=True).click()

        # the picked image's posterior drawn on the map as a cloud
        page.get_by_text("Posterior", exact=True).click()
        page.wait_for_function("() => document.querySelector('.js-plotly-plot').data"
                               ".some(t => t.name === 'posterior samples')")
        page.get_by_text("Posterior", exact=True).click()

        # a box selection lists the images inside it
        wait_for_map(page)
        page.locator(".js-plotly-plot .modebar-btn[data-title='Box Select']").first.click()  # the map is the first chart
        lo, hi = proj.embedding.min(0), proj.embedding.max(0)
        a = page.evaluate(POINT_PIXEL_JS, [".js-plotly-plot", *(lo + 0.4 * (hi - lo)).tolist()])
        z = page.evaluate(POINT_PIXEL_JS, [".js-plotly-plot", *(lo + 0.6 * (hi - lo)).tolist()])
        page.mouse.move(*a)
        page.mouse.down()
        page.mouse.move(*z, steps=8)
        page.mouse.up()
        page.locator("h3", has_text="Selection ·").wait_for()
        page.get_by_text("class mix:").wait_for()

        # the URL carries the view: a second browser session opened on the link shows the same image,
        # then picks another one, and the first session keeps its own
        assert f"pick={i}" in page.url
        other = new_page(browser)
        other.goto(page.url)
        panel_title(other, b.ids[i]).wait_for()
        wait_for_map(other)
        click_map_point(other, *proj.embedding[j])
        panel_title(other, b.ids[j]).wait_for()
        assert panel_title(page, b.ids[i]).is_visible()
        assert panel_title(page, b.ids[j]).count() == 0
        other.close()

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
        page.get_by_text("Does the path stay on the data?").wait_for()
        page.get_by_text("Plausibility along the path").wait_for()
        page.screenshot(path=str(SHOTS / "browser-paths.png"))


def test_the_default_bundle_report_is_made_by_the_command_and_opens_in_chromium(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "report.html"
    r = subprocess.run([sys.executable, "-m", "explorer", "report", "models/cells-vae", "--out", str(out), "--quiet",
                        "--method", "tsne"], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    assert "test images: accuracy" in r.stdout
    with chromium() as browser:
        page = new_page(browser, 1300, 2400)
        page.goto(out.as_uri())
        page.get_by_text("Pixel classifier on the 200 test images").first.wait_for()
        page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot').length >= 3")
        assert page.locator("img[src^='data:image/png;base64,']").count() >= 3
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "browser-report.png"))
