"""Hidden tests of chapter 01_mlp_on_images: flattening, a dense layer, softmax, cross-entropy,
the pixel permutation and parameter counts.

The visible tests of the notebook come first in every list; the rest probe what they do not:
other ranks and sizes, a batch of one, logits far too large for a naive `exp`, bad shapes.
"""

from __future__ import annotations

import numpy as np

from autograder.spec import Case, Spec

CHAPTER = "01_mlp_on_images"
# Written by hand with NumPy: no framework that already has the operation.
BY_HAND = ("torch", "scipy", "sklearn")


def flatten_images_cases(rng: np.random.Generator) -> list[Case]:
    grid = np.arange(2 * 2 * 3, dtype=float).reshape(2, 2, 3)
    return [
        Case((grid,), label="visible: two 2x3 images"),
        Case((rng.random((5, 28, 28)),), label="a batch of MNIST-sized images"),
        Case((rng.random((1, 4, 7)),), label="a batch of one, non-square"),
        Case((rng.random((3, 2, 5, 4)),), label="(N, C, H, W): channels are flattened too, row-major"),
        Case((rng.random((4, 6)),), label="already flat"),
        Case((rng.random((6, 5, 3)).transpose(0, 2, 1),), label="a transposed (non-contiguous) view"),
        Case((rng.random((2, 1, 1)),), label="one-pixel images"),
    ]


def dense_forward_cases(rng: np.random.Generator) -> list[Case]:
    x = np.array([[1.0, 2.0, 3.0]])
    W = np.array([[1.0, 0.0, -1.0], [0.5, 0.5, 0.5]])
    b = np.array([10.0, -1.0])
    return [
        Case((x, W, b), label="visible: one input, two units"),
        Case((rng.normal(size=(7, 784)), rng.normal(size=(30, 784)), rng.normal(size=30)),
             label="a 784-30 layer on a batch of 7"),
        Case((rng.normal(size=(1, 1)), rng.normal(size=(1, 1)), rng.normal(size=1)), label="1 -> 1"),
        Case((rng.normal(size=(4, 5)), rng.normal(size=(9, 5)), np.zeros(9)), label="zero bias"),
        Case((rng.normal(size=(3, 2)), rng.normal(size=(4, 6)), np.zeros(4)),
             label="x has 2 features but W expects 6", error="Shapes that do not fit"),
        Case((rng.normal(size=(3, 6)), rng.normal(size=(4, 6)), np.zeros(5)),
             label="b has 5 entries for 4 units", error="Shapes that do not fit"),
    ]


def softmax_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case((np.array([[0.0, 0.0], [0.0, np.log(3.0)]]),), label="visible: two rows"),
        Case((np.array([[1e4, 0.0, -1e4]]),), label="visible: logits as large as 1e4"),
        Case((rng.normal(size=(6, 10)),), label="a batch of 6, 10 classes"),
        Case((rng.normal(size=10) * 50,), label="one vector (1D): softmax over its only axis"),
        Case((rng.normal(size=(2, 3, 4)),), label="3D: softmax over the last axis only"),
        Case((np.full((3, 5), -1e4),), label="all logits equal and very negative"),
        Case((np.array([[1e4, 1e4 - 1.0, -5.0], [-1e4, -1e4 + 2.0, -1e4]]),), label="large logits, close maxima"),
        Case((rng.normal(size=(4, 1)),), label="a single class: every probability is 1"),
    ]


def cross_entropy_cases(rng: np.random.Generator) -> list[Case]:
    logits = np.array([[0.0, 0.0], [0.0, np.log(3.0)]])
    big = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 0.0]])
    return [
        Case((logits, np.array([0, 1])), label="visible: two examples"),
        Case((big, np.array([2, 1])), label="visible: logits as large as 1e4"),
        Case((rng.normal(size=(16, 10)) * 3, rng.integers(0, 10, size=16)), label="a batch of 16, 10 classes"),
        Case((rng.normal(size=(1, 4)), np.array([3])), label="a batch of one"),
        Case((np.zeros((5, 7)), np.arange(5)), label="uniform prediction: loss log(7)"),
        Case((np.array([[-1e4, 1e4], [1e4, -1e4]]), np.array([1, 0])), label="confident and right: loss 0"),
        Case((rng.normal(size=(3, 4)), rng.integers(0, 4, size=5)), label="3 rows of logits but 5 labels",
             error="Labels that do not fit the logits"),
        Case((rng.normal(size=(3, 4)), np.array([0, 4, 1])), label="a label equal to K (out of range)",
             error="Labels that do not fit the logits"),
        Case((rng.normal(size=(3, 4)), np.array([0, -1, 1])), label="a negative label (indexing would wrap)",
             error="Labels that do not fit the logits"),
    ]


def permute_pixels_cases(rng: np.random.Generator) -> list[Case]:
    images = np.arange(2 * 2 * 2, dtype=float).reshape(2, 2, 2)
    return [
        Case((images, np.array([3, 2, 1, 0])), label="visible: reversing the pixels of 2x2 images"),
        Case((rng.random((5, 28, 28)), rng.permutation(784)), label="MNIST-sized images"),
        Case((rng.random((3, 12)), rng.permutation(12)), label="images already flat: (N, D)"),
        Case((rng.random((2, 3, 4, 5)), rng.permutation(60)), label="(N, C, H, W): all C*H*W values move"),
        Case((rng.random((4, 3, 3)), np.arange(9)), label="the identity permutation"),
        Case((rng.random((1, 5, 2)), rng.permutation(10)), label="a batch of one, non-square"),
        Case((rng.random((3, 2, 2)), np.array([0, 1, 2])), label="perm has 3 entries for 4 pixels",
             error="A perm that is not a permutation"),
        Case((rng.random((3, 2, 2)), np.array([0, 1, 1, 3])), label="perm repeats a pixel: not a permutation",
             error="A perm that is not a permutation"),
    ]


def dense_param_count_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case((784, 30), label="visible: the 784-30 layer"),
        Case((784, 30), {"bias": False}, label="visible: without bias"),
        Case((3 * 1000 * 1000, 20), label="a 1-megapixel colour image into 20 units"),
        Case((1, 1), label="1 -> 1"),
        Case((64, 10), {"bias": True}, label="64 -> 10"),
        Case((10, 64), {"bias": False}, label="10 -> 64 without bias"),
        Case((int(rng.integers(1, 5000)), int(rng.integers(1, 500))), label="a random layer"),
        Case((0, 5), label="zero inputs", error="Counts that are not positive integers"),
        Case((5, -1), label="a negative number of units", error="Counts that are not positive integers"),
    ]


SPECS = [
    Spec("flatten_images", CHAPTER, cases=flatten_images_cases, forbidden=BY_HAND),
    Spec("dense_forward", CHAPTER, cases=dense_forward_cases, forbidden=BY_HAND),
    Spec("softmax", CHAPTER, cases=softmax_cases, forbidden=BY_HAND),
    Spec("cross_entropy", CHAPTER, cases=cross_entropy_cases, forbidden=BY_HAND),
    Spec("permute_pixels", CHAPTER, cases=permute_pixels_cases, forbidden=BY_HAND),
    Spec("dense_param_count", CHAPTER, cases=dense_param_count_cases, forbidden=BY_HAND),
]
