"""Plotly figure builders. Pure functions of arrays: no Streamlit, no file access.

Figures carry no template (validating one costs 15-30 ms a figure, too much on every click): the app
draws them in Streamlit's theme, and the report applies ``REPORT_TEMPLATE`` when it embeds them."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer.data.split import SPLITS as SPLIT_NAMES

# Colour-blind-safe categorical palette (Okabe & Ito, 2008), then Plotly's for more classes.
PALETTE = ["#E69F00", "#009E73", "#CC79A7", "#0072B2", "#D55E00", "#56B4E9", "#F0E442", "#000000",
           "#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692", "#B6E880"]
REPORT_TEMPLATE = "plotly_white"


# A class whose name says its colour (a stain: "CP-13 (tau, red)") is drawn in that colour.
COLOUR_WORDS = {"red": "#D55E00", "green": "#009E73", "yellow": "#E6AB02", "blue": "#0072B2",
                "magenta": "#CC79A7", "cyan": "#56B4E9", "orange": "#E69F00"}


def class_colours(class_names: list[str]) -> list[str]:
    """One colour per class: the colour a class name mentions, else the palette in order."""
    named = [next((c for w, c in COLOUR_WORDS.items() if w in name.lower()), None) for name in class_names]
    if len(set(n for n in named if n)) != sum(1 for n in named if n):
        named = [None] * len(class_names)  # two classes claim one colour: ignore the words
    free = iter(c for c in PALETTE if c not in named)
    return [n or next(free) for n in named]


def map_figure(xy: np.ndarray, index: np.ndarray, labels: np.ndarray, class_names: list[str], ids: np.ndarray, *,
               colour: str = "class", values: np.ndarray | None = None, value_name: str = "",
               split: np.ndarray | None = None, density_xy: np.ndarray | None = None,
               title: str = "", axis_names: tuple[str, str] = ("", ""), marker_size: float = 5.0,
               height: int = 640) -> go.Figure:
    """The latent map: one WebGL scatter trace per class (or split), or one trace coloured by ``values``.

    ``index`` holds the dataset index of each plotted point; it goes into ``customdata`` so a
    click names the real image whatever the trace. ``density_xy`` (all points, when only a
    subsample is drawn) adds a density layer under the points.
    """
    fig = go.Figure()
    if density_xy is not None:
        fig.add_trace(go.Histogram2dContour(
            x=density_xy[:, 0], y=density_xy[:, 1], ncontours=12, showscale=False, hoverinfo="skip",
            colorscale=[[0, "rgba(255,255,255,0)"], [1, "rgba(90,90,90,0.45)"]],
            contours={"coloring": "fill", "showlines": False}, name="density of all points"))
    hover = "%{text}<br>%{fullData.name}<extra></extra>" if colour in ("class", "split") else \
        "%{text}<br>" + value_name + " %{marker.color:.3g}<extra></extra>"
    common = dict(mode="markers", hovertemplate=hover,
                  selected={"marker": {"size": marker_size * 3, "color": "#111111", "opacity": 1.0}},
                  unselected={"marker": {"opacity": 0.55}})
    ids = np.asarray(ids)

    def custom(sel: np.ndarray) -> dict:
        return {"customdata": np.asarray(index)[sel].astype(np.int32), "text": ids[sel]}

    colours = class_colours(class_names) if colour == "class" else PALETTE
    if colour in ("class", "split"):
        groups = (range(len(class_names)) if colour == "class" else range(len(SPLIT_NAMES)))
        key = labels if colour == "class" else split
        for g in groups:
            sel = np.flatnonzero(key == g)
            if len(sel) == 0:
                continue
            name = class_names[g] if colour == "class" else SPLIT_NAMES[g]
            fig.add_trace(go.Scattergl(x=xy[sel, 0], y=xy[sel, 1], **custom(sel), name=name,
                                       marker={"size": marker_size, "color": colours[g]}, **common))
    else:
        sel = np.arange(len(xy))
        fig.add_trace(go.Scattergl(
            x=xy[:, 0], y=xy[:, 1], **custom(sel), name=value_name, showlegend=False,
            marker={"size": marker_size, "color": values, "colorscale": "Viridis", "showscale": True,
                    "colorbar": {"title": {"text": value_name}, "thickness": 14}}, **common))
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left"}, height=height,
        margin={"l": 10, "r": 10, "t": 50 if title else 10, "b": 10}, dragmode="pan",
        legend={"itemsizing": "constant", "orientation": "h", "y": -0.02, "yanchor": "top", "x": 0},
        xaxis={"title": axis_names[0], "showticklabels": bool(axis_names[0]), "zeroline": False},
        yaxis={"title": axis_names[1], "showticklabels": bool(axis_names[1]), "zeroline": False,
               "scaleanchor": "x" if not axis_names[0] else None},
        uirevision="map",
    )
    return fig


def add_path(fig: go.Figure, frames_xy: np.ndarray, keys_xy: np.ndarray, current: int | None = None,
             name: str = "path", colour: str = "#222222") -> go.Figure:
    """Draw a latent path on the map: the frames as a line, the key points numbered, the current frame."""
    fig.add_trace(go.Scatter(x=frames_xy[:, 0], y=frames_xy[:, 1], mode="lines", name=name, hoverinfo="skip",
                             line={"color": colour, "width": 2}))
    fig.add_trace(go.Scatter(x=keys_xy[:, 0], y=keys_xy[:, 1], mode="markers+text", name=f"{name} keys",
                             text=[str(i + 1) for i in range(len(keys_xy))], textposition="top center",
                             hoverinfo="skip", showlegend=False,
                             marker={"size": 13, "color": "white", "line": {"color": colour, "width": 2}}))
    if current is not None:
        fig.add_trace(go.Scatter(x=frames_xy[current:current + 1, 0], y=frames_xy[current:current + 1, 1],
                                 mode="markers", name="frame", hoverinfo="skip", showlegend=False,
                                 marker={"size": 16, "symbol": "x", "color": "#d62728"}))
    return fig


def add_marker(fig: go.Figure, xy: np.ndarray, name: str, symbol: str = "circle-open", size: int = 18,
               colour: str = "#111111") -> go.Figure:
    """Mark extra points (the picked image, an upload, posterior samples) on the map."""
    xy = np.atleast_2d(xy)
    fig.add_trace(go.Scatter(x=xy[:, 0], y=xy[:, 1], mode="markers", name=name, hoverinfo="skip",
                             marker={"size": size, "symbol": symbol, "color": colour,
                                     "line": {"width": 3, "color": colour}}))
    return fig


def latent_bars(z: np.ndarray, order: np.ndarray | None = None, title: str = "Latent code") -> go.Figure:
    """The latent vector as a bar chart (dimensions in ``order`` if given)."""
    order = np.arange(len(z)) if order is None else order
    fig = go.Figure(go.Bar(x=[f"z{d}" for d in order], y=z[order], marker_color="#0072B2"))
    fig.update_layout(title=title, height=220, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      xaxis={"type": "category"})
    return fig


# -- evaluation figures (explorer.evaluation, explorer.report) -------------------------------------------
def confusion_figure(class_names: list[str], counts: np.ndarray, row_percent: np.ndarray, title: str = "",
                     height: int | None = None) -> go.Figure:
    """A confusion matrix heatmap: colour and text are row percentages (each true class sums to 100%),
    the counts are in the text and the hover. Rows without samples stay blank (NaN)."""
    counts = np.asarray(counts)
    pct = np.asarray(row_percent, dtype=np.float64)
    text = [["" if not np.isfinite(p) else f"{p:.1f}%<br>({c})" for p, c in zip(pr, cr)] for pr, cr in zip(pct, counts)]
    fig = go.Figure(go.Heatmap(
        z=pct, x=[f"{c}" for c in class_names], y=[f"{c}" for c in class_names], text=text,
        texttemplate="%{text}", customdata=counts, zmin=0, zmax=100, colorscale="Blues",
        colorbar={"title": {"text": "% of row"}, "thickness": 14},
        hovertemplate="true %{y}<br>predicted %{x}<br>%{z:.1f}% of the true class (%{customdata} images)"
                      "<extra></extra>"))
    k = len(class_names)
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left"},
        height=height or 160 + 70 * k, margin={"l": 10, "r": 10, "t": 50 if title else 10, "b": 10},
        xaxis={"title": "predicted class", "side": "bottom", "type": "category"},
        yaxis={"title": "true class", "autorange": "reversed", "type": "category"},
    )
    return fig


def likelihood_histograms(values: np.ndarray, labels: np.ndarray, split: np.ndarray, class_names: list[str],
                          value_name: str = "IWAE log p(x) (nats)", title: str = "", nbins: int = 40,
                          height: int = 520) -> go.Figure:
    """Overlaid histograms of a per-image value (e.g. log p(x)), one colour per class, one panel per
    split (train, val, test), sharing the x axis and bins."""
    from plotly.subplots import make_subplots

    values = np.asarray(values, dtype=np.float64)
    labels = np.asarray(labels)
    split = np.asarray(split)
    present = [s for s in range(len(SPLIT_NAMES)) if (split == s).any()]
    fig = make_subplots(rows=max(len(present), 1), cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=[f"{SPLIT_NAMES[s]} ({int((split == s).sum())} images)" for s in present])
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
    size = (hi - lo) / nbins if hi > lo else 1.0
    bins = {"start": lo, "end": hi + size, "size": size}
    colours = class_colours(class_names)
    for row, s in enumerate(present, start=1):
        for c, name in enumerate(class_names):
            sel = (split == s) & (labels == c)
            if not sel.any():
                continue
            fig.add_trace(go.Histogram(x=values[sel], name=name, legendgroup=name, showlegend=row == 1,
                                       marker_color=colours[c], opacity=0.6, xbins=bins,
                                       hovertemplate=f"{name}<br>%{{x}}<br>%{{y}} images<extra></extra>"),
                          row=row, col=1)
    fig.update_layout(barmode="overlay", height=height,
                      title={"text": title, "x": 0.01, "xanchor": "left"},
                      margin={"l": 10, "r": 10, "t": 70 if title else 30, "b": 10},
                      legend={"title": {"text": "class"}})
    fig.update_xaxes(title_text=value_name, row=max(len(present), 1), col=1)
    fig.update_yaxes(title_text="images")
    return fig


def image_grid_figure(images: np.ndarray, ncols: int, title: str = "", scale: int = 4,
                      row_labels: list[str] | None = None) -> go.Figure:
    """Float images (N, C, H, W) in [0, 1] tiled into one picture (``export.image_grid``) as a figure.
    ``row_labels`` name the rows of tiles on the left."""
    from explorer.export import image_grid

    pad = 2
    grid = image_grid(images, ncols=ncols, scale=scale, pad=pad)
    fig = go.Figure(go.Image(z=grid, hoverinfo="skip"))
    tile = np.asarray(images).shape[-2] * scale + pad
    axis = {"visible": False}
    yaxis = dict(axis)
    if row_labels:
        yaxis = {"visible": True, "showgrid": False, "zeroline": False, "ticks": "",
                 "tickvals": [i * tile + tile / 2 for i in range(len(row_labels))], "ticktext": row_labels}
    fig.update_layout(title={"text": title, "x": 0.01, "xanchor": "left"},
                      height=grid.shape[0] + (60 if title else 20), width=grid.shape[1] + 140,
                      margin={"l": 10, "r": 10, "t": 50 if title else 10, "b": 10}, xaxis=axis, yaxis=yaxis)
    return fig


def plausibility_strip(paths: list[tuple[str, object]], class_names: list[str], current: int | None = None,
                       title: str = "Plausibility along the path", height: int = 560) -> go.Figure:
    """Per-frame plausibility of one or more paths (name, Plausibility), sharing the frame axis.

    Rows: distance to the nearest training code and round-trip error |enc(dec(z)) - z| (each with its
    "off the data" threshold dashed), the log-density of the code under the prior, when computed the
    log-likelihood of each decoded frame, and, when there are classifier predictions, the confidence
    coloured by the predicted class. Frames flagged as off the
    data are marked under the first row; ``current`` draws the scrubber's frame as a vertical line.
    """
    from plotly.subplots import make_subplots

    has_clf = any(p.confidence is not None for _, p in paths)
    has_lik = any(p.log_likelihood is not None for _, p in paths)
    rows = ["distance to the nearest training code", "round trip |enc(dec(z)) − z|", "log prior density of z"]
    if has_lik:
        rows.append("log-likelihood of the decoded frame (IWAE, nats)")
    if has_clf:
        rows.append("classifier confidence (colour: predicted class)")
    fig = make_subplots(rows=len(rows), cols=1, shared_xaxes=True, vertical_spacing=0.06, subplot_titles=rows)
    line_colours = ["#222222", "#0072B2", "#D55E00"]
    colours = class_colours(class_names)
    for j, (name, p) in enumerate(paths):
        x = np.arange(len(p.nn_distance))
        c = line_colours[j % len(line_colours)]
        series = [(1, p.nn_distance), (2, p.roundtrip), (3, p.log_prior)]
        if has_lik and p.log_likelihood is not None:
            series.append((4, p.log_likelihood))
        for row, y in series:
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=name, legendgroup=name, showlegend=row == 1,
                                     line={"color": c, "width": 1.6}), row=row, col=1)
        flagged = np.flatnonzero(p.flags)
        if len(flagged):
            top = float(max(p.nn_distance.max(), p.thresholds["nn_distance"]))
            fig.add_trace(go.Scatter(x=flagged, y=np.full(len(flagged), top * (1.04 + 0.04 * j)), mode="markers",
                                     name=f"{name}: off the data", legendgroup=name,
                                     marker={"symbol": "line-ns-open", "size": 9, "color": "#d62728"},
                                     hovertemplate="frame %{x}: off the data<extra></extra>"), row=1, col=1)
        if has_clf and p.confidence is not None:
            fig.add_trace(go.Scatter(x=x, y=p.confidence, mode="markers", name=f"{name}: class", legendgroup=name,
                                     showlegend=False, text=[class_names[k] for k in p.pred_class],
                                     marker={"size": 4, "color": [colours[k] for k in p.pred_class],
                                             "symbol": "circle" if j == 0 else "diamond"},
                                     hovertemplate="frame %{x}: %{text} (%{y:.2f})<extra></extra>"),
                          row=len(rows), col=1)
    first = paths[0][1]
    for row, key in ((1, "nn_distance"), (2, "roundtrip")):
        fig.add_hline(y=first.thresholds[key], line={"dash": "dash", "color": "#d62728", "width": 1},
                      annotation_text="off the data above", annotation_font_size=10, row=row, col=1)
    if current is not None:
        fig.add_vline(x=current, line={"color": "#d62728", "width": 1.5})
    fig.update_layout(title={"text": title, "x": 0.01, "xanchor": "left"}, height=height,
                      margin={"l": 10, "r": 10, "t": 70, "b": 10}, hovermode="x unified",
                      legend={"orientation": "h", "y": 1.08, "x": 1, "xanchor": "right"})
    fig.update_xaxes(title_text="frame", row=len(rows), col=1)
    fig.update_annotations(font_size=12)
    return fig
