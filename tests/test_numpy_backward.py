"""Backward passes of the NumPy reference (chapters 5 and 7): every gradient passes a float64
central-difference check (relative error < 1e-6, using the reference's own `numerical_gradient`)
and equals torch's autograd."""

import numpy as np
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from solutions.channels import conv2d_backward, conv2d_forward, conv2d_general, conv2d_general_backward
from solutions.conv2d import corr2d
from solutions.toeplitz import corr2d_backward, numerical_gradient
from tests.numeric import SETTINGS, T, assert_gradient_close, seeds

TOL = dict(rtol=1e-10, atol=1e-10)


@st.composite
def layers(draw, general=False):
    """A small conv layer; `general` adds dilation, groups and padding strings."""
    g = draw(st.integers(1, 2)) if general else 1
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = draw(st.one_of(st.integers(1, 2), st.tuples(st.integers(1, 3), st.integers(1, 2))))
    dilation = draw(st.one_of(st.integers(1, 2), st.tuples(st.integers(1, 2), st.integers(1, 2)))) \
        if general else 1
    pad_choices = [st.integers(0, 2), st.tuples(st.integers(0, 1), st.integers(0, 2))]
    if general:
        pad_choices.append(st.sampled_from(["valid", "same", "full"]))
    padding = draw(st.one_of(*pad_choices))
    d = dilation if isinstance(dilation, tuple) else (dilation, dilation)
    shape = (draw(st.integers(1, 2)), g * draw(st.integers(1, 2)),
             draw(st.integers(d[0] * (kh - 1) + 1, d[0] * (kh - 1) + 4)),
             draw(st.integers(d[1] * (kw - 1) + 1, d[1] * (kw - 1) + 4)))
    w_shape = (g * draw(st.integers(1, 2)), shape[1] // g, kh, kw)
    return dict(shape=shape, w_shape=w_shape, stride=stride, padding=padding, dilation=dilation, groups=g,
                seed=draw(seeds))


def arrays(layer):
    rng = np.random.default_rng(layer["seed"])
    return rng.standard_normal(layer["shape"]), rng.standard_normal(layer["w_shape"]), rng


@SETTINGS
@given(layers())
def test_conv2d_backward_passes_finite_differences_and_equals_torch(layer):
    x, w, rng = arrays(layer)
    b = rng.standard_normal(w.shape[0])
    s, p = layer["stride"], layer["padding"]
    dy = rng.standard_normal(conv2d_forward(x, w, b, s, p).shape)
    dx, dw, db = conv2d_backward(dy, x, w, s, p)
    loss = lambda x_, w_, b_: np.sum(conv2d_forward(x_, w_, b_, s, p) * dy)  # noqa: E731
    assert_gradient_close(dx, numerical_gradient(lambda v: loss(v, w, b), x))
    assert_gradient_close(dw, numerical_gradient(lambda v: loss(x, v, b), w))
    assert_gradient_close(db, numerical_gradient(lambda v: loss(x, w, v), b))
    xt, wt, bt = T(x, True), T(w, True), T(b, True)
    grads = torch.autograd.grad(F.conv2d(xt, wt, bt, s, p), (xt, wt, bt), T(dy))
    for got, expected in zip((dx, dw, db), grads, strict=True):
        np.testing.assert_allclose(got, expected.numpy(), **TOL)


@SETTINGS
@given(layers(general=True))
def test_general_conv_backward_with_dilation_and_groups_equals_torch(layer):
    """The engine under conv2d and conv_transpose2d, with every option, against autograd."""
    x, w, rng = arrays(layer)
    args = {k: layer[k] for k in ("stride", "padding", "dilation", "groups")}
    dy = rng.standard_normal(conv2d_general(x, w, **args).shape)
    dx, dw, db = conv2d_general_backward(dy, x, w, **args)
    (top, bottom), (left, right) = _torch_pads(layer)
    xt, wt = T(x, True), T(w, True)
    yt = F.conv2d(F.pad(xt, (left, right, top, bottom)), wt, stride=args["stride"],
                  dilation=args["dilation"], groups=args["groups"])
    gx, gw = torch.autograd.grad(yt, (xt, wt), T(dy))
    np.testing.assert_allclose(dx, gx.numpy(), **TOL)
    np.testing.assert_allclose(dw, gw.numpy(), **TOL)
    np.testing.assert_allclose(db, dy.sum(axis=(0, 2, 3)), **TOL)


def _torch_pads(layer):
    kh, kw = layer["w_shape"][2:]
    d = layer["dilation"] if isinstance(layer["dilation"], tuple) else (layer["dilation"],) * 2
    p = layer["padding"] if isinstance(layer["padding"], tuple) else (layer["padding"],) * 2
    out = []
    for mode, k, dd in zip(p, (kh, kw), d, strict=True):
        total = dd * (k - 1)
        out.append({"valid": (0, 0), "same": (total // 2, total - total // 2),
                    "full": (total, total)}.get(mode, (mode, mode)))
    return out


@SETTINGS
@given(st.integers(1, 4), st.integers(1, 4), st.integers(0, 3), st.integers(0, 3), seeds)
def test_corr2d_backward_is_a_correlation_and_a_full_convolution(kh, kw, extra_h, extra_w, seed):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal((kh + extra_h, kw + extra_w)), rng.standard_normal((kh, kw))
    dy = rng.standard_normal((extra_h + 1, extra_w + 1))
    dx, dw = corr2d_backward(dy, x, w)
    assert_gradient_close(dx, numerical_gradient(lambda v: np.sum(corr2d(v, w) * dy), x))
    assert_gradient_close(dw, numerical_gradient(lambda v: np.sum(corr2d(x, v) * dy), w))
    xt, wt = T(x[None, None], True), T(w[None, None], True)
    gx, gw = torch.autograd.grad(F.conv2d(xt, wt), (xt, wt), T(dy[None, None]))
    np.testing.assert_allclose(dx, gx[0, 0].numpy(), **TOL)
    np.testing.assert_allclose(dw, gw[0, 0].numpy(), **TOL)


@SETTINGS
@given(st.lists(st.integers(1, 3), min_size=1, max_size=3), seeds)
def test_numerical_gradient_of_a_cubic_and_x_unchanged(shape, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    before = x.copy()
    g = numerical_gradient(lambda v: np.sum(v**3) + np.sum(v), x)
    np.testing.assert_allclose(g, 3 * x**2 + 1, rtol=1e-7, atol=1e-8)
    np.testing.assert_array_equal(x, before)
