"""Shared fixtures: one real local Ray for the session, composed configs, synthetic data."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
CONF_DIR = str(Path(__file__).resolve().parents[1] / "conf")


@pytest.fixture(scope="session")
def ray_local():
    """A real local Ray with 2 CPUs, started once (~3 s) and shut down at the end."""
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    import ray

    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield ray
    ray.shutdown()


def compose_config(overrides: list[str]) -> dict:
    """The study config as `surrogate-hpo <overrides>` would see it, as a plain dict."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    return OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory) -> Path:
    from synthetic_study_data import write_synthetic_set

    return write_synthetic_set(tmp_path_factory.mktemp("synthetic_mala"))


@pytest.fixture(scope="session")
def sample_data():
    """The bundled Al set, materialised (LAMMPS descriptors) once into the user cache."""
    from surrogate_hpo.study.prepared_data import prepare_data

    cfg = compose_config(["data=sample"])["data"]
    return prepare_data({**cfg, "max_train_points_per_snapshot": 3000}, seed=0)
