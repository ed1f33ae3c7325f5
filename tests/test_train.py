import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer.autoencoders import build_model
from explorer.bundle import load_bundle
from explorer.errors import TrainingError
from explorer.pipeline import model_config, train_bundle
from explorer.train import TrainConfig, fit

QUIET = {"progress": False, "log": lambda m: None}


def _data(blobs):
    x = torch.from_numpy(blobs.images)
    return x[:70], x[70:]


def _model(blobs, seed=0):
    torch.manual_seed(seed)
    return build_model(model_config("vae", blobs.shape, latent_dim=4))


def test_fit_records_history_and_keeps_the_best_weights(blobs):
    model = _model(blobs)
    tr, va = _data(blobs)
    out = fit(model, tr, va, TrainConfig(epochs=3, batch_size=16), **QUIET)
    assert [h["epoch"] for h in out["history"]] == [1, 2, 3]
    assert set(out["history"][0]["train"]) == {"loss", "recon", "kl"}
    best = min(out["history"], key=lambda h: h["val"]["loss"])
    assert out["best_epoch"] == best["epoch"]
    assert not model.training


def test_training_is_reproducible_for_a_seed(blobs):
    tr, va = _data(blobs)
    a, b = _model(blobs), _model(blobs)
    fit(a, tr, va, TrainConfig(epochs=2, batch_size=16, seed=5), **QUIET)
    fit(b, tr, va, TrainConfig(epochs=2, batch_size=16, seed=5), **QUIET)
    for (k, v), w in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(v, w), k


def test_resume_equals_an_uninterrupted_run(blobs, tmp_path):
    tr, va = _data(blobs)
    cfg = TrainConfig(epochs=4, batch_size=16, seed=1)
    whole = _model(blobs)
    ref = fit(whole, tr, va, cfg, **QUIET)

    def die_after_epoch_2(msg):
        if msg.startswith("epoch 2/"):
            raise KeyboardInterrupt

    ckpt = tmp_path / "ckpt.safetensors"
    first = _model(blobs)
    with pytest.raises(KeyboardInterrupt):
        fit(first, tr, va, cfg, checkpoint=ckpt, progress=False, log=die_after_epoch_2)
    resumed = _model(blobs, seed=123)  # different initial weights: all must come from the checkpoint
    out = fit(resumed, tr, va, cfg, checkpoint=ckpt, resume=True, **QUIET)
    assert [h["val"]["loss"] for h in out["history"]] == [h["val"]["loss"] for h in ref["history"]]
    for k, v in whole.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k


def test_resume_refuses_a_checkpoint_of_another_run(blobs, tmp_path):
    tr, va = _data(blobs)
    ckpt = tmp_path / "c.safetensors"
    fit(_model(blobs), tr, va, TrainConfig(epochs=1, batch_size=16), checkpoint=ckpt, fingerprint="a", **QUIET)
    with pytest.raises(TrainingError, match="belongs to a run with other data or settings"):
        fit(_model(blobs), tr, va, TrainConfig(epochs=2, batch_size=16), checkpoint=ckpt, resume=True,
            fingerprint="b", **QUIET)


def test_non_finite_loss_stops_with_the_epoch_and_keeps_the_checkpoint(blobs, tmp_path, monkeypatch):
    tr, va = _data(blobs)
    model = _model(blobs)
    real = model.loss_terms
    epoch_calls = {"n": 0}

    def poisoned(x, generator=None):
        terms = real(x, generator)
        epoch_calls["n"] += 1
        if model.training and epoch_calls["n"] > 12:  # 5 train + 1 val batches per epoch: epoch 3 goes bad
            terms["loss"] = terms["loss"] * float("nan")
        return terms

    monkeypatch.setattr(model, "loss_terms", poisoned)
    ckpt = tmp_path / "c.safetensors"
    with pytest.raises(TrainingError, match=r"became nan at epoch 3 \(batch 1\).*last good checkpoint \(epoch 2\)"):
        fit(model, tr, va, TrainConfig(epochs=5, batch_size=16), checkpoint=ckpt, **QUIET)
    assert ckpt.exists()


def test_early_stopping_stops_when_validation_stops_improving(blobs):
    tr, va = _data(blobs)
    out = fit(_model(blobs), tr, va, TrainConfig(epochs=40, batch_size=16, lr=3e-2, patience=2), **QUIET)
    assert out["stopped_early"] and out["epochs_run"] < 40
    assert out["epochs_run"] - out["best_epoch"] == 2


@pytest.mark.parametrize("kind", ["ae", "dae", "svd"])
def test_every_model_kind_makes_a_loadable_bundle(kind, blobs, tmp_path):
    out = train_bundle(blobs, tmp_path / kind, kind=kind, model_options={"latent_dim": 3},
                       config=TrainConfig(epochs=1, batch_size=32), **QUIET)
    b = load_bundle(out)
    assert b.meta["model"]["kind"] == kind and b.mu.shape == (len(blobs), 3)
    assert "logvar" not in b.latents
    np.testing.assert_allclose(b.encode(b.images), b.mu, atol=1e-4)
    assert b.sample(2).shape == (2, *blobs.shape)
    assert not (tmp_path / f".{kind}.checkpoint.safetensors").exists()


def _cli(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "explorer", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])})


def test_cli_trains_on_a_folder_of_pngs_at_size_32(tmp_path, blobs):
    from PIL import Image

    for i in range(45):
        d = tmp_path / "imgs" / blobs.class_names[blobs.labels[i]]
        d.mkdir(parents=True, exist_ok=True)
        arr = (blobs.images[i].transpose(1, 2, 0) * 255).astype(np.uint8)
        Image.fromarray(arr).resize((40, 40)).save(d / f"cell {i}.png")
    (tmp_path / "imgs" / "a" / "broken.png").write_bytes(b"\x89PNG\r\n garbage")
    r = _cli("train", "--data", str(tmp_path / "imgs"), "--size", "32", "--epochs", "1", "--latent-dim", "3",
             "--out", str(tmp_path / "m"), "--quiet")
    assert r.returncode == 0, r.stderr
    assert "broken.png" in r.stderr  # the skipped file is named
    b = load_bundle(tmp_path / "m")
    assert b.input_shape == (3, 32, 32) and b.class_names == ["a", "b", "c"]
    assert any(i.endswith("cell 0.png") for i in b.ids)


def test_cli_bad_input_gives_one_sentence_and_non_zero_exit(tmp_path):
    (tmp_path / "empty").mkdir()
    r = _cli("train", "--data", str(tmp_path / "empty"), "--epochs", "1", "--out", str(tmp_path / "m"))
    assert r.returncode == 2
    assert r.stderr.startswith("error: ") and "Traceback" not in r.stderr and str(tmp_path / "empty") in r.stderr
    r = _cli("train", "--data", str(tmp_path / "missing.npz"), "--epochs", "1")
    assert r.returncode == 2 and "no such file or folder" in r.stderr


@pytest.mark.slow
def test_a_run_killed_mid_training_resumes_to_the_same_bundle(tmp_path):
    common = ["train", "--data", "digits", "--n", "400", "--size", "16", "--epochs", "5", "--latent-dim", "4",
              "--batch-size", "16", "--seed", "3"]
    ref = _cli(*common, "--out", str(tmp_path / "ref"), "--quiet")
    assert ref.returncode == 0, ref.stderr
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "explorer", *common, "--out", str(tmp_path / "run"), "--quiet"],
                            stderr=subprocess.PIPE, text=True, env=env)
    ckpt = tmp_path / ".run.checkpoint.safetensors"
    deadline = time.monotonic() + 120
    while not ckpt.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "run").exists()
    r = _cli(*common, "--out", str(tmp_path / "run"), "--quiet", "--resume")
    assert r.returncode == 0, r.stderr
    assert "resuming after epoch" in r.stderr
    a, b = load_bundle(tmp_path / "ref"), load_bundle(tmp_path / "run")
    np.testing.assert_array_equal(a.mu, b.mu)
    assert a.meta["metrics"] == b.meta["metrics"]
