"""Hidden tests of chapter 04_conv2d: pad2d, corr2d, conv_output_size.

The visible tests use tiny square examples; these probe what they do not: every rank for pad2d,
non-square inputs and kernels, (h, w) pairs, each padding string, strides and dilations together,
a kernel exactly as large as the padded input, and the bad arguments the contract names.
"""

from __future__ import annotations

import numpy as np

from autograder.spec import Case, Spec

# Writing the operation is the exercise: no library convolution.
HAND_MADE = ("convolution", "scipy", "torch")


def pad2d_cases(rng: np.random.Generator) -> list[Case]:
    x2 = np.arange(1.0, 7.0).reshape(2, 3)
    return [
        Case((x2, 1), label="visible example, 2x3 padded by 1"),
        Case((x2, 0), label="padding 0 returns an equal (new) array"),
        Case((rng.standard_normal((3, 5)), (2, 1)), label="(h, w) pair"),
        Case((rng.standard_normal((4, 2)), (0, 3)), label="pad only the columns"),
        Case((rng.standard_normal(7).reshape(1, 7), 2), label="a single row"),
        Case((rng.standard_normal((3, 4, 5)), 1), label="rank 3: only the last two axes are padded"),
        Case((rng.standard_normal((2, 3, 4, 5)), (1, 2)), label="rank 4 batch with a pair"),
        Case((rng.integers(-5, 5, size=(3, 3)), 1), label="integer input"),
        Case((rng.standard_normal((2, 2)), -1), label="negative padding is an error", error="A negative padding"),
        Case((rng.standard_normal((2, 2)), (1, -2)), label="a negative entry in the pair is an error",
             error="A negative padding"),
    ]


def corr2d_cases(rng: np.random.Generator) -> list[Case]:
    x33 = np.arange(9.0).reshape(3, 3)
    w22 = np.array([[0.0, 1.0], [2.0, 3.0]])

    def r(*shape):
        return rng.standard_normal(shape)

    return [
        Case((x33, w22), label="visible example"),
        Case((r(5, 7), r(2, 3)), label="non-square input and kernel"),
        Case((r(6, 6), r(3, 3)), {"padding": 1}, label="padding 1 keeps 6x6"),
        Case((r(5, 6), r(3, 2)), {"padding": (2, 0)}, label="(h, w) padding pair"),
        Case((r(5, 6), r(3, 3)), {"padding": "valid"}, label="'valid'"),
        Case((r(5, 6), r(4, 2)), {"padding": "same"}, label="'same' with an even kernel (asymmetric)"),
        Case((r(5, 6), r(3, 4)), {"padding": "full"}, label="'full'"),
        Case((r(9, 8), r(3, 3)), {"stride": 2}, label="stride 2"),
        Case((r(10, 9), r(2, 3)), {"stride": (3, 2)}, label="stride pair, sizes not divisible"),
        Case((r(9, 9), r(3, 3)), {"stride": 2, "padding": 1}, label="stride with padding"),
        Case((r(9, 10), r(3, 3)), {"dilation": 2}, label="dilation 2"),
        Case((r(9, 10), r(2, 3)), {"dilation": (3, 1)}, label="dilation pair"),
        Case((r(8, 8), r(3, 3)), {"dilation": 2, "padding": "same"}, label="'same' with dilation"),
        Case((r(11, 12), r(3, 2)), {"stride": 2, "padding": 2, "dilation": 2}, label="all three together"),
        Case((r(4, 5), r(4, 5)), label="kernel as large as the input -> 1x1"),
        Case((r(3, 3), r(5, 5)), {"padding": 1}, label="kernel exactly as large as the padded input"),
        Case((r(1, 6), r(1, 3)), label="a 1-row image"),
        Case((rng.integers(0, 9, size=(4, 4)), np.ones((2, 2), dtype=int)), label="integer inputs"),
        Case((r(3, 3), r(4, 2)), label="kernel taller than the input is an error",
             error="a kernel larger than the padded input"),
        Case((r(5, 5), r(3, 3)), {"stride": 0}, label="stride 0 is an error",
             error="a non-positive stride or dilation"),
        Case((r(5, 5), r(3, 3)), {"padding": -1}, label="negative padding is an error", error="a negative padding"),
        Case((r(5, 5), r(3, 3)), {"padding": "wide"}, label="unknown padding string is an error",
             error="an unknown padding string"),
        Case((r(5, 5), r(3, 3)), {"dilation": 3}, label="dilated kernel larger than the input is an error",
             error="a kernel larger than the padded input"),
    ]


def conv_output_size_cases(rng: np.random.Generator) -> list[Case]:
    n, k = int(rng.integers(20, 300)), int(rng.integers(1, 12))
    return [
        Case((227, 11), {"stride": 4}, label="AlexNet conv1"),
        Case((32, 5), label="LeNet conv1"),
        Case((5, 3), label="valid"),
        Case((5, 3), {"padding": 1}, label="padding 1"),
        Case((7, 3), {"stride": 2}, label="stride 2"),
        Case((8, 3), {"stride": 3, "padding": 1}, label="floor: the last window does not fit exactly"),
        Case((224, 11), {"stride": 4}, label="224 with AlexNet's kernel (floor)"),
        Case((10, 3), {"dilation": 2}, label="dilation 2"),
        Case((10, 3), {"stride": 2, "padding": 2, "dilation": 3}, label="all together"),
        Case((1, 1), label="1x1 kernel on one pixel"),
        Case((6, 6), label="kernel as large as the input"),
        Case((4, 6), {"padding": 1}, label="kernel as large as the padded input"),
        Case((9, 4), {"padding": "same"}, label="'same' with an even kernel"),
        Case((9, 3), {"padding": "full"}, label="'full'"),
        Case((9, 3), {"padding": "valid", "stride": 2}, label="'valid' with stride"),
        Case((n, k), {"stride": int(rng.integers(1, 5)), "padding": int(rng.integers(0, 4)),
                      "dilation": int(rng.integers(1, 3))}, label="a random layer"),
        Case((4, 6), label="kernel larger than the input is an error", error="A window larger than the padded input"),
        Case((8, 3), {"stride": 0}, label="stride 0 is an error", error="a non-positive size, stride or dilation"),
        Case((8, 3), {"stride": -2}, label="negative stride is an error",
             error="a non-positive size, stride or dilation"),
        Case((8, 3), {"padding": -1}, label="negative padding is an error", error="a negative padding"),
        Case((8, 0), label="kernel size 0 is an error", error="a non-positive size, stride or dilation"),
        Case((5, 3), {"dilation": 3}, label="dilated kernel larger than the input is an error",
             error="A window larger than the padded input"),
    ]


SPECS = [
    Spec("pad2d", "04_conv2d", cases=pad2d_cases, forbidden=("torch", "scipy")),
    Spec("corr2d", "04_conv2d", cases=corr2d_cases, forbidden=HAND_MADE),
    Spec("conv_output_size", "04_conv2d", cases=conv_output_size_cases, forbidden=("torch",)),
]
