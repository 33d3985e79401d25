"""Property-based tests (Hypothesis): random corruptions of what a user hands us either load
correctly or raise our error with a message; never another exception, never a silent drop."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from mala_synth import default_info, write_snapshot

from surrogate_hpo.data import (
    DataError,
    discover,
    load_snapshot,
    read_manifest,
    read_sidecar,
    write_shards,
)
from surrogate_hpo.data.config import DataConfig
from surrogate_hpo.errors import ConfigError
from surrogate_hpo.util.typed_config import parse

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12)

SIDECAR_KEYS = ["atoms", "voxel", "energy_grid", "temperature", "number_of_electrons_exact", "electrons_per_atom",
                "grid_dimensions", "valence_charges", "pseudopotentials", "fermi_energy_dft",
                "band_energy_dft_calculation", "qe_energy_terms", "one_electron_contribution"]


def _fresh(tmp_path: Path, name: str) -> Path:
    d = tmp_path / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir()
    return d


@SETTINGS
@given(key=st.sampled_from(SIDECAR_KEYS), value=json_values)
def test_any_sidecar_value_reads_or_is_our_error(tmp_path, key, value):
    path = _fresh(tmp_path, "side") / "s.info.json"
    info = default_info()
    info[key] = value
    path.write_text(json.dumps(info))
    try:
        side = read_sidecar(path)
    except DataError as e:
        assert str(e) and str(path) in str(e)
        return
    assert side.exists


@SETTINGS
@given(case=st.sampled_from(["truncate", "dtype", "ndim", "nan", "grid", "bytes", "empty_axis"]),
       which=st.sampled_from([".in.npy", ".out.npy"]), cut=st.integers(1, 200))
def test_any_corrupted_array_loads_or_is_our_error(tmp_path, case, which, cut):
    d = _fresh(tmp_path, "arr")
    x, y = write_snapshot(d, "s")
    path = d / f"s{which}"
    arr = x if which == ".in.npy" else y
    if case == "truncate":
        data = path.read_bytes()
        path.write_bytes(data[: max(1, len(data) - cut)])
    elif case == "dtype":
        np.save(path, arr.astype(np.int32))
    elif case == "ndim":
        np.save(path, arr.reshape(-1, arr.shape[-1]))
    elif case == "nan":
        bad = arr.copy()
        bad.flat[cut % bad.size] = np.nan
        np.save(path, bad)
    elif case == "grid":
        np.save(path, arr[:-1])
    elif case == "bytes":
        path.write_bytes(bytes(range(256))[:cut])
    else:
        np.save(path, arr[:0])
    try:
        snap = load_snapshot(d / "s")
    except DataError as e:
        assert str(e)
        return
    # loaded: then it is consistent and finite (e.g. a NaN landed in the coordinate columns)
    assert snap.descriptors.shape[:3] == snap.ldos.shape[:3]
    assert np.isfinite(np.asarray(snap.descriptors)).all() and np.isfinite(np.asarray(snap.ldos)).all()


@SETTINGS
@given(files=st.lists(st.tuples(st.sampled_from(["a", "b", "c", "a_ACE"]),
                                 st.sampled_from([".in.npy", ".out.npy", ".info.json", ".dens.npy", ".out.h5",
                                                  ".in.npy/", ".out"])), max_size=10,
                     unique_by=lambda f: (f[0], f[1].rstrip("/"))))
@example(files=[("a", ".in.npy"), ("a", ".out.h5")])  # found by Hypothesis: .npy descriptors, openPMD LDOS
def test_every_file_of_a_folder_is_used_listed_or_named_in_an_error(tmp_path, files):
    d = _fresh(tmp_path, "folder")
    for name, suffix in files:
        if suffix.endswith("/"):
            (d / f"{name}{suffix[:-1]}").mkdir()
        else:
            (d / f"{name}{suffix}").write_bytes(b"x")
    try:
        found = discover(d)
    except DataError as e:
        assert str(e)
        return
    # a snapshot uses <name>.in / .out as .npy, or MALA's openPMD .h5 where no .npy is there
    used = {f"{n}.{kind}.npy" if (d / f"{n}.{kind}.npy").exists() else f"{n}.{kind}.h5"
            for n in found.names for kind in ("in", "out")}
    arrays = {p.name for p in d.iterdir() if p.name.endswith((".npy", ".h5"))}
    assert arrays <= used | set(found.left_out), arrays - used - set(found.left_out)  # nothing dropped silently
    assert all((d / f).is_file() for f in used)  # every file a snapshot uses is there


@pytest.fixture(scope="module")
def shard_folder(tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    for i in range(3):
        write_snapshot(src, f"s{i}", seed=i)
    return write_shards(src, tmp_path_factory.mktemp("shards") / "sh", rows_per_shard=25)


@SETTINGS
@given(path=st.sampled_from([("n_features",), ("splits", "train"), ("snapshots", "s0", "n_rows"),
                             ("snapshots", "s0", "shards"), ("format",), ("energy_grid",), ("scalers",)]),
       value=json_values, drop_file=st.booleans())
def test_a_corrupted_shard_folder_reads_or_is_our_error(tmp_path, shard_folder, path, value, drop_file):
    d = _fresh(tmp_path, "sh")
    shutil.rmtree(d)
    shutil.copytree(shard_folder, d)
    manifest = json.loads((d / "manifest.json").read_text())
    node = manifest
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    (d / "manifest.json").write_text(json.dumps(manifest))
    if drop_file:
        next(d.glob("train/*.parquet")).unlink()
    try:
        m = read_manifest(d)
    except DataError as e:
        assert str(e)
        return
    assert m.n_rows("train") > 0 and all(p.is_file() for p in m.files("train"))


DATA_KEYS = {"temperature": st.floats(allow_nan=True) | st.text(max_size=4) | st.none(),
             "max_train_points_per_snapshot": st.integers(-5, 5) | st.floats() | st.none(),
             "streaming": st.sampled_from(["auto", True, False, "yes", 1, None]),
             "voxel": json_values, "energy_grid": json_values, "train": json_values,
             "mix_shards": st.integers(-2, 4) | st.sampled_from(["auto", "all", 2.5]),
             "input_scaling": st.text(max_size=12) | st.sampled_from(["standard", "minmax", "none"]),
             "bogus_key": st.integers()}


@SETTINGS
@given(key=st.sampled_from(sorted(DATA_KEYS)), data=st.data())
def test_any_data_config_value_parses_or_is_a_config_error(key, data):
    raw = {**{k: v for k, v in DataConfig.for_folder("/x").__dict__.items()},
           "energy_grid": {"offset": None, "spacing": None, "n": None}}
    raw[key] = data.draw(DATA_KEYS[key])
    try:
        cfg = parse(DataConfig, raw, "data")
    except ConfigError as e:
        assert f"data.{key}" in str(e) or "data" in str(e)
        return
    assert key != "bogus_key"
    assert getattr(cfg, key) is not None or raw[key] is None
