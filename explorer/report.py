"""A self-contained HTML report of one bundle: every check of :mod:`explorer.evaluation` in one file.

``write_report("models/cells-vae")`` writes ``models/cells-vae/report.html`` with the latent map,
the classifier's confusion matrices (held-out test images; reconstructions), reconstructions, prior
samples, likelihood histograms, the projection-trust numbers and, when a ``compare.json`` lies in or
next to the bundle, the baseline table. Every number is recomputed from the bundle with one seed;
the bundle's name, weights hash and the seed are recorded; the reference article's numbers stand
beside ours for context. Plotly's JavaScript is embedded once and images are PNG data URIs, so the
file opens offline. The likelihoods come from ``scores.npz`` when it is there (see
:func:`explorer.evaluation.likelihood_scores`), so a second report is quick.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from explorer import figures
from explorer.figures import SPLIT_NAMES
from explorer.checkpoint import atomic_write

REPORT_FILE = "report.html"

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:24px auto;padding:0 16px;
color:#222;line-height:1.45}
h1{font-size:1.7em;margin-bottom:4px}h2{border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:36px}
table{border-collapse:collapse;margin:8px 0 12px}th,td{border:1px solid #ccc;padding:4px 9px;text-align:right}
th:first-child,td:first-child{text-align:left}thead th{background:#f3f3f3}
td.diag{font-weight:600;background:#eef4fb}.meta td{text-align:left}.note{color:#555;font-size:.92em}
.side{display:flex;gap:28px;flex-wrap:wrap;align-items:flex-start}.side>div{flex:1 1 420px}
figure{margin:10px 0}figcaption{color:#555;font-size:.9em}img.grid{image-rendering:pixelated;max-width:100%}
.caveat{background:#fff7e6;border-left:4px solid #e69f00;padding:8px 12px}
"""


@dataclass
class ReportResult:
    path: Path
    numbers: dict[str, Any]
    seconds: float


def _e(x: Any) -> str:
    return html.escape(str(x))


def _png_uri(image_uint8: np.ndarray) -> str:
    from explorer.export import png_bytes

    return "data:image/png;base64," + base64.b64encode(png_bytes(image_uint8)).decode("ascii")


def _grid_img(images: np.ndarray, ncols: int, alt: str, scale: int = 3) -> str:
    from explorer.export import image_grid

    return f'<img src="{_png_uri(image_grid(images, ncols=ncols, scale=scale))}" class="grid" alt="{_e(alt)}">'


def _pct(v: Optional[float]) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:.1f}%"


def confusion_table(conf, caption: str = "") -> str:
    """An HTML table of a :class:`explorer.evaluation.Confusion`: row % with counts, n, recall."""
    head = "".join(f"<th>{_e(c)}</th>" for c in conf.class_names)
    rows = []
    for i, name in enumerate(conf.class_names):
        cells = "".join(
            f'<td class="{"diag" if i == j else ""}">{_pct(conf.row_percent[i, j])} ({conf.counts[i, j]})</td>'
            for j in range(len(conf.class_names)))
        rows.append(f"<tr><th>{_e(name)}</th>{cells}<td>{int(conf.row_totals[i])}</td>"
                    f"<td>{_pct(100 * conf.recall[name])}</td></tr>")
    foot = (f"accuracy {_pct(100 * conf.accuracy)}, balanced accuracy {_pct(100 * conf.balanced_accuracy)} "
            f"on {conf.n} images")
    if conf.empty_rows:
        foot += f"; no samples of {_e(', '.join(conf.empty_rows))} (rows n/a)"
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    return (f'<table class="confusion">{cap}<thead><tr><th>true \\ predicted</th>{head}<th>n</th><th>recall</th>'
            f'</tr></thead><tbody>{"".join(rows)}</tbody></table><p class="note">{foot}</p>')


def article_table(article: dict[str, Any], ours=None) -> str:
    """The article's row percentages (its classes 0, 1, 2), with our diagonal beside them when we have 3 classes."""
    rp = article["row_percent"]
    show_ours = ours is not None and len(ours.class_names) == len(rp)
    head = "".join(f"<th>class {j}</th>" for j in range(len(rp)))
    extra = "<th>ours (diagonal)</th>" if show_ours else ""
    rows = []
    for i, row in enumerate(rp):
        cells = "".join(f'<td class="{"diag" if i == j else ""}">{v:.2f}%</td>' for j, v in enumerate(row))
        our = f"<td>{_e(ours.class_names[i])}: {_pct(ours.row_percent[i, i])}</td>" if show_ours else ""
        rows.append(f"<tr><th>class {i}</th>{cells}{our}</tr>")
    return (f'<table class="article"><caption>{_e(article["caption"])}</caption><thead><tr><th>true \\ predicted</th>'
            f'{head}{extra}</tr></thead><tbody>{"".join(rows)}</tbody></table>')


def _table(head: list[str], rows: list[list[str]], cls: str = "") -> str:
    h = "".join(f"<th>{_e(x)}</th>" for x in head)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>'


class _Plots:
    """Plotly figures as HTML fragments; the library's JavaScript goes inline with the first one only."""

    def __init__(self) -> None:
        self.first = True

    def __call__(self, fig) -> str:
        fig.update_layout(template=figures.REPORT_TEMPLATE)
        out = fig.to_html(full_html=False, include_plotlyjs="inline" if self.first else False,
                          config={"displaylogo": False, "responsive": True})
        self.first = False
        return out


def write_report(bundle_path: Path | str, out_html: Optional[Path | str] = None, seed: int = 0, k: int = 100,
                 compare_path: Optional[Path | str] = None, per_class: int = 100, n_prior: int = 300,
                 method: str = "pca", progress: Optional[Callable[[float, str], None]] = None) -> ReportResult:
    """Evaluate the bundle at ``bundle_path`` and write the HTML report (default ``<bundle>/report.html``).

    ``k`` is the number of importance samples for log p(x); ``per_class`` the reconstructions per
    class; ``n_prior`` the prior samples classified; ``method`` the map (``explorer.projection``).
    ``compare_path`` is a ``compare.json`` (default: one in or next to the bundle, if any).
    """
    from explorer.bundle import load_bundle
    from explorer.compare import find_compare, read_compare, table_cells
    from explorer.evaluation import (ARTICLE_CLASSIFIER, ARTICLE_RECONSTRUCTIONS, CLASSIFIER_NOTE,
                                     evaluate_bundle)

    t0 = time.perf_counter()
    bundle = load_bundle(bundle_path)
    out = Path(out_html) if out_html else Path(bundle.path) / REPORT_FILE
    ev = evaluate_bundle(bundle, seed=seed, k=k, per_class=per_class, n_prior=n_prior, method=method,
                         progress=progress)
    plot = _Plots()
    meta = bundle.meta
    names = bundle.class_names
    split_sizes = {s: len(bundle.split_index(s)) for s in SPLIT_NAMES}
    generated = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    parts: list[str] = []

    # -- header --------------------------------------------------------------------------------------------
    cfg = meta.get("model", {})
    info = [
        ("bundle", f"{bundle.name} ({bundle.path})"), ("weights SHA-256", ev.weights_sha256),
        ("model", f"{cfg.get('kind')} {cfg.get('arch')}, latent size {cfg.get('latent_dim')}, "
                  f"likelihood {cfg.get('likelihood')}" + (f", beta {cfg['beta']}" if "beta" in cfg else "")),
        ("data", f"{meta['data'].get('source')} ({meta['data'].get('n_images')} images, "
                 f"{', '.join(f'{c}: {n}' for c, n in meta['data'].get('class_counts', {}).items())}); "
                 f"content hash {str(meta['data'].get('content_hash', ''))[:16]}"),
        ("split", ", ".join(f"{s} {n}" for s, n in split_sizes.items())),
        ("trained", f"{meta.get('created', '?')}, {meta['training'].get('epochs_run', '?')} epochs "
                    f"(best {meta['training'].get('best_epoch', '?')})"),
        ("report", f"seed {seed}, k = {k}, {per_class} reconstructions per class, {n_prior} prior samples, "
                   f"map {method}; generated {generated}"),
        ("versions", ", ".join(f"{a} {b}" for a, b in meta.get("versions", {}).items())),
    ]
    parts.append(f"<h1>Latent Explorer report: {_e(bundle.name)}</h1>")
    parts.append('<table class="meta">' + "".join(f"<tr><th>{_e(a)}</th><td>{_e(b)}</td></tr>" for a, b in info)
                 + "</table>")
    parts.append('<p class="note">The reference article checks its VAE by classifying held-out images and '
                 "reconstructions with gradient boosting, by the evidence P(enc(x)) a VAE gives, and against the "
                 "truncated SVD. It admits two flaws: duplicated images in its test set (here the classifier sees "
                 "the training split only, and exact duplicates of held-out images are removed from it) and a "
                 "Bernoulli likelihood on [0, 1] data (see the caveat in the likelihood section).</p>")

    # -- map -----------------------------------------------------------------------------------------------
    proj = ev.projection
    tr = ev.trust
    parts.append("<h2>Latent map</h2>")
    fig = figures.map_figure(proj.embedding, np.arange(len(bundle.labels)), bundle.labels, names, bundle.ids,
                             title=f"{method.upper()} map of the {bundle.mu.shape[1]}-d code means, by class",
                             height=560)
    parts.append(plot(fig))
    parts.append("<p><b>Projection trust</b> "
                 f"(on {tr['n']} of {tr['n_total']} points, k = {tr['k']}): ")
    parts.append(_table(
        ["trustworthiness", "neighbour preservation", "kNN class accuracy on the map",
         "kNN class accuracy in latent space"],
        [[f"{tr['trustworthiness']:.3f}", f"{tr['neighbour_preservation']:.3f}",
          _pct(100 * tr["knn_accuracy_map"]), _pct(100 * tr["knn_accuracy_latent"])]], "trust"))
    parts.append('<p class="note">Trustworthiness (scikit-learn) is 1 when no point\'s map neighbours are strangers '
                 "in the latent space; neighbour preservation is the mean fraction of each point's k latent "
                 f"neighbours that stay among its k map neighbours; the kNN accuracies are {tr['folds']}-fold "
                 "cross-validated votes of k neighbours. A map accuracy well below the latent one means the map "
                 "hides class structure the codes have (the article reads its t-SNE map by eye).</p>")

    # -- classifier ----------------------------------------------------------------------------------------
    clf = ev.classifier
    parts.append("<h2>Pixel classifier on held-out test images</h2>")
    parts.append(f'<p class="note">{_e(CLASSIFIER_NOTE)} Fitted on {len(clf.train_index)} training images '
                 f"(seed {clf.seed}, {clf.seconds:.1f} s); {clf.dropped_duplicates} training image(s) dropped as "
                 "duplicates of held-out images. No validation or test image reaches it.</p>")
    parts.append('<div class="side"><div>' + confusion_table(ev.test, ev.test.title) + "</div><div>"
                 + article_table(ARTICLE_CLASSIFIER, ev.test) + "</div></div>")
    parts.append(plot(figures.confusion_figure(names, ev.test.counts, ev.test.row_percent, ev.test.title)))

    # -- reconstructions -----------------------------------------------------------------------------------
    rc = ev.reconstructions
    parts.append("<h2>Reconstructions classified</h2>")
    short = {c: n for c, n in rc.distinct.items() if n < rc.per_class}
    parts.append(f'<p class="note">For each class, {rc.per_class} test images were encoded, a code drawn '
                 f"({_e(rc.posterior)}), decoded and classified by the same classifier. "
                 + (("Fewer test images than that in " + ", ".join(f"{_e(c)} ({n} distinct)" for c, n in short.items())
                     + ": the rest were drawn again with replacement.") if short else "All drawn images are distinct.")
                 + "</p>")
    parts.append('<div class="side"><div>' + confusion_table(rc.confusion, rc.confusion.title) + "</div><div>"
                 + article_table(ARTICLE_RECONSTRUCTIONS, rc.confusion) + "</div></div>")
    parts.append(plot(figures.confusion_figure(names, rc.confusion.counts, rc.confusion.row_percent,
                                               rc.confusion.title)))
    votes = np.bincount(rc.predicted, minlength=len(names))
    parts.append('<p class="note">Read this with care: the classifier learned from real, sharp and noisy images, '
                 "and reconstructions are smoother, so a pixel classifier may call blurred images of any class by "
                 "the class whose images are the most diffuse. "
                 f"Its most frequent answer here was {_e(names[int(votes.argmax())])}, for "
                 f"{100 * votes.max() / max(votes.sum(), 1):.0f}% of all reconstructions ({100 / len(names):.0f}% "
                 f"would be even); accuracy {_pct(100 * rc.confusion.accuracy)} against "
                 f"{_pct(100 * ev.test.accuracy)} on the real test images.</p>")
    parts.append("<h3>Sample reconstructions</h3>")
    for c, name in enumerate(names):
        sel = np.flatnonzero(rc.labels == c)[:10]
        if len(sel) == 0:
            continue
        pair = np.concatenate([bundle.images[rc.index[sel]], rc.reconstructions[sel]])
        votes = np.bincount(rc.predicted[sel], minlength=len(names))
        called = ", ".join(f"{names[j]} x{v}" for j, v in enumerate(votes) if v)
        parts.append(f"<figure>{_grid_img(pair, ncols=len(sel), alt=f'{name} reconstructions')}"
                     f"<figcaption>{_e(name)}: test images (top) and their reconstructions (bottom); the classifier "
                     f"calls the reconstructions: {_e(called)}</figcaption></figure>")

    # -- prior samples -------------------------------------------------------------------------------------
    pr = ev.prior
    parts.append("<h2>Samples from the prior</h2>")
    parts.append(f"<figure>{_grid_img(pr['images'][:40], ncols=10, alt='prior samples')}"
                 f"<figcaption>40 of {pr['n']} images decoded from codes drawn from the model's "
                 f"{'prior N(0, I)' if bundle.model.stochastic else 'normal fitted to the training codes'} "
                 f"(seed {pr['seed']})</figcaption></figure>")
    parts.append(_table(["class", "classifier's share of prior samples", "share of training images"],
                        [[c, _pct(pr["percent"][c]), _pct(pr["train_percent"][c])] for c in names], "prior"))

    # -- likelihood ----------------------------------------------------------------------------------------
    parts.append("<h2>Likelihood: evidence that an image belongs to the data</h2>")
    sc = ev.scores
    if sc is None:
        parts.append(f"<p>{_e(ev.no_likelihood)}</p>")
    else:
        parts.append(f'<p class="caveat"><b>Caveat ({_e(sc.likelihood)} likelihood).</b> {_e(sc.caveat)}</p>')
        parts.append(f'<p class="note">k = {sc.k} importance samples, seed {sc.seed}; computed in {sc.seconds:.1f} s'
                     f"{' (loaded from scores.npz)' if sc.from_cache else ' and stored in scores.npz'}.</p>")
        parts.append(plot(figures.likelihood_histograms(
            sc.iwae, bundle.labels, bundle.split, names, value_name=f"IWAE log p(x), k = {sc.k} (nats per image)",
            title="IWAE log-likelihood by class and split")))
        parts.append(_table(["split", "class", "n", "mean IWAE", "median IWAE", "std", "mean ELBO", "IWAE - ELBO"],
                            [[r["split"], r["class"], str(r["n"]), f"{r['iwae_mean']:.1f}", f"{r['iwae_median']:.1f}",
                              f"{r['iwae_std']:.1f}", f"{r['elbo_mean']:.1f}", f"{r['gap_mean']:.2f}"]
                             for r in sc.summary()], "likelihood"))
        parts.append('<p class="note">A train / test gap in log p(x) measures over-fitting; an uploaded image is '
                     "ranked against the test images of each class (python -m explorer score).</p>")

    # -- baselines -----------------------------------------------------------------------------------------
    cmp_file = Path(compare_path) if compare_path else find_compare(bundle.path)
    parts.append("<h2>Baselines at the same latent size</h2>")
    if cmp_file is not None and cmp_file.is_file():
        doc = read_compare(cmp_file)
        head, cells = table_cells(doc.get("rows", []))
        st = doc.get("settings", {})
        parts.append(f'<p class="note">From {_e(cmp_file)} (data {_e(st.get("data"))}, latent size '
                     f"{_e(st.get('latent_dim'))}, {_e(st.get('epochs'))} epochs, seed {_e(st.get('seed'))}). "
                     "The article frames the truncated SVD as the linear autoencoder the others must beat. "
                     "BCE is the same clipped formula for every model; NLL is each model's own likelihood.</p>")
        parts.append(_table(head, cells, "baselines"))
    else:
        parts.append('<p class="note">No compare.json in or next to this bundle; run '
                     "<code>python -m explorer compare --data DATA --out FOLDER</code> to fit the truncated SVD, "
                     "AE, DAE and VAE on the same split.</p>")

    seconds = time.perf_counter() - t0
    parts.append(f'<p class="note">Timings: {_e(", ".join(f"{a} {b:.1f} s" for a, b in ev.seconds.items()))}; '
                 f"report {seconds:.1f} s.</p>")
    doc_html = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                f"<title>Latent Explorer report: {_e(bundle.name)}</title><style>{_CSS}</style></head><body>"
                + "\n".join(parts) + "</body></html>")
    atomic_write(out, lambda tmp: Path(tmp).write_text(doc_html, encoding="utf-8"))

    numbers = {
        "bundle": bundle.name, "weights_sha256": ev.weights_sha256, "seed": seed, "k": k,
        "test_accuracy": ev.test.accuracy, "test_balanced_accuracy": ev.test.balanced_accuracy,
        "test_recall": ev.test.recall, "recon_accuracy": rc.confusion.accuracy,
        "recon_balanced_accuracy": rc.confusion.balanced_accuracy, "recon_recall": rc.confusion.recall,
        "prior_percent": pr["percent"], "trust": {k_: v for k_, v in tr.items()},
        "test_iwae_mean": None if sc is None else float(sc.iwae[bundle.split_index("test")].mean()),
        "test_elbo_mean": None if sc is None else float(sc.elbo[bundle.split_index("test")].mean()),
        "compare": str(cmp_file) if cmp_file else None,
    }
    return ReportResult(path=out, numbers=numbers, seconds=seconds)
