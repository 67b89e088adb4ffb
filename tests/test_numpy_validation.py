"""The NumPy reference's shared rules: bad arguments raise ValueError naming the problem, inputs
are never modified, results are new float64 arrays, and the docstring examples hold."""

import doctest
import importlib

import numpy as np
import pytest

from solutions.channels import conv2d_backward, conv2d_forward
from solutions.conv1d import conv1d, corr1d, shift
from solutions.conv2d import conv_output_size, corr2d, pad2d
from solutions.mlp import (
    cross_entropy,
    dense_forward,
    dense_param_count,
    flatten_images,
    permute_pixels,
    softmax,
)
from solutions.naive import conv2d_forward_naive, corr1d_naive, corr2d_naive
from solutions.pooling import (
    avgpool2d_backward,
    avgpool2d_forward,
    l2pool2d_forward,
    maxpool2d_backward,
    maxpool2d_forward,
)
from solutions.sharing import conv_param_count, receptive_field, sharing_matrix
from solutions.toeplitz import col2im, conv_matrix, corr2d_backward, im2col, numerical_gradient
from solutions.variants import (
    conv2d,
    conv_transpose2d,
    conv_transpose_output_size,
    depthwise_conv2d,
    dilate_kernel,
    separable_conv2d,
    separate_kernel,
)

rng = np.random.default_rng(0)
x4 = rng.standard_normal((2, 3, 6, 5))
w4 = rng.standard_normal((4, 3, 3, 2))
b4 = rng.standard_normal(4)
img, ker = rng.standard_normal((5, 6)), rng.standard_normal((2, 3))
sig, k1 = rng.standard_normal(7), rng.standard_normal(3)

BAD_CALLS = [
    # (call, the words the message must contain)
    (lambda: corr2d(img, rng.standard_normal((6, 6))), "larger than the padded"),
    (lambda: corr2d(img, ker, stride=0), "stride must be positive"),
    (lambda: corr2d(img, ker, stride=(1, -2)), "stride must be positive"),
    (lambda: corr2d(img, ker, dilation=0), "dilation must be positive"),
    (lambda: corr2d(img, ker, padding=-1), "padding must be non-negative"),
    (lambda: corr2d(img, ker, padding="sam"), "padding must be"),
    (lambda: corr2d(img, ker, stride=1.5), "stride must be an int"),
    (lambda: corr2d(img, ker, stride=(1, 2, 3)), "stride must be an int or an (h, w) pair"),
    (lambda: corr2d(img, ker, dilation=3), "larger than the padded"),
    (lambda: corr2d(x4, ker), "x must have 2 dimensions"),
    (lambda: corr1d(sig, k1, stride=0), "stride must be positive"),
    (lambda: corr1d(sig, rng.standard_normal(9)), "larger than the padded"),
    (lambda: corr1d(sig, np.zeros(0)), "kernel size must be positive"),
    (lambda: conv1d(sig, k1, padding="half"), "padding must be"),
    (lambda: shift(sig, 1.5), "s must be an int"),
    (lambda: conv_output_size(3, 5), "larger than the padded"),
    (lambda: conv_output_size(5, 0), "kernel_size must be positive"),
    (lambda: conv_output_size(5, 3, stride=0), "stride must be positive"),
    (lambda: pad2d(img, -1), "padding must be non-negative"),
    (lambda: pad2d(img, "same"), "padding mode"),
    (lambda: pad2d(sig, 1), "at least 2 dimensions"),
    (lambda: conv2d(x4, rng.standard_normal((4, 2, 3, 3))), "channel mismatch"),
    (lambda: conv2d(x4, w4, groups=2), "groups=2 must divide the 3 input channels"),
    (lambda: conv2d(x4, rng.standard_normal((3, 1, 3, 3)), groups=3, stride=(0, 1)), "stride must be positive"),
    (lambda: conv2d(x4, rng.standard_normal((4, 1, 3, 3)), groups=3), "groups=3 must divide the 4 output"),
    (lambda: conv2d(x4, w4, groups=0), "groups must be positive"),
    (lambda: conv2d(x4[0], w4), "x must have 4 dimensions"),
    (lambda: conv2d(x4, w4[0]), "w must have 4 dimensions"),
    (lambda: conv2d(x4, w4, b4[:3]), "b must have shape (4,)"),
    (lambda: conv2d(x4, rng.standard_normal((4, 3, 7, 2))), "larger than the padded input height"),
    (lambda: conv2d_forward(x4, w4, b4, padding=-2), "padding must be non-negative"),
    (lambda: conv2d_backward(np.zeros((2, 4, 3, 3)), x4, w4), "dy must have shape (2, 4, 4, 4)"),
    (lambda: im2col(x4, 0), "kernel_size must be positive"),
    (lambda: im2col(x4, (7, 1)), "larger than the padded"),
    (lambda: col2im(np.zeros((2, 18, 5)), x4.shape, (3, 2)), "cols must have shape (2, 18, 16)"),
    (lambda: conv_matrix(ker, (1, 6)), "larger than the padded"),
    (lambda: corr2d_backward(np.zeros((2, 2)), img, ker), "dy must have shape (4, 4)"),
    (lambda: numerical_gradient(np.sum, img, eps=0), "eps must be positive"),
    (lambda: maxpool2d_forward(x4, 0), "kernel_size must be positive"),
    (lambda: maxpool2d_forward(x4, 2, stride=0), "stride must be positive"),
    (lambda: avgpool2d_forward(x4, 7), "larger than the padded input height"),
    (lambda: l2pool2d_forward(img, 2), "x must have 4 dimensions"),
    (lambda: maxpool2d_backward(np.zeros((2, 3, 2, 2)), x4), "dy must have shape (2, 3, 3, 2)"),
    (lambda: avgpool2d_backward(np.zeros((2, 3, 3)), x4), "dy must have 4 dimensions"),
    (lambda: conv_transpose2d(x4, w4), "channel mismatch"),
    (lambda: conv_transpose2d(x4, rng.standard_normal((3, 2, 1, 1)), groups=2),
     "groups=2 must divide the 3 input channels"),
    (lambda: conv_transpose2d(x4[:, :, :1, :1], rng.standard_normal((3, 2, 1, 1)), padding=1), "too large"),
    (lambda: conv_transpose2d(x4, rng.standard_normal((3, 2, 1, 1)), padding="same"), "padding"),
    (lambda: conv_transpose2d(x4, rng.standard_normal((3, 2, 1, 1)), stride=2, output_padding=2),
     "output_padding (2) must be smaller than the stride (2) or the dilation (1)"),
    (lambda: conv_transpose_output_size(5, 3, stride=2, output_padding=2),
     "output_padding (2) must be smaller than the stride (2) or the dilation (1)"),
    (lambda: conv_transpose_output_size(5, 3, output_padding=1), "output_padding (1) must be smaller"),
    (lambda: conv_transpose_output_size(5, 3, output_padding=-1), "output_padding must be non-negative"),
    (lambda: conv_transpose_output_size(0, 3), "n must be positive"),
    (lambda: conv_transpose_output_size(5, 0), "kernel_size must be positive"),
    (lambda: conv_transpose_output_size(5, 3, stride=0), "stride must be positive"),
    (lambda: conv_transpose_output_size(5, 3, dilation=-1), "dilation must be positive"),
    (lambda: conv_transpose_output_size(5, 3, padding=-1), "padding must be non-negative"),
    (lambda: conv_transpose_output_size(5, 3, padding="same"), "padding must be an int"),
    (lambda: conv_transpose_output_size(2.5, 3), "n must be an int"),
    (lambda: conv_transpose_output_size(1, 1, padding=1), "padding 1 is too large"),
    (lambda: conv_transpose_output_size(2, 3, padding=2), "padding 2 is too large"),
    (lambda: depthwise_conv2d(x4, w4), "depthwise w must have shape (3, 1, KH, KW)"),
    (lambda: separable_conv2d(x4, rng.standard_normal((3, 1, 2, 2)), w4), "w_point must be a 1x1 kernel"),
    (lambda: separate_kernel(np.eye(3)), "not separable"),
    (lambda: separate_kernel(w4), "k must have 2 dimensions"),
    (lambda: dilate_kernel(ker, 0), "dilation must be positive"),
    (lambda: dense_forward(img, ker, np.zeros(2)), "W has 3 inputs per unit but x has 6 features"),
    (lambda: dense_forward(img, rng.standard_normal((2, 6)), np.zeros(3)), "b has 3 entries"),
    (lambda: cross_entropy(img, np.array([0, 1, 2, 3, 6])), "labels must lie in 0..5"),
    (lambda: cross_entropy(img, np.array([0, 1, 2, 3, -1])), "labels must lie in 0..5"),
    (lambda: cross_entropy(img, np.array([0, 1])), "labels must have shape (5,)"),
    (lambda: permute_pixels(x4, np.arange(89)), "perm must be a permutation of 0..89"),
    (lambda: permute_pixels(x4, np.zeros(90, dtype=int)), "perm must be a permutation"),
    (lambda: dense_param_count(0, 3), "must be positive"),
    (lambda: sharing_matrix(k1, 2), "larger than the input"),
    (lambda: receptive_field([3, 3], strides=[1]), "one stride and one dilation per layer"),
    (lambda: receptive_field([0]), "kernel size must be positive"),
    (lambda: conv_param_count(0, 1, 1), "kernel_size must be positive"),
    (lambda: conv2d_forward_naive(x4, w4[:, :2], b4), "channel mismatch"),
    (lambda: corr2d_naive(img, ker, stride=0), "stride must be positive"),
    (lambda: corr1d_naive(sig, k1, padding=-1), "padding must be non-negative"),
]


@pytest.mark.parametrize("call, words", BAD_CALLS, ids=[w for _, w in BAD_CALLS])
def test_bad_arguments_raise_value_error_naming_the_problem(call, words):
    with pytest.raises(ValueError) as info:
        call()
    assert words in str(info.value)


def frozen(a):
    """A read-only copy: writing into it raises, so any in-place change is caught."""
    a = np.array(a, dtype=np.float64)
    a.flags.writeable = False
    return a


X, W, B = frozen(x4), frozen(w4), frozen(b4)
DY_CONV = frozen(rng.standard_normal((2, 4, 4, 4)))
DY_POOL = frozen(rng.standard_normal((2, 3, 5, 4)))
GOOD_CALLS = [
    lambda: flatten_images(X), lambda: softmax(frozen(img)),
    lambda: dense_forward(frozen(img), frozen(img), frozen(sig[:5])),
    lambda: cross_entropy(frozen(img), np.arange(5)), lambda: permute_pixels(X, np.arange(90)[::-1]),
    lambda: sharing_matrix(frozen(k1), 7), lambda: corr1d(frozen(sig), frozen(k1), "same", 2),
    lambda: conv1d(frozen(sig), frozen(k1), "full"), lambda: shift(frozen(sig), 2),
    lambda: pad2d(X, 1), lambda: corr2d(frozen(img), frozen(ker), 2, "same", 2),
    lambda: conv_matrix(frozen(ker), (5, 6)), lambda: im2col(X, 2, 1, 1, 2),
    lambda: col2im(frozen(im2col(x4, 2)), X.shape, 2),
    lambda: corr2d_backward(frozen(np.ones((4, 4))), frozen(img), frozen(ker)),
    lambda: numerical_gradient(lambda v: float(np.sum(v**2)), frozen(ker)),
    lambda: maxpool2d_forward(X, 2, 1), lambda: maxpool2d_backward(DY_POOL, X, 2, 1),
    lambda: avgpool2d_forward(X, 2, 1), lambda: avgpool2d_backward(DY_POOL, X, 2, 1),
    lambda: l2pool2d_forward(X, 2, 1), lambda: conv2d_forward(X, W, B),
    lambda: conv2d_backward(DY_CONV, X, W),
    lambda: conv2d(X, W, B, 2, "same", 2), lambda: conv_transpose2d(DY_CONV, W, 2, 1),
    lambda: dilate_kernel(W, 2), lambda: depthwise_conv2d(X, frozen(w4[:3, :1])),
    lambda: separable_conv2d(X, frozen(w4[:3, :1]), frozen(w4[:, :, :1, :1])),
    lambda: separate_kernel(frozen(np.outer(sig, k1))),
    lambda: corr1d_naive(frozen(sig), frozen(k1)), lambda: corr2d_naive(frozen(img), frozen(ker)),
    lambda: conv2d_forward_naive(X, W, B),
]


@pytest.mark.parametrize("call", GOOD_CALLS)
def test_inputs_are_never_modified_and_results_are_fresh_float64(call):
    result = call()
    for r in result if isinstance(result, tuple) else (result,):
        if isinstance(r, np.ndarray):
            assert r.dtype == np.float64 and r.flags.writeable
            assert not any(np.shares_memory(r, a) for a in (X, W, B, DY_CONV, DY_POOL))


def test_integer_inputs_are_computed_in_float64():
    x = np.arange(16).reshape(1, 1, 4, 4)
    assert maxpool2d_forward(x).dtype == np.float64
    assert avgpool2d_forward(x)[0, 0, 0, 0] == 2.5
    assert corr2d(np.arange(9).reshape(3, 3), np.ones((2, 2), dtype=int)).dtype == np.float64


@pytest.mark.parametrize("module", ["mlp", "sharing", "conv1d", "conv2d", "toeplitz", "pooling",
                                    "channels", "variants", "naive"])
def test_docstring_examples(module):
    mod = importlib.import_module(f"solutions.{module}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
