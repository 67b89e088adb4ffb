"""Chapter 6 of the NumPy reference: max, average and L2 pooling and their gradients, against
`torch.nn.functional` (float64), with overlapping windows and non-square everything."""

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from solutions.pooling import (
    avgpool2d_backward,
    avgpool2d_forward,
    l2pool2d_forward,
    maxpool2d_backward,
    maxpool2d_forward,
)
from solutions.toeplitz import numerical_gradient
from tests.numeric import SETTINGS, T, assert_gradient_close

TOL = dict(rtol=1e-10, atol=1e-12)


@st.composite
def pools(draw):
    """Kernel (int or pair), stride (None, int or pair; overlapping windows allowed) and a shape."""
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = kh if kh == kw and draw(st.booleans()) else (kh, kw)
    stride = draw(st.one_of(st.none(), st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(kh, kh + 5)),
             draw(st.integers(kw, kw + 5)))
    return kernel, stride, shape, draw(st.integers(0, 2**32 - 1))


def distinct_values(shape, seed):
    """Values 0.1 apart at least: no ties, and no window changes its maximum within eps."""
    rng = np.random.default_rng(seed)
    return (rng.permutation(int(np.prod(shape))).reshape(shape) - 5.0) * 0.1


@SETTINGS
@given(pools(), st.booleans())
def test_pooling_forward_and_backward_equal_torch(case, integer_data):
    kernel, stride, shape, seed = case
    rng = np.random.default_rng(seed)
    # integer data makes ties within windows common: they must go where torch sends them
    x = rng.integers(-2, 3, shape).astype(float) if integer_data else rng.standard_normal(shape)
    for forward, backward, oracle in [(maxpool2d_forward, maxpool2d_backward, F.max_pool2d),
                                      (avgpool2d_forward, avgpool2d_backward, F.avg_pool2d)]:
        xt = T(x, grad=True)
        yt = oracle(xt, kernel, stride)
        y = forward(x, kernel, stride)
        np.testing.assert_allclose(y, yt.detach().numpy(), **TOL)
        dy = rng.standard_normal(y.shape)
        (dxt,) = torch.autograd.grad(yt, xt, T(dy))
        np.testing.assert_allclose(backward(dy, x, kernel, stride), dxt.numpy(), **TOL)
    np.testing.assert_allclose(l2pool2d_forward(x, kernel, stride),
                               F.lp_pool2d(T(x), 2, kernel, stride).numpy(), **TOL)


@SETTINGS
@given(pools())
def test_pooling_gradients_pass_a_finite_difference_check(case):
    kernel, stride, shape, seed = case
    x = distinct_values(shape, seed)
    dy = np.random.default_rng(seed + 1).standard_normal(maxpool2d_forward(x, kernel, stride).shape)
    for forward, backward in [(maxpool2d_forward, maxpool2d_backward), (avgpool2d_forward, avgpool2d_backward)]:
        numeric = numerical_gradient(lambda v, f=forward: np.sum(f(v, kernel, stride) * dy), x)
        assert_gradient_close(backward(dy, x, kernel, stride), numeric)


def test_max_pool_ties_go_to_the_first_maximum_in_row_major_order():
    x = np.zeros((1, 1, 4, 6))
    x[0, 0, 1, 1] = x[0, 0, 0, 1] = 5.0  # two maxima in the first window: (0, 1) comes first
    dy = np.arange(1.0, 7.0).reshape(1, 1, 2, 3)
    dx = maxpool2d_backward(dy, x)
    expected = np.zeros((4, 6))
    expected[0, 1] = 1.0
    expected[0::2, 0::2][0, 1:] = [2.0, 3.0]   # all-zero windows: the top-left pixel wins
    expected[2, 0::2] = [4.0, 5.0, 6.0]
    np.testing.assert_array_equal(dx[0, 0], expected)


def test_overlapping_windows_accumulate_gradients():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 1.0  # the centre is the maximum of all four 2x2 windows (stride 1)
    dx = maxpool2d_backward(np.ones((1, 1, 2, 2)), x, kernel_size=2, stride=1)
    assert dx[0, 0, 1, 1] == 4.0 and dx.sum() == 4.0
    davg = avgpool2d_backward(np.ones((1, 1, 2, 2)), x, kernel_size=2, stride=1)
    np.testing.assert_allclose(davg[0, 0], [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]])


def test_stride_none_means_kernel_size():
    x = np.random.default_rng(0).standard_normal((2, 3, 7, 8))
    for f in (maxpool2d_forward, avgpool2d_forward, l2pool2d_forward):
        np.testing.assert_array_equal(f(x, (3, 2)), f(x, (3, 2), (3, 2)))
    assert maxpool2d_forward(x, 3).shape == (2, 3, 2, 2)
