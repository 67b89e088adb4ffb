"""Hidden tests of chapter 05_toeplitz_backprop: conv_matrix, im2col, corr2d_backward, numerical_gradient.

Beyond the visible 3x3 examples: non-square inputs and kernels, 1x1 kernels and kernels as large as
the input, batches with several channels, every stride / padding / dilation option of im2col, a
gradient `dy` that is not all ones (so a missing 180-degree rotation shows), and, for the numerical
gradient, functions whose value depends on the shape of `x`, a large step that tells central from
forward differences, and the check that `x` is left exactly as it was.
"""

from __future__ import annotations

import numpy as np

from autograder.spec import Case, Spec

# The exercise is to write these operations with NumPy: no library convolution, unfold or autograd.
HAND_MADE = ("convolution", "scipy", "torch")


def conv_matrix_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case((np.array([[1.0, 2.0], [3.0, 4.0]]), (3, 3)), label="visible example"),
        Case((rng.standard_normal((3, 2)), (4, 5)), label="non-square kernel and input"),
        Case((rng.standard_normal((2, 3)), (6, 3)), label="kernel as wide as the input"),
        Case((rng.standard_normal((1, 1)), (2, 3)), label="1x1 kernel: a scaled identity"),
        Case((rng.standard_normal((3, 4)), (3, 4)), label="kernel as large as the input: one row"),
        Case((rng.standard_normal((1, 3)), (1, 7)), label="one row: the 1D banded matrix"),
        Case((rng.standard_normal((3, 3)), [5, 4]), label="input_shape as a list"),
        Case((rng.standard_normal((3, 2)), (2, 5)), label="kernel taller than the input is an error",
             error="if the kernel does not fit"),
    ]


def im2col_cases(rng: np.random.Generator) -> list[Case]:

    def r(*shape):
        return rng.standard_normal(shape)

    return [
        Case((np.arange(9.0).reshape(1, 1, 3, 3), 2), label="visible example"),
        Case((r(2, 3, 5, 5), 3), {"stride": 2, "padding": 1},
             label="the shapes of the visible shape check, random values"),
        Case((r(2, 3, 5, 6), (2, 3)), label="batch, channels, non-square kernel"),
        Case((r(1, 2, 7, 6), 3), {"stride": (2, 1)}, label="stride pair"),
        Case((r(1, 2, 7, 8), 3), {"stride": 3}, label="stride that does not divide"),
        Case((r(2, 1, 4, 5), (3, 2)), {"padding": (1, 2)}, label="padding pair"),
        Case((r(1, 2, 9, 9), 3), {"dilation": 2}, label="dilation 2"),
        Case((r(1, 2, 9, 8), (2, 3)), {"dilation": (3, 2)}, label="dilation pair"),
        Case((r(2, 2, 8, 9), 3), {"stride": 2, "padding": 2, "dilation": 2}, label="all together"),
        Case((r(1, 3, 4, 4), 1), label="1x1 kernel: columns are the pixels"),
        Case((r(3, 2, 4, 5), (4, 5)), label="kernel as large as the input: one column"),
        Case((r(1, 1, 3, 3), 4), label="kernel larger than the input is an error",
             error="a kernel larger than the padded input"),
        Case((r(1, 1, 5, 5), 3), {"stride": 0}, label="stride 0 is an error", error="a non-positive stride"),
        Case((r(1, 1, 5, 5), 3), {"padding": -1}, label="negative padding is an error", error="a negative padding"),
    ]


def corr2d_backward_cases(rng: np.random.Generator) -> list[Case]:

    def r(*shape):
        return rng.standard_normal(shape)

    x33, w22 = np.arange(9.0).reshape(3, 3), np.array([[1.0, 2.0], [3.0, 4.0]])
    return [
        Case((np.ones((2, 2)), x33, w22), label="visible example"),
        Case((r(2, 2), x33, w22), label="random dy (a missing kernel rotation shows)"),
        Case((r(3, 3), r(5, 6), r(3, 4)), label="non-square x and w"),
        Case((r(4, 2), r(6, 6), r(3, 5)), label="wide kernel"),
        Case((r(1, 1), r(4, 5), r(4, 5)), label="kernel as large as x: dy is 1x1"),
        Case((r(4, 5), r(4, 5), r(1, 1)), label="1x1 kernel"),
        Case((r(1, 5), r(1, 7), r(1, 3)), label="a single row"),
        Case((r(7, 6), r(9, 9), r(3, 4)), label="larger"),
        Case((r(3, 3), r(5, 5), r(2, 2)), label="dy of the wrong shape is an error",
             error="when dy does not have the output's shape"),
    ]


# Smooth scalar functions for numerical_gradient. Cases name them (plain data can cross into
# the grader's sandbox; functions are looked up here on both sides).
def _sum_of_squares(x):
    return np.sum(x ** 2)


def _weighted_sines(x):
    weights = np.arange(1.0, x.size + 1).reshape(x.shape)  # a different slope for every entry
    return np.sum(weights * np.sin(x))


def _cumulative_energy(x):
    # depends on the layout of x: flattening it before calling f changes the answer
    return np.sum(np.cumsum(x, axis=-1) ** 2) + np.sin(np.sum(x[..., 0]))


def _cubic(x):
    return np.sum(x ** 3) / 3 + np.prod(np.cos(x))


SMOOTH = {f.__name__.strip("_"): f for f in (_sum_of_squares, _weighted_sines, _cumulative_energy, _cubic)}


def numerical_gradient_call(fn, case: Case):
    """`fn(f, x, **rest)` with `f` looked up by the name in the case's `f` keyword."""
    kwargs = dict(case.kwargs)
    f = SMOOTH[kwargs.pop("f")]
    return fn(f, *case.args, **kwargs)


def numerical_gradient_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case((np.array([1.0, -2.0, 3.0]),), {"f": "sum_of_squares"}, label="visible example"),
        Case((rng.standard_normal(5),), {"f": "weighted_sines"}, label="1D"),
        Case((rng.standard_normal((3, 4)),), {"f": "weighted_sines"}, label="2D: every entry its own slope"),
        Case((rng.standard_normal((2, 3, 4)),), {"f": "cumulative_energy"},
             label="3D, f depends on the shape of x (do not flatten x before calling f)"),
        Case((rng.standard_normal((4, 3)),), {"f": "cubic"}, label="coupled entries"),
        Case((np.array([0.3]),), {"f": "cubic"}, label="a single entry"),
        Case((rng.standard_normal((2, 3)),), {"f": "cubic", "eps": 1e-2},
             label="eps=1e-2: central differences, not forward"),
        Case((rng.standard_normal(4) * 1e3,), {"f": "weighted_sines", "eps": 1e-4},
             label="large entries: x must come back exactly as it was"),
        Case((rng.standard_normal(3),), {"f": "sum_of_squares", "eps": 0.0}, label="eps=0 is an error",
             error="unless eps > 0"),
    ]


SPECS = [
    Spec("conv_matrix", "05_toeplitz_backprop", cases=conv_matrix_cases, forbidden=HAND_MADE),
    Spec("im2col", "05_toeplitz_backprop", cases=im2col_cases, forbidden=HAND_MADE),
    Spec("corr2d_backward", "05_toeplitz_backprop", cases=corr2d_backward_cases, forbidden=HAND_MADE),
    Spec("numerical_gradient", "05_toeplitz_backprop", cases=numerical_gradient_cases,
         call=numerical_gradient_call, rtol=1e-6, atol=1e-7, forbidden=("torch",)),
]
