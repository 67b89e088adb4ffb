"""The classic CNNs of chapter 10: as layer lists for shape arithmetic and parameter counts, and
as networks to train (LeNet-5 in NumPy and in PyTorch; ResNet's residual block in PyTorch).

Layer lists use the tuples of `output_shapes`: ('conv', F, k, s, p), ('pool', k, s),
('flatten',), ('dense', M). Activations have no shape or parameters, so they are left out.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from solutions.cnn import output_shapes
from solutions.nn import BatchNorm2d, Conv2d, Dense, Flatten, MaxPool2d, ReLU, Sequential

__all__ = [
    "LENET5", "ALEXNET", "VGG16", "vgg_layers", "param_counts",
    "lenet5_numpy", "LeNet5", "ResidualBlock", "ResNet", "resnet18",
]

# LeCun, Bottou, Bengio & Haffner (1998), on (1, 32, 32): C1, S2, C3, S4, C5 (as dense), F6, output.
LENET5 = [
    ("conv", 6, 5, 1, 0), ("pool", 2, 2), ("conv", 16, 5, 1, 0), ("pool", 2, 2),
    ("flatten",), ("dense", 120), ("dense", 84), ("dense", 10),
]

# Krizhevsky, Sutskever & Hinton (2012), on (3, 227, 227), without the two-GPU channel split.
ALEXNET = [
    ("conv", 96, 11, 4, 0), ("pool", 3, 2), ("conv", 256, 5, 1, 2), ("pool", 3, 2),
    ("conv", 384, 3, 1, 1), ("conv", 384, 3, 1, 1), ("conv", 256, 3, 1, 1), ("pool", 3, 2),
    ("flatten",), ("dense", 4096), ("dense", 4096), ("dense", 1000),
]


def vgg_layers(stages: list[tuple[int, int]], n_classes: int = 1000) -> list[tuple]:
    """Simonyan & Zisserman (2015): stages of (number of 3x3 'same' convs, channels), each
    closed by a 2x2 max pool, then three dense layers."""
    layers: list[tuple] = []
    for n_convs, channels in stages:
        layers += [("conv", channels, 3, 1, 1)] * n_convs + [("pool", 2, 2)]
    return layers + [("flatten",), ("dense", 4096), ("dense", 4096), ("dense", n_classes)]


# VGG-16 (configuration D), on (3, 224, 224): 13 convolutions and 3 dense layers.
VGG16 = vgg_layers([(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)])


def param_counts(input_shape: tuple[int, int, int], layers: list[tuple]) -> list[int]:
    """Weights + biases of each layer: conv F*(C*kh*kw + 1), dense M*(D + 1), others 0."""
    counts = []
    shape = tuple(input_shape)
    for layer, out in zip(layers, output_shapes(input_shape, layers)):
        if layer[0] == "conv":
            kh, kw = (layer[2], layer[2]) if np.isscalar(layer[2]) else layer[2]
            counts.append(layer[1] * (shape[0] * kh * kw + 1))
        elif layer[0] == "dense":
            counts.append(layer[1] * (shape[0] + 1))
        else:
            counts.append(0)
        shape = out
    return counts


# -- LeNet-5 to train on 28x28 digits --------------------------------------------------------
# MNIST digits are 28x28, LeNet's input was 32x32: padding 2 in the first layer makes up the
# difference, so every later shape is the paper's. ReLU and max pooling replace the paper's
# scaled tanh and trainable average pooling (subsampling), as every modern rendition does.

def lenet5_numpy(seed: int = 0, batchnorm: bool = False) -> Sequential:
    """LeNet-5 from the NumPy layers of solutions.nn, He-initialised from `seed`; with
    `batchnorm`, each convolution is followed by batch normalisation (before its ReLU) and the
    same seed draws the same weights."""
    rng = np.random.default_rng(seed)

    def norm(channels: int) -> list:
        return [BatchNorm2d(channels)] if batchnorm else []

    return Sequential(
        Conv2d(1, 6, 5, padding=2, rng=rng, input_grad=False), *norm(6), ReLU(), MaxPool2d(2),
        Conv2d(6, 16, 5, rng=rng), *norm(16), ReLU(), MaxPool2d(2),
        Flatten(),
        Dense(16 * 5 * 5, 120, rng=rng), ReLU(),
        Dense(120, 84, rng=rng), ReLU(),
        Dense(84, 10, rng=rng),
    )


class LeNet5(nn.Module):
    """LeNet-5 in PyTorch, the same layers as `lenet5_numpy`: (N, 1, 28, 28) -> logits (N, 10)."""

    def __init__(self, n_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
            nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


# -- ResNet: the residual block ----------------------------------------------------------------

class ResidualBlock(nn.Module):
    """He, Zhang, Ren & Sun (2016): y = relu(F(x) + shortcut(x)), F = conv-BN-relu-conv-BN.

    The shortcut is the identity when shapes agree, else a strided 1x1 convolution (+ BN), so
    the block only has to learn the residual F(x) = y - x, and gradients reach early layers
    through the identity path undiminished.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.residual = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False), nn.BatchNorm2d(out_channels),
            nn.ReLU(), nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False), nn.BatchNorm2d(out_channels),
        )
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                                          nn.BatchNorm2d(out_channels))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.residual(x) + self.shortcut(x))


class ResNet(nn.Module):
    """A stem, stages of residual blocks (each stage but the first halves the size and doubles
    the channels), global average pooling and one dense layer. `block(in_channels,
    out_channels, stride)` makes each block (`ResidualBlock`; `solutions.depth` passes its own)."""

    def __init__(self, blocks_per_stage=(2, 2, 2, 2), in_channels: int = 3, n_classes: int = 1000,
                 width: int = 64, imagenet_stem: bool = True,
                 block: Callable[[int, int, int], nn.Module] = ResidualBlock):
        super().__init__()
        if imagenet_stem:  # 7x7 stride-2 convolution and a 3x3 stride-2 max pool: 224 -> 56
            stem = [nn.Conv2d(in_channels, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                    nn.MaxPool2d(3, 2, 1)]
        else:  # small images keep their resolution
            stem = [nn.Conv2d(in_channels, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
        layers, channels = list(stem), width
        for stage, n_blocks in enumerate(blocks_per_stage):
            out_channels = width * 2 ** stage
            for index in range(n_blocks):
                stride = 2 if stage > 0 and index == 0 else 1
                layers.append(block(channels, out_channels, stride))
                channels = out_channels
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def resnet18(n_classes: int = 1000) -> ResNet:
    """ResNet-18 for 224x224 RGB images: 11,689,512 parameters with 1000 classes."""
    return ResNet((2, 2, 2, 2), 3, n_classes)
