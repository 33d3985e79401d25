"""Small synthetic MALA snapshots written to tmp_path (helpers for the data-layer tests)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

FIXTURES = Path(__file__).parent / "fixtures"
QE_FIXTURE = FIXTURES / "al_fcc_1atom.pw.out"

GRID = (4, 3, 5)
N_FEATURES = 6
N_ENERGIES = 7
VOXEL = np.diag([0.5, 0.6, 0.4])


def default_info(grid=GRID, n_energies=N_ENERGIES) -> dict:
    cell = VOXEL * np.asarray(grid)[:, None]
    return {
        "fermi_energy_dft": 7.5,
        "temperature": 298.0,
        "number_of_electrons_exact": 12.0,
        "band_energy_dft_calculation": 30.25,
        "total_energy_dft_calculation": -230.5,
        "grid_dimensions": list(grid),
        "voxel": VOXEL.tolist(),
        "atoms": {"symbols": ["Al"] * 4,
                  "positions": [[0, 0, 0], [1, 0.9, 0], [0, 0.9, 1], [1, 0, 1]],
                  "cell": cell.tolist(), "pbc": [True, True, True]},
        "energy_grid": {"offset": -5.0, "spacing": 2.5, "n": n_energies},
    }


def write_snapshot(directory: Path, name: str, *, grid=GRID, n_features=N_FEATURES,
                   n_energies=N_ENERGIES, seed=0, info: dict | None | str = "default",
                   scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Write ``<name>.in.npy``/``.out.npy`` (+ sidecar unless ``info=None``); return (x, y)."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    idx = np.stack(np.meshgrid(*[np.arange(n) for n in grid], indexing="ij"), axis=-1)
    coords = idx @ VOXEL
    desc = rng.normal(loc=np.arange(n_features), scale=1 + np.arange(n_features),
                      size=(*grid, n_features)) * scale
    x = np.concatenate([coords, desc], axis=-1).astype(np.float32)
    y = rng.uniform(0.0, 0.05, size=(*grid, n_energies)).astype(np.float32) * scale
    np.save(directory / f"{name}.in.npy", x)
    np.save(directory / f"{name}.out.npy", y)
    if info == "default":
        info = default_info(grid, n_energies)
    if info is not None:
        (directory / f"{name}.info.json").write_text(json.dumps(info))
    return x, y


@pytest.fixture
def snapshot_dir(tmp_path: Path) -> Path:
    """Four snapshots snap1..snap4 with sidecars."""
    d = tmp_path / "snaps"
    for i in range(1, 5):
        write_snapshot(d, f"snap{i}", seed=i)
    return d
