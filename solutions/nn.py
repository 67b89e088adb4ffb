"""A tiny neural-network library on the NumPy reference layers: enough to train LeNet-5 by hand.

Each layer has `forward(x)` (which remembers what its backward pass needs) and `backward(dy)`
(which returns dx and stores the gradients of its parameters). Parameters are `Parameter`s, a
value and its gradient side by side, so an optimiser only needs the list of them:

    net = Sequential(Conv2d(1, 6, 5, padding=2), ReLU(), MaxPool2d(2), Flatten(), Dense(6 * 14 * 14, 10))
    opt = Adam(net.parameters(), lr=1e-3)
    loss, dlogits = softmax_cross_entropy(net.forward(x), y)
    net.backward(dlogits); opt.step()

The arithmetic is the course's own (conv2d_forward/backward, maxpool2d_forward/backward,
relu, dense, batchnorm2d_forward/backward): this module only wires it together.

Layers start in training mode; `net.eval()` switches those that behave differently (batch
normalisation: running statistics instead of the batch's) and `net.train()` switches back.
`predict` and `logits` evaluate in eval mode and restore the mode they found.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from solutions.batchnorm import batchnorm2d_backward, batchnorm2d_forward_and_statistics
from solutions.channels import conv2d_forward, conv2d_general_backward
from solutions.cnn import relu_backward, relu_forward
from solutions.pooling import maxpool2d_backward, maxpool2d_forward

__all__ = [
    "Parameter", "Layer", "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Flatten", "Dense", "Sequential",
    "SGD", "Adam",
]


class Parameter:
    """A trainable array and the gradient of the loss with respect to it (same shape)."""

    def __init__(self, value: np.ndarray):
        self.value = np.asarray(value, dtype=np.float64)
        self.grad = np.zeros_like(self.value)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.value.shape})"


class Layer:
    """A step of a network. Subclasses override forward/backward; parameter-free layers keep []."""

    training = True

    def parameters(self) -> list[Parameter]:
        return []

    def buffers(self) -> list[np.ndarray]:
        """State that is not trained by gradients but belongs to the model (running statistics)."""
        return []

    def state(self) -> list[np.ndarray]:
        """Every array that defines the layer: parameter values, then buffers (to snapshot a model)."""
        return [p.value for p in self.parameters()] + self.buffers()

    def train(self, mode: bool = True) -> Layer:
        self.training = mode
        return self

    def eval(self) -> Layer:
        return self.train(False)

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _remembered(self) -> np.ndarray:
        if getattr(self, "_x", None) is None:
            raise ValueError(f"{type(self).__name__}.backward called before forward")
        return self._x


def _he_normal(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    """He et al. (2015): variance 2 / fan_in keeps activations' scale through ReLU layers."""
    return rng.normal(0.0, np.sqrt(2.0 / fan_in), size=shape)


class Conv2d(Layer):
    """y = conv2d_forward(x, W, b, stride, padding); W (F, C, k, k) He-initialised, b zero.

    `input_grad=False` (for a network's first layer) skips dx, which nothing upstream needs:
    backward then returns None.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 rng: np.random.Generator | None = None, input_grad: bool = True):
        rng = np.random.default_rng() if rng is None else rng
        kh, kw = (kernel_size, kernel_size) if np.isscalar(kernel_size) else kernel_size
        self.weight = Parameter(_he_normal(rng, (out_channels, in_channels, kh, kw), in_channels * kh * kw))
        self.bias = Parameter(np.zeros(out_channels))
        self.stride, self.padding, self.input_grad = stride, padding, input_grad
        self._x = None

    def parameters(self) -> list[Parameter]:
        return [self.weight, self.bias]

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        return conv2d_forward(x, self.weight.value, self.bias.value, self.stride, self.padding)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        dx, dw, db = conv2d_general_backward(dy, self._remembered(), self.weight.value, self.stride,
                                             self.padding, need_input_grad=self.input_grad)
        self.weight.grad, self.bias.grad = dw, db
        return dx


class BatchNorm2d(Layer):
    """Batch normalisation of (N, C, H, W) feature maps (Ioffe & Szegedy 2015), like torch.nn.BatchNorm2d.

    Training mode normalises with the batch's per-channel mean and biased variance
    (`batchnorm2d_forward`) and updates running estimates, `running <- (1 - momentum) running +
    momentum * batch` (the variance unbiased, m / (m - 1), as PyTorch keeps it). Eval mode
    normalises with the running estimates, so a prediction does not depend on the rest of its batch.
    """

    def __init__(self, channels: int, momentum: float = 0.1, eps: float = 1e-5):
        if not 0 < momentum <= 1 or not eps > 0:
            raise ValueError(f"need 0 < momentum <= 1 and eps > 0, got momentum={momentum}, eps={eps}")
        self.gamma = Parameter(np.ones(channels))
        self.beta = Parameter(np.zeros(channels))
        self.running_mean, self.running_var = np.zeros(channels), np.ones(channels)
        self.momentum, self.eps = momentum, eps
        self._x = None

    def parameters(self) -> list[Parameter]:
        return [self.gamma, self.beta]

    def buffers(self) -> list[np.ndarray]:
        return [self.running_mean, self.running_var]

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not self.training:
            scale = self.gamma.value / np.sqrt(self.running_var + self.eps)
            shift = self.beta.value - self.running_mean * scale
            return x * scale[:, None, None] + shift[:, None, None]
        self._x = x
        y, mean, var = batchnorm2d_forward_and_statistics(x, self.gamma.value, self.beta.value, self.eps)
        m = x.shape[0] * x.shape[2] * x.shape[3]
        self.running_mean *= 1 - self.momentum
        self.running_mean += self.momentum * mean
        self.running_var *= 1 - self.momentum
        self.running_var += self.momentum * var * m / (m - 1)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if not self.training:
            raise ValueError("BatchNorm2d.backward in eval mode: call net.train() before training")
        dx, self.gamma.grad, self.beta.grad = batchnorm2d_backward(dy, self._remembered(), self.gamma.value, self.eps)
        return dx


class ReLU(Layer):
    def __init__(self):
        self._x = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        return relu_forward(x)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return relu_backward(dy, self._remembered())


class MaxPool2d(Layer):
    def __init__(self, kernel_size=2, stride=None):
        self.kernel_size, self.stride = kernel_size, stride
        self._x = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        return maxpool2d_forward(x, self.kernel_size, self.stride)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return maxpool2d_backward(dy, self._remembered(), self.kernel_size, self.stride)


class Flatten(Layer):
    """(N, C, H, W) -> (N, C*H*W), row-major; backward restores the shape."""

    def __init__(self):
        self._x = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._x = x
        return x.reshape(x.shape[0], -1)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy.reshape(self._remembered().shape)


class Dense(Layer):
    """y = x @ W.T + b with W (M, D) He-initialised, b zero; the course's dense_forward."""

    def __init__(self, n_in: int, n_out: int, rng: np.random.Generator | None = None):
        rng = np.random.default_rng() if rng is None else rng
        self.weight = Parameter(_he_normal(rng, (n_out, n_in), n_in))
        self.bias = Parameter(np.zeros(n_out))
        self._x = None

    def parameters(self) -> list[Parameter]:
        return [self.weight, self.bias]

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 2 or x.shape[1] != self.weight.value.shape[1]:
            raise ValueError(f"Dense expects (N, {self.weight.value.shape[1]}), got {x.shape}")
        self._x = x
        return x @ self.weight.value.T + self.bias.value

    def backward(self, dy: np.ndarray) -> np.ndarray:
        x = self._remembered()
        self.weight.grad = dy.T @ x
        self.bias.grad = dy.sum(axis=0)
        return dy @ self.weight.value


class Sequential(Layer):
    """Layers applied in order; backward runs them in reverse (the chain rule)."""

    def __init__(self, *layers: Layer):
        self.layers = list(layers)

    def parameters(self) -> list[Parameter]:
        return [p for layer in self.layers for p in layer.parameters()]

    def buffers(self) -> list[np.ndarray]:
        return [b for layer in self.layers for b in layer.buffers()]

    def train(self, mode: bool = True) -> Sequential:
        self.training = mode
        for layer in self.layers:
            layer.train(mode)
        return self

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dy: np.ndarray) -> np.ndarray | None:
        for layer in reversed(self.layers):
            dy = layer.backward(dy)
            if dy is None:  # a first layer that skips its input gradient
                break
        return dy

    def logits(self, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
        """The outputs for `x`, in eval mode and in batches (a forward pass keeps its activations)."""
        was_training = self.training
        self.eval()
        try:
            return np.concatenate([self.forward(x[i: i + batch_size]) for i in range(0, len(x), batch_size)])
        finally:
            self.train(was_training)

    def predict(self, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
        """Class indices: the largest of `logits(x)` for each example."""
        return self.logits(x, batch_size).argmax(axis=1)


# -- optimisers ------------------------------------------------------------------------------

class SGD:
    """Gradient descent with (heavy-ball) momentum: v <- m v + g; p <- p - lr v.
    Weight decay adds wd * p to the gradient (an L2 penalty)."""

    def __init__(self, params: Iterable[Parameter], lr: float = 0.01, momentum: float = 0.9,
                 weight_decay: float = 0.0):
        if lr <= 0 or not 0 <= momentum < 1 or weight_decay < 0:
            raise ValueError("need lr > 0, 0 <= momentum < 1 and weight_decay >= 0")
        self.params = list(params)
        self.lr, self.momentum, self.weight_decay = lr, momentum, weight_decay
        self.velocity = [np.zeros_like(p.value) for p in self.params]

    def step(self) -> None:
        for p, v in zip(self.params, self.velocity):
            g = p.grad + self.weight_decay * p.value
            v *= self.momentum
            v += g
            p.value -= self.lr * v


class Adam:
    """Adam (Kingma & Ba 2015): step along the running mean of gradients, each coordinate scaled
    by the running root-mean-square of its gradients; both averages bias-corrected."""

    def __init__(self, params: Iterable[Parameter], lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        if lr <= 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1) or eps <= 0 or weight_decay < 0:
            raise ValueError("need lr > 0, betas in [0, 1), eps > 0 and weight_decay >= 0")
        self.params = list(params)
        self.lr, self.betas, self.eps, self.weight_decay = lr, betas, eps, weight_decay
        self.mean = [np.zeros_like(p.value) for p in self.params]
        self.square = [np.zeros_like(p.value) for p in self.params]
        self.steps = 0

    def step(self) -> None:
        self.steps += 1
        b1, b2 = self.betas
        correction1, correction2 = 1 - b1 ** self.steps, 1 - b2 ** self.steps
        for p, m, s in zip(self.params, self.mean, self.square):
            g = p.grad + self.weight_decay * p.value
            m *= b1
            m += (1 - b1) * g
            s *= b2
            s += (1 - b2) * g * g
            p.value -= self.lr * (m / correction1) / (np.sqrt(s / correction2) + self.eps)
