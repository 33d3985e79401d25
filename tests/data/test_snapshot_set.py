"""SnapshotSet: discovery, the default split, explicit splits and their errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from mala_synth import VOXEL as VOXEL_OF_SIDECARS
from mala_synth import default_info, write_snapshot

from surrogate_hpo.data import (
    DataError,
    SnapshotSet,
    default_split,
    discover_snapshots,
    load_snapshot,
)
from surrogate_hpo.physics.energy_grid import EnergyGrid

MALA_OPENPMD = Path(__file__).parent / "fixtures" / "mala_folder" / "openpmd"


def names(snaps):
    return [s.name for s in snaps]


def test_default_split_last_is_test(snapshot_dir):
    ss = SnapshotSet.from_directory(snapshot_dir)
    assert names(ss.train) == ["snap1", "snap2"]
    assert names(ss.validation) == ["snap3"]
    assert names(ss.test) == ["snap4"]
    assert ss.n_features == 6 and ss.n_energies == 7
    assert ss.energy_grid == EnergyGrid(-5.0, 2.5, 7)


def test_natural_sort(tmp_path):
    for name in ["s10", "s9", "s2", "s1"]:
        write_snapshot(tmp_path, name)
    assert discover_snapshots(tmp_path) == ["s1", "s2", "s9", "s10"]
    ss = SnapshotSet.from_directory(tmp_path)
    assert names(ss.test) == ["s10"] and names(ss.validation) == ["s9"]


def test_explicit_lists_override(snapshot_dir):
    ss = SnapshotSet.from_directory(snapshot_dir, train=["snap3", "snap4"], validation=["snap1"],
                                    test=["snap2"])
    assert names(ss.train) == ["snap3", "snap4"]
    assert names(ss.validation) == ["snap1"] and names(ss.test) == ["snap2"]


def test_partial_lists_fill_from_rest():
    split = default_split(["a", "b", "c", "d", "e"], test=["a"])
    assert split == {"train": ["b", "c", "d"], "validation": ["e"], "test": ["a"]}
    split = default_split(["a", "b", "c", "d"], train=["a"])
    assert split == {"train": ["a"], "validation": ["c"], "test": ["d"]}


def test_too_few_snapshots(tmp_path):
    write_snapshot(tmp_path, "a")
    write_snapshot(tmp_path, "b")
    with pytest.raises(DataError, match=r"train split\(s\) empty.*at least 3 snapshots"):
        SnapshotSet.from_directory(tmp_path)


def test_unknown_name(snapshot_dir):
    with pytest.raises(DataError, match=r"data\.test lists \['snap9'\].*no <name>\.in\.npy"):
        SnapshotSet.from_directory(snapshot_dir, test=["snap9"])


def test_overlap(snapshot_dir):
    with pytest.raises(DataError, match=r"'snap2' is in both the train and the test split"):
        SnapshotSet.from_directory(snapshot_dir, train=["snap1", "snap2"], test=["snap2"])


def test_empty_explicit_split(snapshot_dir):
    with pytest.raises(DataError, match=r"validation split\(s\) empty"):
        SnapshotSet.from_directory(snapshot_dir, validation=[])


def test_empty_and_missing_directory(tmp_path):
    with pytest.raises(DataError, match="no snapshots found"):
        SnapshotSet.from_directory(tmp_path)
    with pytest.raises(DataError, match="data directory not found"):
        SnapshotSet.from_directory(tmp_path / "nope")


def test_descriptor_count_disagrees(snapshot_dir):
    write_snapshot(snapshot_dir, "snap5", n_features=5)
    with pytest.raises(DataError, match=r"'snap5' has 5 descriptors.*'snap1' has 6"):
        SnapshotSet.from_directory(snapshot_dir)


def test_energy_grid_disagrees(snapshot_dir):
    info = default_info()
    info["energy_grid"]["offset"] = -4.0
    write_snapshot(snapshot_dir, "snap5", info=info)
    with pytest.raises(DataError, match=r"'snap5' has energy grid .*-4\.0.*same energy grid"):
        SnapshotSet.from_directory(snapshot_dir)


def test_overrides_reach_every_snapshot(tmp_path):
    for i in range(3):
        write_snapshot(tmp_path, f"s{i}", info=None)
    kwargs = dict(energy_grid=EnergyGrid(0.0, 0.5, 7), temperature=933.0, n_electrons=12.0)
    with pytest.raises(DataError, match=r"(?s)'s0'.*data\.voxel="):  # no sidecar, no QE output
        SnapshotSet.from_directory(tmp_path, **kwargs)
    ss = SnapshotSet.from_directory(tmp_path, voxel=np.eye(3) * 0.3, **kwargs)
    assert all(s.temperature == 933.0 and s.n_electrons == 12.0 for s in ss.all)
    assert all(s.voxel_volume == pytest.approx(0.027) for s in ss.all)
    assert ss.energy_grid == EnergyGrid(0.0, 0.5, 7)


def test_summary_lists_every_snapshot(snapshot_dir):
    text = SnapshotSet.from_directory(snapshot_dir).summary()
    lines = text.splitlines()
    assert "4 snapshots" in lines[0] and "F=6" in lines[0] and "nE=7" in lines[0]
    body = "\n".join(lines[2:])
    for split, name in [("train", "snap1"), ("train", "snap2"), ("validation", "snap3"),
                        ("test", "snap4")]:
        assert any(line.startswith(split) and name in line for line in lines[2:]), body
    assert "4x3x5" in body


def test_fingerprint_is_what_the_files_were_when_first_asked(tmp_path):
    """The study's record of what it read: computed once per set; a new set of the changed
    folder differs."""
    for name in ("a", "b", "c"):
        write_snapshot(tmp_path, name)
    first = SnapshotSet.from_directory(tmp_path)
    before = first.fingerprint()
    x = np.load(tmp_path / "a.in.npy")
    x[..., 3:] += 1.0
    np.save(tmp_path / "a.in.npy", x)
    assert first.fingerprint() == before
    assert SnapshotSet.from_directory(tmp_path).fingerprint() != before


def test_metadata_files_have_their_own_fingerprint(tmp_path):
    """A sidecar edited (here the temperature) is another study's data, though the arrays are the same."""
    for name in ("a", "b", "c"):
        write_snapshot(tmp_path, name)
    before = SnapshotSet.from_directory(tmp_path)
    arrays, metadata = before.fingerprint(), before.metadata_fingerprint()
    info = default_info()
    info["temperature"] = 1000.0
    (tmp_path / "a.info.json").write_text(json.dumps(info))
    after = SnapshotSet.from_directory(tmp_path)
    assert after.train[0].temperature == 1000.0
    assert after.fingerprint() == arrays
    assert after.metadata_fingerprint() != metadata


def test_openpmd_arrays_are_fingerprinted(tmp_path):
    """MALA's .h5 snapshots count as data: two folders of other contents differ (they once hashed nothing)."""
    import h5py

    from surrogate_hpo.data.shards import snapshot_fingerprint

    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(MALA_OPENPMD, a)
    shutil.copytree(MALA_OPENPMD, b)
    with h5py.File(b / "Al_snapshot0.out.h5", "r+") as f:
        (iteration,) = f["data"].values()
        (mesh,) = iteration["meshes"].values()
        mesh["0"][0, 0, 0] += 1.0
    grid = {"offset": -5.0, "spacing": 0.5}
    sa, sb = (load_snapshot(folder / "Al_snapshot0", energy_grid=grid) for folder in (a, b))
    assert {sa.files["descriptors"].name, sa.files["ldos"].name} == {"Al_snapshot0.in.h5", "Al_snapshot0.out.h5"}
    assert snapshot_fingerprint(sa) != snapshot_fingerprint(sb)


def test_a_config_value_that_replaces_a_snapshots_own_is_said(tmp_path):
    """MALA's DataShuffler writes snapshots without metadata; a config value given for them
    reaches every snapshot, and the summary names those whose own files said otherwise."""
    write_snapshot(tmp_path, "shuffled0", info=None)
    for name in ("s1", "s2"):
        write_snapshot(tmp_path, name)
    ss = SnapshotSet.from_directory(tmp_path, train=["shuffled0"], validation=["s1"], test=["s2"],
                                    temperature=298.0, n_electrons=20.0, voxel=VOXEL_OF_SIDECARS,
                                    energy_grid={"offset": -5.5, "spacing": 2.5})
    assert ss.train[0].replaced == {}
    assert ss.validation[0].replaced == {"n_electrons": "12 in s1.info.json", "energy_grid.offset": "-5 in s1.info.json"}
    note = ss.replaced_note()
    assert ("note: data.n_electrons replaces what the files of 2 snapshot(s) state: "
            "s1 (12 in s1.info.json), s2 (12 in s2.info.json)") in note
    assert "temperature" not in note and "voxel" not in note  # the same values as the sidecars': nothing said
    assert "note: data.energy_grid.offset replaces what the files of 2 snapshot(s) state: s1 (-5 in s1.info.json)" in note
    assert "energy_grid.spacing" not in note
    assert note in ss.summary()
