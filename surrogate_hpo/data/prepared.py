"""Data of a study, loaded and checked once before Ray starts.

:func:`load_snapshot_set` finds and checks the snapshots the ``data`` config names (the
bundled sample or a MALA folder); :func:`prepare_training_data` fits the scalers on the
training split only, holds the scaled rows trials use and computes the DFT reference
energies of the validation and test snapshots (so a snapshot whose energies cannot be
computed fails here, not inside a trial). With streaming (:mod:`.train_stream`) the
training rows stay in Parquet shards that each trial reads through Ray Data; only a
small sample of them is held here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..descriptors.bispectrum import BispectrumSettings, n_bispectrum_components
from ..errors import ConfigError, DataError
from ..physics.energy_grid import EnergyGrid
from ..util.typed_config import parse
from .bundled import sample_directory
from .config import DataConfig
from .energy_metrics import EnergyEvaluator
from .scalers import Scaler, fit_scalers
from .snapshot import Snapshot
from .snapshot_set import SnapshotSet
from .train_stream import (
    SAMPLE_ROWS,
    TrainStream,
    prepare_train_stream,
    wants_streaming,
)

__all__ = ["PreparedData", "load_snapshot_set", "prepare_data", "prepare_training_data", "resolve_data_path"]


@dataclass
class PreparedData:
    """Scaled training/validation rows plus the snapshots used for energy metrics (picklable for trials).

    ``train_x``/``val_x`` are ``(rows, F)`` and ``train_y``/``val_y`` ``(rows, nE)``, float32,
    already scaled; the evaluators keep the unscaled validation and test snapshots (LDOS in
    1/(eV·Å³)) with their reference energies. With ``train_stream`` set, trials stream their
    training rows from shards and ``train_x``/``train_y`` hold only a sample of them
    (NASWOT batches, shapes).
    """

    x_scaler: Scaler
    y_scaler: Scaler
    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    validation_evaluator: EnergyEvaluator
    test_evaluator: EnergyEvaluator
    energy_grid: EnergyGrid
    description: str = ""
    train_stream: TrainStream | None = None

    @property
    def validation(self) -> list[Snapshot]:
        return self.validation_evaluator.snapshots

    @property
    def test(self) -> list[Snapshot]:
        return self.test_evaluator.snapshots

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

    def validation_errors(self, predict: Callable[[Snapshot], np.ndarray]) -> dict[str, Any]:
        """Band-energy errors (meV/atom) of ``predict`` on the validation snapshots."""
        return self.validation_evaluator.errors(predict)

    def test_errors(self, predict: Callable[[Snapshot], np.ndarray]) -> dict[str, Any]:
        """Band-energy and total-free-energy errors (meV/atom) on the test snapshots."""
        return self.test_evaluator.errors(predict)

    def score_rows(self, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """``size`` distinct training rows (scaled descriptors, scaled LDOS), drawn with ``seed``:
        a training-free score's batch."""
        if size > self.train_x.shape[0]:
            raise ConfigError(f"method.batch_size={size} exceeds the {self.train_x.shape[0]} training rows")
        idx = np.sort(np.random.default_rng(seed).choice(self.train_x.shape[0], size=size, replace=False))
        return np.ascontiguousarray(self.train_x[idx]), np.ascontiguousarray(self.train_y[idx])


def resolve_data_path(data_cfg: DataConfig) -> Path:
    """Folder of MALA snapshots for ``data_cfg``; the bundled set is materialised on demand."""
    if data_cfg.kind == "sample":

        return sample_directory()
    p = Path(str(data_cfg.path)).expanduser()
    if not p.is_dir():
        raise ConfigError(f"data.path={p} does not exist or is not a folder; point it at a folder of MALA snapshots")
    return p


def load_snapshot_set(data_cfg: DataConfig, *, require_descriptors: bool = True) -> SnapshotSet:
    """Find, load and check the snapshots of ``data_cfg`` (raises ConfigError/DataError)."""
    sset = SnapshotSet.from_directory(
        resolve_data_path(data_cfg),
        train=data_cfg.train, validation=data_cfg.validation, test=data_cfg.test,
        energy_grid=data_cfg.energy_grid_given, temperature=data_cfg.temperature,
        n_electrons=data_cfg.n_electrons, voxel=data_cfg.voxel, valence_charges=data_cfg.valence_charges,
        require_descriptors=require_descriptors, contains_xyz=data_cfg.descriptors_contain_xyz,
    )
    _check_descriptor_count(sset, data_cfg.descriptors)
    return sset


def _check_descriptor_count(sset: SnapshotSet, settings: dict | None) -> None:
    """DataError when ``data.descriptors`` gives another number of components than the files hold."""
    with_descriptors = [s for s in sset.all if s.descriptors is not None]
    if not settings or not with_descriptors:
        return
    try:
        twojmax = BispectrumSettings.from_dict(settings).twojmax
        expected = n_bispectrum_components(twojmax)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"data.descriptors={settings}: not valid bispectrum settings ({exc})") from None
    s = with_descriptors[0]
    if s.n_features != expected:
        where = s.files.get("descriptors", s.name)
        hint = ("" if s.n_features + 3 != expected else
                "; its columns 0-2 look like grid coordinates: if they are descriptors, add "
                "data.descriptors_contain_xyz=false")
        raise DataError(f"{where}: {s.n_features} descriptors per grid point, but data.descriptors (twojmax="
                        f"{twojmax}) gives {expected}; fix data.descriptors{hint}")


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
        flat = getattr(s, field).reshape(-1, getattr(s, field).shape[-1])
        blocks.append(np.asarray(flat if idx is None else flat[idx], dtype=np.float32))
    return np.concatenate(blocks, axis=0)


def prepare_training_data(sset: SnapshotSet, data_cfg: DataConfig, *, seed: int = 0,
                          shards_dir: Path | None = None, log: Callable[[str], None] = print) -> PreparedData:
    """Fit the scalers on the training split only, build the scaled rows trials use and the
    reference energies of the validation and test snapshots (DataError if they cannot be had).

    When the study streams (``data.streaming``), the training shards are found or written
    (``shards_dir``: where the study writes its own) and only a sample of rows is kept.
    """
    if any(s.descriptors is None for s in sset.all):
        missing = [s.name for s in sset.all if s.descriptors is None]
        raise DataError(f"snapshots {missing} have no descriptors (<name>.in.npy); compute them first "
                        "(method=acsd method.write_dataset=true, or surrogate-hpo-generate)")
    x_scaler, y_scaler = fit_scalers(sset, data_cfg.input_scaling, data_cfg.output_scaling)
    limit = data_cfg.max_train_points_per_snapshot
    stream = None
    if wants_streaming(data_cfg, sset):
        stream = prepare_train_stream(data_cfg, sset, shards_dir)
        if limit is not None:
            log(f"[data] data.max_train_points_per_snapshot={limit} does not apply to streamed "
                "training rows: every row of the shards is used")
        limit = max(1, -(-SAMPLE_ROWS // len(sset.train)))  # the in-memory sample
    picks = _row_indices(sset.train, limit, seed)
    train_x, train_y = _rows(sset.train, "descriptors", picks), _rows(sset.train, "ldos", picks)
    every = [None] * len(sset.validation)
    val_x, val_y = _rows(sset.validation, "descriptors", every), _rows(sset.validation, "ldos", every)
    validation = EnergyEvaluator(sset.validation, total_energy=False)
    test = EnergyEvaluator(sset.test, total_energy=True)
    return PreparedData(
        x_scaler=x_scaler,
        y_scaler=y_scaler,
        train_x=np.asarray(x_scaler.transform(train_x), dtype=np.float32),
        train_y=np.asarray(y_scaler.transform(train_y), dtype=np.float32),
        val_x=np.asarray(x_scaler.transform(val_x), dtype=np.float32),
        val_y=np.asarray(y_scaler.transform(val_y), dtype=np.float32),
        validation_evaluator=validation,
        test_evaluator=test,
        energy_grid=sset.energy_grid,
        description=f"{sset.directory}\n{sset.summary()}" + (f"\n{stream.describe()}" if stream is not None else ""),
        train_stream=stream,
    )


def prepare_data(data_cfg: DataConfig | dict[str, Any], *, seed: int = 0, shards_dir: Path | None = None
                 ) -> PreparedData:
    """Load and prepare the data of a ``data`` config (typed, or the plain group as composed):
    the one call scripts and benchmarks need."""
    if not isinstance(data_cfg, DataConfig):
        data_cfg = parse(DataConfig, data_cfg, "data")
    return prepare_training_data(load_snapshot_set(data_cfg), data_cfg, seed=seed, shards_dir=shards_dir)
