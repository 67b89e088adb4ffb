"""Channel mixer: what one filter of a convolution layer does to a colour photo.

`ChannelMixer()` is an anywidget whose JavaScript (`channels.js`) applies a single filter to a small
RGB photo. The filter's slice for channel `c` is `weights[c]` times one of a few `K x K` kernels
(`KERNELS`), plus one bias, so the output map is `b + sum_c weights[c] * corr(x_c, kernel)` (valid
padding). It draws the photo, the three weighted channel maps and their sum, with sliders for the
weights and the bias and presets (grey, colour-opponent filters). Everything is computed in the
browser, so it stays live in the static book.

`output()` computes in Python what the JavaScript draws.
"""

from __future__ import annotations

import anywidget
import numpy as np
import traitlets

from cnnbook.widgets import esm

KERNELS = {
    "1x1 (no spatial extent)": np.ones((1, 1)),
    "3x3 blur": np.full((3, 3), 1 / 9),
    "3x3 vertical edges (Sobel)": np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]),
    "3x3 horizontal edges (Sobel)": np.array([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]]),
}
MAX_SIDE = 128


def default_photo(side: int = 64) -> np.ndarray:
    """scikit-image's astronaut, block-averaged to `side x side`, as `(side, side, 3)` in [0, 1]."""
    from skimage import data

    image = data.astronaut()[:, :, :3].astype(np.float64) / 255.0
    block = image.shape[0] // side
    image = image[: block * side, : block * side]
    return image.reshape(side, block, side, block, 3).mean(axis=(1, 3))


class ChannelMixer(anywidget.AnyWidget):
    """A photo `(H, W, 3)` in [0, 1], per-channel `weights`, a `bias` and a kernel name from `KERNELS`."""

    _esm = esm("channels.js")
    image = traitlets.List().tag(sync=True)  # H * W * 3 values, row-major, colour last, 3 decimals
    height = traitlets.Int().tag(sync=True)
    width = traitlets.Int().tag(sync=True)
    weights = traitlets.List([1.0, -1.0, 0.0]).tag(sync=True)
    bias = traitlets.Float(0.0).tag(sync=True)
    kernel = traitlets.Unicode("3x3 blur").tag(sync=True)

    def __init__(self, photo=None, weights=(1.0, -1.0, 0.0), bias: float = 0.0, kernel: str = "3x3 blur",
                 **kwargs):
        photo = default_photo() if photo is None else np.asarray(photo, dtype=np.float64)
        if photo.ndim != 3 or photo.shape[2] != 3 or not 3 <= min(photo.shape[:2]) <= max(photo.shape[:2]) <= MAX_SIDE:
            raise ValueError(f"photo must be (H, W, 3) with sides from 3 to {MAX_SIDE}, got shape {photo.shape}")
        if not np.all((photo >= 0) & (photo <= 1)):
            raise ValueError("photo values must lie in [0, 1]")
        weights = [float(v) for v in weights]
        if len(weights) != 3:
            raise ValueError(f"weights must hold one number per colour channel, got {len(weights)}")
        if kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {list(KERNELS)}, got {kernel!r}")
        super().__init__(image=[round(float(v), 3) for v in photo.ravel()], height=photo.shape[0],
                         width=photo.shape[1], weights=weights, bias=float(bias), kernel=kernel, **kwargs)

    def photo(self) -> np.ndarray:
        return np.asarray(self.image, dtype=np.float64).reshape(self.height, self.width, 3)

    def filter(self) -> tuple[np.ndarray, np.ndarray]:
        """The filter as a conv layer's weight `(1, 3, K, K)` and bias `(1,)`."""
        k = KERNELS[self.kernel]
        return np.asarray(self.weights)[None, :, None, None] * k[None, None], np.array([self.bias])

    def output(self) -> np.ndarray:
        """The output map `(H - K + 1, W - K + 1)` that the JavaScript draws."""
        x = self.photo().transpose(2, 0, 1)
        w, b = self.filter()
        K = w.shape[-1]
        out = np.full((self.height - K + 1, self.width - K + 1), b[0])
        for c in range(3):
            for a in range(K):
                for d in range(K):
                    out += w[0, c, a, d] * x[c, a:a + out.shape[0], d:d + out.shape[1]]
        return out
