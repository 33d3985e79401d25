"""Training loop for LDOS networks: MSE on scaled data, early stopping, LR decay.

Data are (already scaled) float32 arrays or tensors, ``x`` (N x F) and ``y`` (N x nE).
The loop keeps per-batch Python overhead small: data live in one tensor on the target
device, each epoch draws one permutation from a seeded generator and slices index
tensors from it; validation runs in large chunks under ``torch.no_grad``. Data that do not
fit come instead as ``train_batches``, a callable ``epoch -> iterable of (x, y)`` batches
(see :mod:`surrogate_hpo.data.streaming`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from surrogate_hpo.model.checkpoint import save_checkpoint

__all__ = ["EpochCallback", "TrainingConfig", "TrainingResult", "resolve_device", "train", "evaluate_loss"]

#: ``on_epoch_end(epoch, metrics)``; may add keys to ``metrics`` (they are kept in the
#: history); returning ``False`` stops training (``None``/``True`` continue).
EpochCallback = Callable[[int, dict[str, Any]], "bool | None"]


@dataclass
class TrainingConfig:
    """Training policy (the hyperparameters that are not the architecture)."""

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 64
    max_epochs: int = 100
    early_stopping_patience: int | None = 10
    """Epochs without validation improvement before stopping (None: never stop early)."""
    early_stopping_min_delta: float = 0.0
    """Relative improvement needed to count as better: ``val < best * (1 - delta)``."""
    lr_decay_patience: int | None = 5
    """ReduceLROnPlateau patience on the validation loss (None: constant LR)."""
    lr_decay_factor: float = 0.1
    weight_decay: float = 0.0
    momentum: float = 0.0
    """SGD only."""
    seed: int | None = 0
    device: str = "cpu"
    """'cpu', 'cuda' or 'auto' (cuda if available)."""
    val_chunk_size: int = 65536
    """Rows per forward pass when evaluating the validation loss."""

    def __post_init__(self) -> None:
        self.optimizer = str(self.optimizer).lower()
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        if int(self.batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if int(self.max_epochs) < 1:
            raise ValueError(f"max_epochs must be >= 1, got {self.max_epochs}")
        if not 0 < self.lr_decay_factor < 1:
            raise ValueError(f"lr_decay_factor must be in (0, 1), got {self.lr_decay_factor}")
        self.device = str(self.device)  # accepts torch.device too
        if self.device not in ("cpu", "cuda", "auto") and not self.device.startswith("cuda:"):
            raise ValueError(f"device must be 'cpu', 'cuda' or 'auto', got {self.device!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainingConfig":
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown TrainingConfig keys {sorted(unknown)}; known: {sorted(known)}")
        return cls(**d)


@dataclass
class TrainingResult:
    """Outcome of :func:`train`. The network passed in holds the best weights afterwards."""

    best_val_loss: float
    best_epoch: int
    """0-based epoch of the best validation loss (-1 if no finite epoch)."""
    epochs_run: int
    stopped_reason: str
    """'max_epochs', 'early_stopping', 'diverged' or 'callback'."""
    diverged: bool
    history: list[dict[str, Any]] = field(default_factory=list)
    """One dict per epoch: epoch, train_loss, val_loss, lr, seconds, plus callback keys."""
    seconds: float = 0.0
    device: str = "cpu"
    checkpoint_path: str | None = None

    @property
    def final_metrics(self) -> dict[str, Any]:
        """Metrics of the best epoch (or the last one if none was finite)."""
        if not self.history:
            return {}
        if 0 <= self.best_epoch < len(self.history):
            return dict(self.history[self.best_epoch])
        return dict(self.history[-1])

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve_device(device: str) -> torch.device:
    """'auto' -> cuda if available else cpu; 'cuda' without CUDA -> clear error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} requested but CUDA is not available (use 'cpu' or 'auto')")
    return dev


def _to_tensor(a, device: torch.device, name: str) -> torch.Tensor:
    t = a if isinstance(a, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(np.asarray(a)))
    if t.ndim == 1:
        t = t.unsqueeze(1)
    if t.ndim != 2:
        raise ValueError(f"{name} must be 2-D (points x values), got shape {tuple(t.shape)}")
    return t.detach().to(device=device, dtype=torch.float32)


def _batch_tensor(a, device: torch.device) -> torch.Tensor:
    """A training batch as a float32 tensor on ``device`` (no copy when it already is one)."""
    t = a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a))
    if t.ndim == 1:
        t = t.unsqueeze(1)
    return t.to(device=device, dtype=torch.float32, non_blocking=True)


@torch.no_grad()
def evaluate_loss(network: nn.Module, x: torch.Tensor, y: torch.Tensor, *, chunk_size: int = 65536) -> float:
    """Mean squared error of ``network(x)`` against ``y``, in chunks, without gradients."""
    was_training = network.training
    network.eval()
    total = 0.0
    n = x.shape[0]
    for i in range(0, n, chunk_size):
        d = network(x[i:i + chunk_size]) - y[i:i + chunk_size]
        total += float(torch.sum(d * d, dtype=torch.float64))
    network.train(was_training)
    return total / (n * y.shape[1])


def _make_optimizer(network: nn.Module, cfg: TrainingConfig) -> torch.optim.Optimizer:
    """Adam/SGD, fused when the installed torch supports it (about 1.7x per batch on CPU)."""
    params = list(network.parameters())
    if cfg.optimizer == "adam":
        cls, kwargs = torch.optim.Adam, dict(lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    else:
        cls, kwargs = torch.optim.SGD, dict(lr=cfg.learning_rate, momentum=cfg.momentum,
                                            weight_decay=cfg.weight_decay)
    try:
        return cls(params, fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):
        return cls(params, **kwargs)


def train(
    network: nn.Module,
    train_x,
    train_y,
    val_x,
    val_y,
    config: TrainingConfig | None = None,
    *,
    on_epoch_end: EpochCallback | None = None,
    checkpoint_path: str | Path | None = None,
    checkpoint_extra: dict[str, Any] | None = None,
    train_batches: Callable[[int], Iterable[tuple[Any, Any]]] | None = None,
) -> TrainingResult:
    """Train ``network`` in place with MSE loss; return the history and the best epoch.

    * Seeds: ``config.seed`` seeds ``torch.manual_seed`` and the shuffling generator, so
      two runs from the same initial weights and data give identical results on CPU.
      (Seed before building the network to make its initialisation repeatable too.)
    * Early stopping on the validation loss; the best weights are restored at the end.
    * LR decay: ``ReduceLROnPlateau`` on the validation loss.
    * A NaN/inf training or validation loss stops the run with ``diverged=True``
      (the best finite weights, if any, are restored); nothing is raised.
    * ``on_epoch_end(epoch, metrics)`` runs after every epoch with ``metrics`` holding
      epoch, train_loss, val_loss, lr, seconds, best_val_loss, best_epoch, is_best. It may
      add keys (kept in the history, e.g. a band-energy error) and may return ``False``
      to stop (e.g. a Tune scheduler decision).
    * ``checkpoint_path``: whenever the validation loss improves, the network is saved
      there with :func:`surrogate_hpo.model.checkpoint.save_checkpoint` (only if the network
      is a plain MLP that the checkpoint module can describe; otherwise its state_dict).
    * ``train_batches``: a callable ``epoch -> iterable of (x, y)`` batches (already scaled,
      e.g. from :mod:`surrogate_hpo.data.streaming`), called once per epoch with the 0-based
      epoch number; it replaces ``train_x``/``train_y`` (pass None for those) and its
      order is its own (``config.batch_size`` and the shuffling generator are not used).
      The epoch's ``train_loss`` is the row-weighted mean over the batches it yields.
    """
    cfg = config or TrainingConfig()
    device = resolve_device(cfg.device)
    if cfg.seed is not None:
        torch.manual_seed(int(cfg.seed))
    gen = torch.Generator(device="cpu")
    gen.manual_seed(int(cfg.seed) if cfg.seed is not None else int(torch.seed() % (2**63)))

    network.to(device)
    network.train()
    if train_batches is None:
        if train_x is None or train_y is None:
            raise ValueError("give train_x and train_y, or train_batches")
        xt, yt = _to_tensor(train_x, device, "train_x"), _to_tensor(train_y, device, "train_y")
    else:
        if not callable(train_batches):
            raise TypeError("train_batches must be a callable epoch -> iterable of (x, y) batches")
        xt = yt = None
    xv, yv = _to_tensor(val_x, device, "val_x"), _to_tensor(val_y, device, "val_y")
    if (xt is not None and xt.shape[0] != yt.shape[0]) or xv.shape[0] != yv.shape[0]:
        raise ValueError("x and y must have the same number of rows")
    if (xt is not None and xt.shape[0] == 0) or xv.shape[0] == 0:
        raise ValueError("empty training or validation data")

    opt = _make_optimizer(network, cfg)
    sched = None
    if cfg.lr_decay_patience is not None:
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
            opt, mode="min", factor=cfg.lr_decay_factor, patience=int(cfg.lr_decay_patience)
        )
    loss_fn = nn.MSELoss()
    n = xt.shape[0] if xt is not None else 0
    bs = int(cfg.batch_size)

    best = math.inf
    best_epoch = -1
    best_state: dict[str, torch.Tensor] | None = None
    since_best = 0
    history: list[dict[str, Any]] = []
    reason = "max_epochs"
    diverged = False
    t_start = time.perf_counter()
    ckpt_written: str | None = None

    for epoch in range(int(cfg.max_epochs)):
        t0 = time.perf_counter()
        running = torch.zeros((), dtype=torch.float64, device=device)
        if train_batches is None:
            perm = torch.randperm(n, generator=gen).to(device)
            for start in range(0, n, bs):
                idx = perm[start:start + bs]
                xb, yb = xt[idx], yt[idx]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(network(xb), yb)
                loss.backward()
                opt.step()
                running += loss.detach().double() * idx.shape[0]
        else:
            n = 0
            for xb, yb in train_batches(epoch):
                xb, yb = _batch_tensor(xb, device), _batch_tensor(yb, device)
                if xb.shape[0] != yb.shape[0]:
                    raise ValueError(f"train_batches gave x with {xb.shape[0]} rows and y with {yb.shape[0]}")
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(network(xb), yb)
                loss.backward()
                opt.step()
                running += loss.detach().double() * xb.shape[0]
                n += xb.shape[0]
            if n == 0:
                raise ValueError(f"train_batches({epoch}) yielded no rows")
        train_loss = float(running) / n
        val_loss = evaluate_loss(network, xv, yv, chunk_size=cfg.val_chunk_size)
        lr = float(opt.param_groups[0]["lr"])

        finite = math.isfinite(train_loss) and math.isfinite(val_loss)
        if not finite:
            improved = False
        elif not math.isfinite(best):
            improved = True
        else:
            improved = val_loss < best - abs(best) * cfg.early_stopping_min_delta
        if improved:
            best, best_epoch, since_best = val_loss, epoch, 0
            best_state = {k: v.detach().clone() for k, v in network.state_dict().items()}
            if checkpoint_path is not None:
                ckpt_written = _write_checkpoint(network, checkpoint_path, cfg, epoch, val_loss, checkpoint_extra)
        else:
            since_best += 1

        metrics: dict[str, Any] = {
            "epoch": epoch,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "lr": lr,
            "rows": int(n),
            "seconds": time.perf_counter() - t0,
            "best_val_loss": best,
            "best_epoch": best_epoch,
            "is_best": bool(improved),
        }
        if not finite:
            diverged, reason = True, "diverged"
            history.append(metrics)
            break
        if sched is not None:
            sched.step(val_loss)
        stop = False
        if on_epoch_end is not None and on_epoch_end(epoch, metrics) is False:
            stop, reason = True, "callback"
        history.append(metrics)
        if stop:
            break
        if cfg.early_stopping_patience is not None and since_best >= int(cfg.early_stopping_patience):
            reason = "early_stopping"
            break

    if best_state is not None:
        network.load_state_dict(best_state)
    network.eval()
    return TrainingResult(
        best_val_loss=best,
        best_epoch=best_epoch,
        epochs_run=len(history),
        stopped_reason=reason,
        diverged=diverged,
        history=history,
        seconds=time.perf_counter() - t_start,
        device=str(device),
        checkpoint_path=ckpt_written,
    )


def _write_checkpoint(network: nn.Module, path, cfg: TrainingConfig, epoch: int, val_loss: float,
                      extra: dict[str, Any] | None) -> str:

    info = dict(extra or {})
    info["epoch"] = epoch
    info["val_loss"] = val_loss
    return str(save_checkpoint(path, network, config=cfg.to_dict(), extra=info))
