"""explorer.evaluation: the classifier never sees held-out images, confusion matrices, IWAE vs ELBO,
the scores cache, upload checks and scoring, projection trust."""

from __future__ import annotations

import io
import shutil
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from explorer import evaluation as E
from explorer.bundle import load_bundle
from explorer.errors import DataError
from explorer.export import png_bytes, to_rgb_uint8


@pytest.fixture
def vae_dir(tiny_bundle, tmp_path):
    """A private copy of the session's tiny VAE bundle (tests here write scores.npz into it)."""
    return shutil.copytree(tiny_bundle, tmp_path / "tiny-vae")


@pytest.fixture(scope="module")
def tiny_ae(tmp_path_factory):
    from .conftest import train_tiny

    return train_tiny(tmp_path_factory.mktemp("ae") / "tiny-ae", kind="ae", epochs=1)


# -- the classifier ----------------------------------------------------------------------------------
def test_no_held_out_image_reaches_the_classifier(tiny_bundle, monkeypatch):
    from sklearn.ensemble import HistGradientBoostingClassifier

    b = load_bundle(tiny_bundle)
    seen = {}
    real_fit = HistGradientBoostingClassifier.fit

    def spy(self, X, y, *a, **kw):
        seen["X"] = np.array(X)
        return real_fit(self, X, y, *a, **kw)

    monkeypatch.setattr(HistGradientBoostingClassifier, "fit", spy)
    clf = E.fit_classifier(b, max_iter=10)
    train = set(b.split_index("train").tolist())
    held = set(b.split_index("val").tolist()) | set(b.split_index("test").tolist())
    assert set(clf.train_index.tolist()) <= train
    assert not set(clf.train_index.tolist()) & held
    rows = {r.tobytes() for r in seen["X"]}
    assert len(seen["X"]) == len(clf.train_index)
    for i in held:
        assert b.images[i].reshape(-1).astype(np.float32).tobytes() not in rows


def test_training_copies_of_test_images_are_dropped(tiny_bundle):
    b = load_bundle(tiny_bundle)
    images = b.images.copy()
    t, tr = b.split_index("test")[0], b.split_index("train")[:2]
    images[tr] = images[t]  # two training images duplicate a test image
    b._images = images
    clf = E.fit_classifier(b, max_iter=5)
    assert clf.dropped_duplicates == 2
    assert not set(tr.tolist()) & set(clf.train_index.tolist())


def test_held_out_confusion_refuses_the_training_split(tiny_bundle):
    b = load_bundle(tiny_bundle)
    clf = E.fit_classifier(b, max_iter=5)
    with pytest.raises(ValueError, match="training split"):
        E.held_out_confusion(b, clf, split="train")
    conf = E.held_out_confusion(b, clf)
    assert conf.n == len(b.split_index("test"))


# -- confusion matrices ------------------------------------------------------------------------------
def test_confusion_rows_sum_to_100_and_balanced_accuracy_by_hand():
    from sklearn.metrics import balanced_accuracy_score

    y_true = [0, 0, 0, 0, 1, 1, 2, 2, 2, 2]
    y_pred = [0, 0, 0, 1, 1, 0, 2, 2, 2, 2]
    c = E.confusion(y_true, y_pred, ["a", "b", "c"])
    assert c.counts.tolist() == [[3, 1, 0], [1, 1, 0], [0, 0, 4]]
    np.testing.assert_allclose(c.row_percent.sum(axis=1), 100.0)
    assert c.recall == {"a": 0.75, "b": 0.5, "c": 1.0}
    assert c.balanced_accuracy == pytest.approx(0.75)  # (0.75 + 0.5 + 1) / 3
    assert c.balanced_accuracy == pytest.approx(balanced_accuracy_score(y_true, y_pred))
    assert c.accuracy == pytest.approx(0.8)
    text, md = c.to_text(), c.to_markdown()
    assert "75.0% (3)" in text and "balanced accuracy 75.0%" in text and "| a |" in md


def test_confusion_empty_row_is_nan_and_flagged():
    c = E.confusion([0, 0, 2], [0, 1, 2], ["a", "b", "c"])
    assert np.isnan(c.row_percent[1]).all() and c.empty_rows == ["b"]
    assert np.isnan(c.recall["b"])
    assert c.balanced_accuracy == pytest.approx((0.5 + 1.0) / 2)  # over classes with samples
    np.testing.assert_allclose(c.row_percent[[0, 2]].sum(axis=1), 100.0)
    assert "n/a" in c.to_text() and "no samples of b" in c.to_text()
    assert c.to_dict()["row_percent"][1] == [None, None, None]


def test_confusion_rejects_labels_outside_the_classes():
    with pytest.raises(ValueError, match="0..1"):
        E.confusion([0, 2], [0, 1], ["a", "b"])


# -- reconstructions and prior ------------------------------------------------------------------------
def test_reconstruction_check_draws_per_class_and_records_distinct(tiny_bundle):
    b = load_bundle(tiny_bundle)
    clf = E.fit_classifier(b, max_iter=5)
    rc = E.reconstruction_check(b, clf, per_class=12, seed=1)
    n_test = {c: int((b.labels[b.split_index("test")] == i).sum()) for i, c in enumerate(b.class_names)}
    assert rc.confusion.row_totals.tolist() == [12, 12, 12]
    assert rc.distinct == {c: min(n, 12) for c, n in n_test.items()}
    assert set(rc.index.tolist()) <= set(b.split_index("test").tolist())
    assert rc.reconstructions.shape == (36, *b.input_shape)
    # posterior draws differ from the decoded mean for a VAE
    assert not np.allclose(rc.reconstructions[:1], b.decode(b.mu[rc.index[:1]]))
    mix = E.prior_class_mix(b, clf, n=30, seed=0)
    assert sum(mix["counts"].values()) == 30 and mix["images"].shape[0] == 30


# -- likelihood ---------------------------------------------------------------------------------------
def test_iwae_bounds_the_elbo_and_grows_with_k(tiny_bundle):
    b = load_bundle(tiny_bundle)
    x = torch.from_numpy(b.images)
    means, elbo_ref = {}, None
    for k in (1, 10, 50):
        elbo, iwae = b.model.log_likelihood(x, k=k, generator=torch.Generator().manual_seed(k))
        means[k] = (float(elbo.mean()), float(iwae.mean()))
        elbo_ref = elbo.double()  # the last: analytic KL and a 50-sample reconstruction term
    assert means[1][1] < means[10][1] < means[50][1]
    assert means[50][1] >= means[50][0]
    # k = 1: the IWAE estimate is a one-sample ELBO, equal to the ELBO in expectation
    diffs = torch.stack([b.model.log_likelihood(x, k=1, generator=torch.Generator().manual_seed(100 + r))[1].double()
                         - elbo_ref for r in range(10)])
    se = float(diffs.std() / diffs.numel() ** 0.5)
    assert abs(float(diffs.mean())) < 4 * se + 1e-3


def test_scores_are_cached_and_recomputed_when_k_or_weights_change(vae_dir, monkeypatch):
    b = load_bundle(vae_dir)
    calls = []
    real = E._compute

    def counting(*a, **kw):
        calls.append(a[2])  # k
        return real(*a, **kw)

    monkeypatch.setattr(E, "_compute", counting)
    s1 = E.likelihood_scores(b, k=4, seed=0)
    assert calls == [4] and not s1.from_cache and (vae_dir / "scores.npz").is_file()
    s2 = E.likelihood_scores(load_bundle(vae_dir), k=4, seed=0)
    assert calls == [4] and s2.from_cache
    np.testing.assert_array_equal(s1.iwae, s2.iwae)
    np.testing.assert_array_equal(s1.elbo, s2.elbo)
    assert E.load_scores(b).k == 4
    E.likelihood_scores(b, k=6, seed=0)
    assert calls == [4, 6]
    assert E.load_scores(b, k=4) is None and E.load_scores(b, k=6).k == 6
    # a retrained model (other weights) never reuses the old scores
    state = load_file(str(vae_dir / "weights.safetensors"))
    name = next(iter(state))
    state[name] = state[name] + 0.01
    save_file(state, str(vae_dir / "weights.safetensors"))
    assert E.load_scores(load_bundle(vae_dir)) is None
    E.likelihood_scores(load_bundle(vae_dir), k=6, seed=0)
    assert calls == [4, 6, 6]


def test_scores_summary_caveat_and_percentiles(vae_dir):
    b = load_bundle(vae_dir)
    s = E.likelihood_scores(b, k=3)
    assert np.all(s.iwae >= s.elbo - 50) and np.isfinite(s.iwae).all()
    assert "not a normalised density" in s.caveat and s.likelihood == "bernoulli"
    rows = s.summary()
    assert {(r["split"], r["class"]) for r in rows} >= {("test", "a"), ("train", "all")}
    assert sum(r["n"] for r in rows if r["class"] == "all") == len(b.labels)
    test = s.iwae[b.split_index("test")]
    assert s.percentiles(float(test.max()) + 1)["all"] == 100.0
    assert s.percentiles(float(test.min()) - 1)["all"] == 0.0


def test_a_model_without_likelihood_says_why(tiny_ae):
    b = load_bundle(tiny_ae)
    assert E.likelihood_scores(b) is None
    assert "ae model" in E.likelihood_unavailable(b) and "VAE" in E.likelihood_unavailable(b)
    upload = png_bytes(to_rgb_uint8(b.images[:1])[0])
    r = E.score_image(b, upload, "x.png", None)
    assert r["iwae"] is None and "no ELBO" in r["reason"] and len(r["neighbours"]) == 8


# -- uploads ----------------------------------------------------------------------------------------------
def _png(w: int, h: int, mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    arr = np.random.default_rng(0).integers(0, 255, (h, w, 3) if mode == "RGB" else (h, w), dtype=np.uint8)
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _png_claiming(w: int, h: int) -> bytes:
    """A tiny PNG whose header claims w x h pixels (a decompression bomb's shape)."""
    data = bytearray(_png(1, 1))
    ihdr = bytes(data[12:16]) + struct.pack(">II", w, h) + bytes(data[24:29])
    data[16:24] = struct.pack(">II", w, h)
    data[29:33] = struct.pack(">I", zlib.crc32(ihdr) & 0xFFFFFFFF)
    return bytes(data)


@pytest.mark.parametrize("name,data,reason", [
    ("noise.png", np.random.default_rng(1).bytes(5000), "not an image"),
    ("empty.png", b"", "empty"),
    ("notes.png", b"just some text, not a picture\n" * 20, "not an image"),
    ("bomb.png", _png_claiming(100_000, 100_000), "pixel cap"),
    ("big.png", _png_claiming(6000, 6000), "36,000,000 pixels"),
    ("cut.png", _png(64, 64)[:400], "truncated or corrupt"),
])
def test_bad_uploads_raise_data_error_naming_the_file(tiny_bundle, name, data, reason):
    b = load_bundle(tiny_bundle)
    with pytest.raises(DataError) as e:
        E.score_image(b, data, name, None)
    assert str(e.value).startswith(name) and reason in str(e.value)


def test_upload_size_cap(tiny_bundle):
    b = load_bundle(tiny_bundle)
    with pytest.raises(DataError, match="big.png.*upload limit"):
        E.decode_upload(b, _png(40, 40), "big.png", max_bytes=100)


def test_scoring_an_image_of_the_bundle_finds_itself(vae_dir):
    b = load_bundle(vae_dir)
    scores = E.likelihood_scores(b, k=5)
    i = int(b.split_index("test")[0])
    upload = png_bytes(to_rgb_uint8(b.images[i:i + 1])[0])
    r = E.score_image(b, upload, "mine.png", scores)
    assert r["image"].shape == b.input_shape and r["reconstruction"].shape == b.input_shape
    np.testing.assert_allclose(r["image"], b.images[i], atol=1e-6)
    assert r["neighbours"][0] == i and r["neighbour_distances"][0] < 1e-4 and len(r["neighbours"]) == 8
    assert r["k"] == 5 and r["iwae"] >= r["elbo"] - 50
    assert abs(r["iwae"] - scores.iwae[i]) < 0.1 * abs(scores.iwae[i]) + 5
    assert set(r["percentiles"]) == {"a", "b", "c", "all"}
    assert all(0 <= p <= 100 for p in r["percentiles"].values())
    assert "not a normalised density" in r["caveat"]


def test_grey_and_odd_sized_uploads_are_converted(tiny_bundle):
    b = load_bundle(tiny_bundle)
    r = E.score_image(b, _png(37, 23, mode="L"), "grey.png", None, k=2)
    assert r["image"].shape == b.input_shape
    assert any("grayscale" in n for n in r["notes"])


# -- projection trust -------------------------------------------------------------------------------------
def _blobs5(n=300, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    centres = np.array([[0, 0, 0, 0, 0], [20, 0, 5, 5, 5], [0, 20, -5, 5, -5]], float)
    return centres[labels] + rng.normal(0, 1, (n, 5)), labels


def test_projection_trust_prefers_a_faithful_map():
    z, y = _blobs5()
    good = E.projection_trust(z, z[:, :2], y, k=10, sample=200, seed=0)
    shuffled = E.projection_trust(z, np.random.default_rng(1).permutation(z[:, :2]), y, k=10, sample=200, seed=0)
    for r in (good, shuffled):
        assert 0 <= r["trustworthiness"] <= 1 and 0 <= r["neighbour_preservation"] <= 1
        assert r["n"] == 200 and r["n_total"] == 300
    assert good["trustworthiness"] > shuffled["trustworthiness"] + 0.2
    assert good["neighbour_preservation"] > shuffled["neighbour_preservation"]
    assert good["knn_accuracy_map"] > 0.95 and shuffled["knn_accuracy_map"] < 0.6
    assert good["knn_accuracy_latent"] > 0.95


def test_projection_trust_checks_shapes():
    with pytest.raises(ValueError, match="same rows"):
        E.projection_trust(np.zeros((10, 3)), np.zeros((9, 2)), np.zeros(10))
