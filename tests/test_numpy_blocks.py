"""The NumPy layers work on a batch a few images at a time (`solutions._blocks`): whatever the
block size, and wherever the blocks end, the results equal PyTorch's on the whole batch."""

from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import solutions._blocks
from solutions._blocks import image_blocks
from solutions.channels import conv2d_general, conv2d_general_backward
from solutions.pooling import maxpool2d_backward, maxpool2d_forward
from solutions.variants import conv_transpose2d
from tests.numeric import SETTINGS, T, seeds

TOL = dict(rtol=1e-10, atol=1e-10)


@contextmanager
def block_budget(entries: int):
    """Blocks of at most `entries` doubles (at least one image), far below the default, so that
    a small batch splits."""
    saved, solutions._blocks.BLOCK_ENTRIES = solutions._blocks.BLOCK_ENTRIES, entries
    try:
        yield
    finally:
        solutions._blocks.BLOCK_ENTRIES = saved


# one image per block, uneven blocks, a few blocks
budgets = st.sampled_from([1, 700, 5000])


@given(st.integers(0, 40), st.integers(1, 5000), st.integers(1, 2**12))
def test_image_blocks_cover_the_batch_in_order_within_the_budget(n, per_image, budget):
    with block_budget(budget):
        blocks = image_blocks(n, per_image)
    assert [i for b in blocks for i in range(b.start, b.stop)] == list(range(n))
    assert all(b.stop > b.start for b in blocks)
    assert all(b.stop - b.start == 1 or (b.stop - b.start) * per_image <= budget for b in blocks)


@SETTINGS
@given(budgets, st.integers(1, 7), st.sampled_from([1, 2]), st.sampled_from([(1, 0), (2, 1), (1, "same")]), seeds)
def test_conv_forward_backward_and_transpose_split_into_blocks_equal_torch(budget, n, groups, geometry, seed):
    stride, padding = geometry
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((n, 2 * groups, 6, 7)), rng.standard_normal((2 * groups, 2, 3, 5))
    b = rng.standard_normal(w.shape[0])
    xt, wt, bt = T(x, True), T(w, True), T(b, True)
    yt = F.conv2d(xt, wt, bt, stride, padding, 1, groups)
    dy = rng.standard_normal(yt.shape)
    expected = torch.autograd.grad(yt, (xt, wt, bt), T(dy))
    with block_budget(budget):
        y = conv2d_general(x, w, b, stride, padding, 1, groups)
        grads = conv2d_general_backward(dy, x, w, stride, padding, 1, groups)
        transposed = conv_transpose2d(dy, w, stride, 1, 1, groups)
    np.testing.assert_allclose(y, yt.detach().numpy(), **TOL)
    for got, e in zip(grads, expected, strict=True):
        np.testing.assert_allclose(got, e.numpy(), **TOL)
    np.testing.assert_allclose(transposed, F.conv_transpose2d(T(dy), T(w), None, stride, 1, 0, groups).numpy(),
                               **TOL)


@SETTINGS
@given(budgets, st.integers(1, 7), st.sampled_from([(2, None), (3, 2), (3, 1)]), seeds)
def test_max_pool_split_into_blocks_equals_torch(budget, n, geometry, seed):
    kernel, stride = geometry
    rng = np.random.default_rng(seed)
    x = rng.integers(-1, 2, (n, 3, 7, 6)).astype(float)  # ties in most windows
    xt = T(x, True)
    yt = F.max_pool2d(xt, kernel, stride)
    dy = rng.standard_normal(yt.shape)
    (dxt,) = torch.autograd.grad(yt, xt, T(dy))
    with block_budget(budget):
        y, dx = maxpool2d_forward(x, kernel, stride), maxpool2d_backward(dy, x, kernel, stride)
    np.testing.assert_array_equal(y, yt.detach().numpy())
    np.testing.assert_allclose(dx, dxt.numpy(), **TOL)
