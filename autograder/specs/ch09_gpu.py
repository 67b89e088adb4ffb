"""Hidden tests of chapter 09 (the same layers in PyTorch): `conv2d_torch`, `Conv2dFunction`.

Both are called on float64 tensors (on the GPU when there is one) and judged on the forward
result and on the gradients with respect to `x`, `w` and `b` of `sum(y * dy)` for a fixed
random `dy`: for `conv2d_torch` autograd computes them through the student's tensor operations,
for `Conv2dFunction` they come from the hand-written `backward`.
"""

from __future__ import annotations

import numpy as np

from autograder.spec import Case, Spec

# conv2d_torch builds the layer from tensor operations: every PyTorch convolution kernel is out of
# reach while its cases run (however it is called). Conv2dFunction's backward is written by hand:
# PyTorch's convolution gradients are out of reach, and autograd (or torch.func) switched on inside
# its forward or backward is caught by what it does, not by its name.
CONV_FORBIDDEN = ("convolution", "scipy")
BACKWARD_FORBIDDEN = ("convolution_backward", "autograd", "scipy")


def _device():
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _tensor(array):
    import torch

    return torch.tensor(np.asarray(array, dtype=np.float64), device=_device())


def _layer(rng, n, c, h, w, f, kh, kw, groups=1, bias=True):
    x = _tensor(rng.standard_normal((n, c, h, w)))
    weight = _tensor(rng.standard_normal((f, c // groups, kh, kw)))
    b = _tensor(rng.standard_normal(f)) if bias else None
    return x, weight, b


def _forward_and_gradients(y, leaves, x):
    """`(y, d sum(y*dy) / d leaf ...)` as plain tensors, after checking `y` is a usable result."""
    import torch

    if not isinstance(y, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(y).__name__}")
    if y.device != x.device:
        raise RuntimeError(f"the result is on {y.device} but the input is on {x.device}; keep it on the input's device")
    if not y.requires_grad:
        raise RuntimeError("the result is not connected to autograd "
                           "(did you leave torch, e.g. via .numpy() or .detach()?)")
    gen = torch.Generator().manual_seed(1234)
    dy = torch.randn(tuple(y.shape), generator=gen, dtype=torch.float64).to(device=y.device, dtype=y.dtype)
    grads = torch.autograd.grad(y, leaves, dy, allow_unused=True)
    grads = [torch.zeros_like(leaf) if g is None else g for g, leaf in zip(grads, leaves)]
    return (y.detach(), *(g.detach() for g in grads))


def _leaves(x, w, b):
    x, w = x.detach().clone().requires_grad_(True), w.detach().clone().requires_grad_(True)
    b = None if b is None else b.detach().clone().requires_grad_(True)
    return x, w, b


# -- conv2d_torch ----------------------------------------------------------------------------

def conv2d_torch_cases(rng: np.random.Generator) -> list[Case]:
    x = _tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    w = _tensor([[[[1.0, 0.0], [0.0, -1.0]]]])
    cases = [
        Case((x, w), {}, "the visible test's 4x4 input"),
        Case((x, w, _tensor([0.5])), {"stride": 2, "padding": 1}, "the visible test with bias, stride 2, padding 1"),
    ]
    shapes = [  # n, c, h, w, f, kh, kw, groups, kwargs, label
        (2, 3, 7, 6, 4, 3, 2, 1, {}, "non-square input and kernel"),
        (1, 2, 9, 8, 5, 3, 3, 1, {"stride": 2}, "stride 2"),
        (2, 2, 9, 10, 3, 3, 3, 1, {"stride": (2, 3)}, "stride (2, 3)"),
        (1, 3, 6, 7, 2, 3, 3, 1, {"padding": 2}, "padding 2"),
        (1, 2, 6, 5, 3, 3, 2, 1, {"padding": (1, 0)}, "padding (1, 0)"),
        (1, 2, 6, 7, 2, 3, 4, 1, {"padding": "same"}, "padding 'same' with an even kernel width"),
        (1, 1, 5, 5, 2, 3, 3, 1, {"padding": "full"}, "padding 'full'"),
        (1, 2, 6, 6, 2, 2, 2, 1, {"padding": "valid"}, "padding 'valid'"),
        (1, 2, 9, 9, 3, 3, 3, 1, {"dilation": 2}, "dilation 2"),
        (1, 1, 10, 8, 2, 3, 2, 1, {"dilation": (2, 3), "padding": "same"}, "dilation (2, 3) with 'same'"),
        (2, 4, 8, 8, 6, 3, 3, 2, {"groups": 2}, "groups 2"),
        (1, 3, 7, 7, 3, 3, 3, 3, {"groups": 3, "padding": 1}, "depthwise (groups = channels)"),
        (1, 6, 8, 9, 4, 3, 2, 2, {"groups": 2, "stride": 2, "padding": (1, 2), "dilation": (1, 2)},
         "everything at once"),
        (1, 2, 5, 4, 3, 5, 4, 1, {}, "kernel as large as the input"),
        (3, 4, 6, 6, 8, 1, 1, 1, {}, "1x1 convolution"),
        (2, 1, 7, 5, 3, 2, 3, 1, {"stride": 3}, "stride that leaves rows over"),
    ]
    for n, c, h, wd, f, kh, kw, groups, kwargs, label in shapes:
        xx, ww, bb = _layer(rng, n, c, h, wd, f, kh, kw, groups)
        cases.append(Case((xx, ww, bb), kwargs, label))
    xx, ww, _ = _layer(rng, 2, 3, 6, 6, 4, 3, 3, bias=False)
    cases.append(Case((xx, ww, None), {"padding": 1}, "no bias"))
    xx, ww, bb = _layer(rng, 1, 2, 4, 4, 3, 3, 3)
    bad = [
        ((xx, _tensor(rng.standard_normal((3, 3, 3, 3))), bb), {}, "channel mismatch (must raise ValueError)",
         "mismatched channels"),
        ((xx, _tensor(rng.standard_normal((3, 2, 5, 5))), bb), {},
         "kernel larger than the input (must raise ValueError)", "a kernel larger than the padded input"),
        ((xx, ww, bb), {"stride": 0}, "stride 0 (must raise ValueError)", "a non-positive stride"),
        ((xx, ww, bb), {"groups": 2}, "groups that do not divide the filters (must raise ValueError)",
         "groups that do not divide the channels"),
    ]
    cases += [Case(args, kwargs, label, error=error) for args, kwargs, label, error in bad]
    return cases


def call_conv2d_torch(fn, case: Case):
    x, w, b = _leaves(*case.args, *[None] * (3 - len(case.args)))  # the bias may be left out
    y = fn(x, w, b, **case.kwargs)
    return _forward_and_gradients(y, [leaf for leaf in (x, w, b) if leaf is not None], x)


# -- Conv2dFunction --------------------------------------------------------------------------

def conv2d_function_cases(rng: np.random.Generator) -> list[Case]:
    geometry = [  # n, c, h, w, f, kh, kw, stride, padding, bias, label
        (1, 1, 4, 4, 1, 2, 2, 1, 0, True, "a single 4x4 image"),
        (2, 3, 7, 6, 4, 3, 2, 1, 0, True, "non-square input and kernel"),
        (2, 2, 8, 8, 3, 3, 3, 2, 1, True, "stride 2, padding 1"),
        (1, 3, 9, 7, 2, 3, 3, (2, 1), (0, 2), True, "stride (2, 1), padding (0, 2)"),
        (2, 2, 7, 5, 3, 2, 3, 3, 0, True, "stride that leaves rows over"),
        (1, 2, 5, 5, 2, 5, 5, 1, 0, True, "kernel as large as the input"),
        (3, 4, 5, 6, 2, 1, 1, 1, 0, True, "1x1 convolution"),
        (2, 3, 6, 6, 4, 3, 3, 1, 2, False, "no bias"),
    ]
    cases = []
    for n, c, h, wd, f, kh, kw, stride, padding, bias, label in geometry:
        x, w, b = _layer(rng, n, c, h, wd, f, kh, kw, bias=bias)
        cases.append(Case((x, w, b, stride, padding), {}, label))
    return cases


def call_conv2d_function(fn, case: Case):
    x, w, b = _leaves(*case.args[:3])
    y = fn.apply(x, w, b, *case.args[3:])
    return _forward_and_gradients(y, [leaf for leaf in (x, w, b) if leaf is not None], x)


SPECS = [
    Spec("conv2d_torch", "09_gpu_torch", cases=conv2d_torch_cases, call=call_conv2d_torch,
         rtol=1e-7, atol=1e-9, forbidden=CONV_FORBIDDEN),
    Spec("Conv2dFunction", "09_gpu_torch", cases=conv2d_function_cases, call=call_conv2d_function,
         rtol=1e-7, atol=1e-9, forbidden=BACKWARD_FORBIDDEN),
]
