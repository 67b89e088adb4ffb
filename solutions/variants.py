"""Chapter 8: transposed, dilated, grouped, depthwise and separable convolution.

All of them are the layer of chapter 7 with one idea added:

- transposed convolution is the adjoint (the backward-to-input map) of a convolution: it spreads
  each input pixel over a `KH x KW` patch of the output, moving `stride` output pixels per input
  pixel, so it upsamples;
- dilation spaces the taps `d` pixels apart: a `K`-tap kernel covers `d*(K-1)+1` pixels, the same
  as correlating with a kernel that has `d-1` zeros between its taps (`dilate_kernel`);
- `groups=G` splits the channels into `G` independent convolutions (`F*C*KH*KW/G` weights);
  depthwise is `G = C`, one filter per channel;
- a separable convolution is depthwise (space) then 1x1 (channels); a rank-1 2D kernel is
  separable in space too: a column filter then a row filter (`separate_kernel`).
"""

from __future__ import annotations

import numpy as np

from solutions._validate import (
    as_array,
    as_images,
    as_int,
    conv_weight,
    positive_int,
    positive_pair,
    transpose_geometry,
    transpose_length,
)
from solutions.channels import _grouped, conv2d_general, conv2d_input_grad


def conv_transpose2d(x, w, stride=1, padding=0, dilation=1, groups=1, output_padding=0) -> np.ndarray:
    """`torch.nn.functional.conv_transpose2d`: `x (N, C_in, H, W)`, `w (C_in, C_out // groups, KH, KW)`.

    Output size per axis: `conv_transpose_output_size(n, k, s, p, output_padding, d)`. It is the
    gradient-to-input map of `conv2d(., w, stride, padding, dilation, groups)` on an input of that
    size, so `<conv2d(u, w), v> == <u, conv_transpose2d(v, w)>` for all `u`, `v`; `output_padding`
    picks which of the input sizes a strided convolution maps to the same output size that is.
    """
    x = as_images(x)
    groups = positive_int(groups, "groups")
    w = as_array(w, "w", 4)
    if w.shape[0] != x.shape[1]:
        raise ValueError(f"channel mismatch: w has {w.shape[0]} input channels (shape {w.shape}), "
                         f"x has {x.shape[1]}")
    if x.shape[1] % groups:  # conv_weight would call them w's output channels (see below)
        raise ValueError(f"groups={groups} must divide the {x.shape[1]} input channels")
    c_out = w.shape[1] * groups
    w = conv_weight(w, c_out, groups)  # w is a conv weight from C_out to C_in channels
    h, wd = x.shape[2:]
    stride, dilation, pads, out_hw = transpose_geometry((h, wd), w.shape[2:], stride, padding, dilation,
                                                        output_padding)
    x_mat = _grouped(x.transpose(1, 2, 3, 0).reshape(x.shape[1], -1), groups)  # (G, C_in/G, H*W*N)
    return np.ascontiguousarray(conv2d_input_grad(x_mat, w, out_hw, pads, (h, wd), stride, dilation, groups))


def conv_transpose_output_size(n, kernel_size, stride=1, padding=0, output_padding=0, dilation=1) -> int:
    """`(n - 1)*s - 2p + d*(k - 1) + output_padding + 1`: the length of a transposed convolution's
    output along one axis of length `n` (PyTorch's rule, the size `conv_transpose2d` produces).

    Read it backwards: a convolution with the same `k, s, p, d` maps that many pixels back to `n`.
    With stride `s > 1` it maps `s` input lengths to the same `n` (the floor in `conv_output_size`);
    the transposed one returns the shortest of them, plus `output_padding` (smaller than `s` or `d`).

    >>> conv_transpose_output_size(5, 3, stride=2, padding=1), conv_transpose_output_size(5, 3, 2, 1, 1)
    (9, 10)
    """
    n = positive_int(n, "n")
    k = positive_int(kernel_size, "kernel_size")
    s = positive_int(stride, "stride")
    d = positive_int(dilation, "dilation")
    p = as_int(padding, "padding")  # no padding strings: the padding crops the output
    if p < 0:
        raise ValueError(f"padding must be non-negative, got {padding!r}")
    extra = as_int(output_padding, "output_padding")
    if extra < 0:
        raise ValueError(f"output_padding must be non-negative, got {output_padding!r}")
    return transpose_length(n, k, s, p, d, extra)


def dilate_kernel(w, dilation) -> np.ndarray:
    """Insert `d - 1` zeros between neighbouring taps along the last two axes.

    A `(..., KH, KW)` kernel becomes `(..., dh*(KH-1)+1, dw*(KW-1)+1)`; correlating with it equals
    correlating with `w` at dilation `d`.

    >>> dilate_kernel(np.array([[1., 2.]]), 2)
    array([[1., 0., 2.]])
    """
    w = as_array(w, "w")
    if w.ndim < 2:
        raise ValueError(f"w must have at least 2 dimensions, got shape {w.shape}")
    dh, dw = positive_pair(dilation, "dilation")
    kh, kw = w.shape[-2:]
    out = np.zeros(w.shape[:-2] + (dh * (kh - 1) + 1 if kh else 0, dw * (kw - 1) + 1 if kw else 0))
    out[..., ::dh, ::dw] = w
    return out


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """`torch.nn.functional.conv2d`: `x (N, C, H, W)`, `w (F, C // groups, KH, KW)`, `b (F,)` or `None`.

    `y[n, f, r, c] = b[f] + sum_{ch in group(f), i, j} w[f, ch, i, j] xp[n, ch, r*sh + i*dh, c*sw + j*dw]`;
    `padding` is an int, an `(h, w)` pair, `'valid'`, `'same'` or `'full'`.
    """
    return conv2d_general(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)


def depthwise_conv2d(x, w, stride=1, padding=0) -> np.ndarray:
    """One `KH x KW` filter per channel, no mixing: `w (C, 1, KH, KW)`, i.e. `groups = C`."""
    x = as_images(x)
    w = as_array(w, "w", 4)
    if w.shape[:2] != (x.shape[1], 1):
        raise ValueError(f"depthwise w must have shape ({x.shape[1]}, 1, KH, KW) for {x.shape[1]} "
                         f"channels, got {w.shape}")
    return conv2d_general(x, w, None, stride=stride, padding=padding, groups=x.shape[1])


def separable_conv2d(x, w_depth, w_point, stride=1, padding=0) -> np.ndarray:
    """Depthwise `w_depth (C, 1, KH, KW)` (with `stride`, `padding`), then pointwise `w_point (F, C, 1, 1)`.

    `C*KH*KW + F*C` weights instead of `F*C*KH*KW`.
    """
    w_point = as_array(w_point, "w_point", 4)
    if w_point.shape[2:] != (1, 1):
        raise ValueError(f"w_point must be a 1x1 kernel (F, C, 1, 1), got {w_point.shape}")
    return conv2d_general(depthwise_conv2d(x, w_depth, stride, padding), w_point)


def separate_kernel(k, rtol=1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Split a rank-1 kernel `k (KH, KW)` into `(col (KH,), row (KW,))` with `np.outer(col, row) == k`.

    The SVD `k = sum_r s_r u_r v_r^T` has one non-negligible singular value exactly when `k` is
    rank 1 (`s_2 <= rtol * s_1`); then `col = sqrt(s_1) u_1`, `row = sqrt(s_1) v_1`, signed so
    that the largest entry of `col` is positive. Correlating with `col[:, None]` then with
    `row[None, :]` costs `KH + KW` instead of `KH*KW` multiplications per pixel.

    >>> col, row = separate_kernel(np.outer([1., 2., 1.], [1., 0., -1.]))  # the Sobel kernel
    >>> np.allclose(np.outer(col, row), [[1, 0, -1], [2, 0, -2], [1, 0, -1]])
    True
    """
    k = as_array(k, "k", 2)
    if min(k.shape) == 0:
        raise ValueError(f"k must be a non-empty 2D kernel, got shape {k.shape}")
    u, s, vt = np.linalg.svd(k)
    if len(s) > 1 and s[1] > rtol * s[0]:
        raise ValueError(f"kernel is not separable: its rank is {int(np.sum(s > rtol * s[0]))}, not 1 "
                         f"(singular values {np.array2string(s, precision=3)})")
    col, row = np.sqrt(s[0]) * u[:, 0], np.sqrt(s[0]) * vt[0]
    if col[np.argmax(np.abs(col))] < 0:
        col, row = -col, -row
    return col, row
