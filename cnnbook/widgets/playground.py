"""The kernel playground: cross-correlate a real photo with a kernel you edit, in the browser.

`KernelPlayground()` is an anywidget whose JavaScript (`playground.js`) does all the work, so it
runs the same in JupyterLab and in the static book, where no kernel is there to answer. Python
supplies the data (downscaled photos, preset kernels) and reads the result back: the JavaScript
writes the output it draws into the `output` and `output_shape` traits, and `expected_output()`
computes the same thing with the reference `solutions.corr2d`, so a test can compare the two.

Pixels travel as integers 0..255 (bytes, base64-encoded: a quarter of the page weight of a JSON
list) and are divided by 255 on both sides, so Python and JavaScript start from bit-identical
float64 images.
"""

from __future__ import annotations

import base64
import pathlib
from functools import cache

import anywidget
import numpy as np
import traitlets

HERE = pathlib.Path(__file__).parent

# name -> kernel; the presets of every image-processing course, all 3x3.
PRESETS: dict[str, list[list[float]]] = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "box blur": [[1 / 9] * 3 for _ in range(3)],
    "Gaussian": [[1 / 16, 2 / 16, 1 / 16], [2 / 16, 4 / 16, 2 / 16], [1 / 16, 2 / 16, 1 / 16]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "Sobel x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "Sobel y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "Laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "edge": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
}
# Derivative kernels sum to zero: their outputs are signed, so they are drawn with 0 as mid-grey.
SIGNED_PRESETS = ("Sobel x", "Sobel y", "Laplacian", "edge")
PHOTOS = ("camera", "coins", "moon", "astronaut")
PADDING_MODES = ("valid", "same", "full")
MAX_KERNEL = 7
MAX_STEP = 4  # largest stride and dilation the sliders offer
MAX_PADDING = 4


def downscale(image: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop `image` to a square and average it down to `(size, size)` by whole blocks."""
    if image.ndim != 2:
        raise ValueError(f"downscale expects a 2D grey image, got shape {image.shape}")
    factor = min(image.shape) // size
    if factor < 1:
        raise ValueError(f"size {size} is larger than the image {image.shape}")
    side = factor * size
    top, left = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
    crop = image[top: top + side, left: left + side]
    return crop.reshape(size, factor, size, factor).mean(axis=(1, 3))


@cache
def photo_pixels(name: str, size: int) -> tuple[int, ...]:
    """The photo `name` downscaled to `size` x `size`, as row-major integers 0..255."""
    from cnnbook.data import photo

    small = downscale(photo(name), size)
    return tuple(int(v) for v in np.clip(np.rint(small * 255), 0, 255).ravel())


def preset_display(name: str) -> str:
    """How the outputs of preset `name` map to grey levels: 'signed' for derivative kernels."""
    return "signed" if name in SIGNED_PRESETS else "clip"


def _check_kernel(kernel: list) -> list[list[float]]:
    rows = [list(map(float, row)) for row in kernel]
    if not rows or not rows[0]:
        raise ValueError("the kernel is empty")
    if any(len(row) != len(rows[0]) for row in rows):
        raise ValueError(f"the kernel rows have different lengths: {[len(r) for r in rows]}")
    if len(rows) > MAX_KERNEL or len(rows[0]) > MAX_KERNEL:
        raise ValueError(f"the kernel is larger than {MAX_KERNEL}x{MAX_KERNEL}")
    if not np.all(np.isfinite(rows)):
        raise ValueError("the kernel holds a value that is not finite")
    return rows


class KernelPlayground(anywidget.AnyWidget):
    """A photo, a kernel, stride/padding/dilation controls, and the output with its size formula."""

    _esm = HERE / "playground.js"
    _css = HERE / "playground.css"

    size = traitlets.Int(64).tag(sync=True)
    photos = traitlets.Dict()  # name -> size*size pixels 0..255, row-major
    photos_b64 = traitlets.Dict().tag(sync=True)  # the same pixels as base64 bytes, for the browser
    photo = traitlets.Unicode("camera").tag(sync=True)
    presets = traitlets.Dict().tag(sync=True)  # name -> {"kernel": [[...]], "display": "clip"|"signed"}
    preset = traitlets.Unicode("identity").tag(sync=True)  # "custom" once a cell is edited
    kernel = traitlets.List().tag(sync=True)
    stride = traitlets.Int(1).tag(sync=True)
    padding = traitlets.Union([traitlets.Int(), traitlets.Unicode()], default_value=0).tag(sync=True)
    dilation = traitlets.Int(1).tag(sync=True)
    display_mode = traitlets.Unicode("clip").tag(sync=True)  # how outputs map to grey levels
    # Written by the JavaScript after every change: what the reader sees, for tests in Jupyter.
    output = traitlets.List().tag(sync=True)
    output_shape = traitlets.List().tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(self, photo: str = "camera", preset: str = "identity", size: int = 64,
                 photos: tuple[str, ...] = PHOTOS, **kwargs):
        if photo not in photos:
            raise ValueError(f"photo {photo!r} is not among the photos {photos}")
        if preset not in PRESETS:
            raise ValueError(f"unknown preset {preset!r}; choose from {sorted(PRESETS)}")
        if not 8 <= size <= 128:
            raise ValueError(f"size must be between 8 and 128 pixels, got {size}")
        kwargs.setdefault("kernel", PRESETS[preset])
        kwargs.setdefault("display_mode", preset_display(preset))
        super().__init__(
            size=size,
            photos={name: list(photo_pixels(name, size)) for name in photos},
            photo=photo,
            presets={name: {"kernel": k, "display": preset_display(name)} for name, k in PRESETS.items()},
            preset=preset,
            **kwargs,
        )

    @traitlets.observe("photos")
    def _encode_photos(self, change):
        self.photos_b64 = {name: base64.b64encode(bytes(pixels)).decode("ascii")
                           for name, pixels in change["new"].items()}

    # -- validation: a bad value never reaches the browser ---------------------------------

    @traitlets.validate("kernel")
    def _valid_kernel(self, proposal):
        return _check_kernel(proposal["value"])

    @traitlets.validate("stride", "dilation")
    def _valid_step(self, proposal):
        name, value = proposal["trait"].name, proposal["value"]
        if not 1 <= value <= MAX_STEP:
            raise ValueError(f"{name} must be between 1 and {MAX_STEP}, got {value}")
        return value

    @traitlets.validate("padding")
    def _valid_padding(self, proposal):
        value = proposal["value"]
        if isinstance(value, str) and value not in PADDING_MODES:
            raise ValueError(f"padding must be an int or one of {PADDING_MODES}, got {value!r}")
        if isinstance(value, int) and not 0 <= value <= MAX_PADDING:
            raise ValueError(f"padding must be between 0 and {MAX_PADDING}, got {value}")
        return value

    @traitlets.validate("photo")
    def _valid_photo(self, proposal):
        if proposal["value"] not in self.photos:
            raise ValueError(f"photo {proposal['value']!r} is not among {sorted(self.photos)}")
        return proposal["value"]

    @traitlets.validate("display_mode")
    def _valid_display(self, proposal):
        if proposal["value"] not in ("clip", "signed"):
            raise ValueError(f"display_mode must be 'clip' or 'signed', got {proposal['value']!r}")
        return proposal["value"]

    # -- reading it from Python ------------------------------------------------------------

    def use_preset(self, name: str) -> None:
        """Load a preset kernel, as the preset menu does."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose from {sorted(PRESETS)}")
        with self.hold_trait_notifications():
            self.kernel = PRESETS[name]
            self.preset = name
            self.display_mode = preset_display(name)

    @property
    def image(self) -> np.ndarray:
        """The photo the widget shows, float64 in [0, 1], `(size, size)`."""
        return np.asarray(self.photos[self.photo], dtype=np.float64).reshape(self.size, self.size) / 255

    @property
    def output_array(self) -> np.ndarray:
        """The output the browser computed and drew (empty until a view has rendered)."""
        return np.asarray(self.output, dtype=np.float64).reshape(self.output_shape or (0, 0))

    def expected_output(self) -> np.ndarray:
        """The same output computed by the reference layer, `solutions.corr2d`."""
        from solutions import corr2d

        return corr2d(self.image, np.asarray(self.kernel, dtype=np.float64), stride=self.stride,
                      padding=self.padding, dilation=self.dilation)
