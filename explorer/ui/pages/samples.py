"""Images decoded from codes drawn from the prior."""

from __future__ import annotations

import streamlit as st

from explorer import export
from explorer.ui.components import show_grid
from explorer.ui.view import View
from explorer.ui import state


def page(view: View) -> None:
    b = view.bundle
    st.title("Samples from the prior")
    kind = b.meta["model"]["kind"]
    st.caption("Codes drawn from N(0, I), the VAE's prior, and decoded." if kind == "vae" else
               "This model has no prior of its own: codes are drawn from a normal distribution fitted to its "
               "training codes.")
    c1, c2, _ = st.columns([1, 1, 4])
    seed = c1.number_input("Random seed", 0, 2**31 - 1, key=state.SAMPLE_SEED)
    n = c2.selectbox("How many", [16, 32, 64, 100], index=2, key="sample_n")
    images = b.sample(int(n), seed=int(seed))
    ncols = 10 if n == 100 else 8
    png = show_grid(images, ncols, view, width=1200 if view.present else 820)
    st.download_button("Download the grid (PNG)", png, mime="image/png", key="dl_samples", on_click="ignore",
                       file_name=export.safe_filename(b.name, "prior-samples", f"seed{seed}", f"n{n}") + ".png")


if __name__ == "__main__":  # st.navigation runs this file as the page script
    from explorer.ui.view import current_view

    page(current_view())
