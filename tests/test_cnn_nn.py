"""The NumPy network library (solutions.nn), LeNet-5 on it, and the training loops.

Every layer's backward is checked by float64 central differences of L = sum(forward(x) * g)
with respect to its input and each parameter; the optimisers take the same steps as PyTorch's.
"""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from solutions.models import LeNet5, lenet5_numpy
from solutions.nn import SGD, Adam, BatchNorm2d, Conv2d, Dense, Flatten, MaxPool2d, Parameter, ReLU, Sequential
from solutions.toeplitz import numerical_gradient
from solutions.train import (
    EarlyStopping,
    evaluate_numpy,
    evaluate_torch,
    progress_enabled,
    random_shifts,
    random_shifts_torch,
    train_numpy,
    train_torch,
)
from tests.numeric import assert_gradient_close

FEW = settings(max_examples=15, deadline=None)



def check_layer_gradients(layer, x, seed=0):
    """Backward against central differences, for the input and every parameter."""
    g = np.random.default_rng(seed).standard_normal(layer.forward(x).shape)

    def loss_of_input(v):
        return float((layer.forward(v) * g).sum())

    layer.forward(x)
    dx = layer.backward(g)
    grads = [p.grad.copy() for p in layer.parameters()]
    if dx is not None:
        assert_gradient_close(dx, numerical_gradient(loss_of_input, x))
    for p, grad in zip(layer.parameters(), grads):
        def loss_of_param(v, p=p):
            saved, p.value = p.value, v
            try:
                return float((layer.forward(x) * g).sum())
            finally:
                p.value = saved
        assert_gradient_close(grad, numerical_gradient(loss_of_param, p.value.copy()))


@FEW
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.integers(0, 1), st.integers(1, 2),
       st.integers(0, 2**16))
def test_conv2d_layer_backward(c, f, k, padding, stride, seed):
    rng = np.random.default_rng(seed)
    layer = Conv2d(c, f, k, stride=stride, padding=padding, rng=rng)
    layer.bias.value = rng.standard_normal(f)
    check_layer_gradients(layer, rng.standard_normal((2, c, 5, 6)), seed)


def test_first_conv_layer_can_skip_its_input_gradient():
    rng = np.random.default_rng(0)
    layer = Conv2d(1, 2, 3, rng=rng, input_grad=False)
    y = layer.forward(rng.standard_normal((2, 1, 5, 5)))
    assert layer.backward(np.ones_like(y)) is None
    check_layer_gradients(layer, rng.standard_normal((2, 1, 5, 5)))


@FEW
@given(st.integers(1, 6), st.integers(1, 6), st.integers(0, 2**16))
def test_dense_layer_backward(n_in, n_out, seed):
    rng = np.random.default_rng(seed)
    layer = Dense(n_in, n_out, rng=rng)
    layer.bias.value = rng.standard_normal(n_out)
    check_layer_gradients(layer, rng.standard_normal((3, n_in)), seed)


@pytest.mark.parametrize("layer", [ReLU(), MaxPool2d(2), MaxPool2d(3, 1), Flatten()], ids=repr)
def test_parameter_free_layers_backward(layer):
    # continuous random input: no ties in a pooling window, no zero at relu's kink
    check_layer_gradients(layer, np.random.default_rng(1).standard_normal((2, 3, 6, 6)))


@FEW
@given(st.integers(1, 3), st.integers(2, 3), st.integers(0, 2**16))
def test_batchnorm_layer_backward(c, n, seed):
    rng = np.random.default_rng(seed)
    layer = BatchNorm2d(c)
    layer.gamma.value, layer.beta.value = rng.standard_normal(c), rng.standard_normal(c)
    check_layer_gradients(layer, 2 + 3 * rng.standard_normal((n, c, 3, 4)), seed)


def test_batchnorm_layer_is_torchs_batchnorm2d_in_both_modes():
    """Training-mode outputs, gradients and running statistics over three steps, then eval mode."""
    rng = np.random.default_rng(8)
    ours, theirs = BatchNorm2d(3, momentum=0.2), torch.nn.BatchNorm2d(3, momentum=0.2).double()
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    ours.gamma.value, ours.beta.value = gamma.copy(), beta.copy()
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(gamma))
        theirs.bias.copy_(torch.from_numpy(beta))
    for _ in range(3):
        x, dy = 1 + 2 * rng.standard_normal((4, 3, 5, 5)), rng.standard_normal((4, 3, 5, 5))
        xt = torch.tensor(x, requires_grad=True)
        theirs.weight.grad = theirs.bias.grad = None
        yt = theirs(xt)
        yt.backward(torch.from_numpy(dy))
        np.testing.assert_allclose(ours.forward(x), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours.backward(dy), xt.grad.numpy(), rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(ours.gamma.grad, theirs.weight.grad.numpy(), rtol=1e-10)
        np.testing.assert_allclose(ours.beta.grad, theirs.bias.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=1e-12)
    x = rng.standard_normal((2, 3, 4, 4))
    np.testing.assert_allclose(ours.eval().forward(x), theirs.eval()(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="eval mode"):
        ours.backward(np.ones_like(x))


def test_batchnorm_layer_rejects_bad_hyperparameters():
    with pytest.raises(ValueError):
        BatchNorm2d(3, momentum=0.0)
    with pytest.raises(ValueError):
        BatchNorm2d(3, eps=0.0)


def test_predict_uses_eval_mode_and_restores_the_mode_it_found():
    rng = np.random.default_rng(9)
    net = Sequential(Conv2d(1, 2, 3, rng=rng), BatchNorm2d(2), ReLU(), Flatten(), Dense(2 * 4 * 4, 3, rng=rng))
    x = rng.standard_normal((5, 1, 6, 6))
    alone = [net.logits(x[i: i + 1]) for i in range(5)]  # one image at a time: no batch statistics
    np.testing.assert_allclose(np.concatenate(alone), net.logits(x), rtol=1e-12)
    assert net.training and all(layer.training for layer in net.layers)
    net.eval()
    net.predict(x)
    assert not net.training and not net.layers[1].training


def test_sequential_backward_through_a_small_cnn():
    rng = np.random.default_rng(2)
    net = Sequential(Conv2d(1, 2, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2), Flatten(), Dense(2 * 3 * 3, 4, rng=rng))
    check_layer_gradients(net, rng.standard_normal((2, 1, 6, 6)))


def test_backward_before_forward_is_an_error():
    with pytest.raises(ValueError, match="before forward"):
        ReLU().backward(np.ones(3))


def test_numpy_lenet_computes_what_the_torch_lenet_computes():
    numpy_net, torch_net = lenet5_numpy(seed=3), LeNet5().double()
    ours = [layer for layer in numpy_net.layers if layer.parameters()]
    theirs = [m for m in torch_net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(ours) == len(theirs) == 5
    with torch.no_grad():
        for a, b in zip(ours, theirs):
            b.weight.copy_(torch.from_numpy(a.weight.value))
            b.bias.copy_(torch.from_numpy(a.bias.value + 0.1))
            a.bias.value = a.bias.value + 0.1
    x = np.random.default_rng(4).random((3, 1, 28, 28))
    np.testing.assert_allclose(numpy_net.forward(x), torch_net(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)


# -- optimisers take PyTorch's steps ------------------------------------------------------------

@pytest.mark.parametrize("ours, theirs, kwargs", [
    (SGD, torch.optim.SGD, {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
    (SGD, torch.optim.SGD, {"lr": 0.05, "momentum": 0.0}),
    (Adam, torch.optim.Adam, {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.001}),
])
def test_optimiser_steps_equal_pytorchs(ours, theirs, kwargs):
    rng = np.random.default_rng(5)
    value = rng.standard_normal((3, 4))
    p = Parameter(value.copy())
    t = torch.tensor(value.copy(), requires_grad=True)
    mine, reference = ours([p], **kwargs), theirs([t], **kwargs)
    for _ in range(4):
        grad = rng.standard_normal((3, 4))
        p.grad, t.grad = grad, torch.tensor(grad)
        mine.step()
        reference.step()
    np.testing.assert_allclose(p.value, t.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_optimisers_reject_bad_hyperparameters():
    with pytest.raises(ValueError):
        SGD([], lr=0)
    with pytest.raises(ValueError):
        Adam([], betas=(1.0, 0.9))


# -- training loops --------------------------------------------------------------------------

def test_random_shifts_move_each_image_by_at_most_max_shift():
    rng = np.random.default_rng(6)
    images = np.zeros((20, 1, 9, 9))
    images[:, 0, 4, 4] = 1.0  # one bright pixel in the middle, far from the border
    for shifted in (random_shifts(images, 2, rng),
                    random_shifts_torch(torch.from_numpy(images), 2, torch.Generator().manual_seed(0)).numpy()):
        assert shifted.shape == images.shape and np.array_equal(shifted.sum(axis=(1, 2, 3)), np.ones(20))
        rows, cols = np.nonzero(shifted[:, 0])[1:]
        assert np.all(np.abs(rows - 4) <= 2) and np.all(np.abs(cols - 4) <= 2)
        assert len(set(zip(rows, cols))) > 1
    assert random_shifts(images, 0, rng) is images


def tiny_digits():
    rng = np.random.default_rng(7)
    images = rng.random((48, 28, 28)) * 0.1
    labels = np.arange(48) % 3
    for label in range(3):  # three easy classes: a bright band in one of three places
        images[labels == label, 4 + 8 * label: 10 + 8 * label, :] += 0.9
    return images, labels


def test_numpy_training_learns_easy_classes():
    images, labels = tiny_digits()
    net = lenet5_numpy(seed=0)
    history = train_numpy(net, images, labels, Adam(net.parameters(), lr=3e-3), epochs=6, batch_size=16,
                          val=(images, labels), progress=False)
    assert len(history["loss"]) == 18 and len(history["val_acc"]) == 6
    assert history["loss"][-1] < history["loss"][0] and history["val_acc"][-1] == 1.0


def test_torch_training_learns_and_is_deterministic_under_a_seed(one_thread):
    images, labels = tiny_digits()
    runs = []
    for _ in range(2):
        torch.manual_seed(123)
        model = LeNet5()
        runs.append(train_torch(model, images, labels, epochs=4, batch_size=16, lr=1e-2, seed=1, max_shift=1,
                                val=(images, labels), device="cpu", progress=False))
    assert runs[0]["loss"] == runs[1]["loss"]
    assert runs[0]["loss"][-1] < runs[0]["loss"][0] and runs[0]["val_acc"][-1] > 0.9


def test_max_steps_cut_training_short(one_thread):
    images, labels = tiny_digits()
    history = train_torch(LeNet5(), images, labels, epochs=5, batch_size=8, max_steps=3, device="cpu",
                          progress=False)
    assert len(history["loss"]) == 3


def test_lenet_with_batchnorm_has_the_same_weights_and_two_norms():
    plain, normed = lenet5_numpy(seed=4), lenet5_numpy(seed=4, batchnorm=True)
    norms = [layer for layer in normed.layers if isinstance(layer, BatchNorm2d)]
    assert [n.gamma.value.shape for n in norms] == [(6,), (16,)]
    weights = [p.value for p in normed.parameters() if p.value.ndim > 1]
    assert all(np.array_equal(a.value, b) for a, b in zip([p for p in plain.parameters() if p.value.ndim > 1], weights))
    assert normed.forward(np.zeros((2, 1, 28, 28))).shape == (2, 10)


def test_a_network_with_batchnorm_trains():
    images, labels = tiny_digits()
    rng = np.random.default_rng(10)
    net = Sequential(Conv2d(1, 4, 5, stride=2, rng=rng, input_grad=False), BatchNorm2d(4), ReLU(), MaxPool2d(2),
                     Flatten(), Dense(4 * 6 * 6, 3, rng=rng))
    history = train_numpy(net, images, labels, SGD(net.parameters(), lr=0.05), epochs=4, batch_size=16,
                          val=(images, labels), progress=False)
    assert history["val_acc"][-1] == 1.0 and net.training


# -- validation and early stopping ---------------------------------------------------------------

def test_early_stopping_keeps_the_best_epoch_and_counts_patience():
    stopper, saved = EarlyStopping(patience=2), []
    stops = [stopper.update(epoch, loss, lambda epoch=epoch: saved.append(epoch) or epoch)
             for epoch, loss in enumerate([0.9, 0.5, 0.6, 0.5, 0.7], start=1)]
    assert stops == [False, False, False, True, True]  # 0.5 again is no improvement
    assert stopper.best_epoch == 2 and stopper.saved == 2 and saved == [1, 2]
    never = EarlyStopping(None)
    assert not any(never.update(e, 1.0 + e, lambda: None) for e in range(1, 20))


@pytest.mark.parametrize("patience", [0, -1, 1.5, True])
def test_patience_must_be_a_positive_int(patience):
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience)


def test_patience_needs_validation_data():
    images, labels = tiny_digits()
    net = lenet5_numpy(seed=0)
    with pytest.raises(ValueError, match="validation"):
        train_numpy(net, images, labels, Adam(net.parameters()), patience=2, progress=False)
    with pytest.raises(ValueError, match="validation"):
        train_torch(LeNet5(), images, labels, patience=2, device="cpu", progress=False)


def overfitting_split():
    """Few noisy training images and other validation images: the validation loss turns up."""
    images, labels = tiny_digits()
    rng = np.random.default_rng(11)
    noisy = images + rng.random(images.shape)
    flipped = labels.copy()
    flipped[::4] = (flipped[::4] + 1) % 3  # a quarter of the training labels are wrong
    return (noisy[:24], flipped[:24]), (noisy[24:], labels[24:])


def test_numpy_early_stopping_restores_the_best_epoch():
    (x, y), val = overfitting_split()
    net = lenet5_numpy(seed=1)
    history = train_numpy(net, x, y, Adam(net.parameters(), lr=1e-2), epochs=40, batch_size=8, val=val,
                          patience=3, progress=False)
    best = history["best_epoch"]
    assert history["stopped_early"] and len(history["val_loss"]) == best + 3 < 40
    assert history["val_loss"][best - 1] == min(history["val_loss"])
    assert len(history["train_loss"]) == len(history["train_acc"]) == len(history["val_acc"]) == best + 3
    assert evaluate_numpy(net, *val)[0] == pytest.approx(history["val_loss"][best - 1], rel=1e-12)


def test_torch_early_stopping_restores_the_best_epoch(one_thread):
    (x, y), val = overfitting_split()
    torch.manual_seed(2)
    model = LeNet5()
    history = train_torch(model, x, y, epochs=40, batch_size=8, lr=1e-2, schedule="constant", val=val,
                          patience=3, device="cpu", progress=False)
    best = history["best_epoch"]
    assert history["stopped_early"] and len(history["val_loss"]) == best + 3 < 40
    assert history["val_loss"][best - 1] == min(history["val_loss"])
    assert evaluate_torch(model, *val)[0] == pytest.approx(history["val_loss"][best - 1], rel=1e-6)
    assert model.training


def test_without_patience_training_runs_every_epoch_and_still_names_the_best():
    images, labels = tiny_digits()
    history = train_torch(LeNet5(), images, labels, epochs=3, batch_size=16, device="cpu", progress=False,
                          val=(images, labels))
    assert len(history["val_loss"]) == 3 and not history["stopped_early"]
    assert history["best_epoch"] == 1 + int(np.argmin(history["val_loss"]))


def test_unknown_schedule_is_refused():
    images, labels = tiny_digits()
    with pytest.raises(ValueError, match="schedule"):
        train_torch(LeNet5(), images, labels, schedule="cosine", device="cpu", progress=False)


def test_progress_bars_follow_the_argument_then_the_environment(monkeypatch):
    monkeypatch.delenv("CNNBOOK_PROGRESS", raising=False)
    assert progress_enabled(None) and progress_enabled(True) and not progress_enabled(False)
    monkeypatch.setenv("CNNBOOK_PROGRESS", "0")
    assert not progress_enabled(None) and progress_enabled(True)
    monkeypatch.setenv("CNNBOOK_PROGRESS", "1")
    assert progress_enabled(None)


def test_the_book_build_turns_progress_bars_off(monkeypatch):
    import importlib.util

    from tools.check_chapter import ROOT

    monkeypatch.setenv("CNNBOOK_PROGRESS", "unset")  # records the variable's state, restored afterwards
    monkeypatch.delenv("CNNBOOK_PROGRESS")
    spec = importlib.util.spec_from_file_location("quiet_progress", ROOT / "book" / "_ext" / "quiet_progress.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.setup(None)
    assert not progress_enabled(None)
