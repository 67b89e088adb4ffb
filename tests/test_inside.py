"""saliency_map and fgsm (solutions.inside) on tiny fixed-seed models, against gradients computed
by hand with autograd one image at a time, and against closed forms for a linear model."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from solutions.inside import fgsm, saliency_map

DEVICES = ["cpu", pytest.param("cuda", marks=[
    pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")])]


def tiny_cnn(seed=0, device="cpu"):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(3 * 3 * 3, 4)).double().to(device)


def batch(seed=1, device="cpu"):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(5, 2, 6, 6, generator=gen, dtype=torch.float64)
    return x.to(device), torch.tensor([0, 3, 1, 1, 2], device=device)


def input_gradient(fn, x):
    x = x.detach().clone().requires_grad_(True)
    fn(x).backward()
    return x.grad


@pytest.mark.parametrize("device", DEVICES)
def test_saliency_is_the_per_image_gradient_of_the_label_score(device):
    model, (x, labels) = tiny_cnn(device=device), batch(device=device)
    sal = saliency_map(model, x, labels)
    assert sal.shape == (5, 6, 6) and sal.device.type == device
    for i in range(len(x)):
        grad = input_gradient(lambda v, i=i: model(v[None])[0, labels[i]], x[i])
        torch.testing.assert_close(sal[i], grad.abs().amax(dim=0), rtol=1e-12, atol=1e-14)


def test_saliency_of_a_linear_model_is_its_weight_row():
    torch.manual_seed(2)
    linear = nn.Linear(2 * 4 * 5, 3).double()
    model = nn.Sequential(nn.Flatten(), linear)
    x, labels = torch.rand(3, 2, 4, 5, dtype=torch.float64), torch.tensor([2, 0, 2])
    expected = linear.weight.detach().reshape(3, 2, 4, 5).abs().amax(dim=1)[labels]
    torch.testing.assert_close(saliency_map(model, x, labels), expected)


@pytest.mark.parametrize("device", DEVICES)
def test_fgsm_steps_eps_along_the_sign_of_the_mean_loss_gradient(device):
    model, (x, labels) = tiny_cnn(device=device), batch(device=device)
    grad = input_gradient(lambda v: F.cross_entropy(model(v), labels), x)
    adversarial = fgsm(model, x, labels, eps=0.1)
    torch.testing.assert_close(adversarial, (x + 0.1 * grad.sign()).clamp(0, 1))
    assert adversarial.device.type == device
    unclipped = fgsm(model, x, labels, eps=0.1, clip=None)
    torch.testing.assert_close(unclipped, x + 0.1 * grad.sign())
    assert (unclipped - x).abs().max() <= 0.1 + 1e-12


def test_fgsm_raises_the_loss_and_eps_zero_changes_nothing():
    model, (x, labels) = tiny_cnn(), batch()
    before = F.cross_entropy(model(x), labels)
    after = F.cross_entropy(model(fgsm(model, x, labels, eps=0.05, clip=None)), labels)
    assert after > before
    torch.testing.assert_close(fgsm(model, x, labels, eps=0.0), x)


def test_linear_model_fgsm_is_the_closed_form():
    # loss of one image under a linear model: its gradient is W.T (softmax - onehot), in closed form
    torch.manual_seed(3)
    linear = nn.Linear(4, 3, bias=False).double()
    model = nn.Sequential(nn.Flatten(), linear)
    x, labels = torch.rand(2, 1, 2, 2, dtype=torch.float64), torch.tensor([1, 2])
    probs = torch.softmax(linear(x.flatten(1)), dim=1).detach()
    grad = (probs - F.one_hot(labels, 3)) @ linear.weight.detach() / 2
    torch.testing.assert_close(fgsm(model, x, labels, 0.2, clip=None), x + 0.2 * grad.sign().reshape(x.shape))


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_model_mode_parameter_grads_and_input_are_left_alone(mode):
    model, (x, labels) = tiny_cnn(), batch()
    model.train(mode == "train")
    sentinels = [torch.full_like(p, 7.0) for p in model.parameters()]
    for p, s in zip(model.parameters(), sentinels):
        p.grad = s.clone()
    x_before = x.clone()
    saliency_map(model, x, labels)
    fgsm(model, x, labels, 0.1)
    assert model.training == (mode == "train")
    assert all(torch.equal(p.grad, s) for p, s in zip(model.parameters(), sentinels))
    assert torch.equal(x, x_before) and not x.requires_grad


def test_numpy_images_are_accepted():
    model, (x, labels) = tiny_cnn(), batch()
    torch.testing.assert_close(saliency_map(model, x.numpy(), labels.numpy()), saliency_map(model, x, labels))


@pytest.mark.parametrize("call, word", [
    (lambda m, x, y: saliency_map(m, x[0], y), "N, C, H, W"),
    (lambda m, x, y: saliency_map(m, x, y[:3]), "labels"),
    (lambda m, x, y: saliency_map(m, x, y + 10), "lie in"),
    (lambda m, x, y: saliency_map(m, x, y.double()), "integers"),
    (lambda m, x, y: fgsm(m, x, y, -0.1), "eps"),
    (lambda m, x, y: fgsm(m, x, y, 0.1, clip=(1.0, 0.0)), "clip"),
])
def test_bad_arguments_raise_value_error(call, word):
    model, (x, labels) = tiny_cnn(), batch()
    with pytest.raises(ValueError, match=word):
        call(model, x, labels)


def test_saliency_map_of_a_float32_model_on_numpy_input():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(9, 2))
    sal = saliency_map(model, np.ones((1, 1, 3, 3)), np.array([1]))
    assert sal.dtype == torch.float32 and sal.shape == (1, 3, 3)


@pytest.mark.parametrize("device", DEVICES)
def test_margin_gradient_is_the_difference_of_the_two_score_gradients(device):
    from solutions.inside import margin_gradient

    model, (x, labels) = tiny_cnn(device=device), batch(device=device)
    rivals = (labels + 1) % 4
    found = margin_gradient(model, x, labels, rivals)
    assert found.shape == x.shape and found.device.type == device
    for i in range(len(x)):
        up = input_gradient(lambda v, i=i: model(v[None])[0, labels[i]], x[i])
        down = input_gradient(lambda v, i=i: model(v[None])[0, rivals[i]], x[i])
        torch.testing.assert_close(found[i], up - down, rtol=1e-12, atol=1e-14)


def test_margin_gradient_of_a_linear_model_is_a_difference_of_weight_rows():
    from solutions.inside import margin_gradient

    torch.manual_seed(4)
    linear = nn.Linear(6, 3).double()
    model = nn.Sequential(nn.Flatten(), linear)
    x = torch.rand(2, 1, 2, 3, dtype=torch.float64)
    w = linear.weight.detach()
    expected = torch.stack([w[2] - w[0], w[1] - w[2]]).reshape(2, 1, 2, 3)
    torch.testing.assert_close(margin_gradient(model, x, [2, 1], [0, 2]), expected)
    with pytest.raises(ValueError, match="rivals"):
        margin_gradient(model, x, [2, 1], [0, 5])
    with pytest.raises(ValueError, match="rivals"):
        margin_gradient(model, x, [2, 1], [0.0, 1.0])
