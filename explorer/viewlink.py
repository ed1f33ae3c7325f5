"""A view of the explorer as URL query parameters, so that a copied link reopens the same view.

Pure functions: ``to_query(view_state) -> dict[str, str]`` and ``from_query(query) -> view_state``;
unknown or malformed values are dropped (with a note saying which), never raised.
"""

from __future__ import annotations

from typing import Any, Mapping

METHODS = ("tsne", "umap", "pca", "dims")
INTERPOLATIONS = ("linear", "slerp", "data")
PARAM_TYPES = {"perplexity": float, "n_neighbors": int, "min_dist": float, "x": int, "y": int}


def to_query(state: Mapping[str, Any]) -> dict[str, str]:
    """``state`` keys: bundle, method, params (dict), seed, picked, path (list of indices), closed, fps,
    interpolation, present. Missing or None values are left out of the link."""
    q: dict[str, str] = {}
    if state.get("bundle"):
        q["bundle"] = str(state["bundle"])
    if state.get("method"):
        q["map"] = str(state["method"])
    params = state.get("params") or {}
    if params:
        q["map_params"] = ",".join(f"{k}:{v}" for k, v in sorted(params.items()))
    if state.get("seed") not in (None, 0):
        q["seed"] = str(int(state["seed"]))
    if state.get("picked") is not None:
        q["pick"] = str(int(state["picked"]))
    if state.get("path"):
        q["path"] = ",".join(str(int(i)) for i in state["path"])
        q["loop"] = "1" if state.get("closed", True) else "0"
        q["fps"] = str(int(state.get("fps", 100)))
        q["interp"] = str(state.get("interpolation", "linear"))
    if state.get("present"):
        q["present"] = "1"
    return q


def from_query(query: Mapping[str, str], n_images: int | None = None) -> tuple[dict[str, Any], list[str]]:
    """Parse a link's query parameters; returns (state, notes about what was ignored)."""
    out: dict[str, Any] = {}
    notes: list[str] = []

    def index(text: str, what: str) -> int | None:
        try:
            i = int(text)
        except ValueError:
            notes.append(f"{what} {text!r} is not an image number")
            return None
        if i < 0 or (n_images is not None and i >= n_images):
            notes.append(f"{what} {i} is not an image of this bundle")
            return None
        return i

    if query.get("bundle"):
        out["bundle"] = str(query["bundle"])
    if "map" in query:
        if query["map"] in METHODS:
            out["method"] = query["map"]
        else:
            notes.append(f"unknown map {query['map']!r}")
    if query.get("map_params"):
        params = {}
        for item in str(query["map_params"]).split(","):
            key, _, value = item.partition(":")
            try:
                params[key] = PARAM_TYPES[key](value)
            except (KeyError, ValueError):
                notes.append(f"map setting {item!r} ignored")
        out["params"] = params
    if "seed" in query:
        try:
            out["seed"] = max(0, int(query["seed"]))
        except ValueError:
            notes.append(f"seed {query['seed']!r} ignored")
    if "pick" in query:
        i = index(str(query["pick"]), "picked image")
        if i is not None:
            out["picked"] = i
    if query.get("path"):
        keys = [index(t, "path key") for t in str(query["path"]).split(",") if t]
        out["path"] = [k for k in keys if k is not None]
        out["closed"] = query.get("loop", "1") != "0"
        try:
            out["fps"] = min(500, max(2, int(query.get("fps", 100))))
        except ValueError:
            notes.append(f"frames per segment {query.get('fps')!r} ignored")
        if query.get("interp", "linear") in INTERPOLATIONS:
            out["interpolation"] = query.get("interp", "linear")
    out["present"] = query.get("present") == "1"
    return out, notes
