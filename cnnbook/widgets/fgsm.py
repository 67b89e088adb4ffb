"""FGSM explorer: slide eps and watch a trained network change its mind about a digit.

`FGSMExplorer.from_model(model, images, labels, attack)` runs an FGSM function (the chapter's own
`fgsm`, passed in, so this module needs no reference code) on a few digits: once with `eps = 1` and
no clipping to get the sign of each pixel's gradient, and once per `eps` of a grid to get the
network's class probabilities on the attacked images. The widget keeps only those numbers: the
digits and signs as bytes, the probabilities as a table. Its JavaScript (`fgsm.js`) rebuilds
`clip(x + eps * sign, 0, 1)` for the chosen digit and `eps`, and draws the original, the
perturbation, the attacked image and a bar chart of the ten probabilities, all in the browser, so
the widget stays live in the static book.
"""

from __future__ import annotations

import base64

import anywidget
import numpy as np
import traitlets

from cnnbook.widgets import esm


def _to_base64(values: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(values, dtype=np.uint8).tobytes()).decode("ascii")


def _from_base64(text: str, shape: tuple[int, ...]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=np.uint8).reshape(shape)


class FGSMExplorer(anywidget.AnyWidget):
    """`images (D, H, W)` in [0, 1], `signs (D, H, W)` in {-1, 0, 1}, `probabilities (D, E, K)` of
    the attacked images for each of the `E` values of `eps_values`, and the true `labels (D,)`."""

    _esm = esm("fgsm.js")
    height = traitlets.Int(28).tag(sync=True)
    width = traitlets.Int(28).tag(sync=True)
    images_b64 = traitlets.Unicode("").tag(sync=True)   # uint8, 255 * pixel, row-major (D, H, W)
    signs_b64 = traitlets.Unicode("").tag(sync=True)    # uint8, sign + 1, row-major (D, H, W)
    probabilities = traitlets.List([]).tag(sync=True)   # (D, E, K), rounded to 4 decimals
    eps_values = traitlets.List([]).tag(sync=True)
    labels = traitlets.List([]).tag(sync=True)
    digit = traitlets.Int(0).tag(sync=True)             # which image is shown
    eps_index = traitlets.Int(0).tag(sync=True)         # which eps of eps_values

    def __init__(self, images, signs, probabilities, eps_values, labels, digit: int = 0, eps_index: int = 0,
                 **kwargs):
        images, signs = np.asarray(images, dtype=np.float64), np.asarray(signs, dtype=np.float64)
        probabilities, eps_values = np.asarray(probabilities, dtype=np.float64), np.asarray(eps_values, dtype=float)
        labels = np.asarray(labels)
        if images.ndim != 3:
            raise ValueError(f"images must be (D, H, W), got shape {images.shape}")
        if signs.shape != images.shape:
            raise ValueError(f"signs must have the images' shape {images.shape}, got {signs.shape}")
        if not np.isin(signs, (-1.0, 0.0, 1.0)).all():
            raise ValueError("signs must be -1, 0 or 1")
        if images.min() < 0 or images.max() > 1:
            raise ValueError("images must lie in [0, 1]")
        if eps_values.ndim != 1 or eps_values.size == 0:
            raise ValueError(f"eps_values must be a non-empty 1D sequence, got shape {eps_values.shape}")
        if probabilities.ndim != 3 or probabilities.shape[:2] != (len(images), len(eps_values)):
            raise ValueError(f"probabilities must be (D, E, K) = ({len(images)}, {len(eps_values)}, K), "
                             f"got shape {probabilities.shape}")
        if labels.shape != (len(images),):
            raise ValueError(f"labels must have shape ({len(images)},), got {labels.shape}")
        if not 0 <= digit < len(images) or not 0 <= eps_index < len(eps_values):
            raise ValueError(f"digit must be in 0..{len(images) - 1} and eps_index in 0..{len(eps_values) - 1}")
        super().__init__(
            height=images.shape[1], width=images.shape[2],
            images_b64=_to_base64(np.rint(images * 255)), signs_b64=_to_base64(signs + 1),
            probabilities=np.round(probabilities, 4).tolist(), eps_values=[float(e) for e in eps_values],
            labels=[int(label) for label in labels], digit=digit, eps_index=eps_index, **kwargs)

    @classmethod
    def from_model(cls, model, images, labels, attack, eps_values=None, **kwargs) -> FGSMExplorer:
        """Attack `images (D, 1, H, W)` (a tensor in [0, 1]) with `attack(model, x, labels, eps, clip)`
        (the signature of the chapter's `fgsm`) for every eps of `eps_values` (default 0 to 0.3)."""
        import torch

        eps_values = np.round(np.arange(0.0, 0.301, 0.01), 2) if eps_values is None else np.asarray(eps_values)
        signs = (attack(model, images, labels, 1.0, clip=None) - images).detach()  # eps = 1: the sign itself
        attacked = [attack(model, images, labels, float(eps)).detach() for eps in eps_values]
        with torch.no_grad():
            probabilities = torch.stack([torch.softmax(model(x), dim=1) for x in attacked], dim=1)
        return cls(images[:, 0].cpu().numpy(), torch.round(signs[:, 0]).cpu().numpy(),
                   probabilities.cpu().numpy(), eps_values, labels.cpu().numpy(), **kwargs)

    def attacked(self) -> np.ndarray:
        """The image the JavaScript draws for the current digit and eps: clip(x + eps * sign, 0, 1)."""
        shape = (len(self.labels), self.height, self.width)
        x = _from_base64(self.images_b64, shape)[self.digit] / 255.0
        sign = _from_base64(self.signs_b64, shape)[self.digit].astype(np.float64) - 1
        return np.clip(x + self.eps_values[self.eps_index] * sign, 0.0, 1.0)
