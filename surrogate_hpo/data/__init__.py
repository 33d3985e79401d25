"""Snapshots in MALA format: loading, train/validation/test splits, scaling, batches,
Parquet shards and streaming (Ray Data / memmap / in-memory batch factories).

Units: eV, Å, K; LDOS in 1/(eV·Å³). Every data problem raises :class:`DataError` at load
time, before any compute.
"""

from .batches import ArrayDataset, flatten_grid, iterate_batches, snapshot_rows
from .config import DataConfig
from .errors import OVERRIDE_KEYS, DataError
from .qe_output import QEOutput, read_qe_output
from .scalers import SCALER_KINDS, Scaler, fit_scalers
from .shards import ShardManifest, read_manifest, write_shards
from .sidecar import Sidecar, atoms_from_dict, read_sidecar
from .snapshot import Snapshot, count_nonfinite, load_snapshot
from .snapshot_set import (
    Discovery,
    SnapshotSet,
    default_split,
    discover,
    discover_snapshots,
)
from .streaming import BatchFactory, in_memory_batches, memmap_batches, ray_data_batches

__all__ = [
    "ArrayDataset",
    "BatchFactory",
    "DataConfig",
    "DataError",
    "Discovery",
    "OVERRIDE_KEYS",
    "QEOutput",
    "SCALER_KINDS",
    "Scaler",
    "ShardManifest",
    "Snapshot",
    "Sidecar",
    "SnapshotSet",
    "atoms_from_dict",
    "discover",
    "count_nonfinite",
    "default_split",
    "discover_snapshots",
    "fit_scalers",
    "flatten_grid",
    "in_memory_batches",
    "iterate_batches",
    "load_snapshot",
    "memmap_batches",
    "ray_data_batches",
    "read_manifest",
    "read_qe_output",
    "read_sidecar",
    "snapshot_rows",
    "write_shards",
]
