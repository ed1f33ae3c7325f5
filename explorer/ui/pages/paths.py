"""The path builder: key images, a loop through their codes, the decoded movie, its plausibility and a scrubber."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from explorer import export
from explorer.figures import SPLIT_NAMES, add_path, plausibility_strip
from explorer.paths import LatentPath, random_keys
from explorer.plausibility import frame_plausibility, summarise
from explorer.ui import cache, state
from explorer.ui.components import chart_config
from explorer.ui.pages.map import build_map
from explorer.ui.view import View

MOVIE_FPS = 30
METHOD_NAMES = {"linear": "straight", "slerp": "spherical", "data": "through the data"}


def make_path(view: View, method: str | None = None) -> LatentPath | None:
    """The path the key list describes (with ``method`` instead of the chosen one, if given)."""
    keys = st.session_state[state.PATH_KEYS]
    if len(keys) < 2:
        return None
    b = view.bundle
    return LatentPath.from_codes(b.mu, keys, ids=b.ids, frames_per_segment=int(st.session_state[state.PATH_FPS]),
                                 method=method or st.session_state[state.PATH_METHOD],
                                 closed=st.session_state[state.PATH_CLOSED], codes=b.mu[b.split_index("train")])


@st.cache_data(max_entries=8, show_spinner="Decoding the frames…")
def decoded_frames(path: str, stamp: int, frames: np.ndarray) -> np.ndarray:
    """The path's frames as video-sized uint8 RGB images (nearest-neighbour upscaled)."""
    return export.upscale_for_video(cache.bundle(path, stamp).decode(frames), target=224)


@st.cache_data(max_entries=8, show_spinner="Encoding the movie…")
def movie(kind: str, frames: np.ndarray, fps: int) -> bytes:
    return export.mp4_bytes(frames, fps=fps, preset="veryfast") if kind == "mp4" else export.gif_bytes(frames, fps)


@st.cache_resource(max_entries=16, show_spinner="Measuring how plausible each frame is…")
def plausibility(path: str, stamp: int, method: str, keys: tuple, fps: int, closed: bool, classify: bool,
                 likelihood: bool, seed: int):
    b = cache.bundle(path, stamp)
    lp = LatentPath.from_codes(b.mu, list(keys), frames_per_segment=fps, method=method, closed=closed,
                               codes=b.mu[b.split_index("train")])
    pf = lp.frames()
    clf = cache.classifier(path, stamp, seed).predict_proba if classify else None
    return pf, frame_plausibility(b, pf.frames, classifier=clf, k_likelihood=10 if likelihood else 0, seed=seed,
                                  calibration=cache.calibration(path, stamp))


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
    c1, c2 = st.columns([1, 2])
    c1.number_input("Frames per segment", 2, 500, key=state.PATH_FPS, step=10)
    c1.toggle("Close the loop", key=state.PATH_CLOSED)
    c2.radio("Path between the keys", list(METHOD_NAMES), key=state.PATH_METHOD, format_func=METHOD_NAMES.get,
             help="straight: line segments in latent space (the reference experiment); spherical: great-circle "
                  "arcs; through the data: the shortest route over a nearest-neighbour graph of the training "
                  "codes, smoothed.")


def scrubber_ui(view: View, lp: LatentPath, frames_img: np.ndarray, compare: LatentPath | None,
                plaus: list[tuple[str, object]], frames_xy: list[np.ndarray] | None) -> None:
    """One frame at a time: the image, where it lies on the map, and where it sits on the plausibility strip."""
    b = view.bundle
    n = len(frames_img)
    st.session_state[state.FRAME] = min(st.session_state[state.FRAME], n - 1)
    f = st.slider("Frame", 0, n - 1, key=state.FRAME)
    seg = f // lp.frames_per_segment + 1
    c1, c2 = st.columns([1, 2])
    with c1:
        st.image(frames_img[f], caption=f"frame {f + 1} of {n} · segment {seg}", width="stretch", output_format="PNG")
        p = plaus[0][1]
        if p.flags[f]:
            st.warning(f"Off the data here ({p.criterion[f].replace('_', ' ')} above its threshold).")
        nearest = int(p.nn_index[f])
        st.image(export.to_rgb_uint8(b.images[nearest:nearest + 1], 4)[0], output_format="PNG", width=140,
                 caption=f"nearest training image: {b.ids[nearest]} ({b.class_names[b.labels[nearest]]}), "
                         f"distance {p.nn_distance[f]:.2f}")
    with c2:
        proj = view.projection()
        if proj is not None and frames_xy is not None:
            fig = build_map(view, proj, height=440)
            if compare is not None:
                add_path(fig, frames_xy[1], proj.embedding[lp.key_indices], name=METHOD_NAMES[compare.method],
                         colour="#0072B2")
            add_path(fig, frames_xy[0], proj.embedding[lp.key_indices], current=f, name=METHOD_NAMES[lp.method])
            allxy = np.concatenate(frames_xy)
            lo, hi = allxy.min(0), allxy.max(0)
            pad = 0.25 * (hi - lo).max() + 1e-6
            fig.update_xaxes(range=[lo[0] - pad, hi[0] + pad])
            fig.update_yaxes(range=[lo[1] - pad, hi[1] + pad])
            fig.update_layout(title=f"frame {f + 1} on the {view.method_label} map (zoomed to the path)")
            st.plotly_chart(fig, key="scrub_map", config=chart_config(f"{view.key}_path_frame{f}"))
    st.plotly_chart(plausibility_strip(plaus, b.class_names, current=f), key="strip",
                    config=chart_config(f"{view.key}_path_plausibility"))


def summary_table(plaus: list[tuple[str, object]], class_names: list[str]) -> pd.DataFrame:
    rows = {}
    for name, p in plaus:
        s = summarise(p)
        row = {"frames off the data": f"{100 * s['fraction_flagged']:.1f}%",
               "longest run off the data": s["longest_flagged_run"],
               "mean / max distance to data": f"{s['mean_nn_distance']:.2f} / {s['max_nn_distance']:.2f}",
               "mean / max round trip": f"{s['mean_roundtrip']:.2f} / {s['max_roundtrip']:.2f}",
               "mean / min log prior": f"{s['mean_log_prior']:.1f} / {s['min_log_prior']:.1f}"}
        if "mean_confidence" in s:
            row["classifier: majority class"] = (f"{class_names[s['majority_class']]} "
                                                 f"({100 * s['majority_class_fraction']:.0f}% of frames)")
            row["classifier: class changes"] = s["class_changes"]
            row["classifier: mean confidence"] = f"{s['mean_confidence']:.2f}"
        if "mean_log_likelihood" in s:
            row["mean / min log-likelihood"] = f"{s['mean_log_likelihood']:.0f} / {s['min_log_likelihood']:.0f}"
        rows[name] = row
    return pd.DataFrame(rows)


def page(view: View) -> None:
    b = view.bundle
    st.title("Path builder")
    st.caption("A loop through key images' codes in latent space, decoded frame by frame: the reference "
               "experiment takes 5 images of one class and 100 frames per segment, a 500-frame movie. "
               "Each frame is checked against the data, so you can see where the path leaves the manifold.")
    left, right = st.columns([2, 3], gap="large")
    with left:
        keys_ui(view)
    lp = make_path(view)
    if lp is None:
        with right:
            st.info("Add at least two key points to make a movie.")
        return
    pf = lp.frames()
    for w in pf.warnings:
        st.warning(w)
    frames_img = decoded_frames(str(view.path), view.stamp, pf.frames.astype(np.float32))
    with right:
        st.subheader(f"Movie · {len(frames_img)} frames at {MOVIE_FPS} fps · {METHOD_NAMES[lp.method]}")
        mp4 = movie("mp4", frames_img, MOVIE_FPS)
        st.video(mp4, loop=True, autoplay=True, muted=True, width=460)
        proj = view.projection()
        frames_xy = proj.place(pf.frames) if proj is not None else None
        name = export.safe_filename(view.key, "path", f"{len(lp.keys)}keys", f"{lp.frames_per_segment}fps", lp.method)
        c1, c2, c3, c4 = st.columns(4)
        c1.download_button("MP4", mp4, file_name=name + ".mp4", mime="video/mp4", key="dl_mp4", on_click="ignore",
                           width="stretch")
        if c2.toggle("GIF", key="want_gif", help="Encode a GIF too (larger; for slides)"):
            c2.download_button("Download GIF", movie("gif", frames_img, MOVIE_FPS), file_name=name + ".gif",
                               mime="image/gif", key="dl_gif", on_click="ignore")
        c3.download_button("Path (JSON)", lp.to_json(b.name, projection=view.method, seed=view.seed,
                                                     frame_xy=frames_xy),
                           file_name=name + ".json", mime="application/json", key="dl_json", on_click="ignore",
                           width="stretch")
        strip_at = np.linspace(0, len(frames_img) - 1, 10).round().astype(int)
        strip = export.image_grid(b.decode(pf.frames[strip_at]), ncols=10, scale=6, pad=2)
        c4.download_button("Frame strip (PNG)", export.png_bytes(strip, {"bundle": b.name, "path": name}),
                           file_name=name + "_strip.png", mime="image/png", key="dl_strip", on_click="ignore",
                           width="stretch")

    st.subheader("Does the path stay on the data?")
    c1, c2, c3 = st.columns(3)
    other = "data" if lp.method != "data" else "linear"
    compare_on = c1.toggle(f"Compare with the path {METHOD_NAMES[other]}", value=True, key="path_compare")
    classify = c2.toggle("Classify every frame", key="path_classify",
                         help="Trains the pixel classifier on the training images once (about 10-30 s).")
    likelihood = c3.toggle("Log-likelihood of every frame", key="path_likelihood",
                           disabled=not b.model.stochastic,
                           help="An importance-weighted estimate with k = 10 samples per frame (a few seconds).")
    args = (str(view.path), view.stamp)
    common = (tuple(lp.key_indices), lp.frames_per_segment, lp.closed, classify, likelihood, view.seed)
    plaus = [(METHOD_NAMES[lp.method], plausibility(*args, lp.method, *common)[1])]
    compare = None
    xy = [frames_xy] if frames_xy is not None else None
    if compare_on:
        compare = make_path(view, other)
        cpf, cplaus = plausibility(*args, other, *common)
        plaus.append((METHOD_NAMES[other], cplaus))
        if xy is not None:
            xy.append(proj.place(cpf.frames))
    st.dataframe(summary_table(plaus, b.class_names))
    st.caption("A frame is off the data when its code is farther from every training code than 99% of the held-out "
               "images are, or when decoding and re-encoding it moves the code more than for 99% of the training "
               "images (dashed lines).")
    st.fragment(scrubber_ui)(view, lp, frames_img, compare, plaus, xy)


if __name__ == "__main__":  # st.navigation runs this file as the page script
    from explorer.ui.view import current_view

    page(current_view())
