"""Hidden tests of chapter 03_conv1d: cross-correlation, true convolution and the shift.

The visible tests of the notebook come first in every list; the rest probe what they do not:
every padding mode with odd and even kernels ('same' is asymmetric for even ones), strides that
do not divide the length, a kernel as long as the (padded) input, and bad arguments.
"""

from __future__ import annotations

import numpy as np

from autograder.spec import Case, Spec

CHAPTER = "03_conv1d"
# The exercise is to write the sliding window: no library convolution.
BY_HAND = ("convolution", "scipy", "torch")


def _sliding_cases(rng: np.random.Generator, visible: list[Case]) -> list[Case]:
    x9, x10 = rng.normal(size=9), rng.normal(size=10)
    cases = list(visible)
    for K in (1, 2, 3, 4):
        w = rng.normal(size=K)
        for padding in (0, 1, "valid", "same", "full"):
            cases.append(Case((x9, w), {"padding": padding}, label=f"{K} taps, padding={padding!r}"))
    for stride in (2, 3, 4):
        cases.append(Case((x10, rng.normal(size=3)), {"stride": stride}, label=f"stride {stride}"))
        cases.append(Case((x10, rng.normal(size=4)), {"padding": "same", "stride": stride},
                          label=f"'same' padding, even kernel, stride {stride}"))
        cases.append(Case((x9, rng.normal(size=2)), {"padding": 2, "stride": stride},
                          label=f"padding 2, stride {stride}"))
    cases += [
        Case((x9, rng.normal(size=9)), label="kernel as long as the input: one output"),
        Case((rng.normal(size=3), rng.normal(size=5)), {"padding": 1}, label="kernel fits only after padding"),
        Case((rng.normal(size=3), rng.normal(size=5)), {"padding": "full"}, label="kernel longer than x, 'full'"),
        Case((rng.normal(size=1), rng.normal(size=1)), label="one sample, one tap"),
        Case((rng.normal(size=200), rng.normal(size=7)), {"padding": "same", "stride": 3}, label="a long signal"),
        Case((rng.normal(size=3), rng.normal(size=5)), label="kernel longer than the input",
             error="a kernel longer than the padded input"),
        Case((x9, rng.normal(size=3)), {"stride": 0}, label="stride 0", error="A non-positive stride"),
        Case((x9, rng.normal(size=3)), {"padding": -1}, label="negative padding",
             error="a negative or unknown padding"),
        Case((x9, rng.normal(size=3)), {"padding": "half"}, label="an unknown padding mode",
             error="a negative or unknown padding"),
    ]
    return cases


def corr1d_cases(rng: np.random.Generator) -> list[Case]:
    x = np.array([1.0, 2.0, 3.0, 4.0])
    w = np.array([1.0, 0.0, -1.0])
    return _sliding_cases(rng, [
        Case((x, w), label="visible: valid"),
        Case((x, w), {"padding": "same"}, label="visible: 'same'"),
        Case((x, np.array([1.0, 2.0])), {"padding": "full"}, label="visible: 'full'"),
        Case((np.arange(7.0), np.array([1.0, 1.0])), {"stride": 2}, label="visible: stride 2"),
    ])


def conv1d_cases(rng: np.random.Generator) -> list[Case]:
    x = np.array([1.0, 2.0, 3.0, 4.0])
    w = np.array([1.0, 0.0, -1.0])
    return _sliding_cases(rng, [
        Case((x, w), label="visible: valid, the kernel is flipped"),
        Case((x, np.array([1.0, 2.0])), {"padding": "full"}, label="visible: 'full' equals np.convolve"),
    ])


def shift_cases(rng: np.random.Generator) -> list[Case]:
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    y = rng.normal(size=12)
    return [
        Case((x, 2), label="visible: two places right"),
        Case((x, -1), label="visible: one place left"),
        Case((x, 0), label="no shift"),
        Case((y, 5), label="five right"),
        Case((y, -7), label="seven left"),
        Case((y, 12), label="by the whole length: all zeros"),
        Case((y, -15), label="further than the length: all zeros"),
        Case((rng.normal(size=1), 1), label="a single sample"),
    ]


SPECS = [
    Spec("corr1d", CHAPTER, cases=corr1d_cases, forbidden=BY_HAND),
    Spec("conv1d", CHAPTER, cases=conv1d_cases, forbidden=BY_HAND),
    Spec("shift", CHAPTER, cases=shift_cases, forbidden=("torch", "scipy")),
]
