import json
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from explorer import bundle as bundle_mod
from explorer.bundle import list_bundles, load_bundle, save_bundle
from explorer.errors import BundleError


def test_bundle_has_every_part_and_reloads_to_identical_encodings(tiny_bundle):
    b = load_bundle(tiny_bundle)
    meta = b.meta
    for key in ("schema_version", "model", "data", "split", "training", "metrics", "history", "versions", "created"):
        assert key in meta
    assert meta["model"]["kind"] == "vae" and meta["model"]["latent_dim"] == 4
    assert meta["data"]["class_names"] == ["a", "b", "c"] and len(meta["data"]["content_hash"]) == 64
    assert set(meta["metrics"]) == {"train", "val", "test"} and "mse" in meta["metrics"]["test"]
    assert len(meta["history"]) == 2 and meta["training"]["seed"] == 0
    assert b.mu.shape == (90, 4) and b.latents["logvar"].shape == (90, 4)
    np.testing.assert_array_equal(np.sort(np.concatenate([meta["split"][s] for s in ("train", "val", "test")])),
                                  np.arange(90))
    # the stored codes are what the stored weights give for the stored images
    np.testing.assert_allclose(b.encode(b.images), b.mu, atol=1e-5)
    again = load_bundle(tiny_bundle)
    np.testing.assert_array_equal(again.encode(again.images[:7]), b.encode(b.images[:7]))
    assert b.decode(b.mu[:3]).shape == (3, 3, 16, 16)
    np.testing.assert_array_equal(b.sample(4, seed=1), b.sample(4, seed=1))
    assert not np.array_equal(b.sample(4, seed=1), b.sample(4, seed=2))


def _copy(src, tmp_path, name="b"):
    dst = tmp_path / name
    shutil.copytree(src, dst)
    return dst


def test_interrupted_save_keeps_the_old_bundle(tiny_bundle, tmp_path, monkeypatch):
    path = _copy(tiny_bundle, tmp_path)
    old = load_bundle(path)
    before = (path / "weights.safetensors").read_bytes()
    model = old.model
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)

    def crash(*a, **k):
        raise KeyboardInterrupt("killed while writing")

    monkeypatch.setattr(bundle_mod.np, "savez_compressed", crash)
    with pytest.raises(KeyboardInterrupt):
        save_bundle(path, model, old.meta, old.latents, (old.images * 255).astype(np.uint8))
    assert (path / "weights.safetensors").read_bytes() == before
    load_bundle(path)
    assert [p.name for p in tmp_path.iterdir()] == ["b"]  # no half-written folder left behind


def test_a_save_stopped_between_the_two_renames_is_recovered(tiny_bundle, tmp_path, monkeypatch):
    """Where the atomic exchange is missing, a crash mid-swap still leaves the old bundle loadable."""
    path = _copy(tiny_bundle, tmp_path)
    old = load_bundle(path)
    monkeypatch.setattr(bundle_mod, "_exchange", lambda a, b: False)
    real_rename = bundle_mod.os.rename
    calls = []

    def rename(a, b):
        calls.append((a, b))
        if len(calls) == 2:
            raise KeyboardInterrupt("killed between renames")
        real_rename(a, b)

    monkeypatch.setattr(bundle_mod.os, "rename", rename)
    with pytest.raises(KeyboardInterrupt):
        save_bundle(path, old.model, old.meta, old.latents, (old.images * 255).astype(np.uint8))
    monkeypatch.setattr(bundle_mod.os, "rename", real_rename)
    assert not path.exists()
    np.testing.assert_array_equal(load_bundle(path).mu, old.mu)  # loading puts the old one back


def test_save_replaces_an_existing_bundle(tiny_bundle, tmp_path):
    path = _copy(tiny_bundle, tmp_path)
    b = load_bundle(path)
    meta = dict(b.meta, name="renamed")
    save_bundle(path, b.model, meta, b.latents, (b.images * 255).round().astype(np.uint8))
    assert load_bundle(path).meta["name"] == "renamed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


@pytest.mark.parametrize("missing", ["weights.safetensors", "latents.npz", "bundle.json", "images.npz"])
def test_missing_file_is_named(tiny_bundle, tmp_path, missing):
    path = _copy(tiny_bundle, tmp_path)
    (path / missing).unlink()
    with pytest.raises(BundleError, match=f"incomplete, {missing} missing"):
        load_bundle(path)


def test_wrong_schema_version_is_named(tiny_bundle, tmp_path):
    path = _copy(tiny_bundle, tmp_path)
    meta = json.loads((path / "bundle.json").read_text())
    meta["schema_version"] = 99
    (path / "bundle.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="schema version 99 is not the version 1"):
        load_bundle(path)


def test_shape_mismatch_is_named(tiny_bundle, tmp_path):
    path = _copy(tiny_bundle, tmp_path)
    state = load_file(str(path / "weights.safetensors"))
    key = next(k for k in state if k.endswith("weight"))
    state[key] = torch.zeros(2, 2)
    save_file(state, str(path / "weights.safetensors"))
    with pytest.raises(BundleError, match=f"tensor {key} has shape \\(2, 2\\)"):
        load_bundle(path)


def test_corrupt_files_and_missing_folder_give_one_sentence(tiny_bundle, tmp_path):
    with pytest.raises(BundleError, match="no such bundle folder"):
        load_bundle(tmp_path / "nope")
    path = _copy(tiny_bundle, tmp_path)
    (path / "weights.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(BundleError, match="weights.safetensors: cannot be read"):
        load_bundle(path)
    path2 = _copy(tiny_bundle, tmp_path, "c")
    (path2 / "bundle.json").write_text("{")
    with pytest.raises(BundleError, match="not valid JSON"):
        load_bundle(path2)
    path3 = _copy(tiny_bundle, tmp_path, "d")
    (path3 / "latents.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(BundleError, match="latents.npz: cannot be read"):
        load_bundle(path3)


def test_list_bundles_finds_only_bundle_folders(tiny_bundle, tmp_path):
    _copy(tiny_bundle, tmp_path, "one")
    (tmp_path / "not-a-bundle").mkdir()
    _copy(tiny_bundle, tmp_path, ".hidden")
    assert [p.name for p in list_bundles(tmp_path)] == ["one"]
