"""Grid points as training rows: ``x`` (n_points, F), ``y`` (n_points, nE), in torch batches.

Every grid point of every snapshot is one row. :class:`ArrayDataset` keeps the scaled rows
in memory as float32 when they fit under a byte threshold, else it streams them from the
memory-mapped snapshots chunk by chunk. Either way an epoch visits every row exactly once,
and the order depends only on ``(seed, epoch)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from .errors import DataError

if TYPE_CHECKING:
    from .scalers import Scaler
    from .snapshot import Snapshot

__all__ = ["flatten_grid", "snapshot_rows", "iterate_batches", "ArrayDataset"]

DEFAULT_MAX_IN_MEMORY_BYTES = 2 * 2**30
DEFAULT_CHUNK_ROWS = 65536


def flatten_grid(array: np.ndarray) -> np.ndarray:
    """``(nx, ny, nz, C) -> (nx*ny*nz, C)``; a view (no copy) for memmaps and their column slices."""
    return array.reshape(-1, array.shape[-1])


def snapshot_rows(snapshot: "Snapshot") -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` rows of one snapshot: descriptors (n_points, F), LDOS (n_points, nE) in 1/(eV·Å³)."""
    return flatten_grid(snapshot.descriptors), flatten_grid(snapshot.ldos)


def _scaled(a: np.ndarray, scaler: "Scaler | None") -> np.ndarray:
    a = np.asarray(a, dtype=np.float32)
    if scaler is not None:
        a = scaler.transform(a)
    return np.ascontiguousarray(a, dtype=np.float32)


def _tensor(a: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Tensor of ``a``; copies read-only or strided arrays (memmap views), shares the rest."""
    if isinstance(a, torch.Tensor):
        return a
    a = np.asarray(a)
    if not a.flags.writeable or not a.flags.c_contiguous:
        a = np.array(a, copy=True, order="C")
    return torch.from_numpy(a)


def iterate_batches(x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor, batch_size: int, *,
                    shuffle: bool = True, seed: int | Sequence[int] | None = 0,
                    drop_last: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``(x_batch, y_batch)`` torch tensors covering every row once.

    With ``shuffle`` the row order is a permutation drawn from ``numpy.random.default_rng(seed)``,
    so the same seed gives the same batches. ``drop_last`` drops a final short batch.
    """
    n = len(x)
    if len(y) != n:
        raise DataError(f"x has {n} rows but y has {len(y)}; they must match.")
    if batch_size < 1:
        raise DataError(f"batch_size must be >= 1, got {batch_size}")
    order = np.random.default_rng(seed).permutation(n) if shuffle else None
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        if order is None:
            xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        else:
            idx = order[start:start + batch_size]
            if isinstance(x, torch.Tensor):
                idx_t = torch.from_numpy(idx)
                xb, yb = x[idx_t], y[idx_t]
            else:
                xb, yb = x[idx], y[idx]
        yield _tensor(xb), _tensor(yb)


class ArrayDataset:
    """Scaled float32 rows of some snapshots, in memory or streamed.

    Args:
        snapshots: e.g. ``snapshot_set.train``.
        x_scaler, y_scaler: fitted scalers (None = no scaling).
        max_in_memory_bytes: hold everything in memory if ``n_points * (F + nE) * 4`` is at most
            this; otherwise stream from the (memory-mapped) snapshots.
        chunk_rows: rows read per chunk when streaming.
    """

    def __init__(self, snapshots: Sequence["Snapshot"], x_scaler: "Scaler | None" = None,
                 y_scaler: "Scaler | None" = None, *,
                 max_in_memory_bytes: int = DEFAULT_MAX_IN_MEMORY_BYTES,
                 chunk_rows: int = DEFAULT_CHUNK_ROWS) -> None:
        if not snapshots:
            raise DataError("ArrayDataset needs at least one snapshot.")
        self.snapshots = list(snapshots)
        self.x_scaler, self.y_scaler = x_scaler, y_scaler
        self.chunk_rows = max(1, int(chunk_rows))
        self.n_features = self.snapshots[0].n_features
        self.n_energies = self.snapshots[0].n_energies
        for s in self.snapshots:
            if (s.n_features, s.n_energies) != (self.n_features, self.n_energies):
                raise DataError(f"snapshot {s.name!r} has F={s.n_features}, nE={s.n_energies}; "
                                f"expected F={self.n_features}, nE={self.n_energies}.")
        self.n_points = sum(s.n_points for s in self.snapshots)
        self.nbytes = self.n_points * (self.n_features + self.n_energies) * 4
        self.in_memory = self.nbytes <= max_in_memory_bytes
        self.x: np.ndarray | None = None
        self.y: np.ndarray | None = None
        if self.in_memory:
            self.x = np.empty((self.n_points, self.n_features), dtype=np.float32)
            self.y = np.empty((self.n_points, self.n_energies), dtype=np.float32)
            row = 0
            for s in self.snapshots:
                for xs, ys in self._chunks(s):
                    self.x[row:row + len(xs)], self.y[row:row + len(ys)] = xs, ys
                    row += len(xs)

    def __len__(self) -> int:
        return self.n_points

    def _chunks(self, s: "Snapshot", starts: Sequence[int] | None = None
                ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        x, y = snapshot_rows(s)
        for start in (range(0, len(x), self.chunk_rows) if starts is None else starts):
            stop = start + self.chunk_rows
            yield _scaled(x[start:stop], self.x_scaler), _scaled(y[start:stop], self.y_scaler)

    def n_batches(self, batch_size: int, *, drop_last: bool = False) -> int:
        return self.n_points // batch_size if drop_last else -(-self.n_points // batch_size)

    def batches(self, batch_size: int, *, shuffle: bool = True, seed: int = 0, epoch: int = 0,
                drop_last: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch of ``(x, y)`` float32 tensors; order fixed by ``(seed, epoch)``.

        In memory: a global permutation of the rows. Streaming: chunks in random order, rows
        shuffled inside each chunk, batches cut across chunk borders.
        """
        if self.in_memory:
            assert self.x is not None and self.y is not None
            yield from iterate_batches(self.x, self.y, batch_size, shuffle=shuffle,
                                       seed=(seed, epoch) if shuffle else None, drop_last=drop_last)
            return
        yield from self._stream(batch_size, shuffle, np.random.default_rng((seed, epoch)), drop_last)

    def _stream(self, batch_size: int, shuffle: bool, rng: np.random.Generator,
                drop_last: bool) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        tasks = [(i, start) for i, s in enumerate(self.snapshots)
                 for start in range(0, s.n_points, self.chunk_rows)]
        if shuffle:
            tasks = [tasks[k] for k in rng.permutation(len(tasks))]
        buf_x: list[np.ndarray] = []
        buf_y: list[np.ndarray] = []
        held = 0
        for i, start in tasks:
            xs, ys = next(self._chunks(self.snapshots[i], [start]))
            if shuffle:
                perm = rng.permutation(len(xs))
                xs, ys = xs[perm], ys[perm]
            buf_x.append(xs)
            buf_y.append(ys)
            held += len(xs)
            if held >= batch_size:
                bx, by = np.concatenate(buf_x), np.concatenate(buf_y)
                full = held - held % batch_size
                for b in range(0, full, batch_size):
                    yield (torch.from_numpy(bx[b:b + batch_size].copy()),
                           torch.from_numpy(by[b:b + batch_size].copy()))
                buf_x, buf_y, held = [bx[full:]], [by[full:]], held - full
        if held and not drop_last:
            yield torch.from_numpy(np.concatenate(buf_x)), torch.from_numpy(np.concatenate(buf_y))

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All rows as ``(x, y)`` tensors (in-memory datasets only; shares memory)."""
        if not self.in_memory:
            raise DataError(f"dataset of {self.nbytes / 2**30:.1f} GiB is streamed, not in memory; "
                            "raise max_in_memory_bytes or iterate with batches().")
        return torch.from_numpy(self.x), torch.from_numpy(self.y)

    def __repr__(self) -> str:
        mode = "in memory" if self.in_memory else "streamed"
        return (f"ArrayDataset({len(self.snapshots)} snapshots, {self.n_points} rows, "
                f"F={self.n_features}, nE={self.n_energies}, {mode})")
