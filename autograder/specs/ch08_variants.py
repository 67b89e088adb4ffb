"""Hidden tests of chapter 8 (variants): transposed, dilated, grouped, depthwise and separable
convolution, the output size of a transposed convolution, and the separation of a rank-1 kernel.

Beyond the visible tests: batches, several channels, non-square images and kernels, strides,
paddings and dilations as ints and (h, w) pairs, string paddings with dilation (PyTorch's 'same'
rule for even windows), every legal `groups`, kernels of every rank for `dilate_kernel`, and the
bad arguments the contract names. `separate_kernel` is judged by `np.outer(col, row)` and the
shapes, since `(col, row)` is unique only up to a scale factor.
"""

from __future__ import annotations

import numpy as np

from autograder.spec import Case, Spec

# A library convolution is not the exercise; the book's own layers (chapters 4 and 7) may help.
FORBIDDEN = ("convolution", "scipy", "torch")


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv_transpose2d_cases(rng: np.random.Generator) -> list[Case]:
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    cases = [
        Case((x, np.ones((1, 1, 2, 2))), label="visible test: 2x2 input, kernel of ones"),
        Case((x, np.ones((1, 1, 2, 2))), {"stride": 2}, "visible test: stride 2 copies each pixel to a 2x2 block"),
        Case((x, np.ones((1, 1, 2, 2))), {"padding": 1}, "visible test: padding 1 cuts the border"),
    ]
    # (N, C_in, C_out, H, W, KH, KW, stride, padding, label)
    for n, ci, co, h, w, kh, kw, s, p, label in [
        (2, 3, 2, 4, 5, 3, 3, 1, 0, "batch, 3 channels in, 2 out"),
        (1, 2, 3, 3, 3, 3, 3, 2, 0, "stride 2, kernel 3: overlapping patches"),
        (2, 2, 2, 4, 4, 4, 4, 2, 1, "kernel 4, stride 2, padding 1: exact 2x up-sampling"),
        (1, 1, 2, 3, 5, 2, 3, (2, 3), (0, 1), "stride and padding as (h, w) pairs"),
        (1, 2, 1, 3, 3, 1, 1, 3, 0, "kernel smaller than the stride leaves gaps"),
        (3, 4, 5, 2, 6, 3, 2, 1, 1, "non-square image and kernel, padding 1"),
        (1, 1, 1, 1, 1, 3, 3, 1, 0, "one pixel in: the kernel itself out"),
        (1, 2, 2, 5, 4, 3, 3, 1, 2, "padding 2 undoes full padding"),
    ]:
        cases.append(Case((rng.normal(size=(n, ci, h, w)), rng.normal(size=(ci, co, kh, kw))),
                          {"stride": s, "padding": p}, label))
    x, w = rng.normal(size=(1, 3, 3, 3)), rng.normal(size=(3, 2, 3, 3))
    cases += [
        Case((x, w[:2]), label="bad: w has 2 input channels, x has 3", error="mismatched channels"),
        Case((x, w), {"stride": 0}, "bad: stride 0", error="a non-positive stride"),
        Case((x, w), {"padding": -1}, "bad: negative padding", error="a negative padding"),
        Case((x, w), {"padding": 3}, "bad: padding cuts away the whole output",
             error="a padding that leaves no output"),
    ]
    return cases


NOT_POSITIVE = "when n, kernel_size, stride or dilation is not positive"
NEGATIVE = "when padding or output_padding is negative"
NEITHER = "when output_padding is smaller than neither the stride nor the dilation"
TOO_SHORT = "when the padding leaves an output shorter than one pixel"


def conv_transpose_output_size_cases(rng: np.random.Generator) -> list[Case]:
    cases = [
        Case((3, 3), label="visible test: no padding, stride 1: n + k - 1"),
        Case((5, 3), {"stride": 2, "padding": 1}, "visible test: stride 2, padding 1"),
        Case((5, 3), {"stride": 2, "padding": 1, "output_padding": 1}, "visible test: output_padding adds one"),
        Case((4, 4), {"stride": 2, "padding": 1}, "visible test: kernel 4, stride 2, padding 1 doubles"),
        Case((3, 3), {"dilation": 2}, "visible test: dilation 2"),
        Case((5, 3), {"padding": 2}, "full padding k - 1 gives back n"),
        Case((28, 2), {"stride": 2}, "U-Net's 2x2 up-convolution, stride 2"),
        Case((3, 1), {"stride": 3}, "1x1 kernel, stride 3: gaps between the pixels"),
        Case((7, 3), {"stride": 3, "padding": 1, "output_padding": 2}, "output_padding 2 below stride 3"),
        Case((4, 3), {"output_padding": 1, "dilation": 2}, "stride 1: output_padding below the dilation"),
        Case((6, 5), {"stride": 2, "padding": 3, "output_padding": 1, "dilation": 2}, "everything at once"),
        Case((1, 3), {"padding": 1}, "one pixel out"),
        Case((1, 1), label="one pixel in, 1x1 kernel: one pixel out"),
        Case((1, 4), {"stride": 5}, "one pixel in: the stride does not matter"),
        Case((200, 7), {"stride": 4, "padding": 3}, "a long axis"),
    ]
    for _ in range(4):  # sizes no visible test fixes
        n, k, s, d = (int(v) for v in (rng.integers(2, 40), rng.integers(1, 8), rng.integers(1, 5),
                                       rng.integers(1, 4)))
        extra = int(rng.integers(0, max(s, d)))
        largest = ((n - 1) * s + d * (k - 1) + extra) // 2  # the largest padding that leaves a pixel
        p = int(rng.integers(0, min(largest, d * (k - 1)) + 1))
        cases.append(Case((n, k), {"stride": s, "padding": p, "output_padding": extra, "dilation": d},
                          f"drawn sizes: n {n}, kernel {k}"))
    cases += [
        Case((5, 3), {"stride": 2, "output_padding": 2}, "bad: output_padding equal to the stride", error=NEITHER),
        Case((5, 3), {"output_padding": 1}, "bad: output_padding 1 with stride 1 and dilation 1", error=NEITHER),
        Case((5, 3), {"stride": 2, "output_padding": -1}, "bad: negative output_padding", error=NEGATIVE),
        Case((5, 3), {"padding": -1}, "bad: negative padding", error=NEGATIVE),
        Case((0, 3), label="bad: n 0", error=NOT_POSITIVE),
        Case((5, 0), label="bad: kernel_size 0", error=NOT_POSITIVE),
        Case((5, 3), {"stride": 0}, "bad: stride 0", error=NOT_POSITIVE),
        Case((5, 3), {"dilation": 0}, "bad: dilation 0", error=NOT_POSITIVE),
        Case((-2, 3), label="bad: negative n", error=NOT_POSITIVE),
        Case((1, 3), {"padding": 2}, "bad: padding leaves an output smaller than 1", error=TOO_SHORT),
        Case((1, 2), {"padding": 1}, "bad: padding leaves an output of 0", error=TOO_SHORT),
    ]
    return cases


def dilate_kernel_cases(rng: np.random.Generator) -> list[Case]:
    return [
        Case((np.array([[1.0, 2.0], [3.0, 4.0]]), 2), label="visible test: 2x2 kernel, dilation 2"),
        Case((np.array([[1.0, 2.0, 3.0]]), (1, 3)), label="visible test: a row, dilation (1, 3)"),
        Case((rng.normal(size=(3, 3)), 1), label="dilation 1 changes nothing"),
        Case((rng.normal(size=(3, 2)), 3), label="non-square kernel, dilation 3"),
        Case((rng.normal(size=(2, 3, 3, 3)), 2), label="a conv weight (F, C, KH, KW)"),
        Case((rng.normal(size=(4, 1, 2, 5)), (3, 2)), label="a depthwise weight, dilation (3, 2)"),
        Case((rng.normal(size=(2, 2, 2, 3, 3)), (2, 1)), label="five axes: only the last two are dilated"),
        Case((rng.normal(size=(1, 1)), 4), label="1x1 kernel stays 1x1"),
        Case((rng.integers(-3, 4, size=(3, 3)), 2), label="integer kernel"),
        Case((rng.normal(size=(3, 3)), 0), label="bad: dilation 0", error="anything below 1"),
        Case((rng.normal(size=(3, 3)), (2, -1)), label="bad: negative dilation", error="anything below 1"),
        Case((rng.normal(size=3), 2), label="bad: a 1D kernel", error="a w with fewer than two axes"),
    ]


def conv2d_cases(rng: np.random.Generator) -> list[Case]:
    cases = [
        Case((np.arange(25.0).reshape(1, 1, 5, 5), np.ones((1, 1, 2, 2))), {"dilation": 2},
             "visible test: kernel of ones, dilation 2"),
        Case((np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 4, 1, 1), np.ones((2, 2, 1, 1))), {"groups": 2},
             "visible test: 4 channels, 2 groups"),
    ]
    # (N, C, F, H, W, KH, KW, stride, padding, dilation, groups, bias, label)
    for n, c, f, h, w, kh, kw, s, p, d, g, bias, label in [
        (2, 3, 4, 6, 5, 3, 3, 1, 1, 1, 1, True, "the layer of chapter 7"),
        (2, 2, 3, 9, 8, 3, 3, 1, 0, 2, 1, True, "dilation 2"),
        (1, 3, 2, 10, 9, 3, 2, (2, 1), (1, 2), (2, 3), 1, True, "stride, padding, dilation as pairs"),
        (2, 4, 6, 6, 6, 3, 3, 1, 1, 1, 2, True, "2 groups"),
        (1, 6, 6, 7, 5, 3, 3, 2, 1, 1, 3, False, "3 groups, stride 2, no bias"),
        (2, 4, 4, 5, 5, 3, 3, 1, 1, 1, 4, True, "groups = channels: depthwise"),
        (1, 3, 6, 5, 5, 3, 3, 1, 1, 1, 3, True, "groups = channels, 2 filters per channel"),
        (1, 4, 8, 6, 7, 1, 1, 1, 0, 1, 2, True, "grouped 1x1 convolution"),
        (2, 2, 2, 7, 7, 3, 3, 1, "same", 2, 1, True, "'same' with dilation 2"),
        (1, 2, 3, 6, 7, 2, 4, 1, "same", (2, 1), 1, True, "'same' with even windows: PyTorch's left/right rule"),
        (1, 2, 2, 4, 5, 3, 2, 1, "full", (1, 2), 2, True, "'full' padding with dilation and groups"),
        (1, 1, 2, 7, 7, 3, 3, 1, "valid", 3, 1, True, "'valid', dilated kernel exactly as large as the input"),
        (2, 3, 2, 8, 9, 3, 3, 3, 2, 2, 1, True, "stride 3 with dilation and padding"),
    ]:
        x, wt = rng.normal(size=(n, c, h, w)), rng.normal(size=(f, c // g, kh, kw))
        b = rng.normal(size=f) if bias else None
        cases.append(Case((x, wt, b), {"stride": s, "padding": p, "dilation": d, "groups": g}, label))
    x = rng.normal(size=(1, 4, 5, 5))
    cases += [
        Case((x, rng.normal(size=(2, 4, 3, 3))), {"groups": 3}, "bad: 3 groups of 4 channels",
             error="groups does not divide both channel counts"),
        Case((x, rng.normal(size=(3, 2, 3, 3))), {"groups": 2}, "bad: 3 filters in 2 groups",
             error="groups does not divide both channel counts"),
        Case((x, rng.normal(size=(2, 4, 3, 3))), {"groups": 2}, "bad: w must have 2 channels per group",
             error="w does not have C/G input channels"),
        Case((x, rng.normal(size=(2, 4, 3, 3))), {"groups": 0}, "bad: groups 0",
             error="non-positive strides, dilations or groups"),
        Case((x, rng.normal(size=(2, 4, 3, 3))), {"dilation": 3}, "bad: dilated kernel larger than the input",
             error="a dilated kernel larger than the padded input"),
        Case((x, rng.normal(size=(2, 4, 3, 3))), {"dilation": 0}, "bad: dilation 0",
             error="non-positive strides, dilations or groups"),
        Case((x, rng.normal(size=(2, 4, 3, 3))), {"stride": 0}, "bad: stride 0",
             error="non-positive strides, dilations or groups"),
        Case((x, rng.normal(size=(2, 4, 3, 3)), np.ones(3)), label="bad: 3 biases for 2 filters",
             error="a mis-shaped bias"),
    ]
    return cases


def depthwise_cases(rng: np.random.Generator) -> list[Case]:
    x = np.stack([np.ones((3, 3)), 2 * np.ones((3, 3))])[None]
    w = np.stack([np.ones((1, 2, 2)), -np.ones((1, 2, 2))])
    cases = [Case((x, w), label="visible test: two channels, two kernels")]
    for n, c, h, wd, kh, kw, s, p, label in [
        (2, 3, 6, 5, 3, 3, 1, 1, "batch of 3-channel images, padding 1"),
        (1, 4, 7, 8, 3, 2, 2, 0, "stride 2, non-square kernel"),
        (1, 2, 5, 7, 2, 3, (1, 2), (2, 1), "stride and padding as pairs"),
        (3, 1, 4, 4, 4, 4, 1, 0, "one channel, kernel as large as the image"),
        (1, 5, 3, 3, 1, 1, 1, 0, "1x1 depthwise: a per-channel scale"),
    ]:
        cases.append(Case((rng.normal(size=(n, c, h, wd)), rng.normal(size=(c, 1, kh, kw))),
                          {"stride": s, "padding": p}, label))
    x = rng.normal(size=(1, 3, 5, 5))
    cases += [
        Case((x, rng.normal(size=(3, 3, 3, 3))), label="bad: a full conv weight (C, C, KH, KW)",
             error="unless w has exactly one kernel per channel of x"),
        Case((x, rng.normal(size=(2, 1, 3, 3))), label="bad: 2 kernels for 3 channels",
             error="unless w has exactly one kernel per channel of x"),
        Case((x, rng.normal(size=(3, 1, 3, 3))), {"stride": 0}, "bad: stride 0", error="a non-positive stride"),
    ]
    return cases


def separable_cases(rng: np.random.Generator) -> list[Case]:
    x = np.stack([np.ones((3, 3)), 2 * np.ones((3, 3))])[None]
    wd = np.stack([np.ones((1, 2, 2)), -np.ones((1, 2, 2))])
    wp = np.array([[1.0, 1.0], [1.0, 0.0], [0.5, 0.25]])[:, :, None, None]
    cases = [Case((x, wd, wp), label="visible test: two channels in, three out")]
    for n, c, f, h, w, k, s, p, label in [
        (2, 3, 4, 6, 6, 3, 1, 1, "batch, 3 channels to 4, padding 1"),
        (1, 4, 2, 7, 9, 3, 2, 0, "stride 2, fewer outputs than inputs"),
        (1, 2, 5, 5, 6, (3, 2), (1, 2), (1, 0), "non-square kernel, stride and padding as pairs"),
        (2, 1, 3, 4, 4, 1, 1, 0, "one channel in: pointwise scales it"),
    ]:
        kh, kw = _pair(k)
        cases.append(Case((rng.normal(size=(n, c, h, w)), rng.normal(size=(c, 1, kh, kw)),
                           rng.normal(size=(f, c, 1, 1))), {"stride": s, "padding": p}, label))
    x, wd = rng.normal(size=(1, 3, 5, 5)), rng.normal(size=(3, 1, 3, 3))
    cases += [
        Case((x, wd, rng.normal(size=(4, 3, 3, 3))), label="bad: pointwise weight is 3x3, not 1x1",
             error="when w_point is not 1 x 1"),
        Case((x, wd, rng.normal(size=(4, 2, 1, 1))), label="bad: pointwise weight for 2 channels, 3 given",
             error="does not have C input channels"),
        Case((x, rng.normal(size=(3, 3, 3, 3)), rng.normal(size=(4, 3, 1, 1))), label="bad: depthwise weight",
             error="unless w_depth has exactly one kernel per channel"),
    ]
    return cases


def separate_kernel_cases(rng: np.random.Generator) -> list[Case]:
    sobel = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])  # Sobel x, the book's one sign
    gauss = np.exp(-0.5 * (np.arange(-3, 4) / 1.5) ** 2)
    return [
        Case((sobel,), label="visible test: Sobel"),
        Case((np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 16,), label="visible test: 3x3 binomial blur"),
        Case((sobel.T,), label="Sobel for horizontal edges"),
        Case((np.outer(gauss, gauss),), label="7x7 Gaussian"),
        Case((np.outer(rng.normal(size=4), rng.normal(size=6)),), label="random rank-1, 4x6"),
        Case((np.outer(rng.normal(size=5), rng.normal(size=2)),), label="random rank-1, 5x2"),
        Case((-np.outer([1.0, 3.0], [2.0, -1.0, 4.0]),), label="negative entries"),
        Case((np.ones((1, 5)),), label="a single row is rank 1"),
        Case((np.array([[2.0], [-1.0], [3.0]]),), label="a single column is rank 1"),
        Case((np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]),), label="bad: the Laplacian has rank 2",
             error="rank above one"),
        Case((np.eye(3),), label="bad: the identity has rank 3", error="rank above one"),
        Case((rng.normal(size=(4, 4)),), label="bad: a random kernel", error="rank above one"),
        Case((np.ones(3),), label="bad: a 1D array", error="not two-dimensional"),
    ]


def call_separate_kernel(fn, case: Case):
    col, row = fn(*case.args, **case.kwargs)
    col, row = np.asarray(col), np.asarray(row)
    return np.outer(col, row), col.shape, row.shape


SPECS = [
    Spec("conv_transpose2d", "08_conv_variants", cases=conv_transpose2d_cases, forbidden=FORBIDDEN),
    Spec("conv_transpose_output_size", "08_conv_variants", cases=conv_transpose_output_size_cases,
         forbidden=("torch",)),
    Spec("dilate_kernel", "08_conv_variants", cases=dilate_kernel_cases, forbidden=FORBIDDEN),
    Spec("conv2d", "08_conv_variants", cases=conv2d_cases, forbidden=FORBIDDEN),
    Spec("depthwise_conv2d", "08_conv_variants", cases=depthwise_cases, forbidden=FORBIDDEN),
    Spec("separable_conv2d", "08_conv_variants", cases=separable_cases, forbidden=FORBIDDEN),
    Spec("separate_kernel", "08_conv_variants", cases=separate_kernel_cases, call=call_separate_kernel,
         forbidden=FORBIDDEN),
]
