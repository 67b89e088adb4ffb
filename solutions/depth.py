"""Depth (chapter 10): how a signal crosses a deep stack at initialisation, and the plain and
residual networks of He, Zhang, Ren & Sun's degradation experiment, small enough for digits.

`conv_stack` builds L layers of one 3x3 convolution each, with or without batch normalisation and
an identity shortcut, initialised the He way or PyTorch's default way; `signal_norms` sends a batch
forward and a unit-size gradient back and measures both at every layer.

`DigitNet` is a scaled-down copy of the paper's CIFAR networks (section 4.2): a 3x3 stem, stages
of blocks of two 3x3 convolutions with batch normalisation (the first block of a later stage
halves the size and doubles the channels), global average pooling and one dense layer. The
residual version adds each block's input to its output before the last ReLU; where a block
changes the shape, the shortcut subsamples and pads the new channels with zeros (the paper's
option A), so plain and residual networks have exactly the same parameters.
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from solutions.models import ResNet

__all__ = ["StackLayer", "conv_stack", "signal_norms", "Block", "DigitNet", "he_init_"]

INITS = ("he", "pytorch")


def he_init_(module: nn.Module) -> nn.Module:
    """He et al. (2015) for every convolution of `module`, transposed ones too: weights
    N(0, 2 / fan_in), biases 0.

    `fan_in` is the number of products summed into one output: `C_in / groups * KH * KW` for a
    convolution; for a transposed convolution each output pixel receives only the taps that land
    on it, `C_in / groups * KH * KW / (sH * sW)` of them (exactly `C_in` for U-Net's 2x2 stride-2
    up-convolution).
    """
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d):
            nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")
        elif isinstance(layer, nn.ConvTranspose2d):
            kh, kw = layer.kernel_size
            fan_in = max(1, layer.in_channels // layer.groups * kh * kw // (layer.stride[0] * layer.stride[1]))
            nn.init.normal_(layer.weight, 0.0, (2.0 / fan_in) ** 0.5)
        else:
            continue
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    return module


class StackLayer(nn.Module):
    """x -> relu(bn(conv(x))) (plain) or x + relu(bn(conv(x))) (residual); bn optional."""

    def __init__(self, channels: int, residual: bool, batchnorm: bool):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, bias=not batchnorm)
        self.norm = nn.BatchNorm2d(channels) if batchnorm else nn.Identity()
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.norm(self.conv(x)))
        return x + out if self.residual else out


def conv_stack(depth: int, channels: int, *, residual: bool = False, batchnorm: bool = False,
               init: str = "he", seed: int = 0) -> nn.ModuleList:
    """`depth` StackLayers, initialised from `seed`: 'he' (N(0, 2 / fan_in), zero bias) or
    'pytorch' (its default: U(+-1/sqrt(fan_in)) for weights and biases, variance 1 / (3 fan_in): a sixth of He's)."""
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    if depth < 1 or channels < 1:
        raise ValueError(f"depth and channels must be positive, got {depth} and {channels}")
    torch.manual_seed(seed)
    layers = nn.ModuleList(StackLayer(channels, residual, batchnorm) for _ in range(depth))
    return he_init_(layers) if init == "he" else layers


def signal_norms(layers: nn.ModuleList, x: torch.Tensor, seed: int = 0) -> tuple[list[float], list[float]]:
    """Root-mean-square of every layer's output, and of the loss's gradient with respect to it.

    The loss is a fixed random read-out of the last output, `sum(g * x_L)` with g ~ N(0, 1), so the
    gradient arriving at the top has RMS ~1 whatever the scale of the forward signal; how its size
    changes on the way down is the stack's doing alone. The layers run in training mode.
    """
    outputs = []
    for layer in layers.train():
        x = layer(x)
        x.retain_grad()
        outputs.append(x)
    readout = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed), dtype=x.dtype)
    (readout * x).sum().backward()
    forward = [out.detach().pow(2).mean().sqrt().item() for out in outputs]
    backward = [out.grad.pow(2).mean().sqrt().item() for out in outputs]
    return forward, backward


class Block(nn.Module):
    """Two 3x3 conv-BN layers: relu(BN(conv(relu(BN(conv(x)))))) plain, or with the shortcut
    added before the last ReLU: relu(F(x) + shortcut(x)) (He et al.'s building block)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, residual: bool):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False), nn.BatchNorm2d(out_channels),
        )
        self.residual, self.stride, self.extra_channels = residual, stride, out_channels - in_channels

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        """The identity; subsampled and zero-padded to the new channels where the shape changes."""
        if self.stride > 1:
            x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.extra_channels)) if self.extra_channels else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return torch.relu(out + self.shortcut(x) if self.residual else out)


class DigitNet(ResNet):
    """`solutions.models.ResNet` with its small stem and `Block`s: a 3x3 stem, `stages` stages of
    `blocks` Blocks (stage s has width * 2**s channels), global average pooling and a dense layer:
    2 + 2 * blocks * stages weighted layers. He-initialised."""

    def __init__(self, blocks: int, *, residual: bool, width: int = 8, stages: int = 2, in_channels: int = 1,
                 n_classes: int = 10):
        if blocks < 1 or stages < 1 or width < 1:
            raise ValueError(f"blocks, stages and width must be positive, got {blocks}, {stages}, {width}")
        super().__init__((blocks,) * stages, in_channels, n_classes, width, imagenet_stem=False,
                         block=partial(Block, residual=residual))
        self.depth = 2 + 2 * blocks * stages
        he_init_(self)
