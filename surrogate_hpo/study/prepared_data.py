"""Data of a study, loaded and checked once before Ray starts.

Loads the snapshot set named by the ``data`` config (the bundled sample or a MALA folder),
fits the scalers on the training split only, and holds the scaled arrays trials need. With
streaming (:mod:`.train_stream`) the training rows stay in Parquet shards that each trial
reads through Ray Data; only a small sample of them is held here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data import DataError, Scaler, SnapshotSet, fit_scalers
from ..data.snapshot import Snapshot
from .errors import ConfigError
from .train_stream import SAMPLE_ROWS, TrainStream, prepare_train_stream, wants_streaming


@dataclass
class PreparedData:
    """Scaled training/validation rows plus the snapshots used for energy metrics (picklable for trials).

    ``train_x``/``val_x`` are ``(rows, F)`` and ``train_y``/``val_y`` ``(rows, nE)``, float32,
    already scaled; ``validation``/``test`` keep the unscaled snapshots (LDOS in 1/(eV·Å³)).
    With ``train_stream`` set, trials stream their training rows from shards and
    ``train_x``/``train_y`` hold only a sample of them (NASWOT batches, shapes).
    """

    x_scaler: Scaler
    y_scaler: Scaler
    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    validation: list[Snapshot]
    test: list[Snapshot]
    description: str = ""
    train_stream: TrainStream | None = None

    @property
    def n_train_rows(self) -> int:
        """Training rows one epoch sees."""
        return self.train_stream.n_rows if self.train_stream is not None else int(self.train_x.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.train_x.shape[1])

    @property
    def n_energies(self) -> int:
        return int(self.train_y.shape[1])

    def scaled_inputs(self, snapshot: Snapshot) -> np.ndarray:
        """All grid points of ``snapshot`` as scaled float32 rows ``(n_points, F)``."""
        x = np.asarray(snapshot.descriptors, dtype=np.float32).reshape(-1, self.n_features)
        return np.asarray(self.x_scaler.transform(x), dtype=np.float32)

    def naswot_batch(self, size: int, seed: int) -> np.ndarray:
        """``size`` distinct training rows (scaled), drawn with ``seed``: the NASWOT batch."""
        if size > self.train_x.shape[0]:
            raise ConfigError(f"method.batch_size={size} exceeds the {self.train_x.shape[0]} training rows")
        rng = np.random.default_rng(seed)
        idx = rng.choice(self.train_x.shape[0], size=size, replace=False)
        return np.ascontiguousarray(self.train_x[np.sort(idx)])


def resolve_data_path(data_cfg: Mapping[str, Any]) -> Path:
    """Folder of MALA snapshots for ``data_cfg``; the bundled set is materialised on demand."""
    kind = data_cfg.get("kind", "mala_dir")
    if kind == "sample":
        from ..data.bundled import sample_directory

        return sample_directory()
    path = data_cfg.get("path")
    if path in (None, "", "???"):
        raise ConfigError("data.path is required for data=mala_dir: add data.path=/folder/of/snapshots")
    p = Path(str(path)).expanduser()
    if not p.is_dir():
        raise ConfigError(f"data.path={p} does not exist or is not a folder; point it at a folder of MALA snapshots")
    return p


def _names(value: Any) -> list[str] | None:
    return None if value is None else [str(v) for v in value]


def _row_indices(snapshots: list[Snapshot], limit: int | None, seed: int) -> list[np.ndarray | None]:
    """Per snapshot, ``limit`` sorted random grid-point indices (None = every point)."""
    rng = np.random.default_rng(seed)
    out: list[np.ndarray | None] = []
    for s in snapshots:
        n = s.n_points
        out.append(None if limit is None or limit >= n else np.sort(rng.choice(n, size=limit, replace=False)))
    return out


def _rows(snapshots: list[Snapshot], field: str, indices: list[np.ndarray | None]) -> np.ndarray:
    """Stack the rows of ``field`` (``descriptors`` or ``ldos``) over snapshots."""
    blocks = []
    for s, idx in zip(snapshots, indices):
        arr = getattr(s, field)
        flat = arr.reshape(-1, arr.shape[-1])
        blocks.append(np.asarray(flat if idx is None else flat[idx], dtype=np.float32))
    return np.concatenate(blocks, axis=0)


def load_snapshot_set(data_cfg: Mapping[str, Any]) -> tuple[Path, SnapshotSet]:
    """Find, load and check the snapshots of ``data_cfg`` (raises ConfigError/DataError)."""
    path = resolve_data_path(data_cfg)
    energy_grid = data_cfg.get("energy_grid")
    sset = SnapshotSet.from_directory(
        path,
        train=_names(data_cfg.get("train")),
        validation=_names(data_cfg.get("validation")),
        test=_names(data_cfg.get("test")),
        energy_grid=dict(energy_grid) if energy_grid else None,
        temperature=data_cfg.get("temperature"),
        n_electrons=data_cfg.get("n_electrons"),
        voxel=data_cfg.get("voxel"),
    )
    return path, sset


def scale_snapshot_set(path: Path, sset: SnapshotSet, data_cfg: Mapping[str, Any], *, seed: int = 0,
                       shards_dir: Path | None = None) -> PreparedData:
    """Fit the scalers on the training split only and build the scaled rows trials use.

    When the study streams (``data.streaming``), the training shards are found or written
    (``shards_dir``: where the study writes its own) and only a sample of rows is kept.
    """
    x_scaler, y_scaler = fit_scalers(
        sset, str(data_cfg.get("input_scaling", "feature-wise-standard")), str(data_cfg.get("output_scaling", "minmax"))
    )
    limit = data_cfg.get("max_train_points_per_snapshot")
    limit = None if limit is None else int(limit)
    stream = None
    if wants_streaming(data_cfg, sset):
        stream = prepare_train_stream(data_cfg, sset, shards_dir)
        if limit is not None:
            print(f"[data] data.max_train_points_per_snapshot={limit} does not apply to streamed "
                  "training rows: every row of the shards is used", flush=True)
        limit = max(1, -(-SAMPLE_ROWS // len(sset.train)))  # the in-memory sample
    picks = _row_indices(sset.train, limit, seed)
    train_x, train_y = _rows(sset.train, "descriptors", picks), _rows(sset.train, "ldos", picks)
    every = [None] * len(sset.validation)
    val_x, val_y = _rows(sset.validation, "descriptors", every), _rows(sset.validation, "ldos", every)
    return PreparedData(
        x_scaler=x_scaler,
        y_scaler=y_scaler,
        train_x=np.asarray(x_scaler.transform(train_x), dtype=np.float32),
        train_y=np.asarray(y_scaler.transform(train_y), dtype=np.float32),
        val_x=np.asarray(x_scaler.transform(val_x), dtype=np.float32),
        val_y=np.asarray(y_scaler.transform(val_y), dtype=np.float32),
        validation=list(sset.validation),
        test=list(sset.test),
        description=f"{path}\n{sset.summary()}" + (f"\n{stream.describe()}" if stream is not None else ""),
        train_stream=stream,
    )


def prepare_data(data_cfg: Mapping[str, Any], *, seed: int = 0, shards_dir: Path | None = None) -> PreparedData:
    """Load, check, split and scale the data of ``data_cfg`` (raises ConfigError/DataError)."""
    path, sset = load_snapshot_set(data_cfg)
    return scale_snapshot_set(path, sset, data_cfg, seed=seed, shards_dir=shards_dir)


__all__ = ["PreparedData", "prepare_data", "load_snapshot_set", "scale_snapshot_set", "resolve_data_path", "DataError"]
