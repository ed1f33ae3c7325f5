"""Start the real app on 127.0.0.1 and drive it in Debian's Chromium (used by browser tests and benchmarks)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_app(models: Path | None = None, timeout: float = 120.0):
    """Yield the base URL of a fresh ``streamlit run app.py`` on a free port; stop it afterwards."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.address", "127.0.0.1",
           "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--server.fileWatcherType", "none"]
    if models is not None:
        cmd += ["--", "--models", str(models)]
    log = open(ROOT / "bench" / "out" / f"app-{port}.log", "w") if (ROOT / "bench" / "out").is_dir() else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the app exited with status {proc.returncode}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("the app did not become healthy")
            time.sleep(0.2)  # polling interval for the health check, not a wait for a result
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def chromium():
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, width: int = 1500, height: int = 1000):
    """A page in a fresh browser context: its own cookies, so its own app session."""
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.set_default_timeout(90_000)
    return page


@contextlib.contextmanager
def chromium_page(width: int = 1500, height: int = 1000):
    with chromium() as browser:
        yield new_page(browser, width, height)


# JavaScript: the pixel position of a data point on the Plotly map (the chart's own axis maps).
POINT_PIXEL_JS = """([sel, x, y]) => {
  const gd = document.querySelector(sel);
  const L = gd._fullLayout, r = gd.getBoundingClientRect();
  return [r.left + L._size.l + L.xaxis.l2p(x), r.top + L._size.t + L.yaxis.l2p(y)];
}"""


def hover_map_point(page, x: float, y: float) -> tuple[float, float]:
    """Move the mouse onto map point (x, y) until Plotly reports the hover; return the pixel."""
    px, py = page.evaluate(POINT_PIXEL_JS, [".js-plotly-plot", float(x), float(y)])
    page.mouse.move(1, 1)  # off the chart, so that arriving at the spot is a new hover
    page.evaluate("""() => { const gd = document.querySelector('.js-plotly-plot');
        window.__hovered = false; gd.on('plotly_hover', () => { window.__hovered = true; }); }""")
    page.mouse.move(px, py)
    page.wait_for_function("() => window.__hovered")
    return px, py


def click_map_point(page, x: float, y: float) -> None:
    """Hover until Plotly's hit test has found the spot, then click there."""
    page.mouse.click(*hover_map_point(page, x, y))


def wait_for_map(page) -> None:
    page.wait_for_function("() => { const g = document.querySelector('.js-plotly-plot');"
                           " return g && g._fullLayout && g._fullLayout.xaxis && g.querySelector('canvas'); }")


def panel_title(page, image_id):
    """The picked-image panel's heading for an image."""
    return page.locator("h3", has_text=str(image_id))
