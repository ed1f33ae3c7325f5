"""Latent Explorer: ``streamlit run app.py [-- --models DIR]``.

Opens on the shipped default bundle in ``models/``; a different folder of bundles can be given
after ``--``. Nothing outside that folder is loaded from the UI.
"""

import argparse
from pathlib import Path

import streamlit as st

from explorer.ui.pages import map as map_page, paths as paths_page, samples as samples_page
from explorer.ui.view import view_ui


def models_dir() -> Path:
    parser = argparse.ArgumentParser(prog="streamlit run app.py --")
    parser.add_argument("--models", default=str(Path(__file__).parent / "models"), help="folder of model bundles")
    args, _ = parser.parse_known_args()
    return Path(args.models).expanduser().resolve()


present = st.query_params.get("present") == "1"
st.set_page_config(page_title="Latent Explorer", page_icon=":material/scatter_plot:", layout="wide",
                   initial_sidebar_state="collapsed" if present else "expanded")
view = view_ui(models_dir())
if view is not None:
    pages = [
        st.Page(lambda: map_page.page(view), title="Map", icon=":material/scatter_plot:", url_path="map", default=True),
        st.Page(lambda: paths_page.page(view), title="Paths", icon=":material/timeline:", url_path="paths"),
        st.Page(lambda: samples_page.page(view), title="Samples", icon=":material/grid_view:", url_path="samples"),
    ]
    st.navigation(pages, position="top").run()
