"""Snapshots in MALA format: loading, train/validation/test splits, scaling, batches.

Units: eV, Å, K; LDOS in 1/(eV·Å³). Every data problem raises :class:`DataError` at load
time, before any compute.
"""

from .batches import ArrayDataset, flatten_grid, iterate_batches, snapshot_rows
from .errors import OVERRIDE_KEYS, DataError
from .qe_output import QEOutput, read_qe_output
from .scalers import SCALER_KINDS, Scaler, fit_scalers
from .snapshot import Snapshot, count_nonfinite, load_snapshot
from .snapshot_set import SnapshotSet, default_split, discover_snapshots

__all__ = [
    "ArrayDataset",
    "DataError",
    "OVERRIDE_KEYS",
    "QEOutput",
    "SCALER_KINDS",
    "Scaler",
    "Snapshot",
    "SnapshotSet",
    "count_nonfinite",
    "default_split",
    "discover_snapshots",
    "fit_scalers",
    "flatten_grid",
    "iterate_batches",
    "load_snapshot",
    "read_qe_output",
    "snapshot_rows",
]
