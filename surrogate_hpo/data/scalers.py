"""Input / output scaling fitted on training snapshots only.

Kinds:

* ``none``: identity.
* ``standard``: one mean and one standard deviation over all values.
* ``minmax``: one minimum and one maximum over all values (maps to [0, 1]).
* ``feature-wise-standard``: mean and standard deviation per column (last axis).
* ``feature-wise-minmax``: minimum and maximum per column.

Statistics are streamed (slabs of a memmap at a time), accumulated in float64 and merged
with Chan et al.'s parallel update, so fitting never holds a snapshot in memory. The
standard deviation is the population one (``ddof=0``, as ``numpy.std``). A zero standard
deviation or range is replaced by 1, so constant columns map to 0 instead of dividing by 0.
Units: scaled values are dimensionless; ``inverse_transform`` returns the original units
(descriptors as given, LDOS in 1/(eV·Å³)).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import DataError

if TYPE_CHECKING:
    from .snapshot_set import SnapshotSet

__all__ = ["Scaler", "fit_scalers", "SCALER_KINDS"]

SCALER_KINDS = ("none", "standard", "minmax", "feature-wise-standard", "feature-wise-minmax")
_CHUNK_BYTES = 32 * 2**20
_TINY = 1e-12


def _normalise_kind(kind: str) -> str:
    k = str(kind).strip().lower().replace("_", "-")
    k = {"normal": "standard", "min-max": "minmax", "feature-wise-min-max": "feature-wise-minmax",
         "featurewise-standard": "feature-wise-standard",
         "featurewise-minmax": "feature-wise-minmax"}.get(k, k)
    if k not in SCALER_KINDS:
        raise DataError(f"unknown scaler kind {kind!r}; choose one of {', '.join(SCALER_KINDS)} "
                        "(config: data.input_scaling=... / data.output_scaling=...).")
    return k


class Scaler:
    """Affine scaling ``(x - shift) / scale`` along the last axis.

    Args:
        kind: one of :data:`SCALER_KINDS` (underscores are accepted for hyphens).
    """

    def __init__(self, kind: str = "none") -> None:
        self.kind = _normalise_kind(kind)
        self.reset()

    # ------------------------------------------------------------------ fitting
    def reset(self) -> None:
        """Forget all statistics."""
        self.count = 0
        self.mean: np.ndarray | None = None  # per column, float64 (zeros for min-max kinds)
        self.m2: np.ndarray | None = None
        self.min: np.ndarray | None = None
        self.max: np.ndarray | None = None

    @property
    def n_features(self) -> int | None:
        return None if self.mean is None else int(self.mean.shape[0])

    @property
    def fitted(self) -> bool:
        return self.kind == "none" or self.count > 0

    def _merge(self, block: np.ndarray) -> None:
        """Chan et al.'s parallel update with one float64 block ``(rows, F)``."""
        n = block.shape[0]
        if n == 0:
            return
        lo, hi = block.min(axis=0), block.max(axis=0)
        moments = self.kind.endswith("standard")  # min-max kinds need no mean / M2
        mean = block.mean(axis=0) if moments else np.zeros(block.shape[1])
        m2 = ((block - mean) ** 2).sum(axis=0) if moments else np.zeros(block.shape[1])
        if self.count == 0:
            self.count, self.mean, self.m2, self.min, self.max = n, mean, m2, lo, hi
            return
        total = self.count + n
        delta = mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + m2 + delta**2 * (self.count * n / total)
        self.min, self.max = np.minimum(self.min, lo), np.maximum(self.max, hi)
        self.count = total

    def partial_fit(self, array: Any, *, chunk_bytes: int = _CHUNK_BYTES) -> "Scaler":
        """Add the values of ``array`` (any shape, features on the last axis) to the statistics.

        Reads slabs along the first axis, so a memory-mapped ``(nx, ny, nz, F)`` array is
        never loaded whole.
        """
        if self.kind == "none":
            return self
        a = array.detach().cpu().numpy() if hasattr(array, "detach") else array
        if a.ndim == 0:
            raise DataError("cannot fit a scaler on a 0-D array")
        if a.ndim == 1:
            a = a.reshape(-1, 1)
        f = a.shape[-1]
        if self.mean is not None and f != self.mean.shape[0]:
            raise DataError(f"scaler was fitted on {self.mean.shape[0]} columns, got an array "
                            f"with {f} (shape {a.shape}).")
        slab = max(1, a[:1].size * 8)
        step = max(1, chunk_bytes // slab)
        for start in range(0, a.shape[0], step):
            block = np.asarray(a[start:start + step], dtype=np.float64).reshape(-1, f)
            if not np.all(np.isfinite(block)):
                raise DataError("cannot fit a scaler on NaN/inf values; check the snapshot files "
                                "with load_snapshot(check_finite=True).")
            self._merge(block)
        return self

    def fit(self, arrays: Iterable[Any] | np.ndarray) -> "Scaler":
        """Reset and fit on one array or an iterable of arrays (e.g. each snapshot's data)."""
        self.reset()
        if isinstance(arrays, np.ndarray) or hasattr(arrays, "detach"):
            arrays = [arrays]
        for a in arrays:
            self.partial_fit(a)
        if self.kind != "none" and self.count == 0:
            raise DataError("cannot fit a scaler on no data (empty training split?)")
        return self

    # ------------------------------------------------------------------ parameters
    def _stats(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(mean, std, min, max): per column for feature-wise kinds, else 1-element arrays."""
        assert self.mean is not None and self.m2 is not None and self.min is not None
        if self.kind.startswith("feature-wise"):
            return self.mean, np.sqrt(self.m2 / self.count), self.min, self.max
        # merge the columns' statistics (Chan) into one over all values
        f = self.mean.shape[0]
        mean = self.mean.mean()
        m2 = self.m2.sum() + self.count * ((self.mean - mean) ** 2).sum()
        std = np.sqrt(m2 / (self.count * f))
        return (np.array([mean]), np.array([std]), np.array([self.min.min()]),
                np.array([self.max.max()]))

    @property
    def shift_scale(self) -> tuple[np.ndarray, np.ndarray]:
        """``(shift, scale)`` float64 arrays: per column, or shape ``(1,)`` for global kinds."""
        if self.kind == "none":
            return np.zeros(1), np.ones(1)
        if not self.fitted:
            raise DataError(f"{self.kind} scaler used before fit(); fit it on the training split.")
        mean, std, lo, hi = self._stats()
        shift, scale = (mean, std) if self.kind.endswith("standard") else (lo, hi - lo)
        ok = np.isfinite(scale) & (scale > _TINY * np.maximum(1.0, np.abs(shift)))
        return shift, np.where(ok, scale, 1.0)

    def _params_like(self, x: Any) -> tuple[Any, Any]:
        shift, scale = self.shift_scale
        if hasattr(x, "detach"):  # torch tensor
            import torch

            dtype = x.dtype if x.is_floating_point() else torch.get_default_dtype()
            return (torch.as_tensor(shift, dtype=dtype, device=x.device),
                    torch.as_tensor(scale, dtype=dtype, device=x.device))
        dtype = x.dtype if np.issubdtype(np.asarray(x).dtype, np.floating) else np.float64
        return shift.astype(dtype), scale.astype(dtype)

    def _check_width(self, x: Any) -> None:
        n = self.n_features
        if self.kind.startswith("feature-wise") and n is not None and x.shape[-1] != n:
            raise DataError(f"{self.kind} scaler has {n} columns, got data with shape {tuple(x.shape)}.")

    def transform(self, x: Any) -> Any:
        """Scaled copy of ``x`` (numpy array or torch tensor, features on the last axis)."""
        if self.kind == "none":
            return x
        self._check_width(x)
        shift, scale = self._params_like(x)
        return (x - shift) / scale

    def inverse_transform(self, x: Any) -> Any:
        """Undo :meth:`transform` (numpy array or torch tensor)."""
        if self.kind == "none":
            return x
        self._check_width(x)
        shift, scale = self._params_like(x)
        return x * scale + shift

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict:
        """JSON-ready state: the streamed statistics plus the resulting shift/scale."""
        d: dict[str, Any] = {"kind": self.kind, "count": int(self.count)}
        if self.count:
            d.update({k: getattr(self, k).tolist() for k in ("mean", "m2", "min", "max")})
        if self.fitted:
            shift, scale = self.shift_scale
            d["shift"], d["scale"] = shift.tolist(), scale.tolist()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Scaler":
        s = cls(d["kind"])
        s.count = int(d.get("count", 0))
        if s.count:
            for k in ("mean", "m2", "min", "max"):
                setattr(s, k, np.asarray(d[k], dtype=np.float64))
        return s

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_dict` as JSON."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1))

    @classmethod
    def load(cls, path: str | Path) -> "Scaler":
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (OSError, ValueError, KeyError) as exc:
            raise DataError(f"{path}: not a saved scaler ({type(exc).__name__}: {exc}).") from exc

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Scaler) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Scaler({self.kind!r}, count={self.count}, n_features={self.n_features})"


def fit_scalers(snapshot_set: "SnapshotSet", input_kind: str,
                output_kind: str) -> tuple[Scaler, Scaler]:
    """Fit ``(x_scaler, y_scaler)`` on the training split only (descriptors, LDOS)."""
    x_scaler = Scaler(input_kind).fit(s.descriptors for s in snapshot_set.train)
    y_scaler = Scaler(output_kind).fit(s.ldos for s in snapshot_set.train)
    return x_scaler, y_scaler
