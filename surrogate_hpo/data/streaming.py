"""Training batches for a trial: Ray Data from Parquet shards, a numpy memmap, or memory.

All three builders return the same thing, a *batch factory*: ``batches(epoch)`` gives a
fresh iterable of ``(x, y)`` float32 torch tensors on the trial's device, scaled, covering
every training row exactly once per epoch (the last batch may be short unless
``drop_last``), in an order fixed by ``(seed, epoch)``. Pass one to
:func:`surrogate_hpo.model.training.train` as ``train_batches=``.

* :func:`ray_data_batches`: a Ray Data pipeline over the shards of a split (see
  :mod:`surrogate_hpo.data.shards`): shard order shuffled per epoch, each shard read,
  permuted (seeded) and scaled inside the pipeline (``map_batches``, numpy format,
  vectorised, run by Ray workers in parallel with training), then ``iter_torch_batches``
  with prefetching to the trial's device; each batch mixes ``mix_shards`` shards held at
  once (or, alternatively, Ray's bounded row shuffle window ``local_shuffle_buffer_size``).
  Without mixing a batch comes from one shard, a region of one snapshot, and training
  converges far worse than from memory (``benchmarks/streaming_quality.py``).
* :func:`memmap_batches`: the MALA ``.npy`` files memory-mapped, read chunk by chunk
  (chunks in random order, rows shuffled inside a chunk): no Ray.
* :func:`in_memory_batches`: every row scaled into one tensor on the device, a global
  permutation per epoch: the fastest when the data fit.

(About 400 lines because the three builders must keep one contract, the same rows once per
epoch in a seeded order, and that is easiest to check side by side in one module.)

**CPU slots and deadlock**. Ray Data work runs as Ray tasks, and two parts of
a plain ``read_parquet -> map_batches`` pipeline wait for a free CPU: ``read_parquet``
samples a few files with 1-CPU tasks when the Dataset is *created* (Ray 2.60,
``parquet_datasource._fetch_file_infos``; not configurable), and read/map tasks ask for 1 CPU
each by default. When Tune trials reserve every CPU (two 1-CPU trials on a 2-CPU machine)
these tasks are never scheduled and the trial hangs. Fractional CPUs (``num_cpus=0.1``) do
not help: nothing is left to take a fraction from. So:

* the default ``reader="tasks"`` builds the Dataset from the shard file list
  (``ray.data.from_items``, no tasks) and reads each shard with pyarrow inside
  ``map_batches`` (same Parquet files, same columns, one block per shard);
* every task asks for ``data_cpus=0`` CPUs (a logical amount: Ray schedules it without a
  free CPU slot) and at most ``concurrency`` (2) run at once, so they share the trial's
  cores instead of waiting for cores nobody will release;
* ``reader="parquet"`` uses ``ray.data.read_parquet`` (its read tasks also get
  ``data_cpus``); use it only where at least one CPU stays free (driver-side, or trials that
  leave CPUs unreserved, e.g. ``max_concurrent_trials`` below the CPU count).

``tests/data/test_streaming.py`` checks that two 1-CPU trials on a 2-CPU Ray both stream
an epoch while no CPU is free.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from .batches import ArrayDataset, flatten_grid
from .errors import DataError
from .scalers import Scaler
from .shards import ShardManifest, read_manifest
from .snapshot import Snapshot
from .snapshot_set import SnapshotSet

__all__ = ["BatchFactory", "RayDataBatches", "ray_data_batches", "memmap_batches", "in_memory_batches",
           "epoch_seed"]

#: ``batches(epoch) -> iterable of (x, y)`` float32 tensors on the trial's device.
BatchFactory = Callable[[int], Iterable[tuple[torch.Tensor, torch.Tensor]]]


def epoch_seed(seed: int | None, epoch: int, salt: int = 0) -> int | None:
    """A 32-bit seed derived from ``(seed, epoch, salt)`` (None stays None)."""
    if seed is None:
        return None
    return int(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(epoch), int(salt)]).generate_state(1)[0])


def _shift_scale32(scaler: Scaler | None) -> tuple[np.ndarray, np.ndarray] | None:
    if scaler is None or scaler.kind == "none":
        return None
    shift, scale = scaler.shift_scale
    return shift.astype(np.float32), scale.astype(np.float32)


def _scale_block(batch: dict[str, np.ndarray], *, xs: tuple | None, ys: tuple | None,
                 seed: int | None) -> dict[str, np.ndarray]:
    """map_batches body: optional seeded in-block permutation, then ``(v - shift) / scale``.

    Same float32 arithmetic as :meth:`Scaler.transform`, so results are bit-identical.
    The first ``point`` of the block picks the permutation, so it is repeatable.
    """
    x, y = batch["descriptors"], batch["ldos"]
    n = len(x)
    if seed is not None and n > 1:
        first = int(batch["point"][0]) if "point" in batch and len(batch["point"]) else 0
        perm = np.random.default_rng([seed, first, n]).permutation(n)
        x, y = x.take(perm, axis=0), y.take(perm, axis=0)
    out = {}
    for key, v, params in (("x", x, xs), ("y", y, ys)):
        v = v.reshape(n, -1)
        if params is None:
            out[key] = np.ascontiguousarray(v, dtype=np.float32)
            continue
        res = np.subtract(v, params[0], dtype=np.float32)
        np.divide(res, params[1], out=res)
        out[key] = res
    return out


def _read_shards(batch: dict[str, np.ndarray], *, xs: tuple | None, ys: tuple | None,
                 seed: int | None) -> dict[str, np.ndarray]:
    """map_batches body of the ``"tasks"`` reader: read whole shard files with pyarrow, then
    permute and scale them like :func:`_scale_block`."""
    import pyarrow.parquet as pq

    parts = []
    for path in batch["item"]:
        t = pq.read_table(str(path), columns=["descriptors", "ldos", "point"])
        cols = {c: t[c].combine_chunks() for c in ("descriptors", "ldos")}
        parts.append(_scale_block({"descriptors": cols["descriptors"].to_numpy_ndarray(),
                                   "ldos": cols["ldos"].to_numpy_ndarray(),
                                   "point": t["point"].to_numpy()}, xs=xs, ys=ys, seed=seed))
    if len(parts) == 1:
        return parts[0]
    return {k: np.concatenate([p[k] for p in parts]) for k in ("x", "y")}


def _rebatch(blocks: Iterable[tuple[torch.Tensor, torch.Tensor]], batch_size: int,
             drop_last: bool) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Cut a stream of ``(x, y)`` blocks into batches of ``batch_size`` rows (views where a
    batch lies inside one block; a batch spanning blocks is concatenated)."""
    carry: list[tuple[torch.Tensor, torch.Tensor]] = []
    held = 0
    for bx, by in blocks:
        start, n = 0, bx.shape[0]
        if held:
            take = min(batch_size - held, n)
            carry.append((bx[:take], by[:take]))
            held += take
            start = take
            if held < batch_size:
                continue
            yield torch.cat([c[0] for c in carry]), torch.cat([c[1] for c in carry])
            carry, held = [], 0
        stop = start + (n - start) // batch_size * batch_size
        for s in range(start, stop, batch_size):
            yield bx[s:s + batch_size], by[s:s + batch_size]
        if stop < n:
            carry, held = [(bx[stop:], by[stop:])], n - stop
    if held and not drop_last:
        yield torch.cat([c[0] for c in carry]), torch.cat([c[1] for c in carry])


def _interleave(blocks: Iterable[tuple[torch.Tensor, torch.Tensor]], k: int, batch_size: int, drop_last: bool,
                seed: int | None = None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Batches that draw rows from ``k`` blocks at once.

    ``k`` blocks (each a shard, regions of different snapshots) form a window; its rows are
    permuted together (seeded) and cut into batches, so every batch mixes the window's
    shards; the rows left over after the last whole batch join the next window. Each row is
    yielded once; the memory is about twice that of ``k`` shards while a window is permuted.
    One gather per window and a view per batch: no per-batch copying.
    """
    gen = torch.Generator()
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(int(seed))
    source = iter(blocks)
    carry: tuple[torch.Tensor, torch.Tensor] | None = None
    while True:
        window = [b for b in itertools.islice(source, max(1, k)) if b[0].shape[0]]
        if not window:
            break
        if carry is not None:
            window.insert(0, carry)
        x = torch.cat([b[0] for b in window]) if len(window) > 1 else window[0][0]
        y = torch.cat([b[1] for b in window]) if len(window) > 1 else window[0][1]
        perm = torch.randperm(x.shape[0], generator=gen).to(x.device)
        x, y = x[perm], y[perm]
        whole = x.shape[0] // batch_size * batch_size
        for s in range(0, whole, batch_size):
            yield x[s:s + batch_size], y[s:s + batch_size]
        carry = (x[whole:], y[whole:]) if whole < x.shape[0] else None
    if carry is not None and not drop_last:
        yield carry


class RayDataBatches:
    """Batch factory over the Parquet shards of one split (see :func:`ray_data_batches`)."""

    def __init__(self, shard_dir: str | Path | ShardManifest, *, batch_size: int,
                 shuffle_buffer: int | None = None, seed: int | None = 0,
                 device: str | torch.device = "cpu",
                 x_scaler: Scaler | None | Literal["manifest"] = "manifest",
                 y_scaler: Scaler | None | Literal["manifest"] = "manifest",
                 split: str = "train", shuffle: bool = True, prefetch_batches: int = 4,
                 drop_last: bool = False, data_cpus: float = 0.0, concurrency: int = 2,
                 preserve_order: bool | None = None,
                 reader: Literal["tasks", "parquet"] = "tasks", mix_shards: int = 1) -> None:
        self.manifest = shard_dir if isinstance(shard_dir, ShardManifest) else read_manifest(shard_dir)
        if int(batch_size) < 1:
            raise DataError(f"batch_size must be >= 1, got {batch_size}")
        self.split = split
        self.files = [str(p) for p in self.manifest.files(split)]
        if not self.files:
            raise DataError(f"{self.manifest.directory}: split {split!r} has no shards.")
        self.n_rows = self.manifest.n_rows(split)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.shuffle_buffer = int(shuffle_buffer) if shuffle and shuffle_buffer else None
        self.seed = seed
        self.device = torch.device(device)
        self.x_scaler = self.manifest.x_scaler if x_scaler == "manifest" else x_scaler
        self.y_scaler = self.manifest.y_scaler if y_scaler == "manifest" else y_scaler
        self.prefetch_batches = int(prefetch_batches)
        self.drop_last = bool(drop_last)
        self.data_cpus = float(data_cpus)
        self.concurrency = max(1, int(concurrency))
        # a seed asks for a repeatable order: blocks must then arrive in submission order
        self.preserve_order = (seed is not None) if preserve_order is None else bool(preserve_order)
        self._xs, self._ys = _shift_scale32(self.x_scaler), _shift_scale32(self.y_scaler)
        if reader not in ("tasks", "parquet"):
            raise DataError(f"reader must be 'tasks' or 'parquet', got {reader!r}")
        self.reader = reader
        self.mix_shards = max(1, min(int(mix_shards), len(self.files)))

    def __len__(self) -> int:
        """Rows per epoch."""
        return self.n_rows

    def dataset(self, epoch: int = 0):
        """The lazy ``ray.data.Dataset`` of one epoch (shards in a per-epoch order, scaled)."""
        import ray

        files = list(self.files)
        if self.shuffle:
            rng = np.random.default_rng(epoch_seed(self.seed, epoch, 1))
            files = [files[i] for i in rng.permutation(len(files))]
        remote = {"num_cpus": self.data_cpus}
        block_seed = epoch_seed(self.seed, epoch, 2) if self.shuffle else None
        if self.shuffle and block_seed is None:  # unseeded shuffle: fresh entropy per epoch
            block_seed = int(np.random.SeedSequence().generate_state(1)[0])
        kwargs = {"xs": self._xs, "ys": self._ys, "seed": block_seed}
        pool = ray.data.TaskPoolStrategy(size=self.concurrency)  # at most this many tasks at once
        if self.reader == "parquet":
            from ray.data import FileShuffleConfig

            # the split folder (not a file list: Ray 2.60 lists files through fsspec's HTTP
            # check, which fails without aiohttp); shard order from FileShuffleConfig
            file_seed = epoch_seed(self.seed, epoch, 1)
            shuffle = (FileShuffleConfig(seed=file_seed, reseed_after_execution=False)
                       if self.shuffle and file_seed is not None else ("files" if self.shuffle else None))
            ds = ray.data.read_parquet(str(self.manifest.split_dir(self.split)), shuffle=shuffle,
                                       concurrency=self.concurrency, override_num_blocks=len(files),
                                       num_cpus=self.data_cpus)
            ds = ds.select_columns(["descriptors", "ldos", "point"])
            ds = ds.map_batches(_scale_block, batch_format="numpy", batch_size=None, zero_copy_batch=True,
                                fn_kwargs=kwargs, compute=pool, **remote)
        else:
            ds = ray.data.from_items(files, override_num_blocks=len(files))
            ds = ds.map_batches(_read_shards, batch_format="numpy", batch_size=1, zero_copy_batch=True,
                                fn_kwargs=kwargs, compute=pool, **remote)
        ds.context.execution_options.preserve_order = self.preserve_order
        return ds

    def __call__(self, epoch: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        ds = self.dataset(epoch)
        if not self.shuffle_buffer:
            # whole (already permuted, scaled) blocks as tensors, cut into batches here: a view
            # per batch instead of Ray's per-batch Arrow slicing and conversion (measured ~3 ms
            # per 1024-row batch on 2 cores; see benchmarks/streaming.py)
            blocks = ds.iter_torch_batches(batch_size=None, dtypes=torch.float32, device=self.device,
                                           prefetch_batches=max(1, self.prefetch_batches))
            pairs = ((b["x"], b["y"]) for b in blocks)
            if self.mix_shards > 1:
                mix_seed = epoch_seed(self.seed, epoch, 5) if self.seed is not None else None
                yield from _interleave(pairs, self.mix_shards, self.batch_size, self.drop_last, mix_seed)
            else:
                yield from _rebatch(pairs, self.batch_size, self.drop_last)
            return
        it = ds.iter_torch_batches(
            batch_size=self.batch_size, dtypes=torch.float32, device=self.device,
            prefetch_batches=self.prefetch_batches, drop_last=self.drop_last,
            local_shuffle_buffer_size=self.shuffle_buffer,
            local_shuffle_seed=epoch_seed(self.seed, epoch, 3) if self.shuffle_buffer else None)
        for batch in it:
            yield batch["x"], batch["y"]

    def __repr__(self) -> str:
        return (f"RayDataBatches({self.manifest.directory}/{self.split}: {self.n_rows} rows in "
                f"{len(self.files)} shards, batch_size={self.batch_size}, "
                f"shuffle_buffer={self.shuffle_buffer})")


def ray_data_batches(shard_dir: str | Path | ShardManifest, *, batch_size: int,
                     shuffle_buffer: int | None = None, seed: int | None = 0,
                     device: str | torch.device = "cpu",
                     x_scaler: Scaler | None | Literal["manifest"] = "manifest",
                     y_scaler: Scaler | None | Literal["manifest"] = "manifest",
                     **options: Any) -> RayDataBatches:
    """Batches of a shard folder's training split streamed by Ray Data.

    Args:
        shard_dir: folder written by :func:`surrogate_hpo.data.shards.write_shards`.
        batch_size: rows per batch.
        shuffle_buffer: rows in ``iter_torch_batches``' local shuffle window (None/0: none;
            rows are still shuffled inside each shard and shards are visited in random
            order unless ``shuffle=False``).
        seed: fixes shard order, in-shard permutation and shuffle window per ``(seed, epoch)``;
            with a seed, blocks are consumed in order (``preserve_order``) so epochs repeat.
        device: where the tensors go (``iter_torch_batches(device=...)``).
        x_scaler, y_scaler: ``"manifest"`` (default): the scalers fitted on the training
            split stored in the manifest; None: unscaled; or a :class:`Scaler`.
        options: ``mix_shards`` (1: a batch comes from one shard; k: every batch draws from
            k shards held at once, see :func:`_interleave`), ``split``, ``shuffle``,
            ``prefetch_batches`` (4), ``drop_last``,
            ``data_cpus`` (0: see the module notes on deadlock), ``concurrency`` (2),
            ``preserve_order``, ``reader`` (``"tasks"``, default; or ``"parquet"`` for
            ``ray.data.read_parquet``, which needs a free CPU when the Dataset is built).

    Needs a running Ray (inside a Tune trial it is). The returned object is called with the
    epoch number and yields ``(x, y)`` tensors.
    """
    return RayDataBatches(shard_dir, batch_size=batch_size, shuffle_buffer=shuffle_buffer, seed=seed,
                          device=device, x_scaler=x_scaler, y_scaler=y_scaler, **options)


# --------------------------------------------------------------------------- no Ray


def _snapshots(source: SnapshotSet | str | Path | Sequence[Snapshot], split: str) -> list[Snapshot]:
    if isinstance(source, SnapshotSet):
        return list(getattr(source, split))
    if isinstance(source, (str, Path)):
        return list(getattr(SnapshotSet.from_directory(source), split))
    return list(source)


def memmap_batches(source: SnapshotSet | str | Path | Sequence[Snapshot], *, batch_size: int,
                   shuffle_buffer: int | None = 65536, seed: int | None = 0,
                   device: str | torch.device = "cpu", x_scaler: Scaler | None,
                   y_scaler: Scaler | None, split: str = "train",
                   drop_last: bool = False) -> BatchFactory:
    """Batches read from the memory-mapped MALA arrays (no Ray).

    Chunks of ``shuffle_buffer`` rows (65536 if None) are read in random order and their
    rows permuted (the bounded shuffle window); ``shuffle_buffer=0`` reads in file order.
    ``x_scaler``/``y_scaler``: fitted scalers, or None for unscaled values.
    """
    snaps = _snapshots(source, split)
    shuffle = shuffle_buffer != 0
    ds = ArrayDataset(snaps, x_scaler, y_scaler, max_in_memory_bytes=0,
                      chunk_rows=int(shuffle_buffer) if shuffle_buffer else 65536)
    dev = torch.device(device)

    def batches(epoch: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        rng_seed = epoch_seed(seed, epoch) if seed is not None else int(torch.seed() % 2**32)
        for xb, yb in ds._stream(int(batch_size), shuffle, np.random.default_rng(rng_seed), drop_last):
            yield xb.to(dev, non_blocking=True), yb.to(dev, non_blocking=True)

    batches.n_rows = len(ds)  # type: ignore[attr-defined]
    return batches


def in_memory_batches(source: SnapshotSet | str | Path | Sequence[Snapshot] | tuple[np.ndarray, np.ndarray],
                      *, batch_size: int, shuffle_buffer: int | None = None, seed: int | None = 0,
                      device: str | torch.device = "cpu", x_scaler: Scaler | None,
                      y_scaler: Scaler | None, split: str = "train",
                      drop_last: bool = False, shuffle: bool = True) -> BatchFactory:
    """Every row scaled into one float32 tensor on ``device``; a global permutation per epoch.

    ``source`` may also be an ``(x, y)`` pair of unscaled row arrays. ``shuffle_buffer`` is
    accepted for a uniform interface and ignored (the shuffle is global).
    """
    if isinstance(source, tuple) and len(source) == 2 and isinstance(source[0], np.ndarray):
        x, y = (np.asarray(a, dtype=np.float32).reshape(len(a), -1) for a in source)
    else:
        snaps = _snapshots(source, split)
        x = np.concatenate([np.asarray(flatten_grid(s.descriptors), dtype=np.float32) for s in snaps])
        y = np.concatenate([np.asarray(flatten_grid(s.ldos), dtype=np.float32) for s in snaps])
    if x_scaler is not None:
        x = np.asarray(x_scaler.transform(x), dtype=np.float32)
    if y_scaler is not None:
        y = np.asarray(y_scaler.transform(y), dtype=np.float32)
    dev = torch.device(device)
    xt = torch.from_numpy(np.ascontiguousarray(x)).to(dev)
    yt = torch.from_numpy(np.ascontiguousarray(y)).to(dev)
    n, bs = xt.shape[0], int(batch_size)
    stop = n - n % bs if drop_last else n

    def batches(epoch: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if not shuffle:
            for start in range(0, stop, bs):
                yield xt[start:start + bs], yt[start:start + bs]
            return
        gen = torch.Generator(device="cpu")
        s = epoch_seed(seed, epoch)
        gen.manual_seed(s if s is not None else int(torch.seed() % 2**63))
        perm = torch.randperm(n, generator=gen).to(dev)
        for start in range(0, stop, bs):
            idx = perm[start:start + bs]
            yield xt[idx], yt[idx]

    batches.n_rows = n  # type: ignore[attr-defined]
    return batches
