"""explorer.compare (baselines on one split), explorer.report (the HTML report) and the
compare / report / score commands."""

from __future__ import annotations

import json
import math
import shutil

import numpy as np
import pytest

from explorer.cli import main
from explorer.compare import COMPARE_FILE, compare_baselines, format_table, read_compare, table_frame

from .conftest import blobs_imageset


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp") / "compare-blobs"
    rows = compare_baselines(blobs_imageset(n=60), latent_dim=3, size=16, epochs=1, seed=0, out_dir=out, k=3,
                             batch_size=32, log=lambda m: None)
    return out, rows


def test_compare_fits_all_four_models_on_one_split(compared):
    out, rows = compared
    assert [r["model"] for r in rows] == ["svd", "ae", "dae", "vae"]
    for r in rows:
        assert math.isfinite(r["test_mse"]) and r["test_mse"] > 0
        assert math.isfinite(r["test_bce_nats"]) and r["parameters"] > 0 and r["train_seconds"] >= 0
        assert (out / r["model"] / "bundle.json").is_file()
    assert rows[-1]["log_likelihood"] is not None and math.isfinite(rows[-1]["log_likelihood"])
    assert all(r["log_likelihood"] is None for r in rows[:3])
    assert rows[0]["parameters"] == 3 * 3 * 16 * 16 + 1  # tied W counted once, plus the noise scale
    splits = [json.loads((out / m / "bundle.json").read_text())["split"] for m in ("svd", "ae", "dae", "vae")]
    assert all(s == splits[0] for s in splits)
    doc = read_compare(out / COMPARE_FILE)
    assert [r["model"] for r in doc["rows"]] == ["svd", "ae", "dae", "vae"]
    assert doc["settings"]["latent_dim"] == 3 and doc["settings"]["split_sizes"]["test"] > 0
    table = format_table(rows)
    assert "n/a" in table and "svd" in table and "test MSE" in table
    assert len(table_frame(rows)) == 4


def test_compare_rejects_unknown_models():
    with pytest.raises(ValueError, match="unknown model"):
        compare_baselines(blobs_imageset(n=30), models=["pca"], log=lambda m: None)


def test_report_command_writes_a_self_contained_html(tiny_bundle, tmp_path, capsys):
    bundle = shutil.copytree(tiny_bundle, tmp_path / "tiny-vae")
    out = tmp_path / "r.html"
    rc = main(["report", str(bundle), "--out", str(out), "--k", "5", "--per-class", "10", "--n-prior", "30",
               "--quiet"])
    assert rc == 0
    text = out.read_text(encoding="utf-8")
    assert text.count('<table class="confusion">') == 2
    assert "Pixel classifier on the" in text and "reconstructions of 10 test images per class" in text
    assert '<img src="data:image/png;base64,' in text
    assert "tiny-vae" in text and "seed 0" in text and "96.88%" in text and "76.00%" in text
    assert text.count("plotly.js v") == 1 and text.count("Plotly.newPlot") >= 4  # the library once, inline
    assert '<script src="http' not in text and '<script type="text/javascript" src=' not in text  # nothing fetched
    assert "not a normalised density" in text and "trustworthiness" in text
    printed = capsys.readouterr().out
    assert "balanced" in printed and str(out) in printed
    assert (bundle / "scores.npz").is_file()


def test_report_shows_the_baseline_table_next_to_a_compared_bundle(compared, tmp_path):
    from explorer.report import write_report

    out, rows = compared
    res = write_report(out / "vae", tmp_path / "vae.html", k=3, per_class=5, n_prior=20)
    text = res.path.read_text(encoding="utf-8")
    assert "Baselines at the same latent size" in text and '<table class="baselines">' in text
    assert ">svd<" in text and ">n/a<" in text
    assert res.numbers["compare"] == str(out / COMPARE_FILE)
    assert 0 <= res.numbers["test_accuracy"] <= 1
    # a model without a likelihood still gets a report, which says why
    ae = write_report(out / "ae", tmp_path / "ae.html", k=3, per_class=5, n_prior=20)
    assert "no ELBO" in ae.path.read_text(encoding="utf-8") and ae.numbers["test_iwae_mean"] is None


def test_score_command_prints_log_likelihood_and_percentiles(tiny_bundle, tmp_path, capsys):
    from explorer.bundle import load_bundle
    from explorer.export import png_bytes, to_rgb_uint8

    bundle = shutil.copytree(tiny_bundle, tmp_path / "tiny-vae")
    b = load_bundle(bundle)
    img = tmp_path / "cell.png"
    img.write_bytes(png_bytes(to_rgb_uint8(b.images[:1])[0]))
    assert main(["score", str(bundle), str(img), "--k", "4"]) == 0
    out = capsys.readouterr().out
    assert "IWAE log p(x)" in out and "percentile among the test images" in out and "caveat" in out
    bad = tmp_path / "bad.png"
    bad.write_bytes(np.random.default_rng(0).bytes(300))
    assert main(["score", str(bundle), str(bad), "--k", "4"]) == 2
    assert "bad.png" in capsys.readouterr().err
