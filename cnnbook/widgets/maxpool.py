"""Where the gradient of a pooling layer goes: the max-pool "switch", drawn.

`PoolingGradient()` is an anywidget whose JavaScript (`maxpool.js`) shows three grids: the input `x`
with the window of the output you click, the pooled output `y`, and the gradient `dx` that reaches
the input when every output receives `dy = 1`. With max pooling each output's gradient goes to the
first maximum of its window (row-major order breaks ties, as in PyTorch); with average pooling it is
spread evenly. Kernel size and stride are sliders, so overlapping windows (their shares add up) and
gaps (pixels no window covers get nothing) are one move away. Everything is computed in the browser,
so it stays live in the static book.

`pooled()` and `routed_gradient()` compute in Python what the JavaScript draws, so tests can hold
the two to the reference layers.
"""

from __future__ import annotations

import anywidget
import numpy as np
import traitlets

from cnnbook.widgets import esm

LECTURE_EXAMPLE = [[1, 4, 2, 1], [5, 8, 3, 4], [7, 6, 4, 5], [1, 3, 1, 2]]
MODES = ("max", "avg")
MAX_SIDE = 8
MAX_KERNEL = 4
MAX_STRIDE = 4


def _checked_grid(rows) -> list[list[float]]:
    """`rows` as a rectangular grid of finite numbers (ints kept as ints), or ValueError."""
    rows = [[float(v) for v in row] for row in rows]
    if not 2 <= len(rows) <= MAX_SIDE or any(len(r) != len(rows[0]) for r in rows) \
            or not 2 <= len(rows[0]) <= MAX_SIDE:
        raise ValueError(f"x must be a rectangular grid with 2 to {MAX_SIDE} rows and columns")
    if not np.all(np.isfinite(rows)):
        raise ValueError("x holds a value that is not finite")
    return [[int(v) if v.is_integer() else v for v in row] for row in rows]


class PoolingGradient(anywidget.AnyWidget):
    """A small input `x` (rows of numbers), a square pooling window and a stride."""

    _esm = esm("maxpool.js")
    x = traitlets.List().tag(sync=True)
    kernel = traitlets.Int(2).tag(sync=True)
    stride = traitlets.Int(2).tag(sync=True)
    mode = traitlets.Unicode("max").tag(sync=True)
    selected = traitlets.List([0, 0]).tag(sync=True)  # the output (row, col) whose window is shown

    def __init__(self, x=None, kernel: int = 2, stride: int = 2, mode: str = "max", **kwargs):
        # x first: traitlets validates the traits of one call in no fixed order, and the kernel's
        # check reads x, so a bad x would otherwise be reported as a bad kernel now and then
        x = _checked_grid(LECTURE_EXAMPLE if x is None else x)
        super().__init__(x=x, kernel=kernel, stride=stride, mode=mode, **kwargs)

    # -- validation: a bad value never reaches the browser ---------------------------------

    @traitlets.validate("x")
    def _valid_x(self, proposal):
        return _checked_grid(proposal["value"])

    @traitlets.validate("kernel")
    def _valid_kernel(self, proposal):
        value = proposal["value"]
        if not 1 <= value <= min(MAX_KERNEL, *np.shape(self.x)):
            raise ValueError(f"kernel must be between 1 and {MAX_KERNEL} and fit in x, got {value}")
        return value

    @traitlets.validate("stride")
    def _valid_stride(self, proposal):
        if not 1 <= proposal["value"] <= MAX_STRIDE:
            raise ValueError(f"stride must be between 1 and {MAX_STRIDE}, got {proposal['value']}")
        return proposal["value"]

    @traitlets.validate("mode")
    def _valid_mode(self, proposal):
        if proposal["value"] not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {proposal['value']!r}")
        return proposal["value"]

    # -- what the JavaScript draws, in Python -----------------------------------------------

    def _output_shape(self) -> tuple[int, int]:
        rows, cols = np.shape(self.x)
        return (rows - self.kernel) // self.stride + 1, (cols - self.kernel) // self.stride + 1

    def _windows(self):
        k, s = self.kernel, self.stride
        out_h, out_w = self._output_shape()
        for i in range(out_h):
            for j in range(out_w):
                yield i, j, (slice(i * s, i * s + k), slice(j * s, j * s + k))

    def pooled(self) -> np.ndarray:
        """The output grid `y`."""
        x = np.asarray(self.x, dtype=np.float64)
        reduce = np.max if self.mode == "max" else np.mean
        y = np.empty(self._output_shape())
        for i, j, win in self._windows():
            y[i, j] = reduce(x[win])
        return y

    def routed_gradient(self) -> np.ndarray:
        """`dx` for `dy = 1` at every output: the third grid."""
        x = np.asarray(self.x, dtype=np.float64)
        dx = np.zeros_like(x)
        for _, _, (rows, cols) in self._windows():
            if self.mode == "max":
                a, b = np.unravel_index(np.argmax(x[rows, cols]), x[rows, cols].shape)  # first maximum
                dx[rows.start + a, cols.start + b] += 1
            else:
                dx[rows, cols] += 1 / self.kernel ** 2
        return dx
