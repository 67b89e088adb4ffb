"""Chapter 4: 2D cross-correlation, zero padding, stride, dilation and the output-size formula.

`y[i, j] = sum_{k, l} xp[i*sh + k*dh, j*sw + l*dw] w[k, l]`, where `xp` is `x` zero-padded. Along
each axis the output has `floor((n + 2p - d*(k-1) - 1) / s) + 1` entries.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from solutions._validate import (
    as_array,
    as_int,
    conv_geometry,
    output_length,
    padding_amounts,
    padding_pairs,
    positive_int,
)


def _explicit_padding(padding) -> tuple[tuple[int, int], tuple[int, int]]:
    """An int, an `(h, w)` pair or a `((top, bottom), (left, right))` pair of pairs."""
    if isinstance(padding, str):
        raise ValueError(f"pad2d needs explicit amounts, not the padding mode {padding!r} "
                         "(a mode depends on the kernel size)")
    if isinstance(padding, (tuple, list)) and len(padding) == 2 \
            and all(isinstance(p, (tuple, list)) for p in padding):
        (top, bottom), (left, right) = padding
        amounts = tuple(as_int(p, "padding") for p in (top, bottom, left, right))
        if min(amounts) < 0:
            raise ValueError(f"padding must be non-negative, got {padding!r}")
        return (amounts[0], amounts[1]), (amounts[2], amounts[3])
    return padding_pairs(padding, (1, 1))


def pad2d(x, padding) -> np.ndarray:
    """Zero-pad the last two axes of an array of any rank >= 2.

    `padding` is an int (all four sides), an `(ph, pw)` pair (`ph` rows above and below, `pw`
    columns left and right) or `((top, bottom), (left, right))`.

    >>> pad2d(np.ones((1, 2)), 1)
    array([[0., 0., 0., 0.],
           [0., 1., 1., 0.],
           [0., 0., 0., 0.]])
    """
    x = as_array(x, "x")
    if x.ndim < 2:
        raise ValueError(f"x must have at least 2 dimensions, got shape {x.shape}")
    rows, cols = _explicit_padding(padding)
    out = np.zeros(x.shape[:-2] + (x.shape[-2] + sum(rows), x.shape[-1] + sum(cols)))
    out[..., rows[0]:rows[0] + x.shape[-2], cols[0]:cols[0] + x.shape[-1]] = x
    return out


def corr2d(x, w, stride=1, padding=0, dilation=1) -> np.ndarray:
    """Cross-correlate one image `x (H, W)` with one kernel `w (KH, KW)` -> `(H', W')`.

    `stride`, `dilation` and `padding` are an int or an `(h, w)` pair; `padding` may also be
    `'valid'`, `'same'` or `'full'`.

    >>> corr2d(np.arange(9.).reshape(3, 3), np.array([[1., 0.], [0., -1.]]))
    array([[-4., -4.],
           [-4., -4.]])
    """
    x = as_array(x, "x", 2)
    w = as_array(w, "w", 2)
    if min(w.shape) == 0:
        raise ValueError(f"kernel size must be positive, got w of shape {w.shape}")
    (sh, sw), (dh, dw), pads, (out_h, out_w) = conv_geometry(x.shape, w.shape, stride, padding, dilation)
    xp = pad2d(x, pads)
    span = (dh * (w.shape[0] - 1) + 1, dw * (w.shape[1] - 1) + 1)
    # windows[i, j] is the (dilated) patch under output pixel (i, j): a view, no copy.
    windows = sliding_window_view(xp, span)[::sh, ::sw, ::dh, ::dw][:out_h, :out_w]
    return np.tensordot(windows, w, axes=([2, 3], [0, 1]))


def conv_output_size(n, kernel_size, stride=1, padding=0, dilation=1) -> int:
    """`floor((n + 2p - d*(k-1) - 1) / s) + 1`, the length of a conv or pool output along one axis.

    `padding` may be an int or `'valid'`, `'same'`, `'full'` (then `2p` is the total padding).

    >>> conv_output_size(28, 5), conv_output_size(32, 3, stride=2, padding=1)
    (24, 16)
    """
    n = positive_int(n, "n")
    k = positive_int(kernel_size, "kernel_size")
    s = positive_int(stride, "stride")
    d = positive_int(dilation, "dilation")
    return output_length(n, k, s, padding_amounts(padding, k, d), d)
