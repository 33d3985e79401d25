"""Whether a study streams its training rows through Ray Data, and from which shards.

``data.streaming`` chooses: ``false`` keeps every training row in memory (one copy in Ray's
object store, shared by the trials of a node); ``true`` streams them from Parquet shards
(:mod:`surrogate_hpo.data.shards`) with Ray Data inside each trial; ``auto`` (default)
streams when the training rows would take more than ``data.streaming_threshold_gb`` GiB
as float32. The shards are ``data.shards`` (written once with ``surrogate-hpo-shards``)
or, when that is null, written by the study into ``<study>/shards`` before Ray starts
(kept for ``resume=true``). Validation and test snapshots stay in memory: the energy
metrics need whole snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DataError
from .config import DataConfig
from .scalers import Scaler
from .shards import read_manifest, snapshot_fingerprint, write_shards
from .snapshot_set import SnapshotSet

#: rows of the in-memory sample kept when streaming (NASWOT batches, shapes)
SAMPLE_ROWS = 16384


@dataclass(frozen=True)
class TrainStream:
    """Where a trial streams its training rows from (picklable: travels with the data)."""

    shard_dir: str
    n_rows: int
    n_shards: int
    shuffle_buffer: int | None = None
    prefetch_batches: int = 4
    concurrency: int = 2
    mix_shards: int = 1

    def batches(self, *, batch_size: int, seed: int, device: Any, x_scaler: Scaler, y_scaler: Scaler):
        """A batch factory ``epoch -> (x, y)`` tensors on ``device``, scaled with the study's scalers."""
        from ray.data import DataContext

        from .streaming import ray_data_batches

        DataContext.get_current().enable_progress_bars = False  # trial logs, not bars
        return ray_data_batches(self.shard_dir, batch_size=batch_size, seed=seed, device=device,
                                x_scaler=x_scaler, y_scaler=y_scaler, shuffle_buffer=self.shuffle_buffer,
                                prefetch_batches=self.prefetch_batches, concurrency=self.concurrency,
                                mix_shards=self.mix_shards)

    def describe(self) -> str:
        window = (f", shuffle window {self.shuffle_buffer} rows" if self.shuffle_buffer else
                  f", each batch from {self.mix_shards} shards")
        return f"training rows streamed by Ray Data: {self.n_rows} rows in {self.n_shards} shards at {self.shard_dir}{window}"


def training_bytes(sset: SnapshotSet) -> int:
    """Bytes of the training rows as float32 (descriptors + LDOS)."""
    return sum(s.n_points for s in sset.train) * (sset.n_features + sset.n_energies) * 4


def wants_streaming(data_cfg: DataConfig, sset: SnapshotSet) -> bool:
    """Whether the study streams: ``data.streaming``, or for ``auto`` the data size."""
    if data_cfg.streaming != "auto":
        return bool(data_cfg.streaming)
    if data_cfg.shards:
        return True
    return training_bytes(sset) > data_cfg.streaming_threshold_gb * 2**30


def check_shards_match(manifest: Any, sset: SnapshotSet, where: str) -> None:
    """The shards must hold exactly the study's training snapshots with its shapes."""
    if manifest.n_features != sset.n_features or manifest.n_energies != sset.n_energies:
        raise ConfigError(f"{where}: shards hold F={manifest.n_features}, nE={manifest.n_energies} but the "
                          f"snapshots have F={sset.n_features}, nE={sset.n_energies}; write the shards of this "
                          "data set (surrogate-hpo-shards source=<data.path> output=<folder>)")
    names = [s.name for s in sset.train]
    have = manifest.names("train") if "train" in manifest.raw["splits"] else []
    if sorted(have) != sorted(names):
        raise ConfigError(f"{where}: the shards' training split {have} is not the study's {names}; "
                          "use the same data.train list (or default split) as when the shards were written")
    for s in sset.train:
        entry = manifest.raw["snapshots"][s.name]
        rows = int(entry["n_rows"])
        if rows != s.n_points:
            raise ConfigError(f"{where}: snapshot {s.name} has {rows} rows in the shards but "
                              f"{s.n_points} grid points in {s.name}.in.npy")
        stored = entry.get("fingerprint")
        if stored is None or stored != snapshot_fingerprint(s):
            raise ConfigError(f"{where}: the shards of snapshot {s.name} were not written from {s.path}.in/.out.npy "
                              f"({'no fingerprint in the manifest' if stored is None else 'other file contents'}); "
                              "write the shards of this data: surrogate-hpo-shards source=<data.path> output=<folder>")


#: memory the shards a streamed batch mixes may take (``data.mix_shards: auto``)
MIX_BUDGET_BYTES = 1 << 29


def mix_shards_for(setting: int | str, manifest: Any, n_shards: int) -> int:
    """Shards a batch draws from: the setting, or for ``auto`` as many as fit in
    :data:`MIX_BUDGET_BYTES` (float32 rows of the largest shard), at least 2, at most all."""
    if setting != "auto":
        return max(1, min(int(setting), n_shards))
    largest = max((int(sh["rows"]) for snap in manifest.raw["snapshots"].values() for sh in snap["shards"]),
                  default=1)
    per_shard = largest * (manifest.n_features + manifest.n_energies) * 4
    return max(1, min(n_shards, max(2, MIX_BUDGET_BYTES // max(per_shard, 1))))


def prepare_train_stream(data_cfg: DataConfig, sset: SnapshotSet, default_dir: Path | None) -> TrainStream:
    """Find (``data.shards``) or write (``default_dir``) the training shards; check them."""

    given = data_cfg.shards
    if given:
        where = f"data.shards={given}"
        try:
            manifest = read_manifest(Path(str(given)).expanduser())
        except DataError as e:
            raise ConfigError(f"{where}: {e}") from None
    else:
        if default_dir is None:
            raise ConfigError("data.streaming is on but data.shards is not set; write shards with "
                              "surrogate-hpo-shards source=<data.path> output=<folder> and pass data.shards=<folder>")
        where = f"{default_dir} (the study's own shards)"
        manifest = None
        if (default_dir / "manifest.json").is_file():
            try:
                manifest = read_manifest(default_dir)
                check_shards_match(manifest, sset, where)
            except (DataError, ConfigError):
                manifest = None  # stale or broken: written again below
        if manifest is None:
            print(f"[data] writing the training shards to {default_dir} (streaming) ...", flush=True)
            write_shards(sset, default_dir, overwrite=True,
                         input_scaling=data_cfg.input_scaling, output_scaling=data_cfg.output_scaling)
            manifest = read_manifest(default_dir)
    check_shards_match(manifest, sset, where)
    window = data_cfg.shuffle_buffer
    n_shards = len(manifest.files("train"))
    return TrainStream(
        mix_shards=1 if window else mix_shards_for(data_cfg.mix_shards, manifest, n_shards),
        shard_dir=str(Path(manifest.directory).resolve()),
        n_rows=manifest.n_rows("train"),
        n_shards=len(manifest.files("train")),
        shuffle_buffer=int(window) if window else None,
        prefetch_batches=data_cfg.prefetch_batches,
    )


__all__ = ["TrainStream", "SAMPLE_ROWS", "training_bytes", "wants_streaming",
           "prepare_train_stream", "check_shards_match"]
