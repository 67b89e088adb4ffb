"""Chapter 5: convolution as a matrix, and backpropagation as a transposed convolution.

A valid cross-correlation is linear in `x`, so it is a matrix `T` (`conv_matrix`): sparse, banded,
one copy of the kernel per output pixel. Its gradient with respect to `x` is `T.T @ dy`, and `T.T`
is again a convolution: the *full* convolution of `dy` with the kernel rotated by 180 degrees
(a transposed convolution). Its gradient with respect to `w` is the cross-correlation of `x` with
`dy`.

`im2col` is the other way to see the same matrix: copy every receptive field into a column, and
a whole conv layer becomes one matrix product (GEMM). Its adjoint `col2im` adds columns back into
an image, which is exactly what the backward pass needs. Both loop over the `KH*KW` kernel taps
only: tap `(i, j)` touches the strided slice of the input that it multiplies, for all pixels at once.
"""

from __future__ import annotations

import numpy as np

from solutions._validate import (
    as_array,
    as_images,
    as_int,
    conv_geometry,
    expect_shape,
    positive_pair,
)
from solutions.conv2d import corr2d


def tap_slices(i: int, j: int, out_hw, stride, dilation) -> tuple[slice, slice]:
    """The rows and columns of the padded input that kernel tap `(i, j)` multiplies.

    Output pixel `(r, c)` reads padded pixel `(r*sh + i*dh, c*sw + j*dw)`: for all `r` at once,
    that is the slice `i*dh, i*dh + sh, ..., i*dh + (H'-1)*sh`.
    """
    (oh, ow), (sh, sw), (dh, dw) = out_hw, stride, dilation
    return (slice(i * dh, i * dh + (oh - 1) * sh + 1, sh),
            slice(j * dw, j * dw + (ow - 1) * sw + 1, sw))


def batch_last(x: np.ndarray, pads) -> np.ndarray:
    """Zero-pad `x (N, C, H, W)` by `((top, bottom), (left, right))` and move the batch axis last:
    `(C, Hp, Wp, N)`, in one copy.

    With the images innermost, the `W'` neighbouring windows of a row, for every image, are one run
    of `W'*N` consecutive numbers, so each tap of `lower` and `fold` below moves long runs instead
    of rows of `W'` (a few numbers each on small layers, where NumPy's per-row cost dominates).
    """
    (top, bottom), (left, right) = pads
    n, c, h, w = x.shape
    out = np.zeros((c, h + top + bottom, w + left + right, n))
    out[:, top:top + h, left:left + w] = x.transpose(1, 2, 3, 0)
    return out


def lower(xt: np.ndarray, kernel_hw, out_hw, stride, dilation) -> np.ndarray:
    """im2col in the layout a GEMM likes: padded batch-last `(C, Hp, Wp, N)` -> `(C, KH, KW, H', W', N)`.

    Row `(c, i, j)` of the `(C*KH*KW, H'*W'*N)` reshape holds what tap `(i, j)` of channel `c`
    sees at every output pixel of every image, so a conv layer is `W (F, C*KH*KW) @ cols`.
    Channel-first keeps a group's rows together (grouped convolution is a batched matmul).
    """
    c, n = xt.shape[0], xt.shape[3]
    kh, kw = kernel_hw
    cols = np.empty((c, kh, kw) + tuple(out_hw) + (n,))
    for i in range(kh):
        for j in range(kw):
            rows_, cols_ = tap_slices(i, j, out_hw, stride, dilation)
            cols[:, i, j] = xt[:, rows_, cols_]
    return cols


def fold(cols: np.ndarray, in_hw, pads, stride, dilation) -> np.ndarray:
    """The adjoint of `lower(batch_last(x, pads), ...)`: `(C, KH, KW, H', W', N)` -> a view of the
    unpadded `(N, C, H, W)` batch (`in_hw` is `(H, W)`).

    Every column entry is added back at the input pixel it was copied from; where windows
    overlap, contributions add up. One strided slice-add per tap, no scatter; then the padding
    is cropped off and the batch axis moved back to the front.
    """
    c, kh, kw = cols.shape[:3]
    out_hw, n = cols.shape[3:5], cols.shape[5]
    acc = np.zeros((c, in_hw[0] + sum(pads[0]), in_hw[1] + sum(pads[1]), n))   # batch-last, padded
    for i in range(kh):
        for j in range(kw):
            rows_, cols_ = tap_slices(i, j, out_hw, stride, dilation)
            acc[:, rows_, cols_] += cols[:, i, j]
    return crop(acc.transpose(3, 0, 1, 2), pads)


def crop(xp: np.ndarray, pads) -> np.ndarray:
    """Undo `pad2d`: drop `((top, bottom), (left, right))` from the last two axes."""
    (top, bottom), (left, right) = pads
    return xp[..., top:xp.shape[-2] - bottom, left:xp.shape[-1] - right]


def im2col(x, kernel_size, stride=1, padding=0, dilation=1) -> np.ndarray:
    """Unfold `(N, C, H, W)` into columns `(N, C*KH*KW, H'*W')`, like `torch.nn.functional.unfold`.

    Column `r*W' + c` of image `n` is the receptive field of output pixel `(r, c)`, flattened
    channel by channel, row by row: entry `(ch*KH + i)*KW + j` is `xp[n, ch, r*sh + i*dh, c*sw + j*dw]`.
    """
    x = as_images(x)
    kernel = positive_pair(kernel_size, "kernel_size")
    stride, dilation, pads, out = conv_geometry(x.shape[2:], kernel, stride, padding, dilation)
    cols = lower(batch_last(x, pads), kernel, out, stride, dilation)   # (C, KH, KW, H', W', N)
    n, c = x.shape[:2]
    return cols.reshape(c * kernel[0] * kernel[1], out[0] * out[1], n).transpose(2, 0, 1).copy()


def col2im(cols, input_shape, kernel_size, stride=1, padding=0, dilation=1) -> np.ndarray:
    """The adjoint of `im2col` (`torch.nn.functional.fold`): `(N, C*KH*KW, L)` -> `(N, C, H, W)`.

    `<im2col(x), cols> == <x, col2im(cols)>`; overlapping windows add up.
    """
    cols = as_array(cols, "cols", 3)
    if len(input_shape) != 4:
        raise ValueError(f"input_shape must be (N, C, H, W), got {input_shape!r}")
    n, c, h, w = (as_int(s, "input_shape") for s in input_shape)
    kernel = positive_pair(kernel_size, "kernel_size")
    stride, dilation, pads, out = conv_geometry((h, w), kernel, stride, padding, dilation)
    expect_shape(cols, (n, c * kernel[0] * kernel[1], out[0] * out[1]), "cols")
    lowered = cols.transpose(1, 2, 0).reshape((c,) + kernel + out + (n,))
    return fold(lowered, (h, w), pads, stride, dilation).copy()


def conv_matrix(w, input_shape) -> np.ndarray:
    """The `(H'*W', H*W)` matrix `T` with `T @ x.ravel() == corr2d(x, w).ravel()` (valid, stride 1).

    Row `r*W' + c` holds the kernel placed over the window of output pixel `(r, c)`:
    `T[r*W' + c, (r+i)*W + (c+j)] = w[i, j]`. (A doubly block-Toeplitz matrix.)
    """
    w = as_array(w, "w", 2)
    if len(input_shape) != 2:
        raise ValueError(f"input_shape must be (H, W), got {input_shape!r}")
    h, wd = (as_int(s, "input_shape") for s in input_shape)
    _, _, _, (oh, ow) = conv_geometry((h, wd), w.shape, 1, 0, 1)
    T = np.zeros((oh * ow, h * wd))
    r, c = np.meshgrid(np.arange(oh), np.arange(ow), indexing="ij")
    rows = (r * ow + c).ravel()
    for i in range(w.shape[0]):  # one (block) diagonal per tap
        for j in range(w.shape[1]):
            T[rows, ((r + i) * wd + (c + j)).ravel()] = w[i, j]
    return T


def corr2d_backward(dy, x, w) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of a loss `L` through `y = corr2d(x, w)` (valid, stride 1), given `dy = dL/dy`.

    - `dw[i, j] = sum_{r,c} dy[r, c] x[r+i, c+j]`: the cross-correlation of `x` with `dy`;
    - `dx = T.T @ dy`: the *full* convolution of `dy` with `w`, i.e. the cross-correlation of
      `dy` zero-padded by `K-1` with `w` rotated by 180 degrees.
    """
    x = as_array(x, "x", 2)
    w = as_array(w, "w", 2)
    dy = as_array(dy, "dy", 2)
    _, _, _, out = conv_geometry(x.shape, w.shape, 1, 0, 1)
    expect_shape(dy, out, "dy")
    dw = corr2d(x, dy)
    dx = corr2d(dy, w[::-1, ::-1], padding="full")
    return dx, dw


def numerical_gradient(f, x, eps=1e-6) -> np.ndarray:
    """Central differences `(f(x + eps e_k) - f(x - eps e_k)) / (2 eps)` for every entry `k` of `x`.

    `f` maps an array shaped like `x` to a scalar. The error is `O(eps^2)`; in float64 `eps=1e-6`
    balances it against rounding. `x` itself is never modified (we perturb a copy).
    """
    probe = np.array(x, dtype=np.float64)  # a copy
    eps = float(eps)
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}")
    grad = np.zeros_like(probe)
    flat_probe, flat_grad = probe.reshape(-1), grad.reshape(-1)
    for k in range(flat_probe.size):
        original = flat_probe[k]
        flat_probe[k] = original + eps
        f_plus = float(f(probe))
        flat_probe[k] = original - eps
        f_minus = float(f(probe))
        flat_probe[k] = original
        flat_grad[k] = (f_plus - f_minus) / (2 * eps)
    return grad
