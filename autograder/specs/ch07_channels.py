"""Hidden tests of chapter 7 (channels): a convolution layer's forward and backward pass on batches.

Beyond the visible tests: batches, several input and output channels, non-square images and
kernels, every stride and padding as an int or an (h, w) pair, strides that leave pixels unused,
a kernel as large as the padded input, no bias, and the bad arguments the contract names.
"""

from __future__ import annotations

import numpy as np

from autograder.spec import Case, Spec

# A library convolution is not the exercise; the book's own corr2d (chapter 4) may help.
FORBIDDEN = ("convolution", "scipy", "torch")


def _layer(rng, n, c, f, h, w, kh, kw):
    return rng.normal(size=(n, c, h, w)), rng.normal(size=(f, c, kh, kw)), rng.normal(size=f)


def _out(n, k, s, p):
    return (n + 2 * p - k) // s + 1


# (N, C, F, H, W, KH, KW, stride, padding, label)
GEOMETRIES = [
    (1, 1, 1, 4, 4, 3, 3, 1, 0, "one channel in, one out"),
    (2, 3, 4, 5, 5, 3, 3, 1, 1, "RGB batch, padding 1"),
    (3, 2, 5, 7, 6, 3, 2, 2, 0, "non-square image and kernel, stride 2"),
    (2, 3, 2, 8, 9, 3, 3, 2, 1, "stride 2 with padding"),
    (1, 4, 3, 9, 7, 2, 3, (2, 3), (1, 0), "stride and padding as (h, w) pairs"),
    (2, 2, 3, 7, 7, 3, 3, 3, 0, "stride that leaves the last row and column unused"),
    (2, 5, 6, 4, 6, 1, 1, 1, 0, "1x1 convolution: a dense layer at every pixel"),
    (1, 2, 2, 3, 4, 5, 6, 1, 1, "kernel as large as the padded input"),
    (1, 3, 2, 5, 5, 3, 3, 1, 2, "padding larger than half the kernel"),
    (4, 1, 8, 6, 6, 5, 5, 1, 2, "many output channels, 5x5 kernel"),
    (1, 2, 1, 10, 3, 4, 1, (3, 1), (0, 2), "tall input, column kernel"),
]


def forward_cases(rng: np.random.Generator) -> list[Case]:
    cases = [Case((np.arange(16.0).reshape(1, 1, 4, 4), np.ones((1, 1, 3, 3)), np.array([1.0])),
                  label="visible test: box filter plus bias")]
    for n, c, f, h, w, kh, kw, s, p, label in GEOMETRIES:
        x, wt, b = _layer(rng, n, c, f, h, w, kh, kw)
        cases.append(Case((x, wt, b), {"stride": s, "padding": p}, label))
    x, wt, _ = _layer(rng, 2, 3, 2, 5, 5, 3, 3)
    cases.append(Case((x, wt, None), {"padding": 1}, "no bias (b=None)"))
    for padding, (kh, kw) in [("valid", (3, 3)), ("same", (3, 3)), ("same", (2, 4)), ("full", (2, 3))]:
        x, wt, b = _layer(rng, 2, 2, 3, 5, 6, kh, kw)
        cases.append(Case((x, wt, b), {"padding": padding}, f"padding={padding!r}, kernel {kh}x{kw}"))
    cases.append(Case((rng.integers(0, 5, size=(1, 2, 4, 4)), rng.integers(-2, 3, size=(2, 2, 2, 2)),
                       np.array([0.5, -1.0])), label="integer inputs give a float result"))
    x, wt, b = _layer(rng, 1, 3, 2, 5, 5, 3, 3)
    cases += [
        Case((x, wt[:, :2], b), label="bad: w has 2 input channels, x has 3", error="the channels do not match"),
        Case((x, rng.normal(size=(2, 3, 6, 6)), b), label="bad: kernel larger than the input",
             error="the kernel does not fit in the padded input"),
        Case((x, rng.normal(size=(2, 3, 8, 8)), b), {"padding": 1}, "bad: kernel larger than the padded input",
             error="the kernel does not fit in the padded input"),
        Case((x, wt, b), {"stride": 0}, "bad: stride 0", error="the stride is not positive"),
        Case((x, wt, b), {"stride": (1, -1)}, "bad: negative stride", error="the stride is not positive"),
        Case((x, wt, b), {"padding": -1}, "bad: negative padding", error="the padding is negative"),
        Case((x, wt, b), {"padding": "half"}, "bad: unknown padding string", error="an unknown string"),
        Case((x, wt, b[:1]), label="bad: one bias for two filters", error="b does not have shape (F,)"),
    ]
    return cases


def backward_cases(rng: np.random.Generator) -> list[Case]:
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    cases = [Case((np.ones((1, 1, 2, 2)), x, np.ones((1, 1, 3, 3))), label="visible test: dy of ones")]
    for n, c, f, h, w, kh, kw, s, p, label in GEOMETRIES:
        x, wt, _ = _layer(rng, n, c, f, h, w, kh, kw)
        sh, sw = (s, s) if isinstance(s, int) else s
        ph, pw = (p, p) if isinstance(p, int) else p
        dy = rng.normal(size=(n, f, _out(h, kh, sh, ph), _out(w, kw, sw, pw)))
        cases.append(Case((dy, x, wt), {"stride": s, "padding": p}, label))
    x, wt, _ = _layer(rng, 2, 2, 3, 5, 6, 2, 4)
    cases.append(Case((rng.normal(size=(2, 3, 5, 6)), x, wt), {"padding": "same"}, "padding='same', even kernel"))
    x, wt, _ = _layer(rng, 1, 2, 2, 4, 4, 2, 3)
    cases.append(Case((rng.normal(size=(1, 2, 5, 6)), x, wt), {"padding": "full"}, "padding='full'"))
    x, wt, _ = _layer(rng, 1, 3, 2, 5, 5, 3, 3)
    cases += [
        Case((rng.normal(size=(1, 2, 4, 4)), x, wt), label="bad: dy is not the output's shape (3x3)",
             error="when dy is not the shape of the output"),
        Case((rng.normal(size=(1, 2, 3, 3)), x, wt[:, :2]), label="bad: w has 2 input channels, x has 3",
             error="the same bad arguments"),
        Case((rng.normal(size=(1, 2, 3, 3)), x, wt), {"stride": 0}, "bad: stride 0", error="the same bad arguments"),
    ]
    return cases


SPECS = [
    Spec("conv2d_forward", "07_channels", cases=forward_cases, forbidden=FORBIDDEN),
    Spec("conv2d_backward", "07_channels", cases=backward_cases, forbidden=FORBIDDEN),
]
