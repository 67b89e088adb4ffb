"""The book's one measure of "these two arrays agree": a relative error and its threshold.

Every chapter, test and gradient check uses `rel_error` and `REL_ERROR_OK`, so "agrees" means
the same thing on every page:

    rel_error(a, b) = ||a - b|| / (||a|| + ||b||)      (0 when both are zero)

It is symmetric, lies in [0, 1], and does not blow up where one array is near zero. Central
differences in float64 reach about 1e-9 on the book's layers; float32 about 1e-7. A wrong
gradient (a missing flip, a dropped term) lands far above 1e-2.
"""

from __future__ import annotations

import numpy as np

REL_ERROR_OK = 1e-6  # below this, two float64 results agree (gradient checks included)


def rel_error(a, b) -> float:
    """||a - b|| / (||a|| + ||b||), 0.0 when both vanish (arrays or tensors, any shape).

    >>> rel_error([1.0, 2.0], [1.0, 2.0])
    0.0
    >>> round(rel_error([1.0, 0.0], [0.0, 1.0]), 4)
    0.7071
    """
    a, b = _numpy(a), _numpy(b)
    scale = float(np.linalg.norm(a) + np.linalg.norm(b))
    return 0.0 if scale == 0.0 else float(np.linalg.norm(a - b)) / scale


def agrees(a, b, threshold: float = REL_ERROR_OK) -> bool:
    """Whether `a` and `b` agree by the book's measure."""
    return rel_error(a, b) < threshold


def _numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor on any device
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)
