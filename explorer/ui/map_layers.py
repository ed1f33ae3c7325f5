"""What the Map page can lay over the scatter and show beside it, beyond a single pick: the probe
(decode anywhere), the decoded atlas, the posterior cloud, box / lasso selections and class directions."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from PIL import Image

from explorer import export
from explorer.atlas import SUGGESTED_MAX_DISTANCE, decoded_atlas
from explorer.evaluation import posterior_codes
from explorer.figures import SPLIT_NAMES, add_marker
from explorer.plausibility import attribute_vector, move_along
from explorer.ui import cache, state
from explorer.ui.components import show_grid
from explorer.ui.view import View

PROBE_GRID = 60  # probe targets per side: a click on empty map space lands on the nearest one
PROBE_OFFSET = 1  # probe customdata is -(cell + 1), so it can never be taken for an image index


def map_window(proj, margin: float = 0.05) -> tuple[tuple[float, float], tuple[float, float]]:
    lo, hi = proj.embedding.min(0), proj.embedding.max(0)
    pad = margin * (hi - lo)
    return (float(lo[0] - pad[0]), float(hi[0] + pad[0])), (float(lo[1] - pad[1]), float(hi[1] + pad[1]))


def add_probe_targets(fig: go.Figure, proj) -> None:
    """Invisible click targets tiling the map, so that a click on empty space reports where it landed."""
    (x0, x1), (y0, y1) = map_window(proj)
    gx, gy = np.meshgrid(np.linspace(x0, x1, PROBE_GRID), np.linspace(y0, y1, PROBE_GRID))
    fig.add_trace(go.Scattergl(
        x=gx.ravel(), y=gy.ravel(), mode="markers", name="probe", showlegend=False,
        customdata=-(np.arange(gx.size) + PROBE_OFFSET).astype(np.int32),
        marker={"size": 10, "color": "rgba(0,0,0,0)"}, hovertemplate="decode here<extra></extra>",
        selected={"marker": {"color": "rgba(0,0,0,0)"}}, unselected={"marker": {"opacity": 0.01}}))


@st.cache_resource(max_entries=8, show_spinner="Decoding the atlas…")
def atlas(path: str, stamp: int, method: str, seed: int, params: tuple, grid: int):
    proj = cache.projection(path, stamp, method, seed, params)
    xr, yr = map_window(proj, margin=0.0)
    return decoded_atlas(proj, cache.bundle(path, stamp).decode, xr, yr, grid=grid,
                         max_distance=SUGGESTED_MAX_DISTANCE)


def add_atlas(fig: go.Figure, view: View, grid: int = 20) -> None:
    """The classic 2-D manifold picture: decoded thumbnails tiling the map, under the points."""
    image, tiles = atlas(str(view.path), view.stamp, view.method, view.seed, view.params, grid)
    x0, x1, y0, y1 = tiles.extent
    fig.add_layout_image(source=Image.fromarray(image), xref="x", yref="y", x=x0, y=y1, sizex=x1 - x0,
                         sizey=y1 - y0, sizing="stretch", layer="below", opacity=1.0)
    fig.update_xaxes(range=[x0, x1], showgrid=False)
    fig.update_yaxes(range=[y0, y1], showgrid=False)
    fig.update_traces(marker_size=3, selector={"type": "scattergl"})


def add_posterior_cloud(fig: go.Figure, view: View, proj, idx: int, n: int = 100) -> None:
    b = view.bundle
    if "logvar" not in b.latents:
        return
    z = posterior_codes(b, np.full(n, idx), seed=view.seed)
    add_marker(fig, proj.place(z), "posterior samples", symbol="circle", size=5,
               colour="rgba(214,39,40,0.55)")


def probe_panel(view: View, proj) -> None:
    """The code under a clicked empty spot of the map, decoded, with a warning far from the data."""
    b = view.bundle
    xy = np.asarray(st.session_state[state.PROBE], dtype=np.float64)
    code, dist = proj.invert(xy[None])
    st.subheader(f"Probe at ({xy[0]:.2f}, {xy[1]:.2f})")
    how = "the exact PCA inverse" if proj.method == "pca" else "a distance-weighted blend of the nearest map points' codes"
    st.caption(f"code from {how}; {dist[0]:.1f} point spacings from the nearest image")
    if dist[0] > SUGGESTED_MAX_DISTANCE:
        st.warning("Far from any data: the decoder is extrapolating here, so do not read much into this image.")
    show_grid(b.decode(code.astype(np.float32)), 1, view, caption="decoded at this spot")
    d = np.linalg.norm(proj.embedding - xy, axis=1)
    near = np.argsort(d)[:8]
    st.caption("the nearest images on the map")
    show_grid(b.images[near], 8, view, width="stretch")


def on_select(view: View):
    """The map's selection callback: a point picks an image, an empty spot probes, a box or lasso selects."""
    def callback() -> None:
        sel = (st.session_state.get(state.MAP_SELECT) or {}).get("selection", {})
        points = sel.get("points", [])
        def index(p):
            cd = p.get("customdata")
            return int(cd[0] if isinstance(cd, (list, tuple)) else cd)
        images = [index(p) for p in points if p.get("customdata") is not None and index(p) >= 0]
        if sel.get("box") or sel.get("lasso"):
            st.session_state[state.SELECTED] = sorted(set(images))
        elif images:
            state.pick(images[0], "map")
            st.session_state[state.PROBE] = None
        elif points:
            st.session_state[state.PROBE] = (float(points[0]["x"]), float(points[0]["y"]))
    return callback


def selection_panel(view: View) -> None:
    """A box or lasso selection: originals beside reconstructions, the class mix, and exports."""
    b = view.bundle
    sel = np.asarray(st.session_state.get(state.SELECTED) or [], dtype=int)
    if len(sel) == 0:
        return
    st.subheader(f"Selection · {len(sel):,} images")
    counts = np.bincount(b.labels[sel], minlength=len(b.class_names))
    st.caption("class mix: " + ", ".join(f"{b.class_names[k]} {c} ({100 * c / len(sel):.0f}%)"
                                         for k, c in enumerate(counts) if c))
    shown = sel[:16]
    show_grid(b.images[shown], 16, view, caption="originals" + (" (the first 16)" if len(sel) > 16 else ""),
              width="stretch")
    show_grid(b.decode(b.mu[shown]), 16, view, caption="their reconstructions", width="stretch")
    name = export.safe_filename(view.key, "selection", f"{len(sel)}images")
    c1, c2, c3 = st.columns(3)
    ids_csv = "index,id,class,split\n" + "".join(
        f"{i},{b.ids[i]},{b.class_names[b.labels[i]]},{SPLIT_NAMES[b.split[i]]}\n" for i in sel)
    c1.download_button("Selected ids (CSV)", ids_csv, file_name=name + ".csv", mime="text/csv", key="dl_sel_csv",
                       on_click="ignore", width="stretch")
    c2.download_button("Selected images (PNG)",
                       lambda: export.png_bytes(export.image_grid(b.images[sel], ncols=16, scale=2, pad=1),
                                                {"bundle": b.name, "selection": ",".join(map(str, sel[:500]))}),
                       file_name=name + ".png", mime="image/png", key="dl_sel_png", on_click="ignore", width="stretch")
    if c3.button("Clear the selection", key="clear_selection", width="stretch"):
        st.session_state[state.SELECTED] = []
        st.rerun(scope="fragment")


def attribute_ui(view: View) -> None:
    """Move the picked image's code along the direction from one class's mean code to another's."""
    b = view.bundle
    k = len(b.class_names)
    if k < 2 or not st.toggle("Show class directions", key="attr_on"):
        return
    c1, c2, c3 = st.columns([2, 2, 3])
    names = list(range(k))
    a = c1.selectbox("from class", names, index=0, format_func=lambda i: b.class_names[i], key="attr_from")
    t = c2.selectbox("towards class", names, index=min(k - 1, 2), format_func=lambda i: b.class_names[i],
                     key="attr_to")
    amount = c3.slider("amount along the direction", -1.0, 2.0, 0.0, 0.05, key="attr_amount",
                       help="0 is the picked image's code, 1 adds the whole difference of the class means")
    if a == t:
        st.caption("Choose two different classes.")
        return
    vec = attribute_vector(b.mu, b.labels, a, t, split=b.split)
    picked = st.session_state.get(state.PICKED)
    start = b.mu[picked] if picked is not None else b.mu[(b.labels == a) & (b.split == 0)].mean(0)
    steps = np.linspace(-1.0, 2.0, 13)
    strip = b.decode(move_along(start, vec, steps).astype(np.float32))
    here = b.decode(move_along(start, vec, amount)[None].astype(np.float32))
    left, right = st.columns([4, 1])
    with left:
        show_grid(strip, len(steps), view, width="stretch",
                  caption=f"from {'the picked image' if picked is not None else 'the mean ' + b.class_names[a]} "
                          f"along mean({b.class_names[t]}) − mean({b.class_names[a]}), amounts −1 … 2")
    with right:
        show_grid(here, 1, view, caption=f"amount {amount:+.2f}")
