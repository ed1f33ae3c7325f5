"""Every per-session key the app keeps in ``st.session_state``, with its default.

Each browser session has its own state; the model and projections are shared read-only through
the caches in :mod:`explorer.ui.cache`.
"""

from __future__ import annotations

import streamlit as st

BUNDLE = "bundle"            # bundle folder name inside the models folder
METHOD = "method"            # projection method key (pca, tsne, umap, dims)
PICKED = "picked"            # dataset index of the picked image, or None
PICK_SOURCE = "pick_source"  # "map" when the pick came from a click on the map
PATH_KEYS = "path_keys"      # dataset indices of the path's key images, in order
PATH_CLOSED = "path_closed"
PATH_FPS = "path_fps"
PATH_METHOD = "path_method"
FRAME = "frame"              # the scrubber's frame index
PROBE = "probe"              # (x, y) of a click on empty map space, or None
SELECTED = "selected"        # dataset indices in the box / lasso selection
SAMPLE_SEED = "sample_seed"
PRESENT = "present"          # presentation look: large images, little text
MAP_SELECT = "map_select"    # the map chart's widget key
SLIDER_PREFIX = "z_"         # latent slider keys: z_0, z_1, ...
SLIDERS_FOR = "sliders_for"  # the pick the sliders were last moved to
QUERY_LOADED = "query_loaded"
VIEW = "_view"               # the sidebar's View of this run, read by the page scripts

DEFAULTS = {
    PICKED: None, PICK_SOURCE: None, PROBE: None, SELECTED: [], PATH_KEYS: [], PATH_CLOSED: True, PATH_FPS: 100, PATH_METHOD: "linear",
    FRAME: 0, SAMPLE_SEED: 0, PRESENT: False,
}


def init() -> None:
    for key, value in DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = list(value) if isinstance(value, list) else value


def pick(index: int | None, source: str = "app") -> None:
    """Make ``index`` the picked image (the latent sliders follow it on the next run)."""
    st.session_state[PICKED] = None if index is None else int(index)
    st.session_state[PICK_SOURCE] = source


def set_sliders(code) -> None:
    for d, v in enumerate(code):
        st.session_state[f"{SLIDER_PREFIX}{d}"] = float(round(float(v), 3))


def reset_for_bundle() -> None:
    """A different bundle: forget picks, paths and slider positions that belong to the old one."""
    st.session_state.pop(SLIDERS_FOR, None)
    for key in (PICKED, PICK_SOURCE, PROBE, SELECTED, PATH_KEYS, FRAME):
        st.session_state[key] = list(DEFAULTS[key]) if isinstance(DEFAULTS[key], list) else DEFAULTS[key]
    for key in [k for k in st.session_state if str(k).startswith(SLIDER_PREFIX)]:
        del st.session_state[key]
