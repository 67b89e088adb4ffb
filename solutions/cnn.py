"""The pieces of a CNN around the convolutions: ReLU, the softmax cross-entropy loss, and the
shape arithmetic of a whole network (chapter 10).

NumPy, float64, inputs never modified.
"""

from __future__ import annotations

import numpy as np

from solutions.mlp import log_softmax

__all__ = ["relu_forward", "relu_backward", "softmax_cross_entropy", "output_shapes"]


def relu_forward(x) -> np.ndarray:
    """max(x, 0) elementwise, as a new float64 array of x's shape."""
    return np.maximum(np.asarray(x, dtype=np.float64), 0.0)


def relu_backward(dy, x) -> np.ndarray:
    """Gradient of relu at x: dy where x > 0, else 0 (the subgradient 0 at x == 0, as PyTorch)."""
    dy = np.asarray(dy, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if dy.shape != x.shape:
        raise ValueError(f"dy has shape {dy.shape} but x has shape {x.shape}; they must match")
    return np.where(x > 0, dy, 0.0)


def softmax_cross_entropy(logits, labels) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of integer `labels (N,)` under softmax(`logits (N, Q)`), and its gradient.

    loss = mean_i [ logsumexp(z_i) - z_i[y_i] ];  dloss/dz_i = (softmax(z_i) - onehot(y_i)) / N.
    Chapter 1's log_softmax subtracts each row's maximum first, which keeps exp() finite for
    logits as large as 1e4.
    """
    z = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels)
    if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] == 0:
        raise ValueError(f"logits must be a non-empty 2D array (N, Q), got shape {z.shape}")
    n, q = z.shape
    if labels.shape != (n,):
        raise ValueError(f"labels must have shape ({n},) to match logits {z.shape}, got {labels.shape}")
    if labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
    if labels.min() < 0 or labels.max() >= q:
        raise ValueError(f"labels must lie in 0..{q - 1}, got values from {labels.min()} to {labels.max()}")
    log_probs = log_softmax(z)
    rows = np.arange(n)
    loss = float(-log_probs[rows, labels].mean())
    dlogits = np.exp(log_probs)
    dlogits[rows, labels] -= 1.0
    return loss, dlogits / n


# -- shape arithmetic ------------------------------------------------------------------------

def _int_pair(value, name: str, layer: tuple) -> tuple[int, int]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return (int(value), int(value))
    if (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)):
        return (int(value[0]), int(value[1]))
    raise ValueError(f"{name} of layer {layer!r} must be an int or an (h, w) pair, got {value!r}")


def _sliding_size(n: int, k: int, s: int, p: int, what: str, layer: tuple) -> int:
    """floor((n + 2p - k) / s) + 1, refusing windows that do not fit."""
    if n + 2 * p < k:
        padded = f"the padded input {n + 2 * p}" if p else f"the input {n}"
        raise ValueError(f"layer {layer!r}: {what} {k} is larger than {padded}")
    return (n + 2 * p - k) // s + 1


def _conv_shape(shape: tuple, layer: tuple) -> tuple:
    if len(layer) != 5:
        raise ValueError(f"a conv layer is ('conv', filters, kernel, stride, padding), got {layer!r}")
    _, filters, kernel, stride, padding = layer
    if not isinstance(filters, (int, np.integer)) or isinstance(filters, bool) or filters < 1:
        raise ValueError(f"layer {layer!r}: the number of filters must be a positive int")
    kernel, stride, padding = (_int_pair(kernel, "kernel", layer), _int_pair(stride, "stride", layer),
                               _int_pair(padding, "padding", layer))
    if min(kernel) < 1 or min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"layer {layer!r}: kernel and stride must be positive, padding non-negative")
    h, w = (_sliding_size(n, k, s, p, "kernel", layer) for n, k, s, p in zip(shape[1:], kernel, stride, padding))
    return (int(filters), h, w)


def _pool_shape(shape: tuple, layer: tuple) -> tuple:
    if len(layer) != 3:
        raise ValueError(f"a pool layer is ('pool', kernel, stride), got {layer!r}")
    kernel = _int_pair(layer[1], "kernel", layer)
    stride = kernel if layer[2] is None else _int_pair(layer[2], "stride", layer)
    if min(kernel) < 1 or min(stride) < 1:
        raise ValueError(f"layer {layer!r}: kernel and stride must be positive")
    h, w = (_sliding_size(n, k, s, 0, "window", layer) for n, k, s in zip(shape[1:], kernel, stride))
    return (shape[0], h, w)


def output_shapes(input_shape, layers) -> list[tuple[int, ...]]:
    """The shape after each layer of a network, as a list of tuples.

    input_shape is (C, H, W). Layers: ('conv', F, k, s, p) -> (F, H', W') with
    H' = floor((H + 2p - k) / s) + 1; ('pool', k, s) -> (C, H', W') with H' = floor((H - k) / s) + 1;
    ('flatten',) -> (C*H*W,); ('dense', M) -> (M,). k, s, p are ints or (h, w) pairs.
    LeNet-5 on (1, 32, 32): conv 6 5x5 -> (6, 28, 28), pool 2 -> (6, 14, 14),
    conv 16 5x5 -> (16, 10, 10), pool 2 -> (16, 5, 5), flatten -> (400,), ...
    """
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else None
    if (shape is None or len(shape) != 3
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1 for v in shape)):
        raise ValueError(f"input_shape must be (C, H, W) of positive ints, got {input_shape!r}")
    shape = tuple(int(v) for v in shape)
    shapes = []
    for layer in layers:
        if not isinstance(layer, (tuple, list)) or not layer or not isinstance(layer[0], str):
            raise ValueError(f"a layer is a tuple starting with its kind, got {layer!r}")
        layer = tuple(layer)
        kind = layer[0]
        if kind in ("conv", "pool") and len(shape) != 3:
            raise ValueError(f"layer {layer!r} needs a (C, H, W) input, but it gets {shape}")
        if kind == "conv":
            shape = _conv_shape(shape, layer)
        elif kind == "pool":
            shape = _pool_shape(shape, layer)
        elif kind == "flatten":
            if len(layer) != 1:
                raise ValueError(f"a flatten layer is ('flatten',), got {layer!r}")
            shape = (int(np.prod(shape)),)
        elif kind == "dense":
            if len(layer) != 2 or not isinstance(layer[1], (int, np.integer)) or layer[1] < 1:
                raise ValueError(f"a dense layer is ('dense', M) with a positive int M, got {layer!r}")
            if len(shape) != 1:
                raise ValueError(f"layer {layer!r} needs a flat input; add ('flatten',) before it")
            shape = (int(layer[1]),)
        else:
            raise ValueError(f"unknown layer kind {kind!r}; expected 'conv', 'pool', 'flatten' or 'dense'")
        shapes.append(shape)
    return shapes
