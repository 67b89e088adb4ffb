"""Chapters 4, 5, 7 and 8 of the NumPy reference, forward passes: every 2D layer equals
`torch.nn.functional` (float64, CPU) on hypothesis-drawn geometries (non-square inputs, kernels,
strides, paddings and dilations, groups), plus the algebraic identities the chapters teach.

Padding strings are applied to the torch oracle as explicit `F.pad` amounts computed here by the
contract's rule, so the test does not share the reference's padding code.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from solutions.channels import conv2d_forward
from solutions.conv1d import corr1d
from solutions.conv2d import conv_output_size, corr2d, pad2d
from solutions.naive import conv2d_forward_naive, corr1d_naive, corr2d_naive
from solutions.toeplitz import col2im, conv_matrix, im2col
from solutions.variants import (
    conv2d,
    conv_transpose2d,
    conv_transpose_output_size,
    depthwise_conv2d,
    dilate_kernel,
    separable_conv2d,
    separate_kernel,
)
from tests.numeric import SETTINGS, T, seeds

TOL = dict(rtol=1e-10, atol=1e-10)


def amounts(padding, k, d):
    """(before, after) along one axis, by the contract's rule."""
    total = d * (k - 1)
    return {"valid": (0, 0), "same": (total // 2, total - total // 2), "full": (total, total)}.get(
        padding, (padding, padding))


@st.composite
def geometries(draw, groups=True, dilation=True, strings=True):
    """A valid conv layer: shapes, stride, padding, dilation, groups, and explicit pad amounts."""
    g = draw(st.integers(1, 3)) if groups else 1
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1)
    choices = [st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2))]
    if strings:
        choices.append(st.sampled_from(["valid", "same", "full"]))
    padding = draw(st.one_of(*choices))
    per_axis = padding if isinstance(padding, tuple) else (padding, padding)
    pads = (amounts(per_axis[0], kh, dil[0]), amounts(per_axis[1], kw, dil[1]))
    min_h = max(1, dil[0] * (kh - 1) + 1 - sum(pads[0]))
    min_w = max(1, dil[1] * (kw - 1) + 1 - sum(pads[1]))
    return dict(
        n=draw(st.integers(1, 2)), c=g * draw(st.integers(1, 2)), f=g * draw(st.integers(1, 2)), groups=g,
        h=draw(st.integers(min_h, min_h + 6)), w=draw(st.integers(min_w, min_w + 6)), kernel=(kh, kw),
        stride=stride, dilation=dil, padding=padding, pads=pads, seed=draw(seeds),
    )


def torch_conv(x, w, b, geo):
    (top, bottom), (left, right) = geo["pads"]
    xp = F.pad(T(x), (left, right, top, bottom))
    bias = None if b is None else T(b)
    return F.conv2d(xp, T(w), bias, stride=geo["stride"], dilation=geo["dilation"],
                    groups=geo["groups"]).numpy()


def draw_arrays(geo, bias=True):
    rng = np.random.default_rng(geo["seed"])
    x = rng.standard_normal((geo["n"], geo["c"], geo["h"], geo["w"]))
    w = rng.standard_normal((geo["f"], geo["c"] // geo["groups"]) + geo["kernel"])
    b = rng.standard_normal(geo["f"]) if bias else None
    return x, w, b


# -- chapter 4 ------------------------------------------------------------------------------

@SETTINGS
@given(st.lists(st.integers(1, 3), min_size=2, max_size=4),
       st.one_of(st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2)),
                 st.tuples(st.tuples(st.integers(0, 2), st.integers(0, 2)),
                           st.tuples(st.integers(0, 2), st.integers(0, 2)))), seeds)
def test_pad2d_pads_the_last_two_axes_with_zeros(shape, padding, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    if isinstance(padding, int):
        rows = cols = (padding, padding)
    elif isinstance(padding[0], int):
        rows, cols = (padding[0],) * 2, (padding[1],) * 2
    else:
        rows, cols = padding
    expected = np.pad(x, [(0, 0)] * (x.ndim - 2) + [rows, cols])
    np.testing.assert_array_equal(pad2d(x, padding), expected)


@SETTINGS
@given(geometries(groups=False))
def test_corr2d_equals_torch(geo):
    x, w, _ = draw_arrays(geo, bias=False)
    x, w = x[0, 0], w[0, 0]
    expected = torch_conv(x[None, None], w[None, None], None, geo)[0, 0]
    got = corr2d(x, w, stride=geo["stride"], padding=geo["padding"], dilation=geo["dilation"])
    np.testing.assert_allclose(got, expected, **TOL)


@SETTINGS
@given(geometries(groups=False))
def test_conv_output_size_is_the_length_torch_produces(geo):
    x, w, _ = draw_arrays(geo, bias=False)
    _, _, out_h, out_w = torch_conv(x, w, None, geo).shape
    for n, k, s, d, padding, out in [(geo["h"], geo["kernel"][0], geo["stride"][0], geo["dilation"][0],
                                      geo["padding"], out_h),
                                     (geo["w"], geo["kernel"][1], geo["stride"][1], geo["dilation"][1],
                                      geo["padding"], out_w)]:
        if isinstance(padding, tuple):
            continue  # the formula takes one padding per axis; pairs are covered by the other axis
        assert conv_output_size(n, k, s, padding, d) == out


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_padding_strings_follow_pytorch_for_stride_one():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 2, 7, 6)), rng.standard_normal((3, 2, 4, 3))
    for mode in ("valid", "same"):
        expected = F.conv2d(T(x), T(w), padding=mode, dilation=(1, 2)).numpy()
        np.testing.assert_allclose(conv2d(x, w, padding=mode, dilation=(1, 2)), expected, **TOL)


# -- chapter 5 ------------------------------------------------------------------------------

@SETTINGS
@given(st.integers(1, 4), st.integers(1, 4), st.integers(0, 4), st.integers(0, 4), seeds)
def test_conv_matrix_times_x_is_corr2d(kh, kw, extra_h, extra_w, seed):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((kh + extra_h, kw + extra_w)), rng.standard_normal((kh, kw))
    Tm = conv_matrix(w, x.shape)
    assert Tm.shape == ((extra_h + 1) * (extra_w + 1), x.size)
    np.testing.assert_allclose(Tm @ x.ravel(), corr2d(x, w).ravel(), **TOL)


@SETTINGS
@given(geometries(groups=False, strings=False))
def test_im2col_is_unfold_and_col2im_is_fold_its_adjoint(geo):
    x, _, _ = draw_arrays(geo, bias=False)
    args = dict(stride=geo["stride"], padding=geo["padding"], dilation=geo["dilation"])
    cols = im2col(x, geo["kernel"], **args)
    np.testing.assert_allclose(cols, F.unfold(T(x), geo["kernel"], **args).numpy(), **TOL)
    c = np.random.default_rng(geo["seed"] + 1).standard_normal(cols.shape)
    back = col2im(c, x.shape, geo["kernel"], **args)
    np.testing.assert_allclose(back, F.fold(T(c), x.shape[2:], geo["kernel"], **args).numpy(), **TOL)
    assert np.vdot(cols, c) == pytest.approx(np.vdot(x, back), rel=1e-10, abs=1e-10)


# -- chapter 7 ------------------------------------------------------------------------------

@SETTINGS
@given(geometries(groups=False, dilation=False), st.booleans())
def test_conv2d_forward_equals_torch(geo, with_bias):
    x, w, b = draw_arrays(geo, bias=with_bias)
    got = conv2d_forward(x, w, b, stride=geo["stride"], padding=geo["padding"])
    np.testing.assert_allclose(got, torch_conv(x, w, b, geo), **TOL)


@SETTINGS
@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), seeds)
def test_1x1_convolution_mixes_channels_per_pixel(c, f, h, w, seed):
    rng = np.random.default_rng(seed)
    x, k, b = rng.standard_normal((2, c, h, w)), rng.standard_normal((f, c, 1, 1)), rng.standard_normal(f)
    expected = np.einsum("fc,nchw->nfhw", k[:, :, 0, 0], x) + b[:, None, None]
    np.testing.assert_allclose(conv2d_forward(x, k, b), expected, **TOL)


# -- chapter 8 ------------------------------------------------------------------------------

@SETTINGS
@given(geometries(), st.booleans())
def test_conv2d_equals_torch(geo, with_bias):
    x, w, b = draw_arrays(geo, bias=with_bias)
    got = conv2d(x, w, b, stride=geo["stride"], padding=geo["padding"], dilation=geo["dilation"],
                 groups=geo["groups"])
    np.testing.assert_allclose(got, torch_conv(x, w, b, geo), **TOL)


@SETTINGS
@given(geometries(strings=False))
def test_conv_transpose2d_equals_torch_and_is_the_adjoint_of_conv2d(geo):
    x, w, _ = draw_arrays(geo, bias=False)
    args = dict(stride=geo["stride"], padding=geo["padding"], dilation=geo["dilation"], groups=geo["groups"])
    y = conv2d(x, w, **args)
    v = np.random.default_rng(geo["seed"] + 1).standard_normal(y.shape)
    # conv_transpose2d's weight is (C_in, C_out // groups, ...): a conv weight from C_out to C_in.
    try:
        expected = F.conv_transpose2d(T(v), T(w), **args).numpy()
    except RuntimeError:  # padding eats the whole output: both refuse
        with pytest.raises(ValueError, match="padding"):
            conv_transpose2d(v, w, **args)
        return
    u = conv_transpose2d(v, w, **args)
    np.testing.assert_allclose(u, expected, **TOL)
    if u.shape == x.shape:  # strides can leave the last rows of x unread, then shapes differ
        assert np.vdot(y, v) == pytest.approx(np.vdot(x, u), rel=1e-10, abs=1e-10)


@SETTINGS
@given(geometries(strings=False))
def test_conv_transpose2d_is_adjoint_on_its_own_output_size(geo):
    """<conv2d(u, w), v> == <u, conv_transpose2d(v, w)> for u of conv_transpose2d's output shape."""
    _, w, _ = draw_arrays(geo, bias=False)
    args = dict(stride=geo["stride"], padding=geo["padding"], dilation=geo["dilation"], groups=geo["groups"])
    rng = np.random.default_rng(geo["seed"])
    v = rng.standard_normal((geo["n"], geo["f"], 1 + geo["h"] % 4, 1 + geo["w"] % 4))
    try:
        u_shape = conv_transpose2d(v, w, **args).shape
    except ValueError:
        return  # padding larger than the output: rejected, as torch does
    u = rng.standard_normal(u_shape)
    assert np.vdot(conv2d(u, w, **args), v) == pytest.approx(np.vdot(u, conv_transpose2d(v, w, **args)),
                                                             rel=1e-10, abs=1e-10)


@SETTINGS
@given(st.integers(1, 6), st.integers(1, 4), st.integers(1, 3), st.integers(0, 3), st.integers(0, 2),
       st.integers(1, 3))
def test_conv_transpose_output_size_is_the_size_torch_produces(n, k, s, p, extra, d):
    """The length along the first spatial axis; torch refuses exactly where the reference raises."""
    x, w = torch.zeros(1, 1, n, 2), torch.zeros(1, 1, k, 1)
    try:
        expected = F.conv_transpose2d(x, w, stride=(s, 1), padding=(p, 0), output_padding=(extra, 0),
                                      dilation=(d, 1)).shape[2]
    except RuntimeError:  # output_padding not below the stride or the dilation, or no output left
        with pytest.raises(ValueError):
            conv_transpose_output_size(n, k, s, p, extra, d)
        return
    assert conv_transpose_output_size(n, k, s, p, extra, d) == expected
    assert conv_transpose2d(np.zeros((1, 1, n, 1)), np.zeros((1, 1, k, 1)), (s, 1), (p, 0), (d, 1),
                            output_padding=(extra, 0)).shape[2] == expected


@SETTINGS
@given(st.integers(1, 8), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2), st.integers(1, 3), st.data())
def test_a_convolution_maps_the_transposed_output_size_back_to_n(n, k, s, p, d, data):
    """Read backwards: for every output_padding below the stride, conv_output_size undoes it."""
    extra = data.draw(st.integers(0, s - 1))
    try:
        m = conv_transpose_output_size(n, k, s, p, extra, d)
    except ValueError:
        return  # the padding leaves nothing
    assert conv_output_size(m, k, s, p, d) == n


@SETTINGS
@given(geometries(groups=False, strings=False))
def test_dilated_kernel_then_plain_conv_is_dilated_conv(geo):
    x, w, b = draw_arrays(geo)
    d = geo["dilation"]
    wd = dilate_kernel(w, d)
    assert wd.shape[2:] == (d[0] * (w.shape[2] - 1) + 1, d[1] * (w.shape[3] - 1) + 1)
    np.testing.assert_array_equal(wd[:, :, ::d[0], ::d[1]], w)
    assert np.count_nonzero(wd) == np.count_nonzero(w)
    np.testing.assert_allclose(conv2d(x, wd, b, stride=geo["stride"], padding=geo["padding"]),
                               conv2d(x, w, b, stride=geo["stride"], padding=geo["padding"], dilation=d),
                               **TOL)


@SETTINGS
@given(geometries(groups=False, dilation=False), st.integers(1, 3))
def test_depthwise_and_separable_equal_torch(geo, f):
    x, _, _ = draw_arrays(geo)
    rng = np.random.default_rng(geo["seed"] + 1)
    c = x.shape[1]
    w_depth, w_point = rng.standard_normal((c, 1) + geo["kernel"]), rng.standard_normal((f, c, 1, 1))
    depth = depthwise_conv2d(x, w_depth, stride=geo["stride"], padding=geo["padding"])
    expected = torch_conv(x, w_depth, None, dict(geo, groups=c))
    np.testing.assert_allclose(depth, expected, **TOL)
    sep = separable_conv2d(x, w_depth, w_point, stride=geo["stride"], padding=geo["padding"])
    np.testing.assert_allclose(sep, F.conv2d(T(expected), T(w_point)).numpy(), **TOL)


@SETTINGS
@given(st.integers(1, 5), st.integers(1, 5), seeds)
def test_separate_kernel_round_trips_a_rank_one_kernel(kh, kw, seed):
    rng = np.random.default_rng(seed)
    k = np.outer(rng.standard_normal(kh), rng.standard_normal(kw))
    col, row = separate_kernel(k)
    assert col.shape == (kh,) and row.shape == (kw,)
    np.testing.assert_allclose(np.outer(col, row), k, rtol=1e-10, atol=1e-12)
    # separable in space: a column filter then a row filter is the 2D filter
    x = rng.standard_normal((kh + 3, kw + 2))
    np.testing.assert_allclose(corr2d(corr2d(x, col[:, None]), row[None, :]), corr2d(x, k), **TOL)


@SETTINGS
@given(st.integers(2, 5), st.integers(2, 5), seeds)
def test_separate_kernel_rejects_a_rank_two_kernel(kh, kw, seed):
    rng = np.random.default_rng(seed)
    k = np.outer(rng.standard_normal(kh), rng.standard_normal(kw))
    k[0, 0] += 1.0 + abs(k[0, 0])  # a rank-1 matrix plus a rank-1 bump at one corner: rank 2
    with pytest.raises(ValueError, match="not separable"):
        separate_kernel(k)


# -- the naive loop versions compute the same thing -------------------------------------------

@settings(max_examples=15, deadline=None)
@given(geometries(groups=False, dilation=False))
def test_naive_versions_equal_the_vectorised_ones(geo):
    x, w, b = draw_arrays(geo)
    args = dict(stride=geo["stride"], padding=geo["padding"])
    np.testing.assert_allclose(conv2d_forward_naive(x, w, b, **args), conv2d_forward(x, w, b, **args), **TOL)
    np.testing.assert_allclose(corr2d_naive(x[0, 0], w[0, 0], **args), corr2d(x[0, 0], w[0, 0], **args), **TOL)
    s, p = geo["stride"][1], geo["padding"] if not isinstance(geo["padding"], tuple) else geo["padding"][1]
    np.testing.assert_allclose(corr1d_naive(x[0, 0, 0], w[0, 0, 0], p, s), corr1d(x[0, 0, 0], w[0, 0, 0], p, s),
                               **TOL)
