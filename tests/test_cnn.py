"""Chapter 10's reference pieces: relu, softmax cross-entropy, output shapes, and the classic
networks' shape arithmetic and parameter counts (solutions.cnn, solutions.models)."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from solutions.cnn import output_shapes, relu_backward, relu_forward, softmax_cross_entropy
from solutions.models import ALEXNET, LENET5, VGG16, LeNet5, param_counts, resnet18, vgg_layers
from solutions.toeplitz import numerical_gradient
from tests.numeric import assert_gradient_close

FEW = settings(max_examples=30, deadline=None)
finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)



# -- relu -------------------------------------------------------------------------------------

@FEW
@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 5)), elements=finite))
def test_relu_forward_is_max_with_zero_and_leaves_input(x):
    before = x.copy()
    y = relu_forward(x)
    assert np.array_equal(y, np.maximum(x, 0)) and y is not x
    assert np.array_equal(x, before)


@FEW
@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 5)),
              elements=st.floats(0.01, 10) | st.floats(-10, -0.01)),
       st.integers(0, 2**16))
def test_relu_backward_is_the_finite_difference_gradient(x, seed):
    dy = np.random.default_rng(seed).standard_normal(x.shape)
    numeric = numerical_gradient(lambda v: float((relu_forward(v) * dy).sum()), x, eps=1e-6)
    assert_gradient_close(relu_backward(dy, x), numeric)


def test_relu_backward_at_zero_is_zero_like_pytorch():
    x = torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float64, requires_grad=True)
    torch.relu(x).backward(torch.ones(3, dtype=torch.float64))
    assert np.array_equal(relu_backward(np.ones(3), x.detach().numpy()), x.grad.numpy())


def test_relu_backward_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shape"):
        relu_backward(np.ones(3), np.ones(4))


# -- softmax cross-entropy ----------------------------------------------------------------------

@st.composite
def logits_and_labels(draw, scale=5.0):
    n, k = draw(st.integers(1, 6)), draw(st.integers(2, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    return scale * rng.standard_normal((n, k)), rng.integers(0, k, n)


@FEW
@given(logits_and_labels())
@example((np.array([[10.20459561, -12.77832516]]), np.array([0])))  # a gradient of 1e-10: below FD's reach
def test_softmax_cross_entropy_gradient_by_finite_differences(problem):
    z, y = problem
    _, grad = softmax_cross_entropy(z, y)
    numeric = numerical_gradient(lambda v: softmax_cross_entropy(v, y)[0], z, eps=1e-6)
    assert_gradient_close(grad, numeric)


@FEW
@given(logits_and_labels(scale=1e4))
def test_softmax_cross_entropy_equals_pytorch_even_for_huge_logits(problem):
    z, y = problem
    zt = torch.tensor(z, requires_grad=True)
    expected = F.cross_entropy(zt, torch.tensor(y))
    expected.backward()
    loss, grad = softmax_cross_entropy(z, y)
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    assert np.isclose(loss, expected.item(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(grad, zt.grad.numpy(), rtol=1e-10, atol=1e-12)


@FEW
@given(logits_and_labels(), st.floats(-100, 100))
def test_softmax_cross_entropy_ignores_a_constant_added_to_a_row(problem, c):
    z, y = problem
    loss, grad = softmax_cross_entropy(z, y)
    shifted_loss, shifted_grad = softmax_cross_entropy(z + c, y)
    assert np.isclose(loss, shifted_loss, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(grad, shifted_grad, atol=1e-10)
    np.testing.assert_allclose(grad.sum(axis=1), 0, atol=1e-12)  # softmax sums to 1, onehot too


def test_softmax_cross_entropy_of_uniform_logits_is_log_k():
    loss, _ = softmax_cross_entropy(np.zeros((3, 10)), np.array([0, 4, 9]))
    assert np.isclose(loss, np.log(10))


@pytest.mark.parametrize("logits, labels, word", [
    (np.zeros(3), np.array([0]), "2D"),
    (np.zeros((2, 3)), np.array([0]), "shape"),
    (np.zeros((2, 3)), np.array([0, 3]), "lie in"),
    (np.zeros((2, 3)), np.array([0, -1]), "lie in"),
    (np.zeros((2, 3)), np.array([0.0, 1.0]), "integers"),
])
def test_softmax_cross_entropy_rejects_bad_input(logits, labels, word):
    with pytest.raises(ValueError, match=word):
        softmax_cross_entropy(logits, labels)


# -- output shapes: against PyTorch itself, on shape-only 'meta' tensors -------------------------

def torch_shapes(input_shape, layers):
    """The shapes PyTorch produces for the same layers (no memory, no arithmetic)."""
    x, shapes = torch.empty((1, *input_shape), device="meta"), []
    for layer in layers:
        if layer[0] == "conv":
            w = torch.empty((layer[1], x.shape[1], *np.broadcast_to(layer[2], 2)), device="meta")
            x = F.conv2d(x, w, stride=layer[3], padding=layer[4])
        elif layer[0] == "pool":
            x = F.max_pool2d(x, layer[1], layer[2])
        elif layer[0] == "flatten":
            x = x.flatten(1)
        else:
            x = torch.empty((1, layer[1]), device="meta")
        shapes.append(tuple(x.shape[1:]))
    return shapes


@st.composite
def networks(draw):
    shape = (draw(st.integers(1, 3)), draw(st.integers(8, 40)), draw(st.integers(8, 40)))
    layers, h, w = [], shape[1], shape[2]
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            k = draw(st.integers(1, 5) | st.tuples(st.integers(1, 5), st.integers(1, 5)))
            s = draw(st.integers(1, 3) | st.tuples(st.integers(1, 3), st.integers(1, 3)))
            p = draw(st.integers(0, 2) | st.tuples(st.integers(0, 2), st.integers(0, 2)))
            kh, kw = np.broadcast_to(k, 2)
            ph, pw = np.broadcast_to(p, 2)
            if kh > h + 2 * ph or kw > w + 2 * pw:
                break
            layers.append(("conv", draw(st.integers(1, 8)), k, s, p))
            sh, sw = np.broadcast_to(s, 2)
            h, w = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
        else:
            k, s = draw(st.integers(1, 3)), draw(st.integers(1, 3))
            if k > min(h, w):
                break
            layers.append(("pool", k, s))
            h, w = (h - k) // s + 1, (w - k) // s + 1
    layers.append(("flatten",))
    layers += [("dense", draw(st.integers(1, 50))) for _ in range(draw(st.integers(0, 2)))]
    return shape, layers


@FEW
@given(networks())
def test_output_shapes_equal_pytorchs(network):
    shape, layers = network
    assert output_shapes(shape, layers) == torch_shapes(shape, layers)


def test_lenet5_shapes_as_in_the_paper():
    assert output_shapes((1, 32, 32), LENET5) == [
        (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (400,), (120,), (84,), (10,)]


def test_alexnet_and_vgg16_shapes():
    alex = output_shapes((3, 227, 227), ALEXNET)
    assert [alex[i] for i in (0, 1, 2, 3, 6, 7, 8)] == [
        (96, 55, 55), (96, 27, 27), (256, 27, 27), (256, 13, 13), (256, 13, 13), (256, 6, 6), (9216,)]
    vgg = output_shapes((3, 224, 224), VGG16)
    pools = [s for s, layer in zip(vgg, VGG16) if layer[0] == "pool"]
    assert pools == [(64, 112, 112), (128, 56, 56), (256, 28, 28), (512, 14, 14), (512, 7, 7)]
    assert vgg[-4:] == [(25088,), (4096,), (4096,), (1000,)]
    assert vgg == torch_shapes((3, 224, 224), VGG16)


@pytest.mark.parametrize("layers, word", [
    ([("conv", 6, 33, 1, 0)], "larger"),
    ([("pool", 2, 2)] * 6, "larger"),
    ([("conv", 6, 3, 0, 0)], "positive"),
    ([("conv", 6, 3, 1)], "conv layer"),
    ([("conv", 0, 3, 1, 0)], "filters"),
    ([("pool", 0, 1)], "positive"),
    ([("relu",)], "unknown"),
    ([("dense", 10)], "flatten"),
    ([("flatten",), ("conv", 6, 3, 1, 0)], r"\(C, H, W\)"),
    ([("dense",)], "dense"),
    (["conv"], "tuple"),
])
def test_output_shapes_rejects_bad_layers(layers, word):
    with pytest.raises(ValueError, match=word):
        output_shapes((1, 32, 32), layers)


@pytest.mark.parametrize("shape", [(32, 32), (0, 32, 32), (1, -2, 3), "1x32x32"])
def test_output_shapes_rejects_bad_input_shapes(shape):
    with pytest.raises(ValueError, match="input_shape"):
        output_shapes(shape, LENET5)


# -- parameter counts ----------------------------------------------------------------------------

def torch_model(input_shape, layers):
    modules, channels = [], input_shape[0]
    for layer, out in zip(layers, output_shapes(input_shape, layers)):
        if layer[0] == "conv":
            modules.append(torch.nn.Conv2d(channels, layer[1], layer[2], layer[3], layer[4], device="meta"))
        elif layer[0] == "dense":
            modules.append(torch.nn.Linear(channels, layer[1], device="meta"))
        channels = out[0]
    return modules


@pytest.mark.parametrize("name, input_shape, layers, total", [
    ("LeNet-5", (1, 32, 32), LENET5, 61_706),
    ("AlexNet", (3, 227, 227), ALEXNET, 62_378_344),
    ("VGG-16", (3, 224, 224), VGG16, 138_357_544),
])
def test_param_counts_of_the_classics(name, input_shape, layers, total):
    counts = param_counts(input_shape, layers)
    assert sum(counts) == total, name
    assert [sum(p.numel() for p in m.parameters()) for m in torch_model(input_shape, layers)] == \
        [c for c in counts if c]


def test_two_3x3_convs_see_a_5x5_patch_with_fewer_weights():
    stacked = param_counts((64, 32, 32), [("conv", 64, 3, 1, 1)] * 2)
    single = param_counts((64, 32, 32), [("conv", 64, 5, 1, 2)])
    assert output_shapes((64, 32, 32), [("conv", 64, 3, 1, 1)] * 2)[-1] == (64, 32, 32)
    assert sum(stacked) < single[0]
    assert vgg_layers([(1, 8)], n_classes=3)[-1] == ("dense", 3)


def test_resnet18_has_its_published_parameter_count_and_shapes():
    model = resnet18()
    assert sum(p.numel() for p in model.parameters()) == 11_689_512
    assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 1000)


def test_torch_lenet5_has_lenet_parameters_on_28x28_digits():
    # padding 2 on 28x28 = LeNet's 32x32; C5 sees 16x5x5 as in the paper
    assert sum(p.numel() for p in LeNet5().parameters()) == 61_706
    assert LeNet5()(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
