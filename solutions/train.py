"""Training loops for chapter 10: one on the NumPy layers (solutions.nn), one in PyTorch.

Both take images `(N, C, H, W)` (or `(N, H, W)`, given one channel) and integer labels, shuffle
every epoch from a seed, can augment each batch with random shifts of a few pixels, and return a
history: the loss of every step, and the accuracy on the training batch and held-out data per epoch.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from numpy.lib.stride_tricks import sliding_window_view
from tqdm.auto import tqdm

from solutions.cnn import softmax_cross_entropy
from solutions.torch_layers import default_device

__all__ = ["as_batch", "random_shifts", "random_shifts_torch", "train_numpy", "train_torch", "predict_torch"]


def as_batch(images: np.ndarray) -> np.ndarray:
    """(N, H, W) -> (N, 1, H, W); (N, C, H, W) unchanged."""
    images = np.asarray(images)
    if images.ndim == 3:
        return images[:, None]
    if images.ndim != 4:
        raise ValueError(f"images must be (N, H, W) or (N, C, H, W), got shape {images.shape}")
    return images


def random_shifts(images: np.ndarray, max_shift: int, rng: np.random.Generator) -> np.ndarray:
    """Each image moved by its own random (dy, dx) in [-max_shift, max_shift], zeros shifted in."""
    if max_shift == 0:
        return images
    m = max_shift
    padded = np.pad(images, ((0, 0), (0, 0), (m, m), (m, m)))
    windows = sliding_window_view(padded, images.shape[2:], axis=(2, 3))  # (N, C, 2m+1, 2m+1, H, W)
    dy, dx = rng.integers(0, 2 * m + 1, size=(2, len(images)))
    return windows[np.arange(len(images)), :, dy, dx]


def random_shifts_torch(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """`random_shifts` on a tensor, on its device (the offsets are drawn on the CPU)."""
    if max_shift == 0:
        return images
    m = max_shift
    h, w = images.shape[2:]
    windows = F.pad(images, (m, m, m, m)).unfold(2, h, 1).unfold(3, w, 1)  # (N, C, 2m+1, 2m+1, H, W)
    dy, dx = torch.randint(0, 2 * m + 1, (2, len(images)), generator=generator).to(images.device)
    return windows[torch.arange(len(images), device=images.device), :, dy, dx]


def _step_budget(n: int, batch_size: int, epochs: int, max_steps: int | None) -> int:
    """Minibatch steps a run takes: `epochs` passes of `ceil(n / batch_size)` steps, at most `max_steps`."""
    steps = epochs * -(-n // batch_size)
    return steps if max_steps is None else min(max_steps, steps)


def _progress(total: int, description: str, enabled: bool):
    return tqdm(total=total, desc=description, disable=not enabled, leave=True, mininterval=0.5)


def train_numpy(net, images, labels, optimizer, *, epochs: int = 1, batch_size: int = 64, seed: int = 0,
                max_shift: int = 0, val: tuple[np.ndarray, np.ndarray] | None = None,
                schedule: Callable[[int], float] | None = None, max_steps: int | None = None,
                progress: bool = True) -> dict:
    """Minibatch training of a solutions.nn network with softmax cross-entropy.

    `schedule(step)` (optional) gives the learning rate of each step; `max_steps` stops early
    (for quick runs). Returns {'loss': per step, 'train_acc', 'val_acc': per epoch, 'seconds'}.
    """
    x, y = as_batch(images).astype(np.float64), np.asarray(labels)
    rng = np.random.default_rng(seed)
    history = {"loss": [], "train_acc": [], "val_acc": [], "seconds": 0.0}
    total = _step_budget(len(x), batch_size, epochs, max_steps)
    start, step = time.perf_counter(), 0
    with _progress(total, "NumPy LeNet", progress) as bar:
        for _ in range(epochs):
            order, correct, seen = rng.permutation(len(x)), 0, 0
            for i in range(0, len(x), batch_size):
                if step >= total:
                    break
                batch = order[i: i + batch_size]
                xb = random_shifts(x[batch], max_shift, rng)
                logits = net.forward(xb)
                loss, dlogits = softmax_cross_entropy(logits, y[batch])
                net.backward(dlogits)
                if schedule is not None:
                    optimizer.lr = schedule(step)
                optimizer.step()
                history["loss"].append(loss)
                correct += int((logits.argmax(axis=1) == y[batch]).sum())
                seen += len(batch)
                step += 1
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
            history["train_acc"].append(correct / max(seen, 1))
            if val is not None:
                history["val_acc"].append(float((net.predict(as_batch(val[0])) == val[1]).mean()))
            if step >= total:
                break
    history["seconds"] = time.perf_counter() - start
    return history


def predict_torch(model: torch.nn.Module, images, batch_size: int = 1000) -> np.ndarray:
    """Class indices for NumPy or tensor images, in eval mode, without building a graph."""
    device = next(model.parameters()).device
    x = images if isinstance(images, torch.Tensor) else torch.as_tensor(as_batch(images), dtype=torch.float32)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = [model(x[i: i + batch_size].to(device)).argmax(dim=1).cpu() for i in range(0, len(x), batch_size)]
    model.train(was_training)
    return torch.cat(out).numpy()


def train_torch(model: torch.nn.Module, images, labels, *, epochs: int = 1, batch_size: int = 64,
                lr: float = 3e-3, weight_decay: float = 0.0, seed: int = 0, max_shift: int = 0,
                val: tuple[np.ndarray, np.ndarray] | None = None, device: torch.device | str | None = None,
                max_steps: int | None = None, progress: bool = True) -> dict:
    """Train `model` with AdamW and a one-cycle learning-rate schedule (warm up, then anneal to
    ~0), the whole data set on the device. Same history as `train_numpy`."""
    device = torch.device(device) if device is not None else default_device()
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model.to(device).train()
    x = torch.as_tensor(as_batch(images), dtype=torch.float32, device=device)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long, device=device)
    total = _step_budget(len(x), batch_size, epochs, max_steps)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=max(total, 1))
    history = {"loss": [], "train_acc": [], "val_acc": [], "seconds": 0.0}
    start, step = time.perf_counter(), 0
    with _progress(total, "PyTorch LeNet", progress) as bar:
        for _ in range(epochs):
            order, correct, seen = torch.randperm(len(x), generator=generator).to(device), 0, 0
            for i in range(0, len(x), batch_size):
                if step >= total:
                    break
                batch = order[i: i + batch_size]
                xb = random_shifts_torch(x[batch], max_shift, generator)
                logits = model(xb)
                loss = F.cross_entropy(logits, y[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                history["loss"].append(loss.item())
                correct += int((logits.argmax(dim=1) == y[batch]).sum())
                seen += y[batch].numel()  # labels: one per image, or one per pixel (segmentation)
                step += 1
                bar.update(1)
                bar.set_postfix(loss=f"{history['loss'][-1]:.3f}", refresh=False)
            history["train_acc"].append(correct / max(seen, 1))
            if val is not None:
                history["val_acc"].append(float((predict_torch(model, val[0]) == np.asarray(val[1])).mean()))
                model.train()
            if step >= total:
                break
    history["seconds"] = time.perf_counter() - start
    return history
