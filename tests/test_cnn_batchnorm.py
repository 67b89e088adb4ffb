"""Batch normalisation (solutions.batchnorm): the forward pass equals PyTorch's training-mode
batch_norm on hypothesis-drawn shapes, the backward pass equals float64 central differences and
autograd, and bad shapes raise a ValueError that names the problem."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from solutions import batchnorm2d_backward, batchnorm2d_forward, numerical_gradient
from tests.numeric import SETTINGS, T, assert_gradient_close, rel_error, seeds


@st.composite
def batches(draw):
    """x (N, C, H, W) with at least two values per channel, gamma, beta, dy, and an eps."""
    n, c, h, w = (draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    if n * h * w < 2:
        n = 2
    rng = np.random.default_rng(draw(seeds))
    shift, scale = rng.normal(0, 5, size=(1, c, 1, 1)), rng.uniform(0.1, 10, size=(1, c, 1, 1))
    x = shift + scale * rng.standard_normal((n, c, h, w))
    gamma, beta = rng.normal(size=c), rng.normal(size=c)
    eps = draw(st.sampled_from([1e-5, 1e-3, 0.5]))
    return x, gamma, beta, rng.standard_normal(x.shape), eps


@SETTINGS
@given(batches())
def test_forward_equals_pytorchs_training_mode_batch_norm(problem):
    x, gamma, beta, _, eps = problem
    before = x.copy()
    expected = F.batch_norm(T(x), None, None, T(gamma), T(beta), training=True, eps=eps).numpy()
    got = batchnorm2d_forward(x, gamma, beta, eps=eps)
    assert got.dtype == np.float64 and got.shape == x.shape
    assert rel_error(got, expected) < 1e-12
    assert np.array_equal(x, before)


@SETTINGS
@given(batches())
def test_forward_standardises_each_channel(problem):
    x, _, _, _, _ = problem
    c = x.shape[1]
    y = batchnorm2d_forward(x, np.ones(c), np.zeros(c), eps=1e-12)
    m = y.shape[0] * y.shape[2] * y.shape[3]
    assert np.allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-9)
    assert np.allclose(y.var(axis=(0, 2, 3)), 1, atol=1e-6 * m)


@SETTINGS
@given(batches())
def test_backward_equals_central_differences_in_float64(problem):
    x, gamma, beta, dy, eps = problem
    dx, dgamma, dbeta = batchnorm2d_backward(dy, x, gamma, eps=eps)

    def loss(x_, gamma_, beta_):
        return float((batchnorm2d_forward(x_, gamma_, beta_, eps=eps) * dy).sum())

    assert_gradient_close(dx, numerical_gradient(lambda v: loss(v, gamma, beta), x))
    assert_gradient_close(dgamma, numerical_gradient(lambda v: loss(x, v, beta), gamma))
    assert_gradient_close(dbeta, numerical_gradient(lambda v: loss(x, gamma, v), beta))


@SETTINGS
@given(batches())
def test_backward_equals_autograd(problem):
    x, gamma, beta, dy, eps = problem
    xt, gt, bt = T(x, grad=True), T(gamma, grad=True), T(beta, grad=True)
    F.batch_norm(xt, None, None, gt, bt, training=True, eps=eps).backward(T(dy))
    before = (dy.copy(), x.copy(), gamma.copy())
    for got, expected in zip(batchnorm2d_backward(dy, x, gamma, eps=eps), (xt.grad, gt.grad, bt.grad)):
        assert got.dtype == np.float64
        # with m = 2 values a channel, dx cancels to ~1e-8 and keeps only a few digits: hence atol
        assert_gradient_close(got, expected.numpy(), rtol=1e-10, atol=1e-14)
    assert all(np.array_equal(a, b) for a, b in zip(before, (dy, x, gamma)))


def test_input_gradient_sums_to_zero_in_each_channel():
    """Adding a constant to a channel changes nothing after standardising, so dx has zero mean."""
    rng = np.random.default_rng(0)
    x, dy = rng.standard_normal((3, 2, 4, 4)), rng.standard_normal((3, 2, 4, 4))
    dx, _, _ = batchnorm2d_backward(dy, x, np.array([2.0, -1.0]))
    assert np.allclose(dx.sum(axis=(0, 2, 3)), 0, atol=1e-12)


def test_a_constant_channel_becomes_beta():
    x = np.stack([np.full((2, 3, 3), 7.0), np.arange(18.0).reshape(2, 3, 3)], axis=1)
    y = batchnorm2d_forward(x, np.array([3.0, 1.0]), np.array([0.5, 0.0]))
    assert np.allclose(y[:, 0], 0.5)


def test_forward_on_one_value_per_position_of_a_batch_of_two():
    """H = W = 1 is a dense layer's batch norm: the mean of two values, the variance of two values."""
    x = np.array([1.0, 3.0]).reshape(2, 1, 1, 1)  # mean 2, variance 1
    y = batchnorm2d_forward(x, np.ones(1), np.zeros(1), eps=1e-12)
    assert np.allclose(y.ravel(), [-1.0, 1.0])


@pytest.mark.parametrize("args, word", [
    ((np.ones((2, 3, 4)), np.ones(3), np.ones(3)), "(N, C, H, W)"),
    ((np.ones((2, 3, 4, 4)), np.ones(2), np.ones(3)), "gamma"),
    ((np.ones((2, 3, 4, 4)), np.ones((3, 1)), np.ones(3)), "gamma"),
    ((np.ones((2, 3, 4, 4)), np.ones(3), np.ones(4)), "beta"),
    ((np.ones((1, 3, 1, 1)), np.ones(3), np.ones(3)), "more than one value per channel"),
])
def test_forward_rejects_bad_shapes(args, word):
    with pytest.raises(ValueError, match=word.replace("(", r"\(").replace(")", r"\)")):
        batchnorm2d_forward(*args)


@pytest.mark.parametrize("eps", [0.0, -1e-5])
def test_eps_must_be_positive(eps):
    x = np.random.default_rng(0).standard_normal((2, 1, 2, 2))
    with pytest.raises(ValueError, match="eps"):
        batchnorm2d_forward(x, np.ones(1), np.zeros(1), eps=eps)
    with pytest.raises(ValueError, match="eps"):
        batchnorm2d_backward(x, x, np.ones(1), eps=eps)


@pytest.mark.parametrize("dy, x, gamma, word", [
    (np.ones((2, 3, 4, 4)), np.ones((2, 3, 4, 5)), np.ones(3), "dy"),
    (np.ones((2, 3, 4)), np.ones((2, 3, 4)), np.ones(3), "(N, C, H, W)"),
    (np.ones((2, 3, 4, 4)), np.ones((2, 3, 4, 4)), np.ones(4), "gamma"),
    (np.ones((1, 3, 1, 1)), np.ones((1, 3, 1, 1)), np.ones(3), "more than one value per channel"),
])
def test_backward_rejects_bad_shapes(dy, x, gamma, word):
    with pytest.raises(ValueError, match=word.replace("(", r"\(").replace(")", r"\)")):
        batchnorm2d_backward(dy, x, gamma)


def test_pytorch_refuses_one_value_per_channel_too():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(torch.ones(1, 3, 1, 1), None, None, training=True)
