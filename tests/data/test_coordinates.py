"""Columns 0-2 of a descriptor file: grid coordinates (MALA's default) or descriptors
(MALA's ``descriptors_contain_xyz=False``)?"""

from __future__ import annotations

import json

import numpy as np
import pytest
from composed_config import data_config
from hypothesis import example, given, settings
from hypothesis import strategies as st
from mala_synth import VOXEL, write_snapshot

from surrogate_hpo.data import DataError, load_snapshot
from surrogate_hpo.data.coordinates import columns_are_coordinates
from surrogate_hpo.data.prepared import load_snapshot_set


def _grid_points(shape, steps, origin=(0.0, 0.0, 0.0)) -> np.ndarray:
    idx = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1)
    return np.asarray(origin) + idx @ np.asarray(steps)


@settings(max_examples=25, deadline=None)
@given(shape=st.tuples(*[st.integers(2, 9)] * 3),
       steps=st.lists(st.floats(-2, 2, allow_nan=False), min_size=9, max_size=9),
       origin=st.tuples(*[st.floats(-50, 50)] * 3))
@example(shape=(3, 5, 5), steps=[0.0, 0.265625, 0.0, 0.0, 1.953125, 0.0, 0.0, 1.984375, 0.0],
         origin=(0.0, 16.9140625, 0.0))  # float16 rounding amplified by extrapolating from one step (CI, stop 21)
def test_coordinates_of_any_cell_are_recognised_and_bispectrum_like_columns_are_not(shape, steps, origin):
    steps = np.asarray(steps).reshape(3, 3)
    if abs(np.linalg.det(steps)) < 1e-2:  # make the cell diagonally dominant, hence not flat
        steps = steps + np.diag(np.abs(steps).sum(axis=1) + 0.5)
    coords = _grid_points(shape, steps, origin).astype(np.float32)
    rng = np.random.default_rng(0)
    descriptors = rng.uniform(0.5, 80.0, size=(*shape, 5)).astype(np.float32)
    x = np.concatenate([coords, descriptors], -1)
    assert columns_are_coordinates(x) is True
    assert columns_are_coordinates(descriptors) is False
    # float16: recognised while each cell edge spans at least 16 steps of float16 resolution at the
    # largest coordinate; below that the rounded file cannot tell, but is never taken for descriptors
    edges = np.linalg.norm(steps * (np.asarray(shape) - 1)[:, None], axis=1)
    resolution = float(np.spacing(np.float16(np.abs(coords).max())))
    expected = True if edges.min() >= 16 * resolution else None
    assert columns_are_coordinates(x.astype(np.float16)) in {expected, True}


def test_columns_that_cannot_tell_are_none():
    assert columns_are_coordinates(np.zeros((4, 3, 5, 6), np.float32)) is None  # constant
    assert columns_are_coordinates(np.ones((1, 3, 5, 6), np.float32)) is None  # one plane
    assert columns_are_coordinates(np.ones((4, 3, 5, 2), np.float32)) is None  # two columns
    flat = _grid_points((4, 3, 5), np.diag([0.5, 0.5, 0.0]))  # coordinates of a 2-D grid only
    assert columns_are_coordinates(np.concatenate([flat, np.ones((4, 3, 5, 2))], -1)) is None


def test_a_file_without_coordinate_columns_keeps_all_its_columns(tmp_path):
    x, _ = write_snapshot(tmp_path, "a", n_features=6)
    np.save(tmp_path / "a.in.npy", x[..., 3:])  # as MALA writes with descriptors_contain_xyz=False
    s = load_snapshot(tmp_path / "a")
    assert s.n_features == 6 and np.array_equal(np.asarray(s.descriptors), x[..., 3:])
    assert "no grid coordinates" in s.sources["descriptors"]
    assert load_snapshot(tmp_path / "a", contains_xyz=False).n_features == 6
    with pytest.raises(DataError, match="columns 0-2 are not grid coordinates.*descriptors_contain_xyz=false"):
        load_snapshot(tmp_path / "a", contains_xyz=True)


def test_coordinate_columns_are_dropped_unless_the_config_says_they_are_descriptors(tmp_path):
    x, _ = write_snapshot(tmp_path, "a", n_features=6)
    assert np.allclose(x[1, 2, 3, :3], np.array([1, 2, 3]) @ VOXEL)
    assert load_snapshot(tmp_path / "a").n_features == 6
    assert load_snapshot(tmp_path / "a", contains_xyz=False).n_features == 9


def test_data_descriptors_must_give_the_files_descriptor_count(tmp_path):
    for i in range(3):
        x, _ = write_snapshot(tmp_path, f"s{i}", n_features=14, seed=i)
    cfg = data_config(path=str(tmp_path), descriptors={"twojmax": 4})  # 14 components
    assert load_snapshot_set(cfg).train[0].n_features == 14
    with pytest.raises(DataError, match=r"14 descriptors per grid point, but data.descriptors \(twojmax=6\) gives 30"):
        load_snapshot_set(data_config(path=str(tmp_path), descriptors={"twojmax": 6}))
    # 11 descriptors read where twojmax=4 gives 14: the hint names the setting that keeps columns 0-2
    for i in range(3):
        x = np.load(tmp_path / f"s{i}.in.npy")
        np.save(tmp_path / f"s{i}.in.npy", x[..., 3:])
    info = json.loads((tmp_path / "s0.info.json").read_text())
    assert "descriptors" not in info
    assert load_snapshot_set(data_config(path=str(tmp_path), descriptors={"twojmax": 4})).train[0].n_features == 14
    with pytest.raises(DataError, match="descriptors_contain_xyz=false"):
        load_snapshot_set(data_config(path=str(tmp_path), descriptors={"twojmax": 4}, descriptors_contain_xyz=True))
