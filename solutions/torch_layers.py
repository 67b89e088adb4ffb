"""The NumPy layers again, in PyTorch: same arguments, same rules, on whatever device the input is.

Every layer here is built from tensor operations (`F.pad`, `F.unfold`/`F.fold`, `Tensor.unfold`,
`matmul`), never from `conv2d` itself, so chapter 9 can show that a convolution is an im2col and a
matrix product on the GPU as much as on the CPU. Autograd differentiates them for free;
`Conv2dFunction` shows what autograd does for a convolution by writing the backward pass by hand.

Layouts are PyTorch's (and the course's): images `(N, C, H, W)`, conv weights
`(F, C // groups, KH, KW)`, transposed-conv weights `(C_in, C_out // groups, KH, KW)`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from solutions._validate import (
    check_conv_channels,
    conv_geometry,
    pool_geometry,
    positive_int,
    positive_pair,
    transpose_geometry,
    transpose_length,
)

__all__ = [
    "default_device", "conv2d_torch", "Conv2dFunction", "maxpool2d_torch", "avgpool2d_torch",
    "conv_transpose2d_torch",
]


def default_device() -> torch.device:
    """The GPU when PyTorch sees one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


# -- geometry: the same checks as the NumPy layers, on tensor shapes ------------------------

def _check_ndim(x: torch.Tensor, ndim: int, name: str, layout: str) -> None:
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor {layout}, got {type(x).__name__}")
    if x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions {layout}, got shape {tuple(x.shape)}")


def _check_device(t: torch.Tensor, x: torch.Tensor, name: str) -> None:
    if t.device != x.device:
        raise ValueError(f"{name} is on {t.device} but x is on {x.device}; move both to one device")


def _conv_geometry(x: torch.Tensor, w: torch.Tensor, stride, padding, dilation, groups):
    """Validate a conv2d call (the NumPy layers' rules, solutions._validate); return
    (kernel, stride, dilation, (top, bottom, left, right), (H', W'))."""
    _check_ndim(x, 4, "x", "(N, C, H, W)")
    _check_ndim(w, 4, "w", "(F, C // groups, KH, KW)")
    _check_device(w, x, "w")
    check_conv_channels(tuple(w.shape), x.shape[1], groups)
    kernel = positive_pair(tuple(w.shape[2:]), "kernel size")
    stride, dilation, ((top, bottom), (left, right)), out = conv_geometry(
        tuple(x.shape[2:]), kernel, stride, padding, dilation)
    return kernel, stride, dilation, (top, bottom, left, right), out


def _check_bias(b: torch.Tensor | None, n_filters: int, x: torch.Tensor) -> None:
    if b is None:
        return
    if tuple(b.shape) != (n_filters,):
        raise ValueError(f"bias must have shape ({n_filters},), got {tuple(b.shape)}")
    _check_device(b, x, "b")


def _pad(x: torch.Tensor, pads: tuple[int, int, int, int]) -> torch.Tensor:
    top, bottom, left, right = pads
    return F.pad(x, (left, right, top, bottom)) if any(pads) else x


# -- convolution by unfold + matmul --------------------------------------------------------

def conv2d_torch(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None = None, stride=1,
                 padding=0, dilation=1, groups: int = 1) -> torch.Tensor:
    """Cross-correlation of a batch, equal to `torch.nn.functional.conv2d` with the same arguments.

    x (N, C, H, W), w (F, C // groups, KH, KW), b (F,) or None -> y (N, F, H', W') where
    H' = floor((H + pad_top + pad_bottom - d*(KH-1) - 1) / s) + 1. Padding is an int, an (h, w)
    pair, or 'valid' | 'same' | 'full'. Built as im2col (`F.unfold`) then one batched matmul per
    group, so autograd differentiates it and it runs on the input's device.
    """
    kernel, stride, dilation, pads, (out_h, out_w) = _conv_geometry(x, w, stride, padding, dilation, groups)
    _check_bias(b, w.shape[0], x)
    n = x.shape[0]
    cols = F.unfold(_pad(x, pads), kernel, dilation=dilation, stride=stride)  # (N, C*KH*KW, L)
    # unfold orders rows channel-major, so each group's channels are one contiguous block of rows
    cols = cols.reshape(n, groups, -1, out_h * out_w)
    w_groups = w.reshape(groups, w.shape[0] // groups, -1)                     # (G, F/G, C/G*KH*KW)
    y = torch.matmul(w_groups, cols).reshape(n, w.shape[0], out_h, out_w)
    return y if b is None else y + b.reshape(1, -1, 1, 1)


class Conv2dFunction(torch.autograd.Function):
    """A convolution layer with a hand-written backward pass: `Conv2dFunction.apply(x, w, b, stride, padding)`.

    Forward: y = W_mat @ im2col(x) + b. Backward, for the upstream gradient dy:
      db = sum of dy over batch and positions;
      dW = correlation of the input with dy (each weight met every column of im2col(x));
      dX = transposed convolution of dy: the column gradient W_mat.T @ dy folded back onto the
           image (`F.fold` adds up the overlapping windows), then the padding cropped off.
    The backward is made of differentiable tensor operations, so second derivatives work too.
    """

    @staticmethod
    def forward(ctx, x, w, b=None, stride=1, padding=0):
        kernel, stride, _, pads, (out_h, out_w) = _conv_geometry(x, w, stride, padding, 1, 1)
        _check_bias(b, w.shape[0], x)
        cols = F.unfold(_pad(x, pads), kernel, stride=stride)                  # (N, C*KH*KW, L)
        y = torch.matmul(w.reshape(w.shape[0], -1), cols).reshape(x.shape[0], w.shape[0], out_h, out_w)
        if b is not None:
            y = y + b.reshape(1, -1, 1, 1)
        ctx.save_for_backward(x, w)
        ctx.geometry = (kernel, stride, pads)
        ctx.has_bias = b is not None
        return y

    @staticmethod
    def backward(ctx, dy):
        x, w = ctx.saved_tensors
        kernel, stride, pads = ctx.geometry
        n, n_filters = dy.shape[:2]
        dy_cols = dy.reshape(n, n_filters, -1)                                  # (N, F, L)
        dx = dw = db = None
        if ctx.needs_input_grad[0]:
            top, bottom, left, right = pads
            padded = (x.shape[2] + top + bottom, x.shape[3] + left + right)
            dcols = torch.matmul(w.reshape(n_filters, -1).T, dy_cols)           # (N, C*KH*KW, L)
            dx_padded = F.fold(dcols, padded, kernel, stride=stride)
            dx = dx_padded[:, :, top: padded[0] - bottom, left: padded[1] - right]
        if ctx.needs_input_grad[1]:
            cols = F.unfold(_pad(x, pads), kernel, stride=stride)
            dw = torch.einsum("nfl,nkl->fk", dy_cols, cols).reshape(w.shape)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            db = dy.sum(dim=(0, 2, 3))
        return dx, dw, db, None, None


# -- pooling by window views ---------------------------------------------------------------

def _pool_windows(x: torch.Tensor, kernel_size, stride) -> torch.Tensor:
    """All pooling windows as a view (N, C, H', W', KH*KW), row-major inside each window."""
    _check_ndim(x, 4, "x", "(N, C, H, W)")
    (kh, kw), (sh, sw), _ = pool_geometry(x.shape[2:], kernel_size, stride)  # checks the fit
    windows = x.unfold(2, kh, sh).unfold(3, kw, sw)                             # (N, C, H', W', KH, KW)
    return windows.reshape(*windows.shape[:4], kh * kw)


def maxpool2d_torch(x: torch.Tensor, kernel_size=2, stride=None) -> torch.Tensor:
    """Max over each window (stride=None means stride = kernel_size). Autograd sends the
    gradient to the first maximum of a window in row-major order, as the NumPy layer does,
    and adds up the gradients of overlapping windows."""
    return _pool_windows(x, kernel_size, stride).max(dim=-1).values


def avgpool2d_torch(x: torch.Tensor, kernel_size=2, stride=None) -> torch.Tensor:
    """Mean over each window (stride=None means stride = kernel_size)."""
    return _pool_windows(x, kernel_size, stride).mean(dim=-1)


# -- transposed convolution by matmul + fold -----------------------------------------------

def conv_transpose2d_torch(x: torch.Tensor, w: torch.Tensor, stride=1, padding=0, dilation=1,
                           groups: int = 1, output_padding=0) -> torch.Tensor:
    """Transposed convolution, equal to `torch.nn.functional.conv_transpose2d` (and to the NumPy
    `conv_transpose2d`, with the same arguments and errors).

    x (N, C_in, H, W), w (C_in, C_out // groups, KH, KW) -> (N, C_out, H', W') with
    H' = (H - 1) * s - 2p + d*(KH - 1) + output_padding + 1. Every input pixel stamps its (dilated)
    kernel, scaled, onto the output at stride s (`F.fold` adds the stamps up); `output_padding`
    zero rows and columns go below and to the right; then p rows and columns are cropped from each
    side. It is the adjoint of conv2d with the same weights and geometry.
    """
    _check_ndim(x, 4, "x", "(N, C_in, H, W)")
    _check_ndim(w, 4, "w", "(C_in, C_out // groups, KH, KW)")
    _check_device(w, x, "w")
    groups = positive_int(groups, "groups")
    n, c_in, h, wd = x.shape
    if w.shape[0] != c_in:
        raise ValueError(f"channel mismatch: w has {w.shape[0]} input channels (shape {tuple(w.shape)}), "
                         f"x has {c_in}")
    if c_in % groups:
        raise ValueError(f"groups={groups} must divide the {c_in} input channels")
    kh, kw = positive_pair(tuple(w.shape[2:]), "kernel size")
    stride, dilation, ((ph, _), (pw, _)), (out_h, out_w) = transpose_geometry((h, wd), (kh, kw), stride,
                                                                              padding, dilation, output_padding)
    # the stamps cover the output before any cropping or output_padding: (n - 1)*s + d*(k - 1) + 1 pixels
    # per axis (the output length with p = 0); output_padding adds zeros after them
    stamped_h = transpose_length(h, kh, stride[0], 0, dilation[0])
    stamped_w = transpose_length(wd, kw, stride[1], 0, dilation[1])
    c_out = w.shape[1] * groups
    w_groups = w.reshape(groups, c_in // groups, -1).transpose(1, 2)             # (G, C_out/G*KH*KW, C_in/G)
    cols = torch.matmul(w_groups, x.reshape(n, groups, c_in // groups, h * wd))  # (N, G, C_out/G*KH*KW, HW)
    full = F.fold(cols.reshape(n, c_out * kh * kw, h * wd), (stamped_h, stamped_w), (kh, kw),
                  dilation=dilation, stride=stride)
    full = F.pad(full, (0, out_w + 2 * pw - stamped_w, 0, out_h + 2 * ph - stamped_h))
    return full[:, :, ph: ph + out_h, pw: pw + out_w]
