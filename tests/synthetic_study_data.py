"""A small synthetic MALA folder for study-level tests (fast; real data is tested elsewhere).

Descriptors are random; the LDOS is a smooth function of them, so a network can learn it,
and the electron count (6) lies well inside the energy grid so the Fermi level exists.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

GRID = (6, 6, 6)
N_FEATURES = 24
ENERGY = {"offset": -10.0, "spacing": 0.5, "n": 30}
VOXEL = 0.5 * np.eye(3)


def write_synthetic_set(directory: Path, n_snapshots: int = 5, seed: int = 0) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(N_FEATURES, ENERGY["n"])) / np.sqrt(N_FEATURES)
    idx = np.stack(np.meshgrid(*[np.arange(n) for n in GRID], indexing="ij"), axis=-1)
    coords = idx @ VOXEL
    cell = VOXEL * np.asarray(GRID)[:, None]
    for s in range(n_snapshots):
        desc = rng.normal(size=(*GRID, N_FEATURES))
        ldos = 0.03 * (1.0 + 0.5 * np.tanh(desc @ mix))  # 1/(eV Å^3), in (0.015, 0.045)
        np.save(directory / f"snap{s}.in.npy", np.concatenate([coords, desc], -1).astype(np.float32))
        np.save(directory / f"snap{s}.out.npy", ldos.astype(np.float32))
        info = {
            "temperature": 298.0,
            "number_of_electrons_exact": 6.0,
            "grid_dimensions": list(GRID),
            "voxel": VOXEL.tolist(),
            "energy_grid": ENERGY,
            "atoms": {"symbols": ["Al"] * 2, "positions": [[0, 0, 0], [1.5, 1.5, 1.5]],
                      "cell": cell.tolist(), "pbc": [True] * 3},
            "valence_charges": {"Al": 3.0},
        }
        (directory / f"snap{s}.info.json").write_text(json.dumps(info))
    return directory
