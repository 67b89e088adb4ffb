"""Transposed-convolution explorer: where each input pixel goes, and why stride makes checkerboards.

`TransposedConvExplorer()` is an anywidget whose JavaScript (`transposed.js`) draws three grids for a
single-channel transposed convolution of an `n x n` input with a `k x k` kernel, stride `s` and
padding `p`: the input; the output, `(n - 1) s - 2p + k` pixels a side, each showing how many
(input pixel, kernel tap) pairs land on it (uneven counts are the checkerboard); and the input with
`s - 1` zeros inserted between its pixels and `k - 1 - p` zeros around it, over which a stride-1
correlation with the flipped kernel gives the same output. Clicking an input pixel outlines the
patch it spreads over; clicking an output pixel outlines the window that computes it. Everything is
computed in the browser, so it stays live in the static book.

`contributions()` and `zero_inserted()` compute in Python what the JavaScript draws.
"""

from __future__ import annotations

import anywidget
import numpy as np
import traitlets

from cnnbook.widgets import esm

LIMITS = {"n": (2, 5), "kernel": (1, 5), "stride": (1, 3), "padding": (0, 4)}


class TransposedConvExplorer(anywidget.AnyWidget):
    """An `n x n` input, a `kernel x kernel` kernel, `stride` and `padding` (at most `kernel - 1`)."""

    _esm = esm("transposed.js")
    n = traitlets.Int(3).tag(sync=True)
    kernel = traitlets.Int(3).tag(sync=True)
    stride = traitlets.Int(2).tag(sync=True)
    padding = traitlets.Int(0).tag(sync=True)
    selected_input = traitlets.Int(-1).tag(sync=True)   # row-major index; -1: the middle pixel
    selected_output = traitlets.Int(-1).tag(sync=True)  # row-major index; -1: none

    def __init__(self, n: int = 3, kernel: int = 3, stride: int = 2, padding: int = 0, **kwargs):
        for name, value in (("n", n), ("kernel", kernel), ("stride", stride), ("padding", padding)):
            low, high = LIMITS[name]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name} must be an int from {low} to {high}, got {value!r}")
        if padding > kernel - 1:
            raise ValueError(f"padding must be at most kernel - 1 = {kernel - 1}, got {padding}")
        super().__init__(n=n, kernel=kernel, stride=stride, padding=padding, **kwargs)

    def output_side(self) -> int:
        return (self.n - 1) * self.stride - 2 * self.padding + self.kernel

    def contributions(self) -> np.ndarray:
        """`(out, out)` ints: how many (input pixel, kernel tap) pairs land on each output pixel."""
        s, p, k = self.stride, self.padding, self.kernel
        full = np.zeros(((self.n - 1) * s + k,) * 2, dtype=np.int64)
        for a in range(k):
            for b in range(k):
                full[a:a + s * (self.n - 1) + 1:s, b:b + s * (self.n - 1) + 1:s] += 1
        return full[p:full.shape[0] - p, p:full.shape[1] - p]

    def zero_inserted(self, x: np.ndarray) -> np.ndarray:
        """`x (n, n)` with `stride - 1` zeros between its pixels and `kernel - 1 - padding` around it."""
        x = np.asarray(x, dtype=np.float64)
        if x.shape != (self.n, self.n):
            raise ValueError(f"x must have shape {(self.n, self.n)}, got {x.shape}")
        s, pad = self.stride, self.kernel - 1 - self.padding
        spread = np.zeros(((self.n - 1) * s + 1,) * 2)
        spread[::s, ::s] = x
        return np.pad(spread, pad)
