"""The weight matrix of a sequence-to-sequence layer, from dense to shared to banded.

`BandedMatrix()` is an anywidget whose JavaScript (`banded.js`) draws the matrix `W` of `y = W x`
under three assumptions: none (dense, `D*D` parameters), the same function at every position
(shared: `W[i, j] = v[j - i]`, `2D - 1` parameters), and shared plus local (banded: `K` parameters,
the valid cross-correlation). Choosing an output row lights up the weights it uses and the inputs
they multiply. `parameter_count()` and `symbols()` say in Python what the JavaScript draws.
"""

from __future__ import annotations

import anywidget
import traitlets

from cnnbook.widgets import esm

MODES = ("dense", "shared", "banded")
MAX_D = 12


class BandedMatrix(anywidget.AnyWidget):
    """`y = W x` for `D` inputs; `mode` is one of `MODES`; `K` taps in the banded mode."""

    _esm = esm("banded.js")
    mode = traitlets.Unicode("banded").tag(sync=True)
    D = traitlets.Int(8).tag(sync=True)
    K = traitlets.Int(3).tag(sync=True)
    row = traitlets.Int(0).tag(sync=True)

    def __init__(self, mode: str = "banded", D: int = 8, K: int = 3, row: int = 0, **kwargs):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if not 3 <= D <= MAX_D:
            raise ValueError(f"D must be between 3 and {MAX_D} to be drawn, got {D}")
        if not 1 <= K <= D:
            raise ValueError(f"K must be between 1 and D = {D}, got {K}")
        super().__init__(mode=mode, D=D, K=K, row=row, **kwargs)

    def parameter_count(self) -> int:
        return {"dense": self.D * self.D, "shared": 2 * self.D - 1, "banded": self.K}[self.mode]

    def symbols(self) -> list[list[str | None]]:
        """The name drawn in each cell (`None` for a structural zero), row by row."""
        rows = self.D - self.K + 1 if self.mode == "banded" else self.D
        names = {
            "dense": lambda i, j: f"w{i},{j}",
            "shared": lambda i, j: f"v{j - i}",
            "banded": lambda i, j: f"w{j - i}" if 0 <= j - i < self.K else None,
        }[self.mode]
        return [[names(i, j) for j in range(self.D)] for i in range(rows)]
