"""A folder written by MALA itself (``fixtures/mala_folder``, see ``make_mala_fixture.py``) is
read without edits: MALA's sidecar (atoms by numbers, voxel as an array object, electrons
per atom), QE outputs named ``<snapshot>.out``, openPMD files, and the other files of a
MALA folder listed and left out."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from surrogate_hpo.data import SnapshotSet, load_snapshot

FIXTURE = Path(__file__).parent / "fixtures" / "mala_folder"
GRID = {"offset": -5.0, "spacing": 0.5}


def test_mala_folder_reads_unchanged():
    sset = SnapshotSet.from_directory(FIXTURE, energy_grid=GRID)
    assert [s.name for s in sset.all] == ["Al_snapshot0", "Al_snapshot1", "Al_snapshot2"]
    s = sset.train[0]
    assert s.atoms.get_chemical_symbols() == ["Al"] * 4  # from MALA's atoms.numbers
    assert np.allclose(s.voxel, np.eye(3) * 4.05 / 15, atol=1e-6)  # from {"array": ...}
    assert s.n_electrons == 12.0 and s.valence_charges == {"Al": 3.0}
    assert s.qe_output is not None and s.qe_output.path.name == "Al_snapshot0.out"  # MALA's naming
    assert s.reference["fermi_energy_dft"] == pytest.approx(s.qe_output.fermi_energy, abs=0.05)
    assert s.n_features == 14 and s.n_energies == 30
    assert set(sset.left_out) == {"Al_snapshot0.dens.npy", "Al_snapshot0.dos.npy", "Al_snapshot0_ACE.in.npy"}
    assert "left out (not snapshots of this data): Al_snapshot0.dens.npy" in sset.summary()


def test_openpmd_snapshot_equals_the_numpy_one():
    a = load_snapshot(FIXTURE / "Al_snapshot0", energy_grid=GRID)
    b = load_snapshot(FIXTURE / "openpmd" / "Al_snapshot0", energy_grid=GRID)
    assert np.array_equal(np.asarray(a.descriptors), b.descriptors) and np.array_equal(np.asarray(a.ldos), b.ldos)


def test_an_openpmd_file_without_a_sidecar_gives_its_own_metadata(tmp_path):
    """MALA stores the sidecar's keys in the openPMD LDOS file (attributes, mesh geometry,
    particles): without the .info.json the snapshot reads the same."""
    for suffix in (".in.h5", ".out.h5"):
        shutil.copy(FIXTURE / "openpmd" / f"Al_snapshot0{suffix}", tmp_path)
    with_sidecar = load_snapshot(FIXTURE / "openpmd" / "Al_snapshot0", energy_grid=GRID)
    alone = load_snapshot(tmp_path / "Al_snapshot0", energy_grid=GRID)
    assert alone.sources["temperature"].endswith("Al_snapshot0.out.h5")
    assert alone.temperature == pytest.approx(with_sidecar.temperature, rel=1e-9)
    assert alone.n_electrons == with_sidecar.n_electrons == 12.0
    np.testing.assert_allclose(alone.voxel, with_sidecar.voxel, atol=1e-6)
    np.testing.assert_allclose(alone.atoms.positions, with_sidecar.atoms.positions, atol=1e-6)
    np.testing.assert_allclose(alone.atoms.cell.array, with_sidecar.atoms.cell.array, atol=1e-5)
    assert alone.atoms.get_chemical_symbols() == with_sidecar.atoms.get_chemical_symbols()
    assert alone.reference == pytest.approx(with_sidecar.reference, rel=1e-12)
    assert alone.valence_charges == {"Al": 3.0}


def _as_adios2(h5: Path, bp: Path) -> None:
    """Rewrite a MALA openPMD HDF5 file as an ADIOS2 series (.bp folder), meshes, geometry and
    iteration attributes kept: what MALA's DataConverter writes with naming_scheme '*.bp'."""
    import h5py
    import openpmd_api as io

    series = io.Series(str(bp), io.Access.create)
    with h5py.File(h5, "r") as f:
        (key, group) = next(iter(f["data"].items()))
        iteration = series.iterations[int(key)]
        for name, value in group.attrs.items():
            iteration.set_attribute(name, value.decode() if isinstance(value, bytes) else value.item()
                                    if hasattr(value, "item") else value)
        for mesh_name, mesh_group in group["meshes"].items():
            mesh = iteration.meshes[mesh_name]
            mesh.grid_spacing = [float(v) for v in mesh_group.attrs["gridSpacing"]]
            mesh.grid_unit_SI = float(mesh_group.attrs["gridUnitSI"])
            mesh.set_attribute("angles", [float(v) for v in mesh_group.attrs["angles"]])
            for component, data in mesh_group.items():
                values = np.ascontiguousarray(data[()])
                record = mesh[component]
                record.reset_dataset(io.Dataset(values.dtype, values.shape))
                record.store_chunk(values)
        series.flush()
    series.close()


def test_an_adios2_snapshot_equals_the_hdf5_one(tmp_path):
    """openPMD's other backend (ADIOS2, a .bp folder) reads the same, metadata included, and is fingerprinted."""
    from surrogate_hpo.data.shards import snapshot_fingerprint

    for suffix in (".in", ".out"):
        _as_adios2(FIXTURE / "openpmd" / f"Al_snapshot0{suffix}.h5", tmp_path / f"Al_snapshot0{suffix}.bp")
    assert (tmp_path / "Al_snapshot0.out.bp").is_dir()
    h5 = load_snapshot(FIXTURE / "openpmd" / "Al_snapshot0", energy_grid=GRID)
    bp = load_snapshot(tmp_path / "Al_snapshot0", energy_grid=GRID)
    assert np.array_equal(np.asarray(h5.descriptors), bp.descriptors) and np.array_equal(h5.ldos, bp.ldos)
    assert bp.sources["temperature"].endswith("Al_snapshot0.out.bp") and bp.temperature == h5.temperature
    np.testing.assert_allclose(bp.voxel, h5.voxel, atol=1e-6)
    before = snapshot_fingerprint(bp)
    (tmp_path / "Al_snapshot0.out.bp" / "extra").write_bytes(b"changed")
    assert snapshot_fingerprint(bp) != before


def _cli(*overrides: str, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "surrogate_hpo", "data=mala_dir", "budget=quick",
                           f"output_root={out}", *overrides], capture_output=True, text=True, timeout=900,
                          env={**os.environ})


def test_the_cli_runs_on_the_mala_folder_with_the_pasted_energy_grid(tmp_path):
    out = tmp_path / "out"
    missing = _cli(f"data.path={FIXTURE}", out=out)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    fixes = re.findall(r"add (data\.energy_grid\.\w+)=<eV>", missing.stderr)
    assert fixes == ["data.energy_grid.offset", "data.energy_grid.spacing"]
    assert not out.exists()  # nothing written but the message
    pasted = [f"{key}={GRID[key.rsplit('.', 1)[1]]}" for key in fixes]  # the suggestion, values filled in
    proc = _cli(f"data.path={FIXTURE}", *pasted, out=out)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "left out (not snapshots of this data)" in proc.stdout and "test band-energy MAE" in proc.stdout


def test_with_the_energy_grid_in_the_sidecars_no_override_is_needed(tmp_path):
    folder = tmp_path / "mala"
    shutil.copytree(FIXTURE, folder)
    for sidecar in folder.glob("*.info.json"):
        info = json.loads(sidecar.read_text())
        info["energy_grid"] = {**GRID, "n": 30}
        sidecar.write_text(json.dumps(info))
    proc = _cli(f"data.path={folder}", "final_evaluation.seeds=2", out=tmp_path / "out")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (summary,) = (tmp_path / "out" / "naswot").glob("*/summary.json")
    fe = json.loads(summary.read_text())["final_evaluation"]
    assert fe["test_total_free_energy_mae_mev_per_atom"]["n"] == 2  # valence charges from MALA's sidecar
