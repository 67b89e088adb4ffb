"""Hidden tests of chapter 02_parameter_sharing: the banded (shared, local) weight matrix,
receptive fields of a stack of layers, and the parameter count of a convolutional layer.

The visible tests of the notebook come first in every list; the rest probe what they do not:
kernels as long as the input, strides and dilations mixed along a stack, bad arguments.
"""

from __future__ import annotations

import numpy as np

from autograder.spec import Case, Spec

CHAPTER = "02_parameter_sharing"
BY_HAND = ("convolution", "torch", "scipy")


def sharing_matrix_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case((np.array([1.0, 2.0, 3.0]), 5), label="visible: a 3-tap kernel on 5 inputs"),
        Case((rng.normal(size=5), 12), label="5 taps, 12 inputs"),
        Case((rng.normal(size=4), 4), label="kernel as long as the input: one row"),
        Case((rng.normal(size=1), 6), label="one tap: a scaled identity"),
        Case((np.array([1.0, -1.0]), 7), label="a difference kernel"),
        Case((rng.normal(size=7), 30), label="7 taps, 30 inputs"),
        Case((rng.normal(size=6), 4), label="kernel longer than the input", error="A kernel longer than the input"),
    ]


def receptive_field_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case(([3],), label="visible: one 3-tap layer"),
        Case(([3, 3],), label="visible: two 3-tap layers"),
        Case(([3, 3, 3, 3],), label="four 3-tap layers"),
        Case(([5, 3, 1],), label="mixed kernel sizes, with a 1x1"),
        Case(([3, 3, 3],), {"strides": [2, 2, 2]}, label="stride 2 everywhere"),
        Case(([3, 2, 3],), {"strides": [1, 2, 1]}, label="a stride in the middle"),
        Case(([7, 3],), {"strides": [4, 1]}, label="a big first stride"),
        Case(([3, 3, 3, 3],), {"dilations": [1, 2, 4, 8]}, label="dilations doubling"),
        Case(([3, 3],), {"strides": [2, 1], "dilations": [1, 2]}, label="stride and dilation together"),
        Case(([3, 3, 3],), {"strides": [2, 2, 2], "dilations": [1, 1, 1]}, label="explicit unit dilations"),
        Case(([1],), label="a single 1-tap layer"),
        Case((list(rng.integers(1, 8, size=5)),), {"strides": list(rng.integers(1, 4, size=5)),
                                                   "dilations": list(rng.integers(1, 4, size=5))},
             label="a random stack of five layers"),
        Case(([3, 3],), {"strides": [1]}, label="two kernels but one stride", error="Lists of different lengths"),
        Case(([3, 0],), label="a zero kernel size", error="sizes that are not positive"),
    ]


def conv_param_count_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case((5, 1, 20), label="visible: twenty 5x5 filters on one channel"),
        Case((5, 1, 20), {"bias": False}, label="visible: the same without bias"),
        Case((3, 3, 64), label="3x3, RGB in, 64 out"),
        Case(((3, 5), 2, 4), label="a non-square (3, 5) kernel"),
        Case((1, 256, 64), label="a 1x1 convolution"),
        Case((11, 3, 96), {"bias": True}, label="AlexNet's first layer"),
        Case((3, 128, 128), {"bias": False}, label="3x3, 128 -> 128, no bias"),
        Case((tuple(int(k) for k in rng.integers(1, 12, size=2)), int(rng.integers(1, 300)), int(rng.integers(1, 300))),
             label="a random layer"),
        Case((0, 1, 20), label="a zero kernel size", error="Sizes that are not positive integers"),
        Case((3, 1, -2), label="a negative number of output channels", error="Sizes that are not positive integers"),
    ]


SPECS = [
    Spec("sharing_matrix", CHAPTER, cases=sharing_matrix_cases, forbidden=BY_HAND),
    Spec("receptive_field", CHAPTER, cases=receptive_field_cases, forbidden=BY_HAND),
    Spec("conv_param_count", CHAPTER, cases=conv_param_count_cases, forbidden=BY_HAND),
]
