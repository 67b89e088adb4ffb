"""Hidden tests of chapter 06_pooling: max, average and L2 pooling forward, max and average backward.

The visible tests use the chapter's 4x4 example. These add batches with several channels, windows
that overlap (stride < kernel, gradients add up), leave gaps (stride > kernel) or do not tile the
input (the floor), non-square kernels and strides, inputs that are all negative (a maximum must
not start at 0), ties (the whole gradient goes to the first maximum in row-major order), upstream
gradients that are not all ones, and bad arguments.
"""

from __future__ import annotations

import numpy as np

from autograder.spec import Case, Spec

EXAMPLE_4X4 = np.array([[1.0, 4.0, 2.0, 1.0], [5.0, 8.0, 3.0, 4.0], [7.0, 6.0, 4.0, 5.0], [1.0, 3.0, 1.0, 2.0]])
HAND_MADE = ("pooling", "torch", "scipy", "skimage")
NO_FIT = "the window does not fit in the input"
NOT_POSITIVE = "a size is not positive"
DY_SHAPE = "when dy does not have the output's shape"


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _geometries(rng):
    """(x, kernel_size, stride, label): the shapes every pooling function is checked on."""
    def r(*shape):
        return rng.standard_normal(shape)

    return [
        (EXAMPLE_4X4[None, None], 2, None, "the 4x4 example, 2x2 stride 2"),
        (EXAMPLE_4X4[None, None], 2, 1, "the 4x4 example, stride 1 (overlapping)"),
        (r(2, 3, 6, 6), 2, None, "batch of 2 with 3 channels"),
        (r(1, 2, 7, 8), 3, None, "stride = kernel = 3 does not tile 7x8 (floor)"),
        (r(2, 1, 7, 7), 3, 2, "overlapping windows, 3x3 stride 2"),
        (r(1, 2, 8, 7), 2, 3, "stride larger than the kernel (gaps)"),
        (r(1, 1, 6, 9), (2, 3), (1, 2), "non-square kernel and stride"),
        (r(1, 2, 5, 6), (5, 6), None, "one window covering the whole input"),
        (r(2, 2, 3, 4), 1, None, "1x1 windows: the identity"),
        (-np.abs(r(1, 2, 6, 6)) - 1.0, 2, None, "all entries negative"),
        (rng.integers(0, 3, size=(2, 2, 6, 6)).astype(float), 3, 1, "many ties, overlapping windows"),
        (np.zeros((1, 1, 4, 4)), 2, 1, "all zeros: ties everywhere"),
    ]


def _bad_arguments(rng):
    x = rng.standard_normal((1, 1, 4, 4))
    return [
        (x, 5, None, "kernel larger than the input is an error", NO_FIT),
        (x, (2, 5), None, "kernel wider than the input is an error", NO_FIT),
        (x, 2, 0, "stride 0 is an error", NOT_POSITIVE),
        (x, 0, None, "kernel size 0 is an error", NOT_POSITIVE),
    ]


def forward_cases(rng: np.random.Generator) -> list[Case]:
    return [Case((x, k), {"stride": s}, label=label) for x, k, s, label in _geometries(rng)] + \
        [Case((x, k), {"stride": s}, label=label, error=error) for x, k, s, label, error in _bad_arguments(rng)]


def backward_cases(rng: np.random.Generator) -> list[Case]:
    found = []
    for x, k, s, label in _geometries(rng):
        (kh, kw), (sh, sw) = _pair(k), _pair(k if s is None else s)
        out = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
        found.append(Case((np.ones(x.shape[:2] + out), x, k), {"stride": s}, label=label + ", dy = 1"))
        found.append(Case((rng.standard_normal(x.shape[:2] + out), x, k), {"stride": s},
                          label=label + ", random dy"))
    x = rng.standard_normal((1, 1, 4, 4))
    found.append(Case((np.ones((1, 1, 3, 3)), x, 2), {"stride": None}, label="dy of the wrong shape is an error",
                      error=DY_SHAPE))
    found += [Case((np.ones((1, 1, 1, 1)), x, k), {"stride": s}, label=label, error=error)
              for x, k, s, label, error in _bad_arguments(rng)]
    return found


SPECS = [
    Spec("maxpool2d_forward", "06_pooling", cases=forward_cases, forbidden=HAND_MADE),
    Spec("maxpool2d_backward", "06_pooling", cases=backward_cases, forbidden=HAND_MADE),
    Spec("avgpool2d_forward", "06_pooling", cases=forward_cases, forbidden=HAND_MADE),
    Spec("avgpool2d_backward", "06_pooling", cases=backward_cases, forbidden=HAND_MADE),
    Spec("l2pool2d_forward", "06_pooling", cases=forward_cases, forbidden=HAND_MADE),
]
