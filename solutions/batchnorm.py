"""Batch normalisation of convolutional feature maps, training mode (chapter 10).

Ioffe & Szegedy (2015): each channel c of a batch x (N, C, H, W) is standardised with the mean and
the biased variance of its B = N*H*W values, then scaled and shifted by
learned gamma_c, beta_c:

    mu_c = mean(x[:, c]),  var_c = mean((x[:, c] - mu_c)**2),
    xhat = (x - mu_c) / sqrt(var_c + eps),   y = gamma_c * xhat + beta_c .

The backward pass differentiates through mu and var too (every value of a channel moved its mean
and variance), which collapses to one line per channel:

    dbeta_c = sum(dy[:, c]),   dgamma_c = sum(dy[:, c] * xhat[:, c]),
    dx = gamma_c / sqrt(var_c + eps) * (dy - dbeta_c / B - xhat * dgamma_c / B) .

NumPy, float64, inputs never modified. `solutions.nn.BatchNorm2d` wraps these in a layer with
running statistics for evaluation.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = [
    "batchnorm2d_forward", "batchnorm2d_forward_and_statistics", "batchnorm2d_backward", "batchnorm2d_statistics",
]

AXES = (0, 2, 3)  # a channel's values: every example, every position


def _checked(x, gamma, eps: float) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    gamma = np.asarray(gamma, dtype=np.float64)
    if x.ndim != 4:
        raise ValueError(f"x must be a batch of feature maps (N, C, H, W), got shape {x.shape}")
    n, c, h, w = x.shape
    if gamma.shape != (c,):
        raise ValueError(f"gamma must have shape ({c},), one scale per channel of x {x.shape}, got {gamma.shape}")
    if n * h * w < 2:
        raise ValueError(f"batch normalisation needs more than one value per channel, but x {x.shape} "
                         f"has N*H*W = {n * h * w}")
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not eps > 0:
        raise ValueError(f"eps must be a positive number, got {eps!r}")
    return x, gamma


def batchnorm2d_statistics(x, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-channel mean and biased variance over (N, H, W), and the standardised xhat, of a checked x."""
    mean = x.mean(axis=AXES, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=AXES, keepdims=True)  # two passes: no cancellation for large means
    xhat = (x - mean) / np.sqrt(var + eps)
    return mean.reshape(-1), var.reshape(-1), xhat


def batchnorm2d_forward(x, gamma, beta, eps: float = 1e-5) -> np.ndarray:
    """Training-mode batch normalisation of x (N, C, H, W): gamma_c * xhat + beta_c per channel.

    Equals torch.nn.functional.batch_norm(x, None, None, gamma, beta, training=True, eps=eps).

    >>> x = np.array([1.0, 3.0, 5.0, 7.0]).reshape(2, 1, 1, 2)   # mean 4, variance 5
    >>> batchnorm2d_forward(x, np.ones(1), np.zeros(1), eps=0.5).ravel() * np.sqrt(5.5)
    array([-3., -1.,  1.,  3.])
    """
    return batchnorm2d_forward_and_statistics(x, gamma, beta, eps)[0]


def batchnorm2d_forward_and_statistics(x, gamma, beta, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y, mean (C,), var (C,)): `batchnorm2d_forward` and the batch statistics it normalised with,
    computed once (a layer's running estimates are made of them)."""
    x, gamma = _checked(x, gamma, eps)
    beta = np.asarray(beta, dtype=np.float64)
    if beta.shape != gamma.shape:
        raise ValueError(f"beta must have shape {gamma.shape}, one shift per channel of x {x.shape}, "
                         f"got {beta.shape}")
    mean, var, xhat = batchnorm2d_statistics(x, eps)
    return gamma[:, None, None] * xhat + beta[:, None, None], mean, var


def batchnorm2d_backward(dy, x, gamma, eps: float = 1e-5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients (dx, dgamma, dbeta) of the loss for y = batchnorm2d_forward(x, gamma, beta, eps),
    given dy = d loss / d y (N, C, H, W). beta is not needed: y depends on it only additively."""
    x, gamma = _checked(x, gamma, eps)
    dy = np.asarray(dy, dtype=np.float64)
    if dy.shape != x.shape:
        raise ValueError(f"dy has shape {dy.shape} but x has shape {x.shape}; they must match")
    m = x.shape[0] * x.shape[2] * x.shape[3]
    _, var, xhat = batchnorm2d_statistics(x, eps)
    dbeta = dy.sum(axis=AXES)
    dgamma = (dy * xhat).sum(axis=AXES)
    scale = (gamma / np.sqrt(var + eps))[:, None, None]
    dx = scale * (dy - dbeta[:, None, None] / m - xhat * (dgamma[:, None, None] / m))
    return dx, dgamma, dbeta
