"""Chapter 6: max, average and L2 pooling, and their gradients.

A pooling window of `KH x KW` pixels, moved by `stride` (`None` means `stride = kernel_size`, so
windows tile the image), reduces each window of every channel to one number. No padding: along
each axis the output has `floor((n - k) / s) + 1` entries.

All functions loop over the `KH*KW` window positions ("taps"), or over a window's rows and then
its columns, never over pixels: tap `(i, j)` of every window at once is one strided slice of the
input (see `solutions.toeplitz.tap_slices`). Backward passes
send each window's `dy` to the pixels it read; where windows overlap (`stride < kernel_size`) a
pixel collects the gradients of every window it belongs to, as it must.
"""

from __future__ import annotations

import numpy as np

from solutions._blocks import image_blocks
from solutions._validate import as_images, expect_shape, pool_geometry
from solutions.toeplitz import tap_slices


def _pool_setup(x, kernel_size, stride):
    """Validated `(x, kernel, stride, out_hw)` of a pooling layer on `x (N, C, H, W)`."""
    x = as_images(x)
    return (x, *pool_geometry(x.shape[2:], kernel_size, stride))


def _out_shape(x: np.ndarray, out) -> tuple[int, ...]:
    return x.shape[:2] + tuple(out)


def _taps(kernel, step, out):
    """Yield `((i, j), index)` for every tap in row-major order; `x[index]` is `(N, C, H', W')`."""
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            rows, cols = tap_slices(i, j, out, step, (1, 1))
            yield (i, j), (slice(None), slice(None), rows, cols)


def _window_max(x, kernel, step, out) -> np.ndarray:
    """The largest value of every window: the maximum over the window's rows first (each tap row
    is a slice of whole image rows), then over its columns. `KH + KW - 2` passes instead of the
    `KH*KW - 1` of a running maximum over the taps, and the first ones run along full rows."""
    rows = None
    for i in range(kernel[0]):
        tap_rows, _ = tap_slices(i, 0, out, step, (1, 1))
        part = x[:, :, tap_rows, :]
        rows = part.copy() if rows is None else np.maximum(rows, part, out=rows)
    y = None
    for j in range(kernel[1]):
        _, tap_cols = tap_slices(0, j, out, step, (1, 1))
        part = rows[..., tap_cols]
        y = part.copy() if y is None else np.maximum(y, part, out=y)
    return y


def _blocks(x):
    """Blocks of images of `x (N, C, H, W)` small enough that a block of `x` and of its gradient
    stay in cache across the passes over the taps."""
    return image_blocks(x.shape[0], 2 * x[0].size)


def maxpool2d_forward(x, kernel_size=2, stride=None) -> np.ndarray:
    """`y[n, c, r, s]` = the largest value of window `(r, s)` of channel `c` of image `n`.

    >>> maxpool2d_forward(np.arange(16.).reshape(1, 1, 4, 4))[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    x, kernel, step, out = _pool_setup(x, kernel_size, stride)
    y = np.empty(_out_shape(x, out))
    for block in _blocks(x):
        y[block] = _window_max(x[block], kernel, step, out)
    return y


def _windows_overlap(kernel, step) -> bool:
    """Whether some pixel lies in two windows (then its gradients must be added, not assigned)."""
    return step[0] < kernel[0] or step[1] < kernel[1]


def _winning_taps(x, kernel, step, out) -> np.ndarray:
    """For every window, the row-major index of the first tap that holds its maximum.

    A tap wins a window if it holds the maximum and no earlier tap has won it yet; so the index
    is the number of taps the window stays unclaimed ("free") for. Booleans and small integers
    keep these passes cheap.
    """
    y = _window_max(x, kernel, step, out)
    taps = list(_taps(kernel, step, out))
    winner = np.zeros(y.shape, dtype=np.min_scalar_type(len(taps) - 1))
    free = np.ones(y.shape, dtype=bool)
    wins = np.empty(y.shape, dtype=bool)
    for _, window in taps[:-1]:  # the last tap wins whatever is still free
        np.equal(x[window], y, out=wins)
        np.logical_and(wins, free, out=wins)
        np.logical_xor(free, wins, out=free)
        winner += free
    return winner


def maxpool2d_backward(dy, x, kernel_size=2, stride=None) -> np.ndarray:
    """`dx` for `y = maxpool2d_forward(x, ...)`: each `dy` goes to the maximum of its window.

    Only the first maximum of a window (row-major) receives the gradient, as in PyTorch. Every
    window sends its `dy` to its winner's flat index in `x`; `np.bincount` adds them up, so a
    pixel that wins several overlapping windows collects the gradient of each (one pass, no
    strided scatter).
    """
    x, kernel, step, out = _pool_setup(x, kernel_size, stride)
    dy = as_images(dy, "dy")
    expect_shape(dy, _out_shape(x, out), "dy")
    n, c, h, w = x.shape
    # flat index = the image plane's start + the window's top-left corner + the tap's offset
    planes = (np.arange(n * c) * (h * w)).reshape(n, c, 1, 1)
    corners = np.add.outer(np.arange(out[0]) * (step[0] * w), np.arange(out[1]) * step[1])
    offsets = np.add.outer(np.arange(kernel[0]) * w, np.arange(kernel[1])).ravel()
    target = planes + corners                                           # (N, C, H', W')
    for block in _blocks(x):
        target[block] += np.take(offsets, _winning_taps(x[block], kernel, step, out))
    return np.bincount(target.ravel(), weights=dy.ravel(), minlength=x.size).reshape(x.shape)


def avgpool2d_forward(x, kernel_size=2, stride=None) -> np.ndarray:
    """`y[n, c, r, s]` = the mean of window `(r, s)`: `(1 / (KH*KW)) * sum_{i,j} x[.., r*sh+i, s*sw+j]`."""
    x, kernel, step, out = _pool_setup(x, kernel_size, stride)
    y = np.zeros(_out_shape(x, out))
    for _, window in _taps(kernel, step, out):
        y += x[window]
    return y / (kernel[0] * kernel[1])


def avgpool2d_backward(dy, x, kernel_size=2, stride=None) -> np.ndarray:
    """`dx` for `y = avgpool2d_forward(x, ...)`: every pixel of a window gets `dy / (KH*KW)`."""
    x, kernel, step, out = _pool_setup(x, kernel_size, stride)
    dy = as_images(dy, "dy")
    expect_shape(dy, _out_shape(x, out), "dy")
    share = dy / (kernel[0] * kernel[1])
    overlap = _windows_overlap(kernel, step)
    dx = np.zeros_like(x)
    for _, window in _taps(kernel, step, out):
        if overlap:
            dx[window] += share
        else:
            dx[window] = share
    return dx


def l2pool2d_forward(x, kernel_size=2, stride=None) -> np.ndarray:
    """`y[n, c, r, s] = sqrt(sum of x**2 over window (r, s))` (`torch.nn.functional.lp_pool2d`, p=2)."""
    x, kernel, step, out = _pool_setup(x, kernel_size, stride)
    y = np.zeros(_out_shape(x, out))
    for _, window in _taps(kernel, step, out):
        y += x[window] ** 2
    return np.sqrt(y)
