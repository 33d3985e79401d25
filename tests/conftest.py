"""Shared fixtures: one real local Ray for the session, composed configs, synthetic data."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from composed_config import compose_config  # noqa: E402


@pytest.fixture(scope="session")
def ray_local():
    """A real local Ray with 2 CPUs, started once (~3 s) and shut down at the end."""
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    import ray

    if not ray.is_initialized():
        ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield ray
    ray.shutdown()


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory) -> Path:
    from synthetic_study_data import write_synthetic_set

    return write_synthetic_set(tmp_path_factory.mktemp("synthetic_mala"))


@pytest.fixture(scope="session")
def sample_data():
    """The bundled Al set, materialised (LAMMPS descriptors) once into the user cache."""
    import dataclasses

    from surrogate_hpo.data.config import DataConfig
    from surrogate_hpo.data.prepared import load_snapshot_set, prepare_training_data
    from surrogate_hpo.util.typed_config import parse

    cfg = parse(DataConfig, compose_config(["data=sample"])["data"], "data")
    cfg = dataclasses.replace(cfg, max_train_points_per_snapshot=3000)
    return prepare_training_data(load_snapshot_set(cfg), cfg, seed=0)
