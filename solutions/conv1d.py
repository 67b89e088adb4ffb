"""Chapter 3: 1D cross-correlation and convolution, padding, stride, shift equivariance.

Cross-correlation slides the kernel over the signal without flipping it,
`y[i] = sum_k x[i*s + k] w[k]`; true convolution flips it first, `conv1d(x, w) = corr1d(x, w[::-1])`.
Deep-learning "convolution" layers compute the former.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from solutions._validate import as_array, as_int, output_length, padding_amounts, positive_int


def corr1d(x, w, padding=0, stride=1) -> np.ndarray:
    """Cross-correlate a 1D signal `x (n,)` with a kernel `w (K,)`: `y[i] = sum_k xp[i*s + k] w[k]`.

    `xp` is `x` zero-padded by `padding` (an int on both sides, or `'valid'`, `'same'`, `'full'`);
    the output has `floor((n + p_left + p_right - K) / s) + 1` entries.

    >>> corr1d(np.array([1., 2., 3., 4.]), np.array([1., 0., -1.]))
    array([-2., -2.])
    """
    x = as_array(x, "x", 1)
    w = as_array(w, "w", 1)
    K = w.shape[0]
    if K == 0:
        raise ValueError("kernel size must be positive, got an empty w")
    stride = positive_int(stride, "stride")
    pad = padding_amounts(padding, K)
    out = output_length(x.shape[0], K, stride, pad, 1)
    xp = np.pad(x, pad)
    windows = sliding_window_view(xp, K)[::stride][:out]  # (out, K), a view: no copy
    return windows @ w


def conv1d(x, w, padding=0, stride=1) -> np.ndarray:
    """True convolution `y[i] = sum_k xp[i*s + K-1-k] w[k]`: cross-correlation with `w` flipped.

    `conv1d(x, w, 'full')` equals `np.convolve(x, w, 'full')`. `'same'` pads the flipped kernel by
    PyTorch's rule (`(K-1) // 2` on the left), so for an even `K` it is one place to the left of
    `np.convolve(x, w, 'same')`, which centres the other way.
    """
    w = as_array(w, "w", 1)
    return corr1d(x, w[::-1], padding=padding, stride=stride)


def shift(x, s) -> np.ndarray:
    """`x` moved `s` places right along its last axis (left for negative `s`), zeros shifted in.

    >>> shift(np.array([1., 2., 3.]), 1)
    array([0., 1., 2.])
    """
    x = as_array(x, "x")
    if x.ndim < 1:
        raise ValueError("x must have at least one axis")
    s = as_int(s, "s")
    n = x.shape[-1]
    y = np.zeros_like(x)
    if abs(s) >= n:
        return y
    if s >= 0:
        y[..., s:] = x[..., :n - s]
    else:
        y[..., :n + s] = x[..., -s:]
    return y
