"""Deep stacks at initialisation and the plain/residual networks of the degradation experiment
(solutions.depth): what chapter 10 claims about them holds, seeded, on the CPU."""

import numpy as np
import pytest
import torch

from solutions.depth import Block, DigitNet, conv_stack, signal_norms

pytestmark = pytest.mark.usefixtures("one_thread")


def norms(depth=30, **kwargs):
    x = torch.randn(8, 16, 16, 16, generator=torch.Generator().manual_seed(0))
    return signal_norms(conv_stack(depth, 16, **kwargs), x)


@pytest.mark.parametrize("init, variance", [("he", 2.0), ("pytorch", 1 / 3)])
def test_initialisations_have_their_variance(init, variance):
    weights = torch.cat([layer.conv.weight.flatten() for layer in conv_stack(20, 16, init=init)])
    fan_in = 16 * 3 * 3
    assert weights.var().item() * fan_in == pytest.approx(variance, rel=0.05)


def test_signal_norms_measure_every_layer_and_start_from_a_unit_gradient():
    forward, backward = norms(depth=5)
    assert len(forward) == len(backward) == 5
    assert backward[-1] == pytest.approx(1.0, rel=0.05)  # the read-out's gradient: RMS ~1


def test_pytorchs_default_initialisation_makes_the_gradient_vanish_and_he_does_not():
    _, default = norms(init="pytorch")
    _, he = norms(init="he")
    assert default[0] / default[-1] < 1e-6
    assert 0.05 < he[0] / he[-1] < 20


def test_the_residual_stack_without_batchnorm_explodes():
    forward, backward = norms(residual=True)
    assert forward[-1] / forward[0] > 1e3 and backward[0] / backward[-1] > 1e3


def test_batchnorm_holds_the_forward_signal_and_the_residual_stack_with_it_stays_tame():
    plain_forward, plain_backward = norms(batchnorm=True)
    assert max(plain_forward) / min(plain_forward) < 1.1
    assert plain_backward[0] / plain_backward[-1] > 10  # BN alone lets the gradient grow towards the input
    res_forward, res_backward = norms(batchnorm=True, residual=True)
    assert 1 < res_forward[-1] / res_forward[0] < 30 and 1 < res_backward[0] / res_backward[-1] < 10


def test_conv_stack_refuses_bad_arguments():
    with pytest.raises(ValueError, match="init"):
        conv_stack(3, 4, init="xavier")
    with pytest.raises(ValueError, match="positive"):
        conv_stack(0, 4)


@pytest.mark.parametrize("blocks", [1, 3])
def test_plain_and_residual_digit_nets_have_the_same_parameters(blocks):
    plain, residual = DigitNet(blocks, residual=False), DigitNet(blocks, residual=True)
    shapes = [tuple(p.shape) for p in plain.parameters()]
    assert shapes == [tuple(p.shape) for p in residual.parameters()]
    assert plain.depth == residual.depth == 2 + 4 * blocks
    convs = sum(isinstance(m, torch.nn.Conv2d) for m in plain.modules())
    assert convs + 1 == plain.depth  # every weighted layer: the convolutions and one dense layer
    assert plain(torch.zeros(2, 1, 14, 14)).shape == (2, 10)


def test_a_block_adds_its_shortcut_before_the_last_relu():
    torch.manual_seed(0)
    block = Block(4, 8, stride=2, residual=True).eval()
    x = torch.randn(2, 4, 6, 6)
    shortcut = torch.zeros(2, 8, 3, 3)
    shortcut[:, :4] = x[:, :, ::2, ::2]  # subsampled, new channels zero (option A)
    with torch.no_grad():
        assert torch.allclose(block(x), torch.relu(block.body(x) + shortcut))
        block.residual = False
        assert torch.allclose(block(x), torch.relu(block.body(x)))


def test_digit_net_refuses_bad_sizes():
    with pytest.raises(ValueError, match="positive"):
        DigitNet(0, residual=True)


def test_digit_nets_are_he_initialised():
    net = DigitNet(2, residual=False, width=16)
    conv = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)][3]
    fan_in = conv.weight[0].numel()
    assert np.isclose(conv.weight.var().item() * fan_in, 2.0, rtol=0.2)
