"""Looking inside a trained classifier through its input gradient (chapter 11).

- `saliency_map`: which pixels, changed a little, change the class score most
  (Simonyan, Vedaldi & Zisserman 2014, "Deep Inside Convolutional Networks").
- `fgsm`: the fast gradient sign method, one step that raises the loss as much as a max-norm
  budget `eps` allows (Goodfellow, Shlens & Szegedy 2015, "Explaining and Harnessing
  Adversarial Examples").
- `margin_gradient`: the signed gradient of one class's score minus another's, the local
  direction that moves a decision between the two.

Both differentiate with `torch.autograd.grad` with respect to a copy of the input only, so the
model's parameters keep whatever `.grad` they had, and both leave the model in its current
mode (call `model.eval()` first for a model with dropout or batch norm).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["saliency_map", "fgsm", "margin_gradient"]


def _as_batch(model: torch.nn.Module, x, labels) -> tuple[torch.Tensor, torch.Tensor]:
    """x as a fresh leaf tensor that requires grad, and labels as int64, both on x's device."""
    if not isinstance(x, torch.Tensor):
        param = next(model.parameters(), None)
        x = torch.as_tensor(x, dtype=param.dtype if param is not None else torch.float32,
                            device=param.device if param is not None else None)
    if x.ndim != 4:
        raise ValueError(f"x must be a batch of images (N, C, H, W), got shape {tuple(x.shape)}")
    return x.detach().clone().requires_grad_(True), _class_indices(labels, x, "labels")


def _class_indices(values, x: torch.Tensor, name: str) -> torch.Tensor:
    """`values` as int64 class indices on x's device, one per image of x (N,)."""
    values = torch.as_tensor(values, device=x.device)
    if values.shape != (x.shape[0],):
        raise ValueError(f"{name} must have shape ({x.shape[0]},), one per image, got {tuple(values.shape)}")
    if values.dtype.is_floating_point or values.dtype == torch.bool:
        raise ValueError(f"{name} must be integers, got {values.dtype}")
    return values.long()


def _check_range(indices: torch.Tensor, n_classes: int, name: str) -> None:
    if indices.numel() and (indices.min() < 0 or indices.max() >= n_classes):
        raise ValueError(f"{name} must lie in 0..{n_classes - 1}, got {indices.min()}..{indices.max()}")


def _class_scores(model: torch.nn.Module, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    scores = model(x)
    if scores.ndim != 2 or scores.shape[0] != x.shape[0]:
        raise ValueError(f"model must map (N, C, H, W) to class scores (N, K), got {tuple(scores.shape)}")
    _check_range(labels, scores.shape[1], "labels")
    return scores


def saliency_map(model: torch.nn.Module, x, labels) -> torch.Tensor:
    """(N, H, W): for each image, the largest over channels of |d score_label / d pixel|.

    The score is the model's output for the image's label (the logit, before softmax, so other
    classes do not enter). The images of a batch are independent (for a model without batch-mixing
    layers in train mode), so one backward pass of the summed scores gives every image's gradient.
    """
    x, labels = _as_batch(model, x, labels)
    scores = _class_scores(model, x, labels)
    picked = scores.gather(1, labels[:, None]).sum()
    (grad,) = torch.autograd.grad(picked, x)
    return grad.abs().amax(dim=1)


def fgsm(model: torch.nn.Module, x, labels, eps: float, clip=(0.0, 1.0)) -> torch.Tensor:
    """x + eps * sign(d loss / d x) for the mean cross-entropy of the labels, clipped to `clip`.

    Every pixel moves by exactly eps (or 0 where the gradient is 0) in the direction that
    raises the loss: the worst small change of max-norm eps, to first order. `clip=None` skips
    the clipping; otherwise the result stays a valid image in [clip[0], clip[1]].
    """
    if not eps >= 0:
        raise ValueError(f"eps must be a non-negative number, got {eps!r}")
    if clip is not None and not clip[0] <= clip[1]:
        raise ValueError(f"clip must be (low, high) with low <= high, got {clip!r}")
    x, labels = _as_batch(model, x, labels)
    scores = _class_scores(model, x, labels)
    (grad,) = torch.autograd.grad(F.cross_entropy(scores, labels), x)
    adversarial = x.detach() + eps * grad.sign()
    return adversarial if clip is None else adversarial.clamp(clip[0], clip[1])


def margin_gradient(model: torch.nn.Module, x, labels, rivals) -> torch.Tensor:
    """(N, C, H, W): d (score_label - score_rival) / d x for each image, signed.

    The argmax between two classes depends only on the difference of their scores (the logits),
    so this is the change of the image that moves the decision towards `labels` and away from
    `rivals` fastest, to first order; `saliency_map`'s magnitudes of each score separately do not
    say that. Same conventions as `saliency_map` (a copy of x; parameters' .grad untouched).
    """
    x, labels = _as_batch(model, x, labels)
    rivals = _class_indices(rivals, x, "rivals")
    scores = _class_scores(model, x, labels)
    _check_range(rivals, scores.shape[1], "rivals")
    margin = (scores.gather(1, labels[:, None]) - scores.gather(1, rivals[:, None])).sum()
    (grad,) = torch.autograd.grad(margin, x)
    return grad
