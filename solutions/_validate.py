"""Argument handling shared by every NumPy layer, so that all of them follow the same rules.

The rules are those of ../shared/COURSE.md:

- `stride`, `dilation`, `kernel_size` are an int or an `(h, w)` pair, and positive;
- `padding` is a non-negative int, an `(h, w)` pair, or one of the strings `'valid'` (0),
  `'same'` (total `d*(K-1)`, `total // 2` on the left, the rest on the right: PyTorch's rule)
  and `'full'` (`d*(K-1)` on both sides);
- the output size along one axis is `floor((n + p_left + p_right - d*(k-1) - 1) / s) + 1`,
  and a kernel larger than the padded input is an error.

Anything else raises `ValueError` with a message that names the argument and what is wrong.
Padding is resolved to explicit `(left, right)` amounts per axis because `'same'` may be
asymmetric.
"""

from __future__ import annotations

import numbers

import numpy as np

PADDING_MODES = ("valid", "same", "full")


def as_int(value, name: str) -> int:
    """`value` as a Python int; bools and non-integral numbers are rejected."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an int, got {value!r}")
    return int(value)


def as_pair(value, name: str) -> tuple[int, int]:
    """An int `k` becomes `(k, k)`; a length-2 sequence of ints stays a pair."""
    if isinstance(value, (tuple, list, np.ndarray)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or an (h, w) pair, got {value!r}")
        return as_int(value[0], name), as_int(value[1], name)
    return (as_int(value, name),) * 2


def positive_pair(value, name: str) -> tuple[int, int]:
    pair = as_pair(value, name)
    if min(pair) <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return pair


def positive_int(value, name: str) -> int:
    n = as_int(value, name)
    if n <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return n


def padding_amounts(padding, kernel_size: int, dilation: int = 1, name: str = "padding") -> tuple[int, int]:
    """`(left, right)` zero padding along one axis for an int or a padding string."""
    if isinstance(padding, str):
        total = dilation * (kernel_size - 1)
        if padding == "valid":
            return 0, 0
        if padding == "same":
            return total // 2, total - total // 2
        if padding == "full":
            return total, total
        raise ValueError(f"{name} must be an int or one of {PADDING_MODES}, got {padding!r}")
    p = as_int(padding, name)
    if p < 0:
        raise ValueError(f"{name} must be non-negative, got {padding!r}")
    return p, p


def padding_pairs(padding, kernel_size: tuple[int, int], dilation: tuple[int, int] = (1, 1),
                  name: str = "padding") -> tuple[tuple[int, int], tuple[int, int]]:
    """`((top, bottom), (left, right))` for an int, an `(h, w)` pair or a padding string."""
    if isinstance(padding, str):
        per_axis = (padding, padding)
    elif isinstance(padding, (tuple, list, np.ndarray)):
        if len(padding) != 2:
            raise ValueError(f"{name} must be an int, an (h, w) pair or one of {PADDING_MODES}, "
                             f"got {padding!r}")
        per_axis = tuple(padding)
    else:
        per_axis = (padding, padding)
    return (padding_amounts(per_axis[0], kernel_size[0], dilation[0], name),
            padding_amounts(per_axis[1], kernel_size[1], dilation[1], name))


def output_length(n: int, kernel_size: int, stride: int, pad: tuple[int, int], dilation: int,
                  axis: str = "input") -> int:
    """`floor((n + p_left + p_right - d*(k-1) - 1) / s) + 1`, after checking the kernel fits."""
    span = dilation * (kernel_size - 1) + 1
    padded = n + pad[0] + pad[1]
    if span > padded:
        raise ValueError(f"kernel (extent {span} with dilation {dilation}) is larger than the padded "
                         f"{axis} ({padded} = {n} + padding {pad[0]} + {pad[1]})")
    return (padded - span) // stride + 1


def as_array(x, name: str, ndim: int | tuple[int, ...] | None = None) -> np.ndarray:
    """`x` as a float64 array (no copy when it already is one), with its ndim checked."""
    arr = np.asarray(x, dtype=np.float64)
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if allowed is not None and arr.ndim not in allowed:
        want = " or ".join(str(d) for d in allowed)
        raise ValueError(f"{name} must have {want} dimensions, got shape {arr.shape}")
    return arr


def as_images(x, name: str = "x") -> np.ndarray:
    """A `(N, C, H, W)` float64 batch."""
    return as_array(x, name, 4)


def check_conv_channels(w_shape: tuple[int, ...], in_channels: int, groups, name: str = "w") -> int:
    """Check that a `(F, C // groups, KH, KW)` weight shape fits `in_channels` and `groups`;
    return `groups` as an int. (Shapes only, so the torch layers share it.)"""
    groups = positive_int(groups, "groups")
    if in_channels % groups:
        raise ValueError(f"groups={groups} must divide the {in_channels} input channels")
    if w_shape[0] % groups:
        raise ValueError(f"groups={groups} must divide the {w_shape[0]} output channels of {name}")
    if w_shape[1] * groups != in_channels:
        raise ValueError(f"channel mismatch: {name} has {w_shape[1]} input channels per group "
                         f"(shape {w_shape}), the input has {in_channels} channels and groups={groups}")
    return groups


def conv_weight(w, in_channels: int, groups: int = 1, name: str = "w") -> np.ndarray:
    """A `(F, C // groups, KH, KW)` float64 weight that matches `in_channels` and `groups`."""
    w = as_array(w, name, 4)
    check_conv_channels(w.shape, in_channels, groups, name)
    if min(w.shape[2:]) <= 0:
        raise ValueError(f"kernel size must be positive, got {name} of shape {w.shape}")
    return w


def conv_bias(b, out_channels: int, name: str = "b") -> np.ndarray | None:
    """`None`, or a float64 bias of shape `(F,)`."""
    if b is None:
        return None
    b = as_array(b, name, 1)
    if b.shape[0] != out_channels:
        raise ValueError(f"{name} must have shape ({out_channels},), got {b.shape}")
    return b


def pool_geometry(in_hw: tuple[int, int], kernel_size, stride):
    """`(kernel, stride, (H', W'))` of a pooling layer (no padding) on an `(H, W)` input;
    `stride=None` means `stride = kernel_size`. Checks that the window fits."""
    kernel = positive_pair(kernel_size, "kernel_size")
    step = kernel if stride is None else positive_pair(stride, "stride")
    out = tuple(output_length(n, k, s, (0, 0), 1, axis)
                for n, k, s, axis in zip(in_hw, kernel, step, ("input height", "input width"), strict=True))
    return kernel, step, out


def expect_shape(arr: np.ndarray, shape: tuple[int, ...], name: str) -> None:
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")


def conv_geometry(in_hw: tuple[int, int], kernel_hw: tuple[int, int], stride, padding, dilation):
    """Stride, dilation, `((top, bottom), (left, right))` padding and output `(H', W')` of a conv.

    Checks every argument (see the module docstring) and that the kernel fits the padded input.
    """
    stride = positive_pair(stride, "stride")
    dilation = positive_pair(dilation, "dilation")
    if min(kernel_hw) <= 0:
        raise ValueError(f"kernel size must be positive, got {tuple(kernel_hw)}")
    pads = padding_pairs(padding, kernel_hw, dilation)
    out = tuple(output_length(n, k, s, p, d, axis)
                for n, k, s, p, d, axis in zip(in_hw, kernel_hw, stride, pads, dilation,
                                               ("input height", "input width"), strict=True))
    return stride, dilation, pads, out


def transpose_length(n: int, kernel_size: int, stride: int, padding: int, dilation: int,
                     output_padding: int = 0, axis: str = "input length") -> int:
    """`(n - 1)*s - 2p + d*(k - 1) + output_padding + 1`: the output length of a transposed conv
    along one axis (PyTorch's rule), after checking `output_padding` and that one pixel is left.

    `output_padding` must be smaller than the stride or the dilation (a larger one would add rows
    that no stride of the convolution it transposes could have cut off); the padding crops
    `p` entries from each end, so it may not eat the whole output.
    """
    if not (output_padding < stride or output_padding < dilation):
        raise ValueError(f"output_padding ({output_padding}) must be smaller than the stride ({stride}) "
                         f"or the dilation ({dilation})")
    out = (n - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1
    if out <= 0:
        raise ValueError(f"padding {padding} is too large: the output would be {out} long for an {axis} "
                         f"of {n} (at least 1 is needed)")
    return out


def transpose_geometry(in_hw: tuple[int, int], kernel_hw: tuple[int, int], stride, padding, dilation,
                       output_padding=0):
    """Stride, dilation, `((p, p), (q, q))` padding and output `(H', W')` of a transposed conv.

    Along each axis the output has `(n - 1)*s - 2p + d*(k - 1) + output_padding + 1` entries
    (`transpose_length`): the padding crops the output, so it is an int or an `(h, w)` pair (no
    padding strings), and must leave one pixel.
    """
    if isinstance(padding, str):
        raise ValueError(f"a transposed convolution takes an int or (h, w) padding, not {padding!r}")
    stride = positive_pair(stride, "stride")
    dilation = positive_pair(dilation, "dilation")
    ph, pw = as_pair(padding, "padding")
    if min(ph, pw) < 0:
        raise ValueError(f"padding must be non-negative, got {padding!r}")
    extra = as_pair(output_padding, "output_padding")
    if min(extra) < 0:
        raise ValueError(f"output_padding must be non-negative, got {output_padding!r}")
    pads = ((ph, ph), (pw, pw))
    out = tuple(transpose_length(n, k, s, p[0], d, op, axis)
                for n, k, s, p, d, op, axis in zip(in_hw, kernel_hw, stride, pads, dilation, extra,
                                                   ("input height", "input width"), strict=True))
    return stride, dilation, pads, out
