"""The latent map: click a point to see it; latent sliders below."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import export
from explorer.figures import add_marker, add_path, map_figure
from explorer.paths import path_frames
from explorer.ui import cache, state
from explorer.ui import map_layers as layers
from explorer.ui.components import chart_config, picked_panel, show_grid
from explorer.ui.view import MAX_POINTS, View, write_link


def projection_or_prompt(view: View):
    """The view's projection; if it needs computing, a button that computes it with a progress bar."""
    proj = view.projection()
    if proj is not None:
        return proj
    n = len(view.bundle.mu)
    st.info(f"The {view.method_label} map of this bundle ({n:,} codes) has not been computed yet. "
            "It is computed once and kept beside the bundle, so it opens at once next time.")
    if st.button(f"Compute the {view.method_label} map", type="primary", key="compute_map"):
        bar = st.progress(0.0, text="starting…")
        proj = view.projection(compute=True, progress=lambda f, msg: bar.progress(f, text=msg))
        bar.empty()
        return proj
    return None


def shown_points(view: View) -> tuple[np.ndarray, bool]:
    """Indices drawn on the map: all visible ones, or a fixed random subsample above MAX_POINTS."""
    idx = view.visible()
    if len(idx) <= MAX_POINTS:
        return idx, False
    rng = np.random.default_rng(0)
    return np.sort(rng.choice(idx, MAX_POINTS, replace=False)), True


def build_map(view: View, proj, height: int = 640):
    b = view.bundle
    idx, sub = shown_points(view)
    xy = proj.embedding
    colour = view.colour
    values = None
    if colour.startswith("z"):
        values = b.mu[idx, int(colour[1:])]
    elif colour == "log p(x)":
        values = cache.scores(str(view.path), view.stamp).iwae[idx]
    fig = map_figure(xy[idx], idx, b.labels[idx], b.class_names, b.ids[idx],
                     colour="class" if colour == "class" else "split" if colour == "split" else "value",
                     values=values, value_name=colour, split=b.split[idx],
                     density_xy=xy[view.visible()] if sub else None, height=height,
                     title=f"{view.method_label} of the latent means · {b.name}"
                           + (f" · {len(idx):,} of {len(view.visible()):,} points drawn" if sub else ""),
                     axis_names=(f"z{dict(view.params)['x']}", f"z{dict(view.params)['y']}") if view.method == "dims"
                     else ("", ""), marker_size=6 if len(idx) < 5000 else 4)
    return fig


def sliders_ui(view: View) -> None:
    """One slider per latent dimension, most active first; the decoded image follows them."""
    b = view.bundle
    model = b.model
    kl = cache.kl_per_dimension(str(view.path), view.stamp)
    order = np.argsort(-kl)
    centre = model.prior_mean.numpy()
    spread = model.prior_std.numpy()
    picked = st.session_state.get(state.PICKED)
    if st.session_state.get(state.SLIDERS_FOR, -1) != picked or f"{state.SLIDER_PREFIX}0" not in st.session_state:
        state.set_sliders(b.mu[picked] if picked is not None else centre)  # start at the picked image's code
        st.session_state[state.SLIDERS_FOR] = picked
    left, right = st.columns([3, 1], gap="large")
    with left:
        kl_name = "KL" if "logvar" in b.latents else "var"
        cols = st.columns(4)
        for j, d in enumerate(order):
            lo, hi = float(centre[d] - 4 * spread[d]), float(centre[d] + 4 * spread[d])
            key = f"{state.SLIDER_PREFIX}{d}"
            st.session_state[key] = float(np.clip(st.session_state[key], lo, hi))
            cols[j % 4].slider(f"z{d} · {kl_name} {kl[d]:.2f}", lo, hi, step=(hi - lo) / 200, key=key,
                               format="%.2f")
    z = np.array([st.session_state[f"{state.SLIDER_PREFIX}{d}"] for d in range(model.latent_dim)], np.float32)
    with right:
        img = b.decode(z[None])
        show_grid(img, 1, view, caption="decoded from the sliders")
        c1, c2 = st.columns(2)
        c1.button("Reset", key="sliders_reset", width="stretch", on_click=state.set_sliders,
                  args=(b.mu[picked] if picked is not None else centre,),
                  help="Back to the picked image's code (or the centre of the prior)")
        c2.download_button("PNG", export.png_bytes(export.to_rgb_uint8(img, 8)[0], {"bundle": b.name,
                           "code": ",".join(f"{v:.4f}" for v in z)}), file_name=f"{b.name}_slider_decode.png",
                           mime="image/png", key="dl_slider", width="stretch", on_click="ignore")


def explore_ui(view: View, proj) -> None:
    """Map, picked-image panel and sliders: a fragment, so a click reruns only this part of the page."""
    b = view.bundle
    left, right = st.columns([3, 2], gap="medium")
    with left:
        t1, t2, t3, t4 = st.columns(4)
        probe = t1.toggle("Probe", key="probe_mode",
                          help="Probe empty space: a click where there is no image decodes the latent code under it.")
        atlas = t2.toggle("Atlas", key="atlas_mode",
                          help="A decoded atlas: images decoded from codes tiling the map (20 x 20), under the points.")
        cloud = t3.toggle("Posterior", key="cloud_mode", disabled="logvar" not in b.latents,
                          help="100 codes drawn from the picked image's posterior q(z | x), placed on the map.")
        keys = st.session_state[state.PATH_KEYS]
        show_path = t4.toggle("Path", value=True, key="map_show_path", disabled=len(keys) < 2,
                              help="The path built on the Paths page.")
        fig = build_map(view, proj, height=720 if view.present else 640)
        if atlas:
            layers.add_atlas(fig, view)
        if probe:
            layers.add_probe_targets(fig, proj)
        if show_path and len(keys) >= 2:
            frames, _, _ = path_frames(st.session_state[state.PATH_METHOD], b.mu[keys], b.mu[b.split_index("train")],
                                       20, st.session_state[state.PATH_CLOSED])
            add_path(fig, proj.place(frames), proj.embedding[keys])
        picked = st.session_state.get(state.PICKED)
        if picked is not None and cloud:
            layers.add_posterior_cloud(fig, view, proj, picked)
        if picked is not None and st.session_state.get(state.PICK_SOURCE) != "map":
            add_marker(fig, proj.embedding[picked], "picked image")
        if probe and st.session_state.get(state.PROBE) is not None:
            add_marker(fig, np.asarray(st.session_state[state.PROBE]), "probe", symbol="x-thin-open", colour="#d62728")
        st.plotly_chart(fig, key=state.MAP_SELECT, on_select=layers.on_select(view),
                        selection_mode=("points", "box", "lasso"), config=chart_config(f"{view.key}_map"))
        t = cache.trust(str(view.path), view.stamp, view.method, view.seed, view.params)
        st.caption(f"How far to trust this map: trustworthiness {t['trustworthiness']:.2f}, "
                   f"{100 * t['neighbour_preservation']:.0f}% of latent neighbours kept (k = {t['k']}), "
                   f"class kNN accuracy {100 * t['knn_accuracy_map']:.0f}% on the map vs "
                   f"{100 * t['knn_accuracy_latent']:.0f}% in latent space.")
        st.download_button(
            "Map data (CSV)", lambda: export.map_csv(b.ids, b.ids, np.asarray(b.class_names)[b.labels], b.split,
                                                     proj.embedding, b.mu),
            file_name=f"{view.key}_map.csv", mime="text/csv", key="dl_csv", on_click="ignore")
        layers.selection_panel(view)
    with right:
        if probe and st.session_state.get(state.PROBE) is not None:
            layers.probe_panel(view, proj)
        else:
            picked_panel(view)
    st.subheader("Latent sliders")
    st.caption("Move a dimension and watch the decoded image; dimensions are ordered by their mean KL to the prior, "
               "the active ones first. The sliders start at the picked image's code.")
    st.fragment(sliders_ui)(view)
    st.subheader("Class directions")
    st.caption("Attribute vectors: the difference between two classes' mean codes (training images), added to the "
               "picked image's code in steps.")
    st.fragment(layers.attribute_ui)(view)
    write_link(view)


def page(view: View) -> None:
    proj = projection_or_prompt(view)
    if proj is not None:
        st.fragment(explore_ui)(view, proj)


if __name__ == "__main__":  # st.navigation runs this file as the page script
    from explorer.ui.view import current_view

    page(current_view())
