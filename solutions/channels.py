"""Chapter 7: channels, bias and 4D tensors: a whole conv layer as one matrix product.

With `C` input channels and `F` filters, output channel `f` sums the correlations of every input
channel with its own kernel slice, plus a bias:

    y[n, f, r, c] = b[f] + sum_{ch, i, j} w[f, ch, i, j] xp[n, ch, r*sh + i*dh, c*sw + j*dw].

Lowering the input (im2col) turns this into `W (F, C*KH*KW) @ cols (C*KH*KW, H'*W'*N)`: one
column per output pixel of every image (the image index runs fastest, see `toeplitz.batch_last`),
a few images at a time so that `cols` stays in cache (`solutions._blocks`). The backward pass is
two more products with the same `cols`:

    dW = dY @ cols.T          (the correlation of the input with the upstream gradient)
    dcols = W.T @ dY, dx = fold(dcols)   (a transposed convolution: the full convolution of dy
                                          with the rotated kernel, stride-aware)
    db = dY summed over images and pixels.

The general functions here also take `dilation` and `groups` (chapter 8 builds on them): with
`G` groups the channels split into `G` independent convolutions, a batched matmul over groups.
"""

from __future__ import annotations

import numpy as np

from solutions._blocks import image_blocks
from solutions._validate import as_images, conv_bias, conv_geometry, conv_weight, expect_shape
from solutions.toeplitz import batch_last, fold, lower


def _grouped(mat: np.ndarray, groups: int) -> np.ndarray:
    """`(G*R, K)` -> `(G, R, K)`: the rows of each group together (a free reshape)."""
    return mat.reshape(groups, mat.shape[0] // groups, mat.shape[1])


def lowered_blocks(x: np.ndarray, pads, kernel, out, stride, dilation, groups: int):
    """Yield `(block, cols)` for each block of images of `x (N, C, H, W)`: `cols (G, Cg*KH*KW,
    H'*W'*nb)` is the im2col lowering of `x[block]` padded by `pads`, its rows grouped and its
    columns ordered (output row, output column, image)."""
    n, c = x.shape[:2]
    for block in image_blocks(n, c * kernel[0] * kernel[1] * out[0] * out[1]):
        cols = lower(batch_last(x[block], pads), kernel, out, stride, dilation)  # (C, KH, KW, H', W', nb)
        yield block, _grouped(cols.reshape(c * kernel[0] * kernel[1], -1), groups)


def conv2d_general(x, w, b=None, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """`torch.nn.functional.conv2d` in NumPy: `x (N, C, H, W)`, `w (F, C // groups, KH, KW)`."""
    x = as_images(x)
    w = conv_weight(w, x.shape[1], groups)
    b = conv_bias(b, w.shape[0])
    kernel = w.shape[2:]
    stride, dilation, pads, out = conv_geometry(x.shape[2:], kernel, stride, padding, dilation)
    n, f = x.shape[0], w.shape[0]
    w_mat = _grouped(w.reshape(f, -1), groups)                          # (G, F/G, Cg*KH*KW)
    y = np.empty((n, f) + out)
    for block, cols in lowered_blocks(x, pads, kernel, out, stride, dilation, groups):
        y_block = np.matmul(w_mat, cols).reshape((f,) + out + (-1,))    # (F, H', W', nb)
        y[block] = y_block.transpose(3, 0, 1, 2)
    if b is not None:
        y += b[:, None, None]
    return y


def conv2d_general_backward(dy, x, w, stride=1, padding=0, dilation=1, groups=1, need_input_grad=True):
    """`(dx, dw, db)` for `y = conv2d_general(x, w, b, ...)`, given the upstream gradient `dy`.

    `dx` is `None` when `need_input_grad` is false (the first layer of a network needs no `dx`).
    """
    x = as_images(x)
    w = conv_weight(w, x.shape[1], groups)
    dy = as_images(dy, "dy")
    kernel = w.shape[2:]
    stride, dilation, pads, out = conv_geometry(x.shape[2:], kernel, stride, padding, dilation)
    n, f = x.shape[0], w.shape[0]
    expect_shape(dy, (n, f) + out, "dy")
    dw_t = np.zeros((groups, w[0].size, f // groups))                   # dW transposed, per group
    dx = np.empty(x.shape) if need_input_grad else None
    for block, cols in lowered_blocks(x, pads, kernel, out, stride, dilation, groups):
        dy_mat = _grouped(dy[block].transpose(1, 2, 3, 0).reshape(f, -1), groups)  # (G, F/G, H'*W'*nb)
        # dW = dY @ cols.T, computed as (cols @ dY.T).T: BLAS prefers the long axis inside.
        dw_t += np.matmul(cols, dy_mat.transpose(0, 2, 1))
        if need_input_grad:
            dx[block] = conv2d_input_grad(dy_mat, w, x.shape[2:], pads, out, stride, dilation, groups)
    dw = dw_t.transpose(0, 2, 1).reshape(w.shape)
    db = dy.sum(axis=(0, 2, 3))
    return dx, dw, db


def conv2d_input_grad(dy_mat, w, in_hw, pads, out, stride, dilation, groups) -> np.ndarray:
    """`dx = fold(W.T @ dY)`: the transposed convolution of `dy (G, F/G, H'*W'*N)` with `w`.

    Shared by the backward pass and by `conv_transpose2d` (chapter 8), which is the same map.
    `in_hw` is the unpadded input size; returns a (non-contiguous) view of the `(N, C, H, W)` gradient.
    """
    c = w.shape[1] * groups
    w_mat = _grouped(w.reshape(w.shape[0], -1), groups)                 # (G, F/G, Cg*KH*KW)
    dcols = np.matmul(w_mat.transpose(0, 2, 1), dy_mat)                 # (G, Cg*KH*KW, H'*W'*N)
    dcols = dcols.reshape((c,) + tuple(w.shape[2:]) + tuple(out) + (-1,))
    return fold(dcols, in_hw, pads, stride, dilation)


def conv2d_forward(x, w, b, stride=1, padding=0) -> np.ndarray:
    """A conv layer: `x (N, C, H, W)`, `w (F, C, KH, KW)`, `b (F,)` or `None` -> `y (N, F, H', W')`.

    `y[n, f] = b[f] + sum_ch corr2d(x[n, ch], w[f, ch], stride, padding)`, computed as one GEMM on
    the im2col lowering of the batch. `stride`/`padding` as in `corr2d` (padding strings too).
    """
    return conv2d_general(x, w, b, stride=stride, padding=padding)


def conv2d_backward(dy, x, w, stride=1, padding=0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(dx, dw, db)` of `conv2d_forward(x, w, b, stride, padding)` given `dy (N, F, H', W')`.

    `dw` correlates the input with `dy`, `dx` is the stride-aware full convolution of `dy` with the
    180-degree-rotated kernel (computed as `fold(W.T @ dY)`), and `db[f] = sum dy[:, f]`.
    """
    return conv2d_general_backward(dy, x, w, stride=stride, padding=padding)
