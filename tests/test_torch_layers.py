"""The PyTorch reference layers (solutions.torch_layers) against torch.nn.functional, in float64.

Shapes are drawn by hypothesis so that every combination of stride, padding (ints, pairs and
strings), dilation, groups and non-square sizes is met; gradients are checked both against
autograd through F.conv2d and by torch.autograd.gradcheck (finite differences).
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import solutions
from solutions.torch_layers import (
    Conv2dFunction,
    avgpool2d_torch,
    conv2d_torch,
    conv_transpose2d_torch,
    default_device,
    maxpool2d_torch,
)

DEVICES = ["cpu", pytest.param("cuda", marks=[
    pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")])]
FEW = settings(max_examples=25, deadline=None)
# PyTorch's own 'same' with an even kernel warns that it copies the input; the oracle may do so
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")


def randn(*shape, seed=0, device="cpu"):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen, dtype=torch.float64).to(device)


def close(a, b, tol=1e-10):
    assert a.shape == b.shape, f"shape {tuple(a.shape)} != {tuple(b.shape)}"
    assert torch.allclose(a, b, rtol=tol, atol=tol), f"max difference {(a - b).abs().max().item():.3g}"


@st.composite
def conv_problems(draw, allow_groups=True, allow_dilation=True, allow_strings=True):
    """(x, w, b, kwargs) of a valid conv2d call; 'same' only with stride 1 (PyTorch's rule)."""
    groups = draw(st.sampled_from([1, 1, 2, 3])) if allow_groups else 1
    c = groups * draw(st.integers(1, 2))
    f = groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    dh, dw = (draw(st.integers(1, 3)), draw(st.integers(1, 3))) if allow_dilation else (1, 1)
    padding = draw(st.one_of(
        st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2)),
        *([st.sampled_from(["valid", "same", "full"])] if allow_strings else [])))
    stride = 1 if padding == "same" else draw(st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3),
                                                                                      st.integers(1, 3))))
    # the input is at least as large as the dilated kernel, so every call is valid
    h = draw(st.integers(dh * (kh - 1) + 1, dh * (kh - 1) + 6))
    wd = draw(st.integers(dw * (kw - 1) + 1, dw * (kw - 1) + 6))
    n = draw(st.integers(1, 2))
    seed = draw(st.integers(0, 2**16))
    x = randn(n, c, h, wd, seed=seed)
    w = randn(f, c // groups, kh, kw, seed=seed + 1)
    b = randn(f, seed=seed + 2) if draw(st.booleans()) else None
    kwargs = {"stride": stride, "padding": padding}
    if allow_dilation:
        kwargs["dilation"] = (dh, dw)
    if allow_groups:
        kwargs["groups"] = groups
    return x, w, b, kwargs


def oracle(kwargs, w):
    """kwargs for F.conv2d, which knows 'valid' and 'same' but not 'full' (d*(k-1) on both sides)."""
    if kwargs.get("padding") != "full":
        return kwargs
    d = kwargs.get("dilation", (1, 1))
    return {**kwargs, "padding": tuple(di * (k - 1) for di, k in zip(d, w.shape[2:]))}


def leaves(*tensors):
    return [None if t is None else t.detach().clone().requires_grad_(True) for t in tensors]


def grads_of(y, inputs, seed=7):
    dy = randn(*y.shape, seed=seed, device=y.device)
    used = [t for t in inputs if t is not None]
    return torch.autograd.grad(y, used, dy)


# -- conv2d_torch --------------------------------------------------------------------------------

@FEW
@given(conv_problems())
def test_conv2d_torch_equals_F_conv2d(problem):
    x, w, b, kwargs = problem
    close(conv2d_torch(x, w, b, **kwargs), F.conv2d(x, w, b, **oracle(kwargs, w)))


@FEW
@given(conv_problems())
def test_conv2d_torch_gradients_equal_autograd_of_F_conv2d(problem):
    x, w, b, kwargs = problem
    ours, theirs = leaves(x, w, b), leaves(x, w, b)
    expected = grads_of(F.conv2d(*theirs, **oracle(kwargs, w)), theirs)
    for a, e in zip(grads_of(conv2d_torch(*ours, **kwargs), ours), expected):
        close(a, e)


def test_conv2d_torch_matches_the_numpy_reference():
    x, w, b = randn(2, 4, 9, 7, seed=1), randn(6, 2, 3, 2, seed=2), randn(6, seed=3)
    kwargs = {"stride": (2, 1), "padding": "full", "dilation": (1, 2), "groups": 2}
    expected = solutions.conv2d(x.numpy(), w.numpy(), b.numpy(), **kwargs)
    np.testing.assert_allclose(conv2d_torch(x, w, b, **kwargs).numpy(), expected, rtol=1e-10, atol=1e-12)


def test_conv2d_torch_leaves_inputs_unchanged():
    x, w, b = randn(1, 2, 5, 5), randn(3, 2, 3, 3, seed=1), randn(3, seed=2)
    copies = [t.clone() for t in (x, w, b)]
    conv2d_torch(x, w, b, padding="same")
    for t, c in zip((x, w, b), copies):
        assert torch.equal(t, c)


# -- Conv2dFunction: a hand-written backward --------------------------------------------------

GEOMETRIES = [  # n, c, h, w, f, kh, kw, stride, padding
    (1, 1, 4, 4, 1, 2, 2, 1, 0),
    (2, 3, 7, 6, 4, 3, 2, 1, 0),
    (2, 2, 8, 8, 3, 3, 3, 2, 1),
    (1, 3, 9, 7, 2, 3, 3, (2, 1), (0, 2)),
    (2, 2, 7, 5, 3, 2, 3, 3, 0),
    (1, 2, 5, 5, 2, 5, 5, 1, 0),
    (1, 2, 6, 7, 2, 3, 4, 1, "same"),
    (1, 1, 5, 4, 2, 2, 3, 2, "full"),
]


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=str)
def test_conv2d_function_passes_gradcheck(geometry):
    n, c, h, wd, f, kh, kw, stride, padding = geometry
    x, w, b = leaves(randn(n, c, h, wd, seed=1), randn(f, c, kh, kw, seed=2), randn(f, seed=3))
    assert torch.autograd.gradcheck(lambda *t: Conv2dFunction.apply(*t, stride, padding), (x, w, b))


def test_conv2d_function_passes_gradgradcheck():
    x, w, b = leaves(randn(1, 2, 5, 6, seed=1), randn(2, 2, 3, 2, seed=2), randn(2, seed=3))
    assert torch.autograd.gradgradcheck(lambda *t: Conv2dFunction.apply(*t, 2, 1), (x, w, b))


@FEW
@given(conv_problems(allow_groups=False, allow_dilation=False))
def test_conv2d_function_gradients_equal_autograd_of_F_conv2d(problem):
    x, w, b, kwargs = problem
    ours, theirs = leaves(x, w, b), leaves(x, w, b)
    y = Conv2dFunction.apply(*ours, kwargs["stride"], kwargs["padding"])
    close(y, F.conv2d(*theirs, **oracle(kwargs, w)))
    for a, e in zip(grads_of(y, ours), grads_of(F.conv2d(*theirs, **oracle(kwargs, w)), theirs)):
        close(a, e)


def test_conv2d_function_without_bias_returns_no_bias_gradient():
    x, w = leaves(randn(1, 2, 5, 5), randn(3, 2, 3, 3, seed=1))
    Conv2dFunction.apply(x, w, None, 1, 0).sum().backward()
    assert x.grad is not None and w.grad is not None


# -- pooling and transposed convolution --------------------------------------------------------

@st.composite
def pool_problems(draw):
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = draw(st.one_of(st.none(), st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    h, wd = draw(st.integers(kh, kh + 6)), draw(st.integers(kw, kw + 6))
    x = randn(draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, wd, seed=draw(st.integers(0, 2**16)))
    return x, (kh, kw), stride


@FEW
@given(pool_problems())
def test_pooling_equals_F_and_its_gradients(problem):
    x, kernel, stride = problem
    for ours, theirs in [(maxpool2d_torch, F.max_pool2d), (avgpool2d_torch, F.avg_pool2d)]:
        a, e = leaves(x)[0], leaves(x)[0]
        ya, ye = ours(a, kernel, stride), theirs(e, kernel, stride)
        close(ya, ye)
        close(grads_of(ya, [a])[0], grads_of(ye, [e])[0])


def test_maxpool_ties_send_the_gradient_to_the_first_maximum_like_the_numpy_layer():
    x = torch.tensor([[[[1.0, 1.0, 0.0], [1.0, 1.0, 2.0], [0.0, 2.0, 2.0]]]], dtype=torch.float64)
    xt = leaves(x)[0]
    dy = randn(1, 1, 2, 2, seed=3)
    maxpool2d_torch(xt, 2, 1).backward(dy)
    expected = solutions.maxpool2d_backward(dy.numpy(), x.numpy(), 2, 1)
    np.testing.assert_allclose(xt.grad.numpy(), expected, rtol=1e-12)


@st.composite
def transpose_problems(draw):
    groups = draw(st.sampled_from([1, 2]))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    h, wd = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    full = [(n - 1) * s + d * (k - 1) + 1 for n, s, d, k in zip((h, wd), stride, dilation, (kh, kw))]
    padding = (draw(st.integers(0, (full[0] - 1) // 2)), draw(st.integers(0, (full[1] - 1) // 2)))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    seed = draw(st.integers(0, 2**16))
    x, w = randn(2, c_in, h, wd, seed=seed), randn(c_in, c_out // groups, kh, kw, seed=seed + 1)
    return x, w, {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups,
                  "output_padding": output_padding}


@FEW
@given(transpose_problems())
def test_conv_transpose2d_torch_equals_F_and_the_numpy_reference(problem):
    x, w, kwargs = problem
    y = conv_transpose2d_torch(x, w, **kwargs)
    close(y, F.conv_transpose2d(x, w, **kwargs))
    np.testing.assert_allclose(y.numpy(), solutions.conv_transpose2d(x.numpy(), w.numpy(), **kwargs),
                               rtol=1e-10, atol=1e-12)


def test_conv_transpose2d_torch_is_the_adjoint_of_conv2d_torch():
    x, w = randn(2, 3, 7, 8, seed=1), randn(4, 3, 3, 2, seed=2)
    y = conv2d_torch(x, w, stride=2, padding=1)
    v = randn(*y.shape, seed=3)
    back = conv_transpose2d_torch(v, w, stride=2, padding=1)
    back = F.pad(back, (0, x.shape[3] - back.shape[3], 0, x.shape[2] - back.shape[2]))  # rows stride skipped
    assert torch.isclose((y * v).sum(), (x * back).sum(), rtol=1e-12)


# -- bad arguments: the NumPy layers' ValueErrors ----------------------------------------------

X, W, B = randn(1, 2, 4, 4), randn(3, 2, 3, 3, seed=1), randn(3, seed=2)
BAD_CONV = [
    ((X, randn(3, 3, 3, 3)), {}, "channel"),
    ((X, randn(3, 2, 5, 5)), {}, "larger"),
    ((X, W), {"stride": 0}, "stride"),
    ((X, W), {"dilation": (1, 0)}, "dilation"),
    ((X, W), {"padding": -1}, "padding"),
    ((X, W), {"padding": "half"}, "padding"),
    ((X, randn(3, 1, 3, 3)), {"groups": 2}, "groups"),
    ((X[0], W), {}, "dimensions"),
    ((X, W, randn(2)), {}, "shape"),
]


@pytest.mark.parametrize("args, kwargs, word", BAD_CONV)
def test_conv2d_torch_raises_the_numpy_layers_value_errors(args, kwargs, word):
    with pytest.raises(ValueError, match=word):
        conv2d_torch(*args, **kwargs)
    with pytest.raises(ValueError):
        solutions.conv2d(*[a.numpy() for a in args], **kwargs)


def test_other_torch_layers_raise_value_errors():
    with pytest.raises(ValueError, match="stride"):
        Conv2dFunction.apply(X, W, B, 0, 0)
    with pytest.raises(ValueError, match="larger"):
        maxpool2d_torch(X, 5)
    with pytest.raises(ValueError, match="stride"):
        avgpool2d_torch(X, 2, 0)
    with pytest.raises(ValueError, match="channel"):
        conv_transpose2d_torch(X, randn(3, 2, 3, 3))
    with pytest.raises(ValueError, match="too large"):
        conv_transpose2d_torch(randn(1, 2, 1, 1), randn(2, 2, 2, 2), padding=1)


# -- devices -----------------------------------------------------------------------------------

def test_default_device_is_cuda_exactly_when_available():
    assert default_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("device", DEVICES)
def test_results_stay_on_the_inputs_device(device):
    x, w, b = randn(2, 2, 6, 6, device=device), randn(3, 2, 3, 3, seed=1, device=device), randn(3, device=device)
    reference = F.conv2d(x.cpu(), w.cpu(), b.cpu(), padding=1)
    for y in (conv2d_torch(x, w, b, padding=1), Conv2dFunction.apply(x, w, b, 1, 1)):
        assert y.device.type == device
        close(y.cpu(), reference)
    assert maxpool2d_torch(x).device.type == device
    assert conv_transpose2d_torch(x, randn(2, 3, 2, 2, device=device)).device.type == device


@pytest.mark.parametrize("device", DEVICES)
def test_conv2d_function_backward_on_the_device(device):
    x, w, b = leaves(randn(2, 2, 6, 6, device=device), randn(3, 2, 3, 3, seed=1, device=device),
                     randn(3, device=device))
    Conv2dFunction.apply(x, w, b, 2, 1).sum().backward()
    xc, wc, bc = leaves(x.detach().cpu(), w.detach().cpu(), b.detach().cpu())
    F.conv2d(xc, wc, bc, stride=2, padding=1).sum().backward()
    for ours, theirs in [(x, xc), (w, wc), (b, bc)]:
        assert ours.grad.device.type == device
        close(ours.grad.cpu(), theirs.grad)


def test_mixed_devices_are_a_value_error():
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    with pytest.raises(ValueError, match="device"):
        conv2d_torch(X, W.cuda())
