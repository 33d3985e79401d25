"""Every data problem raises DataError naming the file, the problem and the fix."""

from __future__ import annotations

import json

import numpy as np
import pytest
from mala_synth import default_info, write_snapshot

from surrogate_hpo.data import DataError, count_nonfinite, load_snapshot


def test_data_error_is_value_error():
    assert issubclass(DataError, ValueError)


@pytest.mark.parametrize("which", ["in", "out"])
def test_missing_file_names_which(tmp_path, which):
    write_snapshot(tmp_path, "snapA")
    (tmp_path / f"snapA.{which}.npy").unlink()
    with pytest.raises(DataError, match=rf"missing .*snapA\.{which}\.npy"):
        load_snapshot(tmp_path / "snapA")


@pytest.mark.parametrize("which", ["in", "out"])
def test_a_pickle_or_a_file_that_is_not_npy_is_refused_unread(tmp_path, which):
    write_snapshot(tmp_path, "snapA")
    target = tmp_path / f"snapA.{which}.npy"
    np.save(target, np.array([{"payload": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match=rf"snapA\.{which}\.npy: the .* array holds Python objects \(a pickle\), which "
                                        "are never loaded"):
        load_snapshot(tmp_path / "snapA")
    target.write_text("root:x:0:0:root:/root:/bin/bash\n")
    with pytest.raises(DataError, match=rf"snapA\.{which}\.npy: not a .npy file \(no NumPy header\)"):
        load_snapshot(tmp_path / "snapA")
    target.write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': garbage")
    with pytest.raises(DataError, match=r"its NumPy header is damaged"):
        load_snapshot(tmp_path / "snapA")


def test_wrong_rank(tmp_path):
    write_snapshot(tmp_path, "snapA")
    np.save(tmp_path / "snapA.out.npy", np.zeros((60, 7), dtype=np.float32))
    with pytest.raises(DataError, match=r"snapA\.out\.npy.*\(60, 7\).*must be 4-D"):
        load_snapshot(tmp_path / "snapA")


def test_grid_shapes_differ_prints_both(tmp_path):
    write_snapshot(tmp_path, "snapA")
    np.save(tmp_path / "snapA.out.npy", np.zeros((4, 3, 6, 7), dtype=np.float32))
    with pytest.raises(DataError, match=r"grid shapes differ.*\(4, 3, 5\).*\(4, 3, 6\)"):
        load_snapshot(tmp_path / "snapA")


def test_no_descriptor_columns(tmp_path):
    write_snapshot(tmp_path, "snapA")
    np.save(tmp_path / "snapA.in.npy", np.zeros((4, 3, 5, 3), dtype=np.float32))
    with pytest.raises(DataError, match=r"snapA\.in\.npy: has 3 columns.*no descriptors"):
        load_snapshot(tmp_path / "snapA")


@pytest.mark.parametrize("which", ["in", "out"])
def test_nan_counted_with_file(tmp_path, which):
    x, y = write_snapshot(tmp_path, "snapA")
    a = x if which == "in" else y
    a[0, 0, 0, -1] = np.nan
    a[1, 2, 3, -1] = np.inf
    np.save(tmp_path / f"snapA.{which}.npy", a)
    with pytest.raises(DataError, match=rf"snapA\.{which}\.npy: 2 NaN/inf"):
        load_snapshot(tmp_path / "snapA")
    # opting out skips the scan
    assert load_snapshot(tmp_path / "snapA", check_finite=False).name == "snapA"


def test_nan_in_coordinates_is_ignored(tmp_path):
    x, _ = write_snapshot(tmp_path, "snapA")
    x[0, 0, 0, 0] = np.nan  # a coordinate column, not a descriptor
    np.save(tmp_path / "snapA.in.npy", x)
    assert load_snapshot(tmp_path / "snapA").n_features == 6


def test_count_nonfinite_is_chunked_and_exact(tmp_path):
    a = np.zeros((50, 4, 4, 10), dtype=np.float32)
    a[np.unravel_index([3, 700, 4000, 7999], a.shape)] = [np.nan, np.inf, -np.inf, np.nan]
    np.save(tmp_path / "a.npy", a)
    m = np.load(tmp_path / "a.npy", mmap_mode="r")
    assert count_nonfinite(m, chunk_bytes=64) == 4  # many tiny slabs
    assert count_nonfinite(m[..., 3:], chunk_bytes=1000) == 2  # strided view, no full copy


def test_energy_grid_length_mismatch(tmp_path):
    write_snapshot(tmp_path, "snapA")  # sidecar says n=7, LDOS has 7
    with pytest.raises(DataError, match=r"snapA\.out\.npy: LDOS has 7 energies.*n=9 \(from argument"):
        load_snapshot(tmp_path / "snapA", energy_grid={"n": 9})
    info = default_info()
    info["energy_grid"]["n"] = 8
    write_snapshot(tmp_path, "snapB", info=info)
    with pytest.raises(DataError, match=r"LDOS has 7 energies.*n=8 \(from .*snapB\.info\.json"):
        load_snapshot(tmp_path / "snapB")


def test_missing_metadata_names_keys_and_overrides(tmp_path):
    write_snapshot(tmp_path, "snapA", info=None)
    with pytest.raises(DataError) as err:
        load_snapshot(tmp_path / "snapA")
    msg = str(err.value)
    assert "snapA" in msg
    for key in ("data.energy_grid.offset=", "data.energy_grid.spacing=", "data.temperature=",
                "data.n_electrons=", "data.voxel="):
        assert key in msg
    # supplying them all fixes it
    s = load_snapshot(tmp_path / "snapA", energy_grid={"offset": 0, "spacing": 0.1},
                      temperature=300, n_electrons=4, voxel=np.eye(3) * 0.2)
    assert s.energy_grid.n == 7 and s.temperature == 300


def test_only_temperature_missing(tmp_path):
    info = default_info()
    del info["temperature"]
    write_snapshot(tmp_path, "snapA", info=info)
    with pytest.raises(DataError, match=r"temperature: add data\.temperature=") as err:
        load_snapshot(tmp_path / "snapA")
    assert "energy_grid" not in str(err.value).split("supplies:")[1]


def test_bad_sidecar_json(tmp_path):
    write_snapshot(tmp_path, "snapA")
    (tmp_path / "snapA.info.json").write_text("{not json")
    with pytest.raises(DataError, match=r"snapA\.info\.json: sidecar is not valid JSON"):
        load_snapshot(tmp_path / "snapA")


def test_sidecar_grid_dimensions_disagree(tmp_path):
    info = default_info()
    info["grid_dimensions"] = [8, 8, 8]
    write_snapshot(tmp_path, "snapA", info=info)
    with pytest.raises(DataError, match=r"grid_dimensions \[8, 8, 8\] disagree.*\[4, 3, 5\]"):
        load_snapshot(tmp_path / "snapA")


def test_unreadable_qe_output(tmp_path):
    write_snapshot(tmp_path, "snapA")
    bad = tmp_path / "garbage.pw.out"
    bad.write_text("this is not a pw.x output\n")
    with pytest.raises(DataError, match=r"garbage\.pw\.out: not a readable pw\.x output"):
        load_snapshot(tmp_path / "snapA", qe_output=bad)
    with pytest.raises(DataError, match=r"nowhere\.out: Quantum ESPRESSO output not found"):
        load_snapshot(tmp_path / "snapA", qe_output=tmp_path / "nowhere.out")


def test_singular_voxel(tmp_path):
    info = default_info()
    info["voxel"] = [[1, 0, 0], [1, 0, 0], [0, 0, 1]]
    write_snapshot(tmp_path, "snapA", info=info)
    with pytest.raises(DataError, match="non-singular"):
        load_snapshot(tmp_path / "snapA")


def test_sidecar_json_error_for_non_object(tmp_path):
    write_snapshot(tmp_path, "snapA")
    (tmp_path / "snapA.info.json").write_text(json.dumps([1, 2]))
    with pytest.raises(DataError, match="JSON object"):
        load_snapshot(tmp_path / "snapA")


@pytest.mark.parametrize("key,value", [("temperature", 0.0), ("number_of_electrons_exact", -3.0),
                                       ("temperature", "hot")])
def test_nonpositive_metadata(tmp_path, key, value):
    info = default_info()
    info[key] = value
    write_snapshot(tmp_path, "snapA", info=info)
    with pytest.raises(DataError, match=r"snapA.*must be a (positive|finite) number.*data\.(temperature|n_electrons)="):
        load_snapshot(tmp_path / "snapA")


def test_sidecar_atoms_with_an_unknown_symbol_name_it():
    from surrogate_hpo.data.sidecar import atoms_from_dict

    good = {"symbols": ["Al", "Mg"], "positions": [[0, 0, 0], [1, 1, 1]], "cell": [[4, 0, 0], [0, 4, 0], [0, 0, 4]]}
    assert atoms_from_dict(good).get_chemical_symbols() == ["Al", "Mg"]
    with pytest.raises(DataError, match=r"snapA\.info\.json: \"atoms\" symbols \['Qq'\] are not chemical element"):
        atoms_from_dict({**good, "symbols": ["Al", "Qq"]}, "snapA.info.json")
