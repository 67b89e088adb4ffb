"""Deliberately naive loop versions of the convolutions: the definitions, written out.

They are slow on purpose (one Python-level multiply-add per tap per pixel): they show what the
vectorised layers compute, serve as a second opinion in tests, and give the benchmark its
"before". Same arguments and results as `corr1d`, `corr2d` and `conv2d_forward`.
"""

from __future__ import annotations

import numpy as np

from solutions._validate import (
    as_array,
    as_images,
    conv_bias,
    conv_geometry,
    conv_weight,
    output_length,
    padding_amounts,
    positive_int,
)
from solutions.conv2d import pad2d


def corr1d_naive(x, w, padding=0, stride=1) -> np.ndarray:
    """`y[i] = sum_k xp[i*s + k] * w[k]`, one output and one tap at a time."""
    x = as_array(x, "x", 1)
    w = as_array(w, "w", 1)
    if w.shape[0] == 0:
        raise ValueError("kernel size must be positive, got an empty w")
    stride = positive_int(stride, "stride")
    pad = padding_amounts(padding, w.shape[0])
    out = output_length(x.shape[0], w.shape[0], stride, pad, 1)
    xp = np.concatenate([np.zeros(pad[0]), x, np.zeros(pad[1])])
    y = np.zeros(out)
    for i in range(out):
        for k in range(w.shape[0]):
            y[i] += xp[i * stride + k] * w[k]
    return y


def corr2d_naive(x, w, stride=1, padding=0, dilation=1) -> np.ndarray:
    """`y[r, c] = sum_{i, j} xp[r*sh + i*dh, c*sw + j*dw] * w[i, j]`, pixel by pixel, tap by tap."""
    x = as_array(x, "x", 2)
    w = as_array(w, "w", 2)
    (sh, sw), (dh, dw), pads, (oh, ow) = conv_geometry(x.shape, w.shape, stride, padding, dilation)
    xp = pad2d(x, pads)
    y = np.zeros((oh, ow))
    for r in range(oh):
        for c in range(ow):
            for i in range(w.shape[0]):
                for j in range(w.shape[1]):
                    y[r, c] += xp[r * sh + i * dh, c * sw + j * dw] * w[i, j]
    return y


def conv2d_forward_naive(x, w, b, stride=1, padding=0) -> np.ndarray:
    """`y[n, f, r, c] = b[f] + sum_{ch, i, j} w[f, ch, i, j] * xp[n, ch, r*sh + i, c*sw + j]`, by loops."""
    x = as_images(x)
    w = conv_weight(w, x.shape[1])
    b = conv_bias(b, w.shape[0])
    (sh, sw), _, pads, (oh, ow) = conv_geometry(x.shape[2:], w.shape[2:], stride, padding, 1)
    xp = pad2d(x, pads)
    n_images, n_filters, n_channels, kh, kw = x.shape[0], w.shape[0], w.shape[1], w.shape[2], w.shape[3]
    y = np.zeros((n_images, n_filters, oh, ow))
    for n in range(n_images):
        for f in range(n_filters):
            for r in range(oh):
                for c in range(ow):
                    total = 0.0 if b is None else b[f]
                    for ch in range(n_channels):
                        for i in range(kh):
                            for j in range(kw):
                                total += xp[n, ch, r * sh + i, c * sw + j] * w[f, ch, i, j]
                    y[n, f, r, c] = total
    return y
