"""The sidebar: which bundle, which map, what colours and filters. Returns a plain :class:`View`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import streamlit as st

from explorer.bundle import Bundle, list_bundles
from explorer.errors import ExplorerError
from explorer.figures import SPLIT_NAMES
from explorer.projection import PARAMS, Projection
from explorer.ui import cache, state
from explorer.viewlink import from_query, to_query

METHOD_LABELS = {"tsne": "t-SNE", "umap": "UMAP", "pca": "PCA", "dims": "two latent dimensions"}
MAX_POINTS = 20_000  # above this the map draws a subsample over a density layer of all points


@dataclass
class View:
    models_dir: Path
    path: Path
    stamp: int
    bundle: Bundle
    method: str
    params: tuple
    seed: int
    colour: str
    splits: list[int]
    classes: list[int]
    present: bool
    _projection: Projection | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        """Names exports: bundle, projection and seed, so a figure can be traced back."""
        extra = "-".join(f"{k}{v}" for k, v in self.params)
        return "_".join(p for p in (self.bundle.name, self.method, extra, f"seed{self.seed}") if p)

    @property
    def method_label(self) -> str:
        if self.method == "dims":
            p = dict(self.params)
            return f"latent z{p['x']} vs z{p['y']}"
        return METHOD_LABELS[self.method]

    def visible(self) -> np.ndarray:
        """Dataset indices that pass the split and class filters."""
        b = self.bundle
        keep = np.isin(b.split, self.splits) & np.isin(b.labels, self.classes)
        return np.flatnonzero(keep)

    def projection(self, compute: bool = False, progress=None) -> Projection | None:
        """The map, or None when it would need a computation the user has not asked for."""
        if self._projection is None:
            args = (str(self.path), self.stamp, self.method, self.seed, self.params)
            if compute:
                self._projection = cache.compute_projection(*args, progress=progress)
            elif cache.projection_ready(*args):
                self._projection = cache.projection(*args)
        return self._projection

    def image_scale(self, side: int) -> int:
        """Integer nearest-neighbour upscaling so images show large (larger when presenting)."""
        target = 320 if self.present else 196
        return max(1, round(target / side))


def _bundle_ui(models_dir: Path) -> Path | None:
    paths = list_bundles(models_dir)
    if not paths:
        st.sidebar.error(f"No model bundles in {models_dir}. Train one with "
                         "`python -m explorer train --data cells --out models/my-model`.")
        return None
    names = [p.name for p in paths]
    if st.session_state.get(state.BUNDLE) not in names:
        st.session_state[state.BUNDLE] = "cells-vae" if "cells-vae" in names else names[0]
    st.sidebar.selectbox("Model bundle", names, key=state.BUNDLE, on_change=state.reset_for_bundle,
                         help=f"Bundles in {models_dir}")
    return models_dir / st.session_state[state.BUNDLE]


LINK_WIDGETS = {"perplexity": "p_perp", "n_neighbors": "p_nn", "min_dist": "p_md", "x": "p_x", "y": "p_y"}


def _open_link() -> None:
    """On a session's first run, take the view from the URL's query parameters."""
    if st.session_state.get(state.QUERY_LOADED):
        return
    st.session_state[state.QUERY_LOADED] = True
    q, notes = from_query(st.query_params.to_dict())
    simple = {"bundle": state.BUNDLE, "method": state.METHOD, "seed": "p_seed", "picked": state.PICKED,
              "path": state.PATH_KEYS, "closed": state.PATH_CLOSED, "fps": state.PATH_FPS,
              "interpolation": state.PATH_METHOD, "present": state.PRESENT}
    for field_, key in simple.items():
        if field_ in q:
            st.session_state[key] = q[field_]
    for name, value in q.get("params", {}).items():
        st.session_state[LINK_WIDGETS[name]] = value
    for note in notes:
        st.toast(f"Link: {note}.")


def _check_link_indices(n: int) -> None:
    """Drop picks and path keys (from a link or an older bundle) that this bundle does not have."""
    picked = st.session_state.get(state.PICKED)
    if picked is not None and not 0 <= picked < n:
        st.session_state[state.PICKED] = None
    keys = st.session_state.get(state.PATH_KEYS, [])
    if any(not 0 <= k < n for k in keys):
        st.session_state[state.PATH_KEYS] = [k for k in keys if 0 <= k < n]


def write_link(view: "View") -> None:
    """Keep the URL's query parameters in step with the view, so a copied link reopens it."""
    ss = st.session_state
    wanted = to_query({
        "bundle": view.bundle.name, "method": view.method, "params": dict(view.params), "seed": view.seed,
        "picked": ss.get(state.PICKED), "path": ss.get(state.PATH_KEYS), "closed": ss.get(state.PATH_CLOSED),
        "fps": ss.get(state.PATH_FPS), "interpolation": ss.get(state.PATH_METHOD), "present": view.present})
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def view_ui(models_dir: Path) -> View | None:
    """Draw the sidebar and return the view it describes (None when there is nothing to show)."""
    state.init()
    _open_link()
    st.sidebar.title("Latent Explorer")
    path = _bundle_ui(models_dir)
    if path is None:
        return None
    try:
        stamp = cache.stamp(path)
        b = cache.bundle(str(path), stamp)
    except (ExplorerError, OSError) as e:
        st.error(str(e))
        return None
    _check_link_indices(len(b.mu))
    m = b.meta["model"]
    st.sidebar.caption(
        f"{m['kind'].upper()} · {m['arch']} · latent {m['latent_dim']} · {m['likelihood']} · "
        f"{b.meta['data']['n_images']:,} images of {b.meta['data']['source']}")

    st.sidebar.subheader("Map")
    methods = list(METHOD_LABELS)
    if st.session_state.get(state.METHOD) not in methods:
        st.session_state[state.METHOD] = "tsne"
    method = st.sidebar.selectbox("Projection", methods, key=state.METHOD, format_func=METHOD_LABELS.get)
    params: dict = dict(PARAMS[method])
    with st.sidebar.expander("Projection settings", expanded=method == "dims"):
        for key, value in (("p_perp", 30), ("p_nn", 15), ("p_md", 0.1), ("p_x", 0), ("p_y", 1), ("p_seed", 0)):
            st.session_state.setdefault(key, value)
        if method == "tsne":
            params["perplexity"] = float(st.slider("Perplexity", 5, 100, key="p_perp"))
        elif method == "umap":
            params["n_neighbors"] = st.slider("Neighbours", 5, 100, key="p_nn")
            params["min_dist"] = st.slider("Minimum distance", 0.0, 0.99, step=0.01, key="p_md")
        elif method == "dims":
            dims = list(range(m["latent_dim"]))
            for key in ("p_x", "p_y"):
                st.session_state[key] = min(st.session_state[key], len(dims) - 1)
            params["x"] = st.selectbox("x axis", dims, format_func=lambda d: f"z{d}", key="p_x")
            params["y"] = st.selectbox("y axis", dims, format_func=lambda d: f"z{d}", key="p_y")
        seed = int(st.number_input("Random seed", 0, 2**31 - 1, key="p_seed"))
    has_scores = cache.scores(str(path), stamp) is not None
    colours = ["class", "split"] + (["log p(x)"] if has_scores else []) + [f"z{d}" for d in range(m["latent_dim"])]
    colour = st.sidebar.selectbox("Colour by", colours, key="colour")
    names = b.class_names
    classes = st.sidebar.multiselect("Classes", list(range(len(names))), default=list(range(len(names))),
                                     format_func=lambda k: names[k], key="f_classes")
    splits = st.sidebar.multiselect("Splits", [0, 1, 2], default=[0, 1, 2], format_func=lambda s: SPLIT_NAMES[s],
                                    key="f_splits")
    present = st.sidebar.toggle("Presentation look", key=state.PRESENT,
                                help="Large images and less text, for demos and screenshots.")
    view = View(models_dir, path, stamp, b, method, tuple(sorted(params.items())), seed, colour,
                splits, classes, present)
    st.session_state[state.VIEW] = view
    write_link(view)
    return view


def current_view() -> View:
    """The view the sidebar drew in this run (pages are run after it)."""
    return st.session_state[state.VIEW]
