"""Chapter 8's per-pixel task: digits to segment from clutter, a small U-Net, and its scores.

- `digit_scenes` builds images from the offline MNIST digits: one digit, shifted a few pixels,
  over fragments of other digits and Gaussian noise; the target is the digit's own foreground
  mask (its pixels above 0.5), so the network must tell the digit's strokes from look-alike clutter.
- `UNet` is Ronneberger, Fischer & Brox (2015) in miniature: two 2x2 max-pool steps down, two
  2x2 stride-2 transposed convolutions ("up-convolutions") back up, and at each resolution the
  encoder's map concatenated to the decoder's (the skip connections; `skips=False` drops them).
  Its 3x3 convolutions are padded ('same'), so no map needs cropping, unlike the paper's.
- `pixel_accuracy` and `iou` score a predicted mask against the true one.

Training is `solutions.train.train_torch`: `F.cross_entropy` on `(N, Q, H, W)` scores and
`(N, H, W)` labels is the per-pixel cross-entropy, averaged over every pixel of the batch.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from solutions.depth import he_init_

__all__ = ["digit_scenes", "UNet", "pixel_accuracy", "iou"]


def digit_scenes(digits: np.ndarray, n: int, rng: np.random.Generator, *, fragments: int = 3,
                 fragment_size: int = 8, noise: float = 0.25, max_shift: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """`n` scenes `(n, H, W)` in [0, 1] and their masks `(n, H, W)` (int64, 1 = the digit).

    Each scene is one of `digits (M, H, W)` (values in [0, 1]) moved by up to `max_shift` pixels
    (zeros shifted in), laid over `fragments` random `fragment_size`-square crops of other digits
    (pixelwise maximum), plus Gaussian noise of standard deviation `noise`, clipped to [0, 1].
    The mask marks the digit's pixels above 0.5, before clutter and noise.
    """
    digits = np.asarray(digits, dtype=np.float64)
    if digits.ndim != 3:
        raise ValueError(f"digits must be (M, H, W), got shape {digits.shape}")
    m, h, w = digits.shape
    k = fragment_size
    if not 0 < k <= min(h, w):
        raise ValueError(f"fragment_size must be between 1 and {min(h, w)}, got {k}")
    if max_shift < 0 or max_shift >= min(h, w):
        raise ValueError(f"max_shift must be between 0 and {min(h, w) - 1}, got {max_shift}")
    margin_h, margin_w = (h - k) // 4, (w - k) // 4
    images = np.zeros((n, h, w))
    masks = np.zeros((n, h, w), dtype=np.int64)
    for t in range(n):
        scene = np.zeros((h, w))
        for _ in range(fragments):
            source = digits[rng.integers(m)]
            # a crop from the middle of another digit, where its strokes are, laid anywhere
            r, c = rng.integers(margin_h, h - margin_h - k + 1), rng.integers(margin_w, w - margin_w - k + 1)
            top, left = rng.integers(0, h - k + 1), rng.integers(0, w - k + 1)
            np.maximum(scene[top:top + k, left:left + k], source[r:r + k, c:c + k],
                       out=scene[top:top + k, left:left + k])
        digit = _shifted(digits[rng.integers(m)], *rng.integers(-max_shift, max_shift + 1, size=2))
        images[t] = np.clip(np.maximum(scene, digit) + noise * rng.standard_normal((h, w)), 0.0, 1.0)
        masks[t] = digit > 0.5
    return images, masks


def _shifted(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """`image` moved `dy` rows down and `dx` columns right, zeros shifted in."""
    h, w = image.shape
    out = np.zeros_like(image)
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = image[max(-dy, 0):h - max(dy, 0),
                                                                      max(-dx, 0):w - max(dx, 0)]
    return out


def _double_conv(in_channels: int, out_channels: int) -> nn.Sequential:
    """U-Net's unit: two 3x3 convolutions ('same' padding), each followed by a ReLU."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(out_channels, out_channels, 3, padding=1), nn.ReLU())


class UNet(nn.Module):
    """A two-level U-Net: `(N, in_channels, H, W)` -> per-pixel class scores `(N, n_classes, H, W)`.

    Encoder: double conv at full size (`width` channels), 2x2 max pool, double conv (`2 width`),
    max pool, double conv at a quarter of the size (`4 width`). Decoder, twice: a 2x2 stride-2
    transposed convolution doubles the size and halves the channels, the encoder's map of that
    size is concatenated (when `skips`), a double conv follows. A 1x1 convolution gives the scores.
    `H` and `W` must be divisible by 4.
    """

    def __init__(self, width: int = 8, skips: bool = True, in_channels: int = 1, n_classes: int = 2):
        super().__init__()
        self.skips = skips
        w, joined = width, 2 if skips else 1   # with skips the decoder sees twice the channels
        self.down1, self.down2 = _double_conv(in_channels, w), _double_conv(w, 2 * w)
        self.bottom = _double_conv(2 * w, 4 * w)
        self.up2 = nn.ConvTranspose2d(4 * w, 2 * w, kernel_size=2, stride=2)
        self.dec2 = _double_conv(joined * 2 * w, 2 * w)
        self.up1 = nn.ConvTranspose2d(2 * w, w, kernel_size=2, stride=2)
        self.dec1 = _double_conv(joined * w, w)
        self.head = nn.Conv2d(w, n_classes, kernel_size=1)
        he_init_(self)  # as the U-Net paper initialises

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2] % 4 or x.shape[-1] % 4:
            raise ValueError(f"UNet needs a height and width divisible by 4, got {tuple(x.shape[-2:])}")
        e1 = self.down1(x)                            # (N, w, H, W)
        e2 = self.down2(F.max_pool2d(e1, 2))          # (N, 2w, H/2, W/2)
        bottom = self.bottom(F.max_pool2d(e2, 2))     # (N, 4w, H/4, W/4)
        d2 = self.dec2(self._join(self.up2(bottom), e2))
        d1 = self.dec1(self._join(self.up1(d2), e1))
        return self.head(d1)

    def _join(self, up: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return torch.cat([up, skip], dim=1) if self.skips else up


def pixel_accuracy(predicted, target) -> float:
    """The fraction of pixels whose predicted class is the true one."""
    predicted, target = _same_shape(predicted, target)
    return float(np.mean(predicted == target))


def iou(predicted, target, cls: int = 1) -> float:
    """Intersection over union of class `cls`: |predicted & true| / |predicted | true| over all
    pixels of all images (1.0 when neither has any pixel of the class)."""
    predicted, target = _same_shape(predicted, target)
    p, t = predicted == cls, target == cls
    union = np.count_nonzero(p | t)
    return 1.0 if union == 0 else np.count_nonzero(p & t) / union


def _same_shape(predicted, target) -> tuple[np.ndarray, np.ndarray]:
    predicted, target = np.asarray(predicted), np.asarray(target)
    if predicted.shape != target.shape:
        raise ValueError(f"predicted mask {predicted.shape} and target {target.shape} differ in shape")
    return predicted, target
