"""Chapters 1-3 of the NumPy reference: dense layers, parameter sharing, 1D convolution.

Properties against `torch.nn.functional` (float64, CPU) on hypothesis-drawn shapes; the data
inside a drawn shape comes from a seeded NumPy generator.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st

from solutions.conv1d import conv1d, corr1d, shift
from solutions.mlp import (
    cross_entropy,
    dense_forward,
    dense_param_count,
    flatten_images,
    permute_pixels,
    softmax,
)
from solutions.sharing import conv_param_count, receptive_field, sharing_matrix
from tests.numeric import SETTINGS, T, seeds

# -- chapter 1 ------------------------------------------------------------------------------

@SETTINGS
@given(st.lists(st.integers(1, 4), min_size=2, max_size=4), seeds)
def test_flatten_images_is_row_major(shape, seed):
    X = np.random.default_rng(seed).standard_normal(shape)
    flat = flatten_images(X)
    assert flat.shape == (shape[0], int(np.prod(shape[1:])))
    np.testing.assert_array_equal(flat, torch.flatten(T(X), 1).numpy())


@SETTINGS
@given(st.integers(1, 5), st.integers(1, 6), st.integers(1, 6), seeds)
def test_dense_forward_equals_linear(n, d, m, seed):
    rng = np.random.default_rng(seed)
    x, W, b = rng.standard_normal((n, d)), rng.standard_normal((m, d)), rng.standard_normal(m)
    np.testing.assert_allclose(dense_forward(x, W, b), F.linear(T(x), T(W), T(b)).numpy(), rtol=1e-12)


@SETTINGS
@given(st.integers(1, 5), st.integers(1, 7), st.floats(1e-3, 1e4), seeds)
def test_softmax_and_cross_entropy_equal_torch_even_for_huge_logits(n, k, scale, seed):
    rng = np.random.default_rng(seed)
    z = scale * rng.standard_normal((n, k))
    labels = rng.integers(0, k, n)
    p = softmax(z)
    assert np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(p, F.softmax(T(z), dim=-1).numpy(), rtol=1e-10, atol=1e-15)
    loss = cross_entropy(z, labels)
    assert np.isfinite(loss)
    assert loss == pytest.approx(F.cross_entropy(T(z), torch.from_numpy(labels)).item(), rel=1e-10)


def test_softmax_and_cross_entropy_at_1e4():
    z = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4]])
    np.testing.assert_allclose(softmax(z), [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]])
    assert cross_entropy(z, np.array([2, 0])) == pytest.approx((2e4 + np.log(3)) / 2)


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.integers(1, 5), seeds)
def test_permuted_pixels_are_invisible_to_a_dense_layer(n, h, w, m, seed):
    """The chapter's point: permute the pixels and the weights alike and nothing changes."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 1, h, w))
    W, b = rng.standard_normal((m, h * w)), rng.standard_normal(m)
    perm = rng.permutation(h * w)
    Xp = permute_pixels(X, perm)
    assert Xp.shape == X.shape
    np.testing.assert_array_equal(flatten_images(Xp), flatten_images(X)[:, perm])
    np.testing.assert_allclose(dense_forward(flatten_images(Xp), W[:, perm], b),
                               dense_forward(flatten_images(X), W, b), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(permute_pixels(Xp, np.argsort(perm)), X)


def test_dense_param_count():
    assert dense_param_count(784, 100) == 78500
    assert dense_param_count(784, 100, bias=False) == 78400
    assert dense_param_count(3, 2) == sum(p.numel() for p in torch.nn.Linear(3, 2).parameters())


# -- chapter 2 ------------------------------------------------------------------------------

@SETTINGS
@given(st.integers(1, 5), st.integers(0, 6), seeds)
def test_sharing_matrix_times_x_is_corr1d(k, extra, seed):
    rng = np.random.default_rng(seed)
    w, x = rng.standard_normal(k), rng.standard_normal(k + extra)
    M = sharing_matrix(w, k + extra)
    assert M.shape == (extra + 1, k + extra)
    np.testing.assert_allclose(M @ x, corr1d(x, w), rtol=1e-12, atol=1e-12)
    assert np.count_nonzero(M) <= (extra + 1) * k  # local: K weights per row


def test_receptive_field_and_param_count_examples_of_the_contract():
    assert receptive_field([3]) == 3
    assert receptive_field([3, 3]) == 5
    assert receptive_field([3, 3, 3]) == 7
    assert receptive_field([2, 2], strides=[2, 2]) == 4
    assert receptive_field([3], dilations=[2]) == 5
    assert conv_param_count(5, 1, 20) == 520
    assert conv_param_count((3, 5), 2, 4, bias=False) == 120
    conv = torch.nn.Conv2d(3, 8, (3, 5))
    assert conv_param_count((3, 5), 3, 8) == sum(p.numel() for p in conv.parameters())


layers = st.lists(st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 3)), min_size=1, max_size=4)


@SETTINGS
@given(layers)
def test_receptive_field_is_the_support_of_one_output_unit(stack):
    """Backpropagate from unit 0 of the last layer of a stack of all-ones kernels: the input
    pixels that receive a gradient are exactly its receptive field."""
    kernels, strides, dilations = (list(v) for v in zip(*stack, strict=True))
    r = receptive_field(kernels, strides, dilations)
    x = torch.zeros(1, 1, r + 40, dtype=torch.float64, requires_grad=True)
    y = x
    for k, s, d in stack:
        y = F.conv1d(y, torch.ones(1, 1, k, dtype=torch.float64), stride=s, dilation=d)
    (g,) = torch.autograd.grad(y[0, 0, 0], x)
    touched = torch.nonzero(g[0, 0]).flatten()
    assert touched.max().item() - touched.min().item() + 1 == r


# -- chapter 3 ------------------------------------------------------------------------------

pad1d = st.one_of(st.integers(0, 3), st.sampled_from(["valid", "same", "full"]))


def torch_padding_1d(padding, k):
    """(left, right) by the contract's rule, written out independently of solutions._validate."""
    if padding == "valid":
        return 0, 0
    if padding == "same":
        return (k - 1) // 2, (k - 1) - (k - 1) // 2
    if padding == "full":
        return k - 1, k - 1
    return padding, padding


@SETTINGS
@given(st.integers(1, 5), st.integers(1, 9), pad1d, st.integers(1, 3), seeds)
def test_corr1d_and_conv1d_equal_torch(k, n, padding, stride, seed):
    left, right = torch_padding_1d(padding, k)
    assume(n + left + right >= k)
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(n), rng.standard_normal(k)
    xt = F.pad(T(x)[None, None], (left, right))
    expected = F.conv1d(xt, T(w)[None, None], stride=stride)[0, 0].numpy()
    np.testing.assert_allclose(corr1d(x, w, padding, stride), expected, rtol=1e-12, atol=1e-12)
    flipped = F.conv1d(xt, T(w[::-1].copy())[None, None], stride=stride)[0, 0].numpy()
    np.testing.assert_allclose(conv1d(x, w, padding, stride), flipped, rtol=1e-12, atol=1e-12)


@SETTINGS
@given(st.integers(1, 6), st.integers(1, 8), seeds)
def test_conv1d_full_is_np_convolve(k, n, seed):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(n), rng.standard_normal(k)
    np.testing.assert_allclose(conv1d(x, w, "full"), np.convolve(x, w, "full"), rtol=1e-12, atol=1e-12)


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 8), st.integers(0, 4), seeds)
def test_correlation_is_shift_equivariant(k, n, s, seed):
    """Shifting the input shifts the output (while nothing falls off the ends)."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.standard_normal(n), np.zeros(s)])
    w = rng.standard_normal(k)
    np.testing.assert_allclose(corr1d(shift(x, s), w, "full"), shift(corr1d(x, w, "full"), s),
                               rtol=1e-12, atol=1e-12)


@SETTINGS
@given(st.integers(1, 8), st.integers(-10, 10), seeds)
def test_shift_moves_entries_and_shifts_in_zeros(n, s, seed):
    x = np.random.default_rng(seed).standard_normal(n)
    y = shift(x, s)
    expected = np.zeros(n)
    for i in range(n):
        if 0 <= i - s < n:
            expected[i] = x[i - s]
    np.testing.assert_array_equal(y, expected)
