"""Images made by optimising the pixels of a frozen network's input (chapter 11).

The weights stay fixed; gradient steps change the image instead:

- `class_model_images`: images a classifier scores as a class, by gradient ascent on
  log p(x) + score_q(x), the log-posterior log p(x | t = q) up to a constant when the score is
  log p(t = q | x) (Simonyan, Vedaldi & Zisserman 2014 climb the logit instead). The prior
  log p(x) is a function (`gaussian_log_prior`, `tv_log_prior`); blur and jitter between steps
  are the implicit priors of Yosinski et al. (2015) and of CS231n's class visualisation.
- `invert_representation`: an image whose code at some layer matches a target's, with a
  total-variation prior (Mahendran & Vedaldi 2015).
- `deep_dream`: amplify whatever a layer detects in an image (Mordvintsev, Olah & Tyka 2015).
- `gram_matrix`, `RandomFeatures`, `style_transfer`: Gatys, Ecker & Bethge's style transfer on
  the Gram matrices of a one-layer network with random filters at several scales, the texture
  model of Ustyuzhaninov, Brendel, Gatys & Bethge (2016).

Every function works on `(N, C, H, W)` tensors on any device, differentiates with
`torch.autograd.grad` with respect to the image only (the network's parameters keep their
`.grad`), and is seeded, so a CPU run is reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "total_variation", "gaussian_log_prior", "tv_log_prior", "gaussian_blur", "jitter",
    "class_model_images", "invert_representation", "deep_dream",
    "gram_matrix", "RandomFeatures", "style_transfer",
]

LogPrior = Callable[[torch.Tensor], torch.Tensor]


def _check_images(x: torch.Tensor, what: str = "x") -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        shape = tuple(x.shape) if hasattr(x, "shape") else type(x).__name__
        raise ValueError(f"{what} must be a batch of images (N, C, H, W) as a tensor, got {shape}")


# -- priors ------------------------------------------------------------------------------------

def total_variation(x: torch.Tensor) -> torch.Tensor:
    """(N,): the anisotropic total variation of each image, a sum over channels and pixels,

        TV(x) = sum_{c,u,v} |x[c, u+1, v] - x[c, u, v]| + |x[c, u, v+1] - x[c, u, v]|,

    over every pair of vertical and horizontal neighbours (no padding). It is 0 for a flat
    image and grows with the length and contrast of every edge.

    >>> x = torch.zeros(1, 1, 3, 3); x[0, 0, 1, 1] = 1.0   # one bright pixel in the middle
    >>> total_variation(x).tolist()                        # four unit steps to its neighbours
    [4.0]
    """
    _check_images(x)
    down = (x[..., 1:, :] - x[..., :-1, :]).abs().sum(dim=(1, 2, 3))
    right = (x[..., :, 1:] - x[..., :, :-1]).abs().sum(dim=(1, 2, 3))
    return down + right


def gaussian_log_prior(weight: float) -> LogPrior:
    """log p(x) = -weight * ||x||^2 per image (+ a constant): a Gaussian N(0, I / (2 weight)).
    Its gradient, -2 weight x, decays every pixel towards 0."""
    if weight < 0:
        raise ValueError(f"weight must be non-negative, got {weight}")
    return lambda x: -weight * (x ** 2).sum(dim=(1, 2, 3))


def tv_log_prior(weight: float) -> LogPrior:
    """log p(x) = -weight * TV(x) per image (+ a constant): images made of flat regions."""
    if weight < 0:
        raise ValueError(f"weight must be non-negative, got {weight}")
    return lambda x: -weight * total_variation(x)


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Each channel blurred by a normalised Gaussian of standard deviation `sigma` pixels:
    separable, taps out to a radius of round(3 sigma), mirrored borders (the border pixel is not
    repeated), as `scipy.ndimage.gaussian_filter(x, sigma, mode='mirror', truncate=3)` on each
    image plane. `sigma = 0` returns a copy."""
    _check_images(x)
    if sigma < 0:
        raise ValueError(f"sigma must be non-negative, got {sigma}")
    if sigma == 0:
        return x.clone()
    radius = max(1, int(3 * sigma + 0.5))
    if radius >= min(x.shape[-2], x.shape[-1]):
        raise ValueError(f"a blur of sigma {sigma} needs images larger than {radius} pixels, got {tuple(x.shape)}")
    taps = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-0.5 * (taps / sigma) ** 2)
    kernel = kernel / kernel.sum()
    n, c, h, w = x.shape
    flat = x.reshape(n * c, 1, h, w)
    flat = F.conv2d(F.pad(flat, (0, 0, radius, radius), mode="reflect"), kernel.view(1, 1, -1, 1))
    flat = F.conv2d(F.pad(flat, (radius, radius, 0, 0), mode="reflect"), kernel.view(1, 1, 1, -1))
    return flat.reshape(n, c, h, w)


def jitter(x: torch.Tensor, shift: tuple[int, int]) -> torch.Tensor:
    """x rolled by `shift = (rows, columns)` pixels, circularly (what leaves one side re-enters
    at the other); `jitter(jitter(x, s), (-s[0], -s[1]))` is x again."""
    return torch.roll(x, shifts=(int(shift[0]), int(shift[1])), dims=(-2, -1))


# -- the two ways a synthesis steps: ascent at a random shift, Adam on the pixels --------------

def _gradient_at_a_random_shift(objective: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                                max_jitter: int, generator: torch.Generator) -> torch.Tensor:
    """d objective / dx, taken at x rolled by a random shift of at most `max_jitter` pixels along
    each axis (drawn from `generator`; 0: no shift) and rolled back, so that it lines up with x."""
    shift = (torch.randint(-max_jitter, max_jitter + 1, (2,), generator=generator).tolist()
             if max_jitter else (0, 0))
    moved = jitter(x, shift).requires_grad_(True)
    (grad,) = torch.autograd.grad(objective(moved), moved)
    return jitter(grad, (-shift[0], -shift[1]))


def _adam_on_the_image(loss: Callable[[torch.Tensor], torch.Tensor], start: torch.Tensor, steps: int, lr: float,
                       clip: tuple[float, float] | None) -> torch.Tensor:
    """Adam steps on the pixels of a copy of `start` that lower the scalar `loss(image)`, clamped to
    `clip` after each step. Only the image is differentiated: parameters keep their `.grad`."""
    image = start.detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([image], lr=lr)
    for _ in range(steps):
        (grad,) = torch.autograd.grad(loss(image), image)
        image.grad = grad
        optimizer.step()
        if clip is not None:
            with torch.no_grad():
                image.clamp_(clip[0], clip[1])
    return image.detach()


# -- class-model images -----------------------------------------------------------------------

def class_model_images(model: nn.Module, classes: Sequence[int] | torch.Tensor, image_shape: tuple[int, int, int],
                       *, steps: int = 200, step_size: float = 0.1, log_prior: LogPrior | None = None,
                       score: str = "logit", noise: float = 0.0, blur_every: int = 0, blur_sigma: float = 0.5,
                       max_jitter: int = 0, clip: tuple[float, float] | None = None, seed: int = 0,
                       start: torch.Tensor | None = None) -> torch.Tensor:
    """One image per entry of `classes`, `(len(classes), *image_shape)`, by gradient ascent on

        J(x) = score_q(x) + log_prior(x),     x_{tau+1} = x_tau + step_size * dJ/dx (+ N(0, noise^2 I)),

    from `start` (default: the zero image, as Simonyan et al.), where `score` is `"logit"`
    (z_q, the score before the softmax) or `"log_prob"` (log p(t = q | x), the lecture's form; t is the label).
    In the lecture's notation the step is eps_2 = step_size and the prior's term eps_1 d log p(x)/dx
    = step_size * d log_prior/dx; with `gaussian_log_prior(lam)` that is x_{tau+1} =
    (1 - 2 step_size lam) x_tau + step_size dz_q/dx.

    Between steps, optionally: every `blur_every` steps blur with `gaussian_blur(., blur_sigma)`
    (Yosinski et al. 2015); each step, compute the gradient at the image rolled by a random
    shift of at most `max_jitter` pixels and roll it back (jitter); clamp to `clip = (low, high)`.
    The model is used as it is (call `model.eval()` first); its parameters are not changed.
    """
    if score not in ("logit", "log_prob"):
        raise ValueError(f"score must be 'logit' or 'log_prob', got {score!r}")
    if steps < 0 or step_size < 0 or noise < 0 or max_jitter < 0 or blur_every < 0:
        raise ValueError("steps, step_size, noise, max_jitter and blur_every must be non-negative")
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    dtype = param.dtype if param is not None else torch.float32
    classes = torch.as_tensor(classes, device=device).long().reshape(-1)
    if start is None:
        x = torch.zeros(len(classes), *image_shape, device=device, dtype=dtype)
    else:
        _check_images(start, "start")
        x = start.detach().to(device=device, dtype=dtype).clone()
        if x.shape[0] != len(classes):
            raise ValueError(f"start holds {x.shape[0]} images for {len(classes)} classes")
    generator = torch.Generator().manual_seed(seed)
    rows = torch.arange(len(classes), device=device)

    def objective(image: torch.Tensor) -> torch.Tensor:  # J, summed over the images
        logits = model(image)
        if classes.numel() and (classes.min() < 0 or classes.max() >= logits.shape[1]):
            raise ValueError(f"classes must lie in 0..{logits.shape[1] - 1}, got {classes.tolist()}")
        scores = logits if score == "logit" else F.log_softmax(logits, dim=1)
        value = scores[rows, classes].sum()
        return value if log_prior is None else value + log_prior(image).sum()

    for step in range(steps):
        grad = _gradient_at_a_random_shift(objective, x, max_jitter, generator)
        with torch.no_grad():
            x = x + step_size * grad
            if noise:
                x = x + noise * torch.randn(x.shape, generator=generator, dtype=dtype).to(device)
            if blur_every and (step + 1) % blur_every == 0:
                x = gaussian_blur(x, blur_sigma)
            if clip is not None:
                x = x.clamp(clip[0], clip[1])
    return x.detach()


# -- inverting a representation ---------------------------------------------------------------

def invert_representation(layer: Callable[[torch.Tensor], torch.Tensor], target_image: torch.Tensor, *,
                          steps: int = 150, lr: float = 0.05, tv_weight: float = 1e-4,
                          clip: tuple[float, float] | None = (0.0, 1.0)) -> torch.Tensor:
    """An image x whose code at `layer` matches the target's, by Adam steps on

        ||Phi(x) - Phi(x0)||^2 / ||Phi(x0)||^2 + tv_weight * TV(x)      (summed over the batch)

    from a black image, clamped to `clip` after each step (Mahendran & Vedaldi 2015)."""
    _check_images(target_image, "target_image")
    with torch.no_grad():
        target = layer(target_image)
    norm = (target ** 2).flatten(1).sum(dim=1)

    def loss(image: torch.Tensor) -> torch.Tensor:
        mismatch = ((layer(image) - target) ** 2).flatten(1).sum(dim=1) / norm
        return (mismatch + tv_weight * total_variation(image)).sum()

    return _adam_on_the_image(loss, torch.zeros_like(target_image), steps, lr, clip)


# -- deep dream -------------------------------------------------------------------------------

def deep_dream(layer: Callable[[torch.Tensor], torch.Tensor], image: torch.Tensor, *, steps: int = 50,
               step_size: float = 0.02, max_jitter: int = 4, clip: tuple[float, float] | None = (0.0, 1.0),
               seed: int = 0) -> torch.Tensor:
    """Gradient ascent on the mean square activation of `layer`, (1/2) mean(layer(x)^2), from
    `image`: each step moves every pixel by `step_size` times the gradient divided by its mean
    absolute value (so the step does not depend on the layer's scale), at a random jitter of at
    most `max_jitter` pixels, then clamps to `clip`. Whatever the layer detects gets stronger."""
    _check_images(image, "image")
    generator = torch.Generator().manual_seed(seed)
    x = image.detach().clone()
    for _ in range(steps):
        grad = _gradient_at_a_random_shift(lambda moved: 0.5 * (layer(moved) ** 2).mean(), x, max_jitter, generator)
        with torch.no_grad():
            x = x + step_size * grad / grad.abs().mean().clamp_min(1e-12)
            if clip is not None:
                x = x.clamp(clip[0], clip[1])
    return x


# -- Gram matrices and style transfer ---------------------------------------------------------

def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """(N, F, F): G[n, f, g] = sum over positions of features[n, f] * features[n, g], divided by
    the number of positions H * W. It keeps which channels fire together and forgets where."""
    _check_images(features, "features")
    flat = features.flatten(2)
    return flat @ flat.transpose(1, 2) / flat.shape[2]


class RandomFeatures(nn.Module):
    """One convolutional layer with random, fixed filters at several sizes, then ReLU: a list of
    `(N, channels, H, W)` maps, one per kernel size ('same' padding, reflected borders).

    Ustyuzhaninov, Brendel, Gatys & Bethge (2016) found that the Gram matrices of such a single
    random layer already describe natural textures. The filters are zero-mean (the flat part of
    an image gives no response) and drawn from `seed`."""

    def __init__(self, in_channels: int = 1, kernel_sizes: Sequence[int] = (3, 5, 7, 11), channels: int = 32,
                 seed: int = 0):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.kernel_sizes = tuple(int(k) for k in kernel_sizes)
        for k in self.kernel_sizes:
            if k < 1 or k % 2 == 0:
                raise ValueError(f"kernel sizes must be odd and positive, got {k}")
            w = torch.randn(channels, in_channels, k, k, generator=generator)
            w = w - w.mean(dim=(1, 2, 3), keepdim=True)
            w = w / w.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
            self.register_buffer(f"w{k}", w)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        maps = []
        for k in self.kernel_sizes:
            padded = F.pad(x, (k // 2,) * 4, mode="reflect")
            maps.append(F.relu(F.conv2d(padded, getattr(self, f"w{k}"))))
        return maps


def style_transfer(features: Callable[[torch.Tensor], list[torch.Tensor]], content: torch.Tensor | None,
                   style: torch.Tensor, *, start: torch.Tensor, content_weight: float = 1.0,
                   style_weight: float = 1.0, steps: int = 200, lr: float = 0.02,
                   clip: tuple[float, float] | None = (0.0, 1.0)) -> torch.Tensor:
    """Gatys et al.'s image synthesis: Adam steps from `start` on

        content_weight * sum_l ||F_l(x) - F_l(content)||^2 / ||F_l(content)||^2
          + style_weight * sum_l ||G_l(x) - G_l(style)||^2 / ||G_l(style)||^2,

    where F_l are the maps that `features` returns and G_l their Gram matrices (each term
    relative to its target, so the weights say how much each matters). `content=None` leaves
    only the style term: texture synthesis. `style` may have another size than `start` (a Gram
    matrix does not depend on the size). Clamped to `clip` after each step."""
    for name, value in (("style", style), ("start", start)) + ((("content", content),) if content is not None else ()):
        _check_images(value, name)
    with torch.no_grad():
        style_grams = [gram_matrix(f) for f in features(style)]
        content_maps = features(content) if content is not None else None

    def loss(image: torch.Tensor) -> torch.Tensor:
        maps = features(image)
        value = style_weight * sum(_relative_mismatch(gram_matrix(f), g) for f, g in zip(maps, style_grams))
        if content_maps is not None:
            value = value + content_weight * sum(_relative_mismatch(f, c) for f, c in zip(maps, content_maps))
        return value

    return _adam_on_the_image(loss, start, steps, lr, clip)


def _relative_mismatch(value: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """||value - target||^2 / ||target||^2, summed over the batch."""
    return (((value - target) ** 2).flatten(1).sum(dim=1) / (target ** 2).flatten(1).sum(dim=1).clamp_min(1e-30)).sum()
