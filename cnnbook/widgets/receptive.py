"""Receptive-field explorer: which inputs feed one unit of a stack of 1D convolution layers.

`ReceptiveFieldExplorer()` is an anywidget whose JavaScript (`receptive.js`) draws the stack as rows
of units (input at the bottom), with sliders for the number of layers, the kernel size and the
stride and a choice of dilations (none, 2, or doubling 1, 2, 4, ...). Clicking a unit lights up its
cone of inputs and prints the size of its receptive field with the formula's terms.
`field_size()` gives the same number in Python.
"""

from __future__ import annotations

import anywidget
import traitlets

from cnnbook.widgets import esm

DILATIONS = ("1", "2", "doubling")


class ReceptiveFieldExplorer(anywidget.AnyWidget):
    """`layers` layers of `kernel` taps, each with stride `stride`; `dilation` one of `DILATIONS`."""

    _esm = esm("receptive.js")
    layers = traitlets.Int(3).tag(sync=True)
    kernel = traitlets.Int(3).tag(sync=True)
    stride = traitlets.Int(1).tag(sync=True)
    dilation = traitlets.Unicode("1").tag(sync=True)
    layer = traitlets.Int(-1).tag(sync=True)  # the chosen unit; -1: the middle unit of the top layer
    unit = traitlets.Int(-1).tag(sync=True)

    def __init__(self, layers: int = 3, kernel: int = 3, stride: int = 1, dilation: str = "1", **kwargs):
        if not 1 <= layers <= 6:
            raise ValueError(f"layers must be between 1 and 6, got {layers}")
        if not 1 <= kernel <= 7:
            raise ValueError(f"kernel must be between 1 and 7, got {kernel}")
        if not 1 <= stride <= 3:
            raise ValueError(f"stride must be between 1 and 3, got {stride}")
        dilation = str(dilation)
        if dilation not in DILATIONS:
            raise ValueError(f"dilation must be one of {DILATIONS}, got {dilation!r}")
        super().__init__(layers=layers, kernel=kernel, stride=stride, dilation=dilation, **kwargs)

    def dilations(self) -> list[int]:
        if self.dilation == "doubling":
            return [2 ** l for l in range(self.layers)]
        return [int(self.dilation)] * self.layers

    def field_size(self) -> int:
        """Receptive field of a top-layer unit: `1 + sum_l d_l (k - 1) s^l`."""
        field, jump = 1, 1
        for d in self.dilations():
            field += d * (self.kernel - 1) * jump
            jump *= self.stride
        return field
