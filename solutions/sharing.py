"""Chapter 2: from a dense layer to a local, shared one.

A 1D cross-correlation is a dense layer whose matrix is banded (each output sees `K` neighbours:
locality) with the same `K` numbers on every row (parameter sharing). `sharing_matrix` builds that
matrix; `receptive_field` and `conv_param_count` count what the sharing buys.
"""

from __future__ import annotations

import numpy as np

from solutions._validate import as_array, positive_int, positive_pair


def sharing_matrix(w, D) -> np.ndarray:
    """The `(D-K+1, D)` matrix `M` with `M @ x == corr1d(x, w)` (valid, stride 1).

    Row `i` holds the kernel at columns `i .. i+K-1`: `M[i, i+k] = w[k]`.

    >>> sharing_matrix(np.array([1., 2.]), 3)
    array([[1., 2., 0.],
           [0., 1., 2.]])
    """
    w = as_array(w, "w", 1)
    D = positive_int(D, "D")
    K = w.shape[0]
    if K == 0:
        raise ValueError("kernel size must be positive, got an empty w")
    if K > D:
        raise ValueError(f"kernel (size {K}) is larger than the input (D = {D})")
    rows = D - K + 1
    M = np.zeros((rows, D))
    i = np.arange(rows)
    for k in range(K):  # one diagonal per tap
        M[i, i + k] = w[k]
    return M


def receptive_field(kernel_sizes, strides=None, dilations=None) -> int:
    """How many input pixels (along one axis) one unit of the last layer of a stack sees.

    Walking up the stack, layer `l` widens the field by `d_l (k_l - 1)` steps of the current
    "jump" (the product of the earlier strides): `r = 1 + sum_l d_l (k_l - 1) prod_{j<l} s_j`.

    >>> receptive_field([3]), receptive_field([3, 3]), receptive_field([2, 3], strides=[2, 1])
    (3, 5, 6)
    """
    kernel_sizes = [positive_int(k, "kernel size") for k in kernel_sizes]
    L = len(kernel_sizes)
    strides = [1] * L if strides is None else [positive_int(s, "stride") for s in strides]
    dilations = [1] * L if dilations is None else [positive_int(d, "dilation") for d in dilations]
    if len(strides) != L or len(dilations) != L:
        raise ValueError(f"need one stride and one dilation per layer: {L} kernel sizes, "
                         f"{len(strides)} strides, {len(dilations)} dilations")
    field, jump = 1, 1
    for k, s, d in zip(kernel_sizes, strides, dilations, strict=True):
        field += d * (k - 1) * jump
        jump *= s
    return field


def conv_param_count(kernel_size, in_channels, out_channels, bias=True) -> int:
    """Parameters of a conv layer: `KH * KW * C_in * C_out` weights, plus `C_out` biases.

    `kernel_size` is an int (square) or an `(h, w)` pair. `(5, 1, 20)` -> 520. Unlike a dense
    layer, the count does not depend on the image size.
    """
    kh, kw = positive_pair(kernel_size, "kernel_size")
    c_in, c_out = positive_int(in_channels, "in_channels"), positive_int(out_channels, "out_channels")
    return kh * kw * c_in * c_out + (c_out if bias else 0)
