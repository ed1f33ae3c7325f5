"""Latent Explorer: ``streamlit run app.py [-- --models DIR]``.

Opens on the shipped default bundle in ``models/``; a different folder of bundles can be given
after ``--`` (or in ``LATENT_EXPLORER_MODELS``). Nothing outside that folder is loaded from the UI.
"""

import argparse
import os
from pathlib import Path

import streamlit as st
import torch

from explorer.ui.view import view_ui

HERE = Path(__file__).parent
PAGES = HERE / "explorer" / "ui" / "pages"


def models_dir() -> Path:
    parser = argparse.ArgumentParser(prog="streamlit run app.py --")
    default = os.environ.get("LATENT_EXPLORER_MODELS", str(HERE / "models"))
    parser.add_argument("--models", default=default, help="folder of model bundles")
    args, _ = parser.parse_known_args()
    return Path(args.models).expanduser().resolve()


# Interactive decodes are a few codes at a time: one thread answers fastest and does not stall
# behind the browser for a second core.
torch.set_num_threads(1)
present = st.query_params.get("present") == "1"
st.set_page_config(page_title="Latent Explorer", page_icon=":material/scatter_plot:", layout="wide",
                   initial_sidebar_state="collapsed" if present else "expanded")
if view_ui(models_dir()) is not None:
    st.navigation([
        st.Page(PAGES / "map.py", title="Map", icon=":material/scatter_plot:", default=True),
        st.Page(PAGES / "paths.py", title="Paths", icon=":material/timeline:"),
        st.Page(PAGES / "samples.py", title="Samples", icon=":material/grid_view:"),
        st.Page(PAGES / "evaluate.py", title="Evaluate", icon=":material/fact_check:"),
    ], position="top").run()
