"""Shared pieces of the numerical tests: hypothesis settings, NumPy -> torch, the book's relative error."""

import numpy as np
import torch
from hypothesis import settings
from hypothesis import strategies as st

from cnnbook.numeric import REL_ERROR_OK, rel_error

SETTINGS = settings(max_examples=30, deadline=None)
seeds = st.integers(0, 2**32 - 1)


def T(a, grad=False):
    """A float64 torch tensor holding a copy of `a` (the oracle side of a comparison)."""
    return torch.from_numpy(np.array(a, dtype=np.float64)).requires_grad_(grad)


def assert_gradient_close(analytic, numeric, rtol=REL_ERROR_OK, atol=1e-8):
    """A float64 gradient check: relative error below `rtol`, except where every entry is below
    what central differences resolve (then the largest absolute difference must be below `atol`)."""
    analytic, numeric = np.asarray(analytic, dtype=np.float64), np.asarray(numeric, dtype=np.float64)
    assert analytic.shape == numeric.shape, f"shapes differ: {analytic.shape} vs {numeric.shape}"
    error = rel_error(analytic, numeric)
    largest = float(np.max(np.abs(analytic - numeric), initial=0.0))
    assert error < rtol or largest < atol, f"relative error {error:.3g}, largest difference {largest:.3g}"
