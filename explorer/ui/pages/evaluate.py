"""Checks of the model: the article's classifier tests, likelihoods, a candidate image, baselines, map trust."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from explorer import evaluation as ev
from explorer import figures
from explorer.compare import find_compare, read_compare, table_frame
from explorer.errors import ExplorerError
from explorer.ui import cache
from explorer.ui.components import chart_config, show_grid
from explorer.ui.view import View

UPLOAD_TYPES = ["png", "jpg", "jpeg", "tif", "tiff", "bmp"]


def confusion_frame(conf: ev.Confusion) -> pd.DataFrame:
    """Row percentages with counts, the article's layout."""
    cells = [[f"{p:.1f}% ({c})" if np.isfinite(p) else "–" for p, c in zip(prow, crow)]
             for prow, crow in zip(conf.row_percent, conf.counts)]
    return pd.DataFrame(cells, index=[f"true {n}" for n in conf.class_names], columns=conf.class_names)


def article_frame(article: dict) -> pd.DataFrame:
    rp = article["row_percent"]
    return pd.DataFrame([[f"{v:.1f}%" for v in row] for row in rp], index=[f"true class {i}" for i in range(len(rp))],
                        columns=[f"class {i}" for i in range(len(rp))])


def confusion_block(view: View, conf: ev.Confusion, article: dict, key: str) -> None:
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.markdown(f"**{conf.title}**")
        st.dataframe(confusion_frame(conf))
        st.caption(f"accuracy {100 * conf.accuracy:.1f}%, balanced accuracy {100 * conf.balanced_accuracy:.1f}% "
                   f"on {int(conf.counts.sum())} images")
    with right:
        st.markdown(f"**For comparison: {article['caption']}**")
        st.dataframe(article_frame(article))
    st.plotly_chart(figures.confusion_figure(conf.class_names, conf.counts, conf.row_percent, conf.title, height=360),
                    key=f"cm_{key}", config=chart_config(f"{view.bundle.name}_{key}_confusion_seed{view.seed}"))


def classifier_ui(view: View) -> None:
    b = view.bundle
    st.markdown("A gradient-boosting classifier is trained on the **training** images' pixels only, as in the "
                "reference article; it then labels the held-out test images and images decoded by the model. "
                + ev.CLASSIFIER_NOTE)
    if not st.session_state.get("eval_classifier") and not st.button(
            "Train the classifier and run the checks", type="primary", key="run_classifier"):
        return
    st.session_state["eval_classifier"] = True
    clf = cache.classifier(str(view.path), view.stamp, view.seed)
    confusion_block(view, ev.held_out_confusion(b, clf), ev.ARTICLE_CLASSIFIER, "test")
    st.subheader("Reconstructions of held-out images, classified")
    rc = ev.reconstruction_check(b, clf, per_class=100, seed=view.seed)
    st.caption(f"For each class, 100 test images encoded, a code drawn from the posterior ({rc.posterior}), decoded, "
               f"and classified. Distinct test images per class: "
               + ", ".join(f"{k} {v}" for k, v in rc.distinct.items()) + ".")
    confusion_block(view, rc.confusion, ev.ARTICLE_RECONSTRUCTIONS, "reconstructions")
    st.subheader("Samples from the prior, classified")
    mix = ev.prior_class_mix(b, clf, n=300, seed=view.seed)
    st.dataframe(pd.DataFrame({"prior samples": {k: f"{v:.1f}%" for k, v in mix["percent"].items()},
                               "training images": {k: f"{v:.1f}%" for k, v in mix["train_percent"].items()}}))
    show_grid(mix["images"][:16], 16, view, caption="the first 16 of the 300 prior samples", width="stretch")


def likelihood_ui(view: View) -> None:
    b = view.bundle
    reason = ev.likelihood_unavailable(b)
    if reason:
        st.info(reason)
        return
    sc = cache.scores(str(view.path), view.stamp)
    if sc is None:
        st.info("Per-image log-likelihoods have not been computed for this bundle yet: an ELBO and an "
                "importance-weighted estimate of log p(x) with k = 100 samples for every image. They are stored "
                "beside the bundle, and the map can then be coloured by them.")
        if not st.button("Compute the log-likelihoods", type="primary", key="run_scores"):
            return
        bar = st.progress(0.0, text="starting…")
        ev.likelihood_scores(b, k=100, seed=0, progress=lambda f, m: bar.progress(f, text=m))
        cache.scores.clear()
        sc = cache.scores(str(view.path), view.stamp)
        bar.empty()
    st.caption(sc.caveat)
    st.plotly_chart(figures.likelihood_histograms(sc.iwae, b.labels, b.split, b.class_names,
                                                  title=f"IWAE log p(x) per image (k = {sc.k}) by class and split"),
                    key="lik_hist", config=chart_config(f"{b.name}_loglik_hist_k{sc.k}"))
    rows = pd.DataFrame(sc.summary()).rename(columns={
        "iwae_mean": "IWAE mean", "iwae_median": "IWAE median", "iwae_std": "IWAE std", "elbo_mean": "ELBO mean",
        "gap_mean": "IWAE − ELBO"})
    st.dataframe(rows.round(1), hide_index=True, height=35 * (len(rows) + 1) + 3)


def candidate_ui(view: View) -> None:
    b = view.bundle
    st.markdown("Is a new image like the data? Upload one: it goes through the same preprocessing as the training "
                f"images ({b.input_shape[0]} channel(s), {b.input_shape[1]}x{b.input_shape[2]} pixels), and gets its "
                "log-likelihood under the model, its rank among the test images of each class, its nearest "
                "neighbours and its place on the map.")
    up = st.file_uploader("Candidate image", type=UPLOAD_TYPES, key="candidate", max_upload_size=20)
    if up is None:
        return
    try:
        r = ev.score_image(b, up.getvalue(), up.name, cache.scores(str(view.path), view.stamp), seed=view.seed)
    except ExplorerError as e:
        st.error(str(e))
        return
    for note in r["notes"]:
        st.caption(f"note: {note}")
    c1, c2, c3 = st.columns([1, 1, 2])
    with c1:
        show_grid(r["image"][None], 1, view, caption="as the model sees it")
    with c2:
        show_grid(r["reconstruction"][None], 1, view, caption="its reconstruction")
    with c3:
        if r["iwae"] is None:
            st.info(r["reason"])
        else:
            st.metric("IWAE log p(x)", f"{r['iwae']:.1f} nats", help=r["caveat"])
            if r["percentiles"]:
                st.dataframe(pd.DataFrame({"percentile among test images": r["percentiles"]}).round(1))
                if sc := cache.scores(str(view.path), view.stamp):
                    low = np.percentile(sc.iwae[b.split == 2], 1)
                    if r["iwae"] < low:
                        st.warning("Lower than 99% of the test images: this image is unlike the data.")
    st.caption("nearest images in latent space")
    show_grid(b.images[r["neighbours"]], len(r["neighbours"]), view, width="stretch")
    proj = view.projection()
    if proj is not None:
        from explorer.ui.pages.map import build_map

        fig = build_map(view, proj, height=480)
        figures.add_marker(fig, proj.place(r["code"][None]), f"candidate: {up.name}", symbol="star", size=20,
                           colour="#d62728")
        st.plotly_chart(fig, key="candidate_map", config=chart_config(f"{view.key}_candidate"))


def baselines_ui(view: View) -> None:
    file = find_compare(view.path)
    if file is None:
        st.info("No baseline comparison for this bundle yet. `python -m explorer compare --data ... --out "
                f"{view.path.parent}/compare-NAME` fits a truncated SVD, an autoencoder, a denoising autoencoder and "
                "a VAE at one latent size on the same split; put its compare.json beside the bundle.")
        return
    doc = read_compare(file)
    st.caption(f"From {file.name}: " + ", ".join(f"{k} {v}" for k, v in doc.get("settings", {}).items()
                                                  if k in ("data", "latent_dim", "epochs", "seed", "n_test")))
    st.dataframe(table_frame(doc["rows"]), hide_index=True)


def trust_ui(view: View) -> None:
    proj = view.projection()
    if proj is None:
        st.info("Compute the map on the Map page first.")
        return
    b = view.bundle
    t = ev.projection_trust(b.mu, proj.embedding, b.labels, seed=view.seed)
    c = st.columns(4)
    c[0].metric("trustworthiness", f"{t['trustworthiness']:.3f}", help="1 when no map neighbour is a stranger in "
                "latent space (scikit-learn's trustworthiness)")
    c[1].metric("neighbours kept", f"{t['neighbour_preservation']:.2f}",
                help=f"mean fraction of each point's {t['k']} latent neighbours that stay among its map neighbours")
    c[2].metric("kNN class accuracy on the map", f"{100 * t['knn_accuracy_map']:.1f}%")
    c[3].metric("kNN class accuracy in latent space", f"{100 * t['knn_accuracy_latent']:.1f}%")
    st.caption(f"{view.method_label} map, on {t['n']:,} of {t['n_total']:,} points, k = {t['k']}. A map accuracy well "
               "below the latent one means the map hides class structure that the codes have.")


def page(view: View) -> None:
    st.title("Evaluate the model")
    tabs = st.tabs(["Classifier checks", "Log-likelihood", "Candidate image", "Baselines", "Map trust"])
    with tabs[0]:
        classifier_ui(view)
    with tabs[1]:
        likelihood_ui(view)
    with tabs[2]:
        candidate_ui(view)
    with tabs[3]:
        baselines_ui(view)
    with tabs[4]:
        trust_ui(view)


if __name__ == "__main__":  # st.navigation runs this file as the page script
    from explorer.ui.view import current_view

    page(current_view())
