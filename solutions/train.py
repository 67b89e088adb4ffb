"""Training loops for chapter 10: one on the NumPy layers (solutions.nn), one in PyTorch.

Both take images `(N, C, H, W)` (or `(N, H, W)`, given one channel) and integer labels, shuffle
every epoch from a seed, can augment each batch with random shifts of a few pixels, and return a
history (`new_history`): the loss of every step; per epoch the mean training loss and accuracy
on the batches as they were trained on, and the loss and accuracy on validation data `val`.

Validation data are a part of the *training* digits set aside: they choose the epoch (and the
recipe); the test digits are scored once, at the very end, by the caller. With `patience`, a
loop stops early when the validation loss has not improved for that many epochs, and puts back
the parameters of the best epoch.

Progress bars show in a live notebook or terminal; `progress=None` (the default) turns them off
when the environment variable CNNBOOK_PROGRESS is "0", as the book's build sets it, so that
executed pages show no frozen bars.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from numpy.lib.stride_tricks import sliding_window_view
from tqdm.auto import tqdm

from solutions.cnn import softmax_cross_entropy
from solutions.torch_layers import default_device

__all__ = [
    "as_batch", "random_shifts", "random_shifts_torch", "new_history", "EarlyStopping",
    "train_numpy", "evaluate_numpy", "train_torch", "predict_torch", "evaluate_torch", "progress_enabled",
]


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


def progress_enabled(progress: bool | None) -> bool:
    """`progress` itself, or for None: on unless the environment says CNNBOOK_PROGRESS=0."""
    if progress is not None:
        return bool(progress)
    return os.environ.get("CNNBOOK_PROGRESS", "1").strip() not in ("0", "")


def _progress(total: int, description: str, enabled: bool | None):
    return tqdm(total=total, desc=description, disable=not progress_enabled(enabled), leave=True, mininterval=0.5)


def new_history() -> dict:
    """What a training loop records. Per step: 'loss'. Per epoch: 'train_loss' and 'train_acc' (on
    the training batches, as they were trained on), 'val_loss' and 'val_acc' (empty without
    validation data). 'best_epoch': the 1-based epoch of the lowest validation loss (None without
    validation data); 'stopped_early': whether patience ran out; 'seconds': wall time."""
    return {"loss": [], "train_loss": [], "train_acc": [], "val_loss": [], "val_acc": [],
            "best_epoch": None, "stopped_early": False, "seconds": 0.0}


class EarlyStopping:
    """Keeps the best epoch by validation loss and says when to stop.

    `update(epoch, val_loss, snapshot)` records a new best (calling `snapshot()` to save the model)
    and returns True when `patience` epochs in a row have not improved on the best; `patience=None`
    never stops. `best_epoch`, `best_loss` and `saved` (the snapshot of the best epoch) remain.
    """

    def __init__(self, patience: int | None = None):
        if patience is not None and (isinstance(patience, bool) or not isinstance(patience, int) or patience < 1):
            raise ValueError(f"patience must be a positive int or None, got {patience!r}")
        self.patience = patience
        self.best_epoch: int | None = None
        self.best_loss = float("inf")
        self.saved = None

    def update(self, epoch: int, val_loss: float, snapshot: Callable[[], object]) -> bool:
        if val_loss < self.best_loss:
            self.best_epoch, self.best_loss, self.saved = epoch, val_loss, snapshot()
            return False
        return self.patience is not None and epoch - self.best_epoch >= self.patience


def _check_patience(patience: int | None, val) -> None:
    if patience is not None and val is None:
        raise ValueError("early stopping (patience) needs validation data: pass val=(images, labels)")


class _Record:
    """What both training loops keep besides the model: the history, the early stopper, the clock."""

    def __init__(self, patience: int | None):
        self.history, self.stopper = new_history(), EarlyStopping(patience)
        self.start = time.perf_counter()

    def end_epoch(self, epoch: int, losses: list[float], correct: int, seen: int,
                  validate: Callable[[], tuple[float, float]] | None, snapshot: Callable[[], object]) -> bool:
        """Record an epoch: its mean training loss and accuracy, and with validation data
        (`validate()` -> (loss, accuracy)) those too. True when patience has run out."""
        history = self.history
        history["train_loss"].append(float(np.mean(losses)))
        history["train_acc"].append(correct / seen)
        if validate is None:
            return False
        val_loss, val_acc = validate()
        history["val_loss"].append(val_loss)
        history["val_acc"].append(val_acc)
        history["stopped_early"] = self.stopper.update(epoch, val_loss, snapshot)
        return history["stopped_early"]

    def finish(self, restore: Callable[[object], None]) -> dict:
        """The history, complete; with patience, `restore(snapshot)` first puts back the best epoch."""
        if self.stopper.patience is not None and self.stopper.saved is not None:
            restore(self.stopper.saved)
        self.history["best_epoch"] = self.stopper.best_epoch
        self.history["seconds"] = time.perf_counter() - self.start
        return self.history


def _restore_arrays(arrays: list[np.ndarray], saved: list[np.ndarray]) -> None:
    for array, value in zip(arrays, saved, strict=True):
        array[...] = value


def evaluate_numpy(net, images, labels, batch_size: int = 500) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of a solutions.nn network on `images`, in eval mode."""
    logits = net.logits(as_batch(images).astype(np.float64), batch_size)
    labels = np.asarray(labels)
    loss, _ = softmax_cross_entropy(logits, labels)
    return loss, float((logits.argmax(axis=1) == labels).mean())


def train_numpy(net, images, labels, optimizer, *, epochs: int = 1, batch_size: int = 64, seed: int = 0,
                max_shift: int = 0, val: tuple[np.ndarray, np.ndarray] | None = None,
                patience: int | None = None, schedule: Callable[[int], float] | None = None,
                max_steps: int | None = None, progress: bool | None = None,
                description: str = "NumPy training") -> dict:
    """Minibatch training of a solutions.nn network with softmax cross-entropy.

    `schedule(step)` (optional) gives the learning rate of each step; `max_steps` stops early
    (for quick runs). With `val`, each epoch ends with the validation loss and accuracy; with
    `patience` too, training stops after `patience` epochs without a lower validation loss and the
    network gets back the parameters (and running statistics) of its best epoch. Returns
    `new_history()` filled in.
    """
    _check_patience(patience, val)
    x, y = as_batch(images).astype(np.float64), np.asarray(labels)
    rng = np.random.default_rng(seed)
    total = _step_budget(len(x), batch_size, epochs, max_steps)
    record, step = _Record(patience), 0
    with _progress(total, description, progress) as bar:
        for epoch in range(1, epochs + 1):
            net.train()
            order, correct, seen, losses = rng.permutation(len(x)), 0, 0, []
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
                record.history["loss"].append(loss)
                losses.append(loss)
                correct += int((logits.argmax(axis=1) == y[batch]).sum())
                seen += len(batch)
                step += 1
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
            if not losses:
                break
            validate = (lambda: evaluate_numpy(net, *val)) if val is not None else None
            if record.end_epoch(epoch, losses, correct, seen, validate, lambda: [a.copy() for a in net.state()]):
                break
            if step >= total:
                break
    return record.finish(lambda saved: _restore_arrays(net.state(), saved))


def _torch_logits(model: torch.nn.Module, images, batch_size: int) -> torch.Tensor:
    """Outputs for NumPy or tensor images, in eval mode, without building a graph, on the CPU."""
    device = next(model.parameters()).device
    x = images if isinstance(images, torch.Tensor) else torch.as_tensor(as_batch(images), dtype=torch.float32)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return torch.cat([model(x[i: i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)])
    finally:
        model.train(was_training)


def predict_torch(model: torch.nn.Module, images, batch_size: int = 1000) -> np.ndarray:
    """Class indices for NumPy or tensor images, in eval mode, without building a graph."""
    return _torch_logits(model, images, batch_size).argmax(dim=1).numpy()


def evaluate_torch(model: torch.nn.Module, images, labels, batch_size: int = 1000) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of a PyTorch classifier on `images`, in eval mode."""
    logits = _torch_logits(model, images, batch_size)
    target = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    return F.cross_entropy(logits, target).item(), (logits.argmax(dim=1) == target).float().mean().item()


def train_torch(model: torch.nn.Module, images, labels, *, epochs: int = 1, batch_size: int = 64,
                lr: float = 3e-3, weight_decay: float = 0.0, schedule: str = "one-cycle", seed: int = 0,
                max_shift: int = 0, val: tuple[np.ndarray, np.ndarray] | None = None, patience: int | None = None,
                device: torch.device | str | None = None, max_steps: int | None = None,
                progress: bool | None = None, description: str = "PyTorch training") -> dict:
    """Train `model` with AdamW, the whole data set on the device. `schedule` is 'one-cycle' (the
    learning rate warms up to `lr`, then anneals to ~0 over the step budget) or 'constant'.
    Validation and early stopping as in `train_numpy`; the same history."""
    if schedule not in ("one-cycle", "constant"):
        raise ValueError(f"schedule must be 'one-cycle' or 'constant', got {schedule!r}")
    _check_patience(patience, val)
    device = torch.device(device) if device is not None else default_device()
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model.to(device).train()
    x = torch.as_tensor(as_batch(images), dtype=torch.float32, device=device)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long, device=device)
    total = _step_budget(len(x), batch_size, epochs, max_steps)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    scheduler = (torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=max(total, 1))
                 if schedule == "one-cycle" else None)
    record, step = _Record(patience), 0
    with _progress(total, description, progress) as bar:
        for epoch in range(1, epochs + 1):
            model.train()
            order, correct, seen, losses = torch.randperm(len(x), generator=generator).to(device), 0, 0, []
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
                if scheduler is not None:
                    scheduler.step()
                losses.append(loss.item())
                record.history["loss"].append(losses[-1])
                correct += int((logits.argmax(dim=1) == y[batch]).sum())
                seen += y[batch].numel()  # labels: one per image, or one per pixel (segmentation)
                step += 1
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
            if not losses:
                break
            validate = (lambda: evaluate_torch(model, *val)) if val is not None else None
            if record.end_epoch(epoch, losses, correct, seen, validate, lambda: copy.deepcopy(model.state_dict())):
                break
            if step >= total:
                break
    history = record.finish(model.load_state_dict)
    model.train()
    return history
