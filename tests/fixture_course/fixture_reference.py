"""The reference answers of the fixture chapter (its `solutions`)."""

import numpy as np


def moving_sum(x, k):
    x = np.asarray(x, dtype=float)
    if k < 1 or k > len(x):
        raise ValueError("bad window length")
    return np.convolve(x, np.ones(k), "valid")


def scale(x, a):
    return a * np.asarray(x, dtype=float)


def count_params(n_in, n_out, bias=True):
    return n_in * n_out + (n_out if bias else 0)
