"""The path builder: key images, a loop through their codes, the decoded movie and a scrubber."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import export
from explorer.figures import SPLIT_NAMES
from explorer.paths import INTERPOLATIONS, LatentPath, random_keys
from explorer.ui import cache, state
from explorer.ui.components import chart_config, show_grid
from explorer.ui.pages.map import build_map, projection_or_prompt
from explorer.ui.view import View
from explorer.figures import add_path

MOVIE_FPS = 30


def current_path(view: View) -> LatentPath | None:
    keys = st.session_state[state.PATH_KEYS]
    if len(keys) < 2:
        return None
    return LatentPath.from_codes(view.bundle.mu, keys, ids=view.bundle.ids,
                                 frames_per_segment=int(st.session_state[state.PATH_FPS]),
                                 method=st.session_state[state.PATH_METHOD], closed=st.session_state[state.PATH_CLOSED])


@st.cache_data(max_entries=8, show_spinner="Decoding the frames…")
def decoded_frames(path: str, stamp: int, frames: np.ndarray) -> np.ndarray:
    """The path's frames as video-sized uint8 RGB images (nearest-neighbour upscaled)."""
    return export.upscale_for_video(cache.bundle(path, stamp).decode(frames), target=224)


@st.cache_data(max_entries=8, show_spinner="Encoding the movie…")
def movie(kind: str, frames: np.ndarray, fps: int) -> bytes:
    return export.mp4_bytes(frames, fps=fps, preset="veryfast") if kind == "mp4" else export.gif_bytes(frames, fps)


def _move(i: int, step: int) -> None:
    keys = list(st.session_state[state.PATH_KEYS])
    j = i + step
    if 0 <= j < len(keys):
        keys[i], keys[j] = keys[j], keys[i]
    st.session_state[state.PATH_KEYS] = keys


def _remove(i: int) -> None:
    keys = list(st.session_state[state.PATH_KEYS])
    del keys[i]
    st.session_state[state.PATH_KEYS] = keys


def keys_ui(view: View) -> None:
    b = view.bundle
    st.subheader("Key points")
    with st.form("random_keys", border=True):
        c1, c2, c3 = st.columns([1, 2, 2])
        n = c1.number_input("Images", 2, 20, 5, key="rk_n")
        cls = c2.selectbox("of class", list(range(len(b.class_names))), format_func=lambda k: b.class_names[k],
                           key="rk_class")
        pool = c3.selectbox("from", ["all splits", "test", "val", "train"], key="rk_pool")
        c4, c5 = st.columns([1, 2])
        seed = c4.number_input("Seed", 0, 2**31 - 1, 0, key="rk_seed")
        if c5.form_submit_button("Replace the keys with random images", width="stretch"):
            idx = None if pool == "all splits" else b.split_index(pool)
            try:
                st.session_state[state.PATH_KEYS] = [int(i) for i in random_keys(b.labels, cls, int(n), int(seed), idx)]
                st.session_state[state.FRAME] = 0
            except ValueError as e:
                st.error(str(e))
    keys = st.session_state[state.PATH_KEYS]
    if not keys:
        st.caption("No key points yet: add random images above, or pick images on the Map page and press "
                   "“Add to path”.")
    for i, k in enumerate(keys):
        c0, c1, c2, c3, c4 = st.columns([1, 4, 1, 1, 1], vertical_alignment="center")
        c0.image(export.to_rgb_uint8(b.images[k:k + 1], 2)[0], output_format="PNG")
        c1.markdown(f"**{i + 1}.** `{b.ids[k]}` · {b.class_names[b.labels[k]]} · {SPLIT_NAMES[b.split[k]]}")
        c2.button("↑", key=f"up_{i}", on_click=_move, args=(i, -1), disabled=i == 0, help="Move up")
        c3.button("↓", key=f"down_{i}", on_click=_move, args=(i, 1), disabled=i == len(keys) - 1, help="Move down")
        c4.button("✕", key=f"rm_{i}", on_click=_remove, args=(i,), help="Remove")
    c1, c2, c3 = st.columns(3)
    c1.number_input("Frames per segment", 2, 500, key=state.PATH_FPS, step=10)
    c2.radio("Interpolation", list(INTERPOLATIONS), key=state.PATH_METHOD, horizontal=True,
             format_func={"linear": "straight", "slerp": "spherical"}.get)
    c3.toggle("Close the loop", key=state.PATH_CLOSED)


def scrubber_ui(view: View, lp: LatentPath, frames_img: np.ndarray, frames_z: np.ndarray, frames_xy) -> None:
    """One frame at a time: the image, and where it lies on the map."""
    n = len(frames_img)
    st.session_state[state.FRAME] = min(st.session_state[state.FRAME], n - 1)
    f = st.slider("Frame", 0, n - 1, key=state.FRAME)
    seg = f // lp.frames_per_segment + 1
    c1, c2 = st.columns([1, 2])
    with c1:
        st.image(frames_img[f], caption=f"frame {f + 1} of {n} · segment {seg}", width="stretch",
                 output_format="PNG")
    with c2:
        proj = view.projection()
        if proj is not None and frames_xy is not None:
            fig = build_map(view, proj, height=420)
            add_path(fig, frames_xy, proj.embedding[lp.key_indices], current=f)
            fig.update_layout(showlegend=False, title=f"frame {f + 1} on the {view.method_label} map")
            st.plotly_chart(fig, key="scrub_map", config=chart_config(f"{view.key}_path_frame{f}"))


def page(view: View) -> None:
    b = view.bundle
    st.title("Path builder")
    st.caption("A loop through key images' codes in latent space, decoded frame by frame: the reference "
               "experiment takes 5 images of one class and 100 frames per segment, a 500-frame movie.")
    left, right = st.columns([2, 3], gap="large")
    with left:
        keys_ui(view)
    lp = current_path(view)
    with right:
        if lp is None:
            st.info("Add at least two key points to make a movie.")
            return
        frames_z, _, _ = lp.frames()
        frames_img = decoded_frames(str(view.path), view.stamp, frames_z.astype(np.float32))
        st.subheader(f"Movie · {len(frames_img)} frames at {MOVIE_FPS} fps")
        mp4 = movie("mp4", frames_img, MOVIE_FPS)
        st.video(mp4, loop=True, autoplay=True, muted=True)
        proj = view.projection()
        frames_xy = proj.place(frames_z) if proj is not None else None
        name = export.safe_filename(view.key, "path", f"{len(lp.keys)}keys", f"{lp.frames_per_segment}fps", lp.method)
        c1, c2, c3, c4 = st.columns(4)
        c1.download_button("MP4", mp4, file_name=name + ".mp4", mime="video/mp4", key="dl_mp4", on_click="ignore", width="stretch")
        if c2.toggle("GIF", key="want_gif", help="Encode a GIF too (larger; for slides)"):
            c2.download_button("Download GIF", movie("gif", frames_img, MOVIE_FPS), file_name=name + ".gif",
                               mime="image/gif", key="dl_gif", on_click="ignore")
        c3.download_button("Path (JSON)", lp.to_json(b.name, projection=view.method, seed=view.seed,
                                                     frame_xy=frames_xy),
                           file_name=name + ".json", mime="application/json", key="dl_json", on_click="ignore", width="stretch")
        strip_at = np.linspace(0, len(frames_img) - 1, 10).round().astype(int)
        strip = export.image_grid(b.decode(frames_z[strip_at]), ncols=10, scale=6, pad=2)
        c4.download_button("Frame strip (PNG)", export.png_bytes(strip, {"bundle": b.name, "path": name}),
                           file_name=name + "_strip.png", mime="image/png", key="dl_strip", on_click="ignore", width="stretch")
        st.fragment(scrubber_ui)(view, lp, frames_img, frames_z, frames_xy)


if __name__ == "__main__":  # st.navigation runs this file as the page script
    from explorer.ui.view import current_view

    page(current_view())
