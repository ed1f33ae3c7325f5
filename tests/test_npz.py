"""Tests for loading .npz archives (explorer.data.npz)."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from explorer.data.npz import load_npz
from explorer.errors import DataError

rng = np.random.default_rng(0)


def save(tmp_path, name="data.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def test_uint8_nhw(tmp_path):
    imgs = rng.integers(0, 256, (5, 8, 8), dtype=np.uint8)
    p = save(tmp_path, images=imgs)
    s = load_npz(p)
    assert s.images.shape == (5, 1, 8, 8)
    np.testing.assert_allclose(s.images[:, 0], imgs / 255, atol=1e-6)
    assert s.class_names == ["all"] and s.labels.tolist() == [0] * 5
    assert s.ids == [f"data.npz:{i}" for i in range(5)]
    assert s.source == f"npz {p}"
    assert s.warnings == []


def test_float_nhwc(tmp_path):
    imgs = rng.random((4, 6, 7, 3), dtype=np.float32)
    s = load_npz(save(tmp_path, images=imgs))
    assert s.images.shape == (4, 3, 6, 7)
    np.testing.assert_allclose(s.images, imgs.transpose(0, 3, 1, 2))


def test_nchw_accepted_when_unambiguous(tmp_path):
    imgs = rng.random((2, 3, 10, 12))
    s = load_npz(save(tmp_path, images=imgs))
    assert s.images.shape == (2, 3, 10, 12)
    np.testing.assert_allclose(s.images, imgs, atol=1e-6)


def test_rgba_drops_alpha(tmp_path):
    imgs = rng.integers(0, 256, (2, 5, 5, 4), dtype=np.uint8)
    s = load_npz(save(tmp_path, images=imgs))
    assert s.images.shape == (2, 3, 5, 5)
    assert "alpha" in "\n".join(s.warnings)


def test_nan_refused(tmp_path):
    imgs = rng.random((3, 4, 4))
    imgs[0, 0, :3] = np.nan
    imgs[1, 1, 1] = np.inf
    with pytest.raises(DataError) as e:
        load_npz(save(tmp_path, "nan.npz", images=imgs))
    assert "nan.npz" in str(e.value) and "4 NaN or infinite" in str(e.value)


@pytest.mark.parametrize("shape", [(10,), (2, 3, 4, 4, 4), (2, 5, 6, 7)])
def test_wrong_shape(tmp_path, shape):
    with pytest.raises(DataError) as e:
        load_npz(save(tmp_path, "shape.npz", images=np.zeros(shape, np.uint8)))
    msg = str(e.value)
    assert "shape.npz" in msg and str(shape) in msg and "(N, H, W)" in msg


def test_float_out_of_range(tmp_path):
    with pytest.raises(DataError) as e:
        load_npz(save(tmp_path, "big.npz", images=np.full((2, 4, 4), 255.0)))
    assert "big.npz" in str(e.value) and "255" in str(e.value) and "[0, 1]" in str(e.value)


def test_integer_dtype_other_than_uint8_refused(tmp_path):
    with pytest.raises(DataError) as e:
        load_npz(save(tmp_path, "ints.npz", images=np.zeros((2, 4, 4), np.int64)))
    assert "ints.npz" in str(e.value) and "int64" in str(e.value)


def test_object_array_refused(tmp_path):
    p = tmp_path / "obj.npz"
    np.savez(p, images=np.array([np.zeros((2, 2)), "x"], dtype=object))
    with pytest.raises(DataError) as e:
        load_npz(p)
    assert "obj.npz" in str(e.value) and "object arrays" in str(e.value)


def test_missing_images_key(tmp_path):
    p = save(tmp_path, "keys.npz", x=np.zeros((2, 4, 4)), y=np.zeros(2))
    with pytest.raises(DataError) as e:
        load_npz(p)
    msg = str(e.value)
    assert "keys.npz" in msg and "'images'" in msg and "'x'" in msg and "'y'" in msg


def test_label_remapping(tmp_path):
    labels = np.array([7, 3, 7, 10, 3])
    s = load_npz(save(tmp_path, images=np.zeros((5, 4, 4), np.uint8), labels=labels))
    assert s.class_names == ["3", "7", "10"]
    assert s.labels.tolist() == [1, 0, 1, 2, 0]
    assert "renumbered" in "\n".join(s.warnings)


def test_class_names_used(tmp_path):
    s = load_npz(save(tmp_path, images=np.zeros((4, 4, 4), np.uint8),
                      labels=np.array([0, 1, 2, 1]), class_names=np.array(["cat", "dog", "eel"])))
    assert s.class_names == ["cat", "dog", "eel"]
    assert s.labels.tolist() == [0, 1, 2, 1]
    assert s.warnings == []


def test_class_names_for_unsorted_label_values(tmp_path):
    s = load_npz(save(tmp_path, images=np.zeros((3, 4, 4), np.uint8),
                      labels=np.array([20, 10, 20]), class_names=np.array(["ten", "twenty"])))
    assert s.class_names == ["ten", "twenty"]
    assert s.labels.tolist() == [1, 0, 1]


def test_class_names_that_do_not_fit_warn(tmp_path):
    s = load_npz(save(tmp_path, "cn.npz", images=np.zeros((3, 4, 4), np.uint8),
                      labels=np.array([5, 6, 7]), class_names=np.array(["a", "b"])))
    assert s.class_names == ["5", "6", "7"]
    assert "cn.npz" in "\n".join(s.warnings) and "class_names" in "\n".join(s.warnings)


def test_labels_length_mismatch(tmp_path):
    with pytest.raises(DataError) as e:
        load_npz(save(tmp_path, "len.npz", images=np.zeros((5, 4, 4), np.uint8), labels=np.arange(3)))
    msg = str(e.value)
    assert "len.npz" in msg and "(3,)" in msg and "5 images" in msg


def test_corrupt_file(tmp_path):
    p = tmp_path / "corrupt.npz"
    p.write_bytes(rng.integers(0, 256, 300, dtype=np.uint8).tobytes())
    with pytest.raises(DataError) as e:
        load_npz(p)
    assert "corrupt.npz" in str(e.value) and "not an .npz archive" in str(e.value)


def test_truncated_archive(tmp_path):
    good = save(tmp_path, "good.npz", images=rng.integers(0, 256, (50, 16, 16), dtype=np.uint8))
    p = tmp_path / "cut.npz"
    p.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(DataError) as e:
        load_npz(p)
    assert "cut.npz" in str(e.value) and "not a readable .npz archive" in str(e.value)


def test_zip_member_that_is_not_an_array(tmp_path):
    p = tmp_path / "fake.npz"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("images.npy", b"hello")
    with pytest.raises(DataError) as e:
        load_npz(p)
    assert "fake.npz" in str(e.value) and "'images'" in str(e.value)


def test_npy_file_refused(tmp_path):
    p = tmp_path / "plain.npy"
    np.save(p, np.zeros((2, 4, 4)))
    with pytest.raises(DataError) as e:
        load_npz(p)
    assert "plain.npy" in str(e.value) and ".npz" in str(e.value)


def test_string_labels(tmp_path):
    s = load_npz(save(tmp_path, images=np.zeros((3, 4, 4), np.uint8), labels=np.array(["b", "a", "b"])))
    assert s.class_names == ["a", "b"] and s.labels.tolist() == [1, 0, 1]


def test_missing_file(tmp_path):
    with pytest.raises(DataError) as e:
        load_npz(tmp_path / "nope.npz")
    assert "nope.npz" in str(e.value) and "does not exist" in str(e.value)


def test_resize_via_size(tmp_path):
    imgs = np.full((3, 20, 30), 0.5, np.float32)
    s = load_npz(save(tmp_path, images=imgs), size=8)
    assert s.images.shape == (3, 1, 8, 8)
    np.testing.assert_allclose(s.images, 0.5, atol=1e-5)
    assert "resized 20 x 30" in "\n".join(s.warnings)
    up = load_npz(save(tmp_path, "up.npz", images=rng.random((2, 4, 4, 3))), size=16)
    assert up.images.shape == (2, 3, 16, 16)
    assert 0 <= up.images.min() and up.images.max() <= 1


def test_same_size_not_resized(tmp_path):
    imgs = rng.random((2, 8, 8))
    s = load_npz(save(tmp_path, images=imgs), size=8)
    np.testing.assert_allclose(s.images[:, 0], imgs, atol=1e-6)
    assert s.warnings == []
