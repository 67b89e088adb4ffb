"""Offline data: the shipped digits and photos, and the real MNIST loader on files the tests make."""

import gzip
import struct

import numpy as np
import pytest

from cnnbook import data


def write_idx(path, array, type_code=0x08):
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + array.astype(">u1").tobytes())


def test_load_digits_is_real_mnist():
    images, labels = data.load_digits()
    assert images.shape == (5000, 28, 28) and labels.shape == (5000,)
    assert images.dtype == np.float64 and 0.0 <= images.min() and images.max() <= 1.0
    assert np.bincount(labels).tolist() == [500] * 10


def test_train_test_split_is_stratified_and_disjoint():
    images = np.arange(100, dtype=float).reshape(100, 1)
    labels = np.repeat(np.arange(4), 25)
    xtr, ytr, xte, yte = data.train_test_split(images, labels, test_fraction=0.2, seed=1)
    assert np.bincount(yte).tolist() == [5] * 4 and len(ytr) == 80
    assert not set(xtr.ravel()) & set(xte.ravel())
    with pytest.raises(ValueError, match="test_fraction"):
        data.train_test_split(images, labels, test_fraction=1.5)


def test_photo_is_grey_unit_range_and_cropped():
    image = data.photo("astronaut", size=64)
    assert image.shape == (64, 64) and 0.0 <= image.min() and image.max() <= 1.0
    with pytest.raises(ValueError, match="no scikit-image sample photo"):
        data.photo("not_a_photo")


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_idx_loader_reads_the_original_format(tmp_path, gz):
    rng = np.random.default_rng(0)
    parts = {
        "train_images": rng.integers(0, 256, (6, 28, 28)), "train_labels": rng.integers(0, 10, 6),
        "test_images": rng.integers(0, 256, (3, 28, 28)), "test_labels": rng.integers(0, 10, 3),
    }
    for key, name in data.MNIST_FILES.items():
        write_idx(tmp_path / (name if gz else name.removesuffix(".gz")), parts[key])
    if not gz:
        with pytest.raises(FileNotFoundError, match="lacks"):
            data.load_mnist_idx(tmp_path)
        return
    xtr, ytr, xte, yte = data.load_mnist_idx(tmp_path)
    assert xtr.shape == (6, 28, 28) and np.allclose(xtr * 255, parts["train_images"])
    assert ytr.tolist() == parts["train_labels"].tolist() and xte.shape == (3, 28, 28)


def test_read_idx_rejects_bad_files(tmp_path):
    bad = tmp_path / "bad.idx"
    bad.write_bytes(b"\x01\x02\x08\x01" + struct.pack(">I", 3) + b"abc")
    with pytest.raises(ValueError, match="magic"):
        data.read_idx(bad)
    short = tmp_path / "short.idx"
    short.write_bytes(b"\x00\x00\x08\x01" + struct.pack(">I", 5) + b"abc")
    with pytest.raises(ValueError, match="holds 3 values"):
        data.read_idx(short)
