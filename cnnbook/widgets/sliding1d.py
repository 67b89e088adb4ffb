"""The 1D sliding window: which inputs feed which output of `corr1d`, and the flip of `conv1d`.

`SlidingWindow1D(x, w)` is an anywidget whose JavaScript (`sliding1d.js`) draws the padded input,
the kernel lying on the current window and the outputs, and computes every value itself, so it
stays live in the static book. The controls switch between cross-correlation and convolution
(the kernel lies reversed on the window), change the padding mode and the stride, and step or play
through the outputs. `values()` computes in Python what the JavaScript shows, for tests.
"""

from __future__ import annotations

import anywidget
import numpy as np
import traitlets

from cnnbook.widgets import esm

PADDING_MODES = ("valid", "same", "full")
MAX_LENGTH = 16  # boxes beyond this no longer fit a page


def _padding_amounts(padding: str, K: int) -> tuple[int, int]:
    total = K - 1
    if padding == "same":
        return total // 2, total - total // 2
    if padding == "full":
        return total, total
    return (int(padding), int(padding)) if padding.isdigit() else (0, 0)


class SlidingWindow1D(anywidget.AnyWidget):
    """corr1d / conv1d of a short signal `x` with a kernel `w`, one output at a time."""

    _esm = esm("sliding1d.js")
    x = traitlets.List(traitlets.Float()).tag(sync=True)
    w = traitlets.List(traitlets.Float()).tag(sync=True)
    padding = traitlets.Unicode("valid").tag(sync=True)
    stride = traitlets.Int(1).tag(sync=True)
    flip = traitlets.Bool(False).tag(sync=True)
    index = traitlets.Int(0).tag(sync=True)

    def __init__(self, x, w, padding="valid", stride: int = 1, flip: bool = False, **kwargs):
        x = [float(v) for v in np.asarray(x, dtype=float).ravel()]
        w = [float(v) for v in np.asarray(w, dtype=float).ravel()]
        if not 1 <= len(x) <= MAX_LENGTH:
            raise ValueError(f"x must hold 1 to {MAX_LENGTH} samples to be drawn, got {len(x)}")
        if not 1 <= len(w) <= len(x):
            raise ValueError(f"w must hold 1 to len(x) = {len(x)} taps, got {len(w)}")
        if isinstance(padding, int) and not isinstance(padding, bool) and padding >= 0:
            padding = str(padding)
        if padding not in PADDING_MODES and not str(padding).isdigit():
            raise ValueError(f"padding must be a non-negative int or one of {PADDING_MODES}, got {padding!r}")
        if isinstance(stride, bool) or not isinstance(stride, int) or stride <= 0:
            raise ValueError(f"stride must be a positive int, got {stride!r}")
        super().__init__(x=x, w=w, padding=padding, stride=stride, flip=bool(flip), **kwargs)

    def values(self) -> np.ndarray:
        """The outputs the widget shows, computed here: `sum_k taps[k] * xp[i*s + k]`."""
        taps = np.array(self.w[::-1] if self.flip else self.w)
        left, right = _padding_amounts(self.padding, len(taps))
        xp = np.concatenate([np.zeros(left), self.x, np.zeros(right)])
        n = (len(xp) - len(taps)) // self.stride + 1 if len(xp) >= len(taps) else 0
        return np.array([xp[i * self.stride: i * self.stride + len(taps)] @ taps for i in range(n)])
