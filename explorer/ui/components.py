"""Small UI pieces shared by the pages: images shown large, chart configuration, the picked-image panel."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import export
from explorer.evaluation import posterior_codes
from explorer.figures import SPLIT_NAMES, latent_bars
from explorer.ui import cache, state
from explorer.ui.view import View


def chart_config(filename: str) -> dict:
    """Plotly's toolbar with a high-resolution PNG button that names the file after the view."""
    return {"displaylogo": False, "scrollZoom": True,
            "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 3},
            "modeBarButtonsToRemove": ["autoScale2d"]}


def grid_png(images: np.ndarray, ncols: int, scale: int, meta: dict | None = None) -> bytes:
    """Images tiled into one PNG, compressed lightly: it is made on every click."""
    return export.png_bytes(export.image_grid(images, ncols=ncols, scale=scale, pad=2), metadata=meta, compress_level=1)


def show_grid(images: np.ndarray, ncols: int, view: View, caption: str | None = None, width="content") -> bytes:
    """Show images as one nearest-neighbour upscaled grid (crisp pixels); return its PNG."""
    png = grid_png(images, ncols, view.image_scale(images.shape[-1]),
                   meta={"bundle": view.bundle.name, "projection": view.method, "seed": str(view.seed)})
    st.image(png, caption=caption, width=width, output_format="PNG")
    return png


def picked_panel(view: View, n_posterior: int = 6) -> None:
    """Everything about the picked image: original, reconstruction, posterior decodes, code, neighbours."""
    b = view.bundle
    idx = st.session_state.get(state.PICKED)
    if idx is None or not 0 <= idx < len(b.mu):
        st.info("Click a point on the map to see its image, its reconstruction and its neighbours.")
        return
    cls = b.class_names[b.labels[idx]]
    split = SPLIT_NAMES[b.split[idx]]
    st.subheader(f"{b.ids[idx]}")
    st.caption(f"class **{cls}** · {split} split · image #{idx}")
    mu = b.mu[idx]
    recon = b.decode(mu[None])
    col1, col2 = st.columns(2)
    with col1:
        show_grid(b.images[idx:idx + 1], 1, view, caption="original")
    with col2:
        show_grid(recon, 1, view, caption="reconstruction (decoded mean code)")
    if "logvar" in b.latents:
        post = b.decode(posterior_codes(b, np.full(n_posterior, idx), seed=view.seed))
        st.caption("decodes of codes drawn from the posterior q(z | x)")
        show_grid(post, n_posterior, view, width="stretch")
    dist, nn = cache.neighbours(str(view.path), view.stamp).kneighbors(mu[None], n_neighbors=9)
    nn = [j for j in nn[0] if j != idx][:8]
    counts = np.bincount(b.labels[nn], minlength=len(b.class_names))
    mix = ", ".join(f"{c} {b.class_names[k]}" for k, c in enumerate(counts) if c)
    st.caption(f"the 8 nearest neighbours in latent space ({mix})")
    show_grid(b.images[nn], 8, view, width="stretch")
    kl = cache.kl_per_dimension(str(view.path), view.stamp)
    order = np.argsort(-kl)
    st.plotly_chart(latent_bars(mu, order, title="Latent code (dimensions by mean KL, active first)"),
                    key="latent_bars", config=chart_config(f"{view.key}_code_{idx}"))
    c1, c2 = st.columns(2)
    if c1.button("Add to path", key="add_to_path", icon=":material/add_location:", width="stretch"):
        st.session_state[state.PATH_KEYS] = [*st.session_state[state.PATH_KEYS], int(idx)]
        st.toast(f"Added {b.ids[idx]} as key point {len(st.session_state[state.PATH_KEYS])}")
    panel = np.concatenate([b.images[idx:idx + 1], recon])
    c2.download_button("Download images (PNG)", grid_png(panel, 2, 8, {"bundle": b.name, "image": str(b.ids[idx])}),
                       file_name=export.safe_filename(b.name, "image", str(idx)) + ".png", mime="image/png",
                       key="dl_panel", width="stretch", on_click="ignore")
