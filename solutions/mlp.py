"""Chapter 1: a multilayer perceptron on images, and why it does not care where pixels are.

A dense layer sees an image as a flat vector of `D` pixels. Permuting the pixels (the same fixed
permutation for every image) and permuting the columns of `W` the same way gives exactly the same
outputs, so an MLP cannot use the fact that neighbouring pixels belong together.
"""

from __future__ import annotations

import numpy as np

from solutions._validate import as_array, as_int


def flatten_images(X) -> np.ndarray:
    """`(N, ...)` -> `(N, D)` with `D` the product of the other axes, in row-major order.

    >>> flatten_images(np.zeros((2, 1, 3, 4))).shape
    (2, 12)
    """
    X = as_array(X, "X")
    if X.ndim < 1:
        raise ValueError(f"X must have a batch axis, got shape {X.shape}")
    return X.reshape(X.shape[0], -1).copy()


def dense_forward(x, W, b) -> np.ndarray:
    """A fully connected layer: `x (N, D)`, `W (M, D)`, `b (M,)` -> `x @ W.T + b`, shape `(N, M)`.

    Row `m` of `W` holds the weights of output unit `m`; `y[n, m] = sum_d x[n, d] W[m, d] + b[m]`.
    """
    x = as_array(x, "x", 2)
    W = as_array(W, "W", 2)
    b = as_array(b, "b", 1)
    if W.shape[1] != x.shape[1]:
        raise ValueError(f"W has {W.shape[1]} inputs per unit but x has {x.shape[1]} features")
    if b.shape[0] != W.shape[0]:
        raise ValueError(f"b has {b.shape[0]} entries but W has {W.shape[0]} output units")
    return x @ W.T + b


def softmax(z) -> np.ndarray:
    """`exp(z) / sum(exp(z))` along the last axis.

    Subtracting the row maximum first changes nothing mathematically (it cancels in the ratio)
    and keeps `exp` from overflowing, so logits as large as `1e4` stay finite.
    """
    z = as_array(z, "z")
    if z.ndim < 1:
        raise ValueError("z must have at least one axis")
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(z: np.ndarray) -> np.ndarray:
    """`log(softmax(z))` along the last axis, computed as `z - logsumexp(z)` (never `log(0)`)."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy(logits, labels) -> float:
    """Mean negative log-likelihood `-(1/N) sum_n log softmax(logits[n])[labels[n]]`.

    `logits (N, K)`, integer `labels (N,)` in `0..K-1`. Uses log-softmax, so it stays finite for
    large logits where `log(softmax(z))` would take the log of an underflowed 0.
    """
    logits = as_array(logits, "logits", 2)
    labels = np.asarray(labels)
    if labels.shape != (logits.shape[0],):
        raise ValueError(f"labels must have shape ({logits.shape[0]},), got {labels.shape}")
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[1]):
        raise ValueError(f"labels must lie in 0..{logits.shape[1] - 1}")
    if logits.shape[0] == 0:
        raise ValueError("cross_entropy needs at least one example")
    picked = log_softmax(logits)[np.arange(logits.shape[0]), labels]
    return float(-picked.mean())


def permute_pixels(X, perm) -> np.ndarray:
    """Apply one fixed permutation `perm` of the `D` pixels to every image of `X (N, ...)`.

    Pixel `d` of the result is pixel `perm[d]` of the input (`x_flat[perm]`); the shape is kept.
    """
    X = as_array(X, "X")
    if X.ndim < 2:
        raise ValueError(f"X must be a batch (N, ...) of images, got shape {X.shape}")
    flat = X.reshape(X.shape[0], -1)
    perm = np.asarray(perm)
    D = flat.shape[1]
    if perm.shape != (D,) or not np.issubdtype(perm.dtype, np.integer) \
            or not np.array_equal(np.sort(perm), np.arange(D)):
        raise ValueError(f"perm must be a permutation of 0..{D - 1} (the {D} pixels of an image)")
    return flat[:, perm].reshape(X.shape)


def dense_param_count(n_in, n_out, bias=True) -> int:
    """Weights of a dense layer: `n_in * n_out`, plus `n_out` biases. (784, 100) -> 78500."""
    n_in, n_out = as_int(n_in, "n_in"), as_int(n_out, "n_out")
    if n_in <= 0 or n_out <= 0:
        raise ValueError(f"n_in and n_out must be positive, got {n_in}, {n_out}")
    return n_in * n_out + (n_out if bias else 0)
