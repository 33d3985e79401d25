"""load_snapshot: round trip, metadata precedence, QE output as metadata source."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from ase.units import Rydberg, kB
from mala_synth import (
    GRID,
    N_ENERGIES,
    N_FEATURES,
    QE_FIXTURE,
    VOXEL,
    default_info,
    write_snapshot,
)

from surrogate_hpo.data import DataError, Snapshot, load_snapshot, read_qe_output
from surrogate_hpo.physics.constants import K_B, RYDBERG
from surrogate_hpo.physics.energy_grid import EnergyGrid


def test_round_trip_with_sidecar(tmp_path):
    x, y = write_snapshot(tmp_path, "snap0")
    s = load_snapshot(tmp_path / "snap0")
    assert isinstance(s, Snapshot) and s.name == "snap0"
    np.testing.assert_array_equal(s.descriptors, x[..., 3:])
    np.testing.assert_array_equal(s.ldos, y)
    assert s.grid_shape == GRID and s.n_features == N_FEATURES and s.n_energies == N_ENERGIES
    assert s.n_points == np.prod(GRID)
    assert s.energy_grid == EnergyGrid(-5.0, 2.5, N_ENERGIES)
    np.testing.assert_allclose(s.voxel, VOXEL)
    assert s.voxel_volume == pytest.approx(0.5 * 0.6 * 0.4)
    assert s.n_atoms == 4 and s.atoms.get_chemical_symbols() == ["Al"] * 4
    assert s.temperature == 298.0 and s.n_electrons == 12.0
    assert s.reference == {"fermi_energy_dft": 7.5, "band_energy_dft_calculation": 30.25,
                           "total_energy_dft_calculation": -230.5}
    assert s.info["grid_dimensions"] == list(GRID)
    assert s.qe_output is None


def test_in_npy_path_and_memmap_view(tmp_path):
    write_snapshot(tmp_path, "snap0")
    s = load_snapshot(tmp_path / "snap0.in.npy", mmap=True)
    # lazy: a view on the file's memmap, coordinates dropped without copying
    assert isinstance(s.descriptors.base, np.memmap) or isinstance(s.descriptors, np.memmap)
    assert not s.descriptors.flags.c_contiguous
    assert isinstance(s.ldos, np.memmap)
    eager = load_snapshot(tmp_path / "snap0", mmap=False)
    assert not isinstance(eager.descriptors, np.memmap) and eager.descriptors.flags.c_contiguous
    np.testing.assert_array_equal(eager.descriptors, s.descriptors)


def test_explicit_arguments_beat_sidecar(tmp_path):
    write_snapshot(tmp_path, "snap0")
    s = load_snapshot(tmp_path / "snap0", energy_grid={"offset": -1.0}, temperature=500.0,
                      n_electrons=11.5, voxel=np.eye(3))
    assert s.energy_grid == EnergyGrid(-1.0, 2.5, N_ENERGIES)  # spacing, n still from sidecar
    assert s.temperature == 500.0 and s.n_electrons == 11.5
    np.testing.assert_allclose(s.voxel, np.eye(3))
    assert s.sources["temperature"] == "argument temperature"
    assert s.sources["energy_grid.spacing"].endswith("snap0.info.json")


def test_sidecar_beats_qe_output_and_qe_fills_gaps(tmp_path):
    write_snapshot(tmp_path, "snap0", info={"temperature": 100.0,
                                            "energy_grid": {"offset": 0.0, "spacing": 0.5}})
    s = load_snapshot(tmp_path / "snap0", qe_output=QE_FIXTURE)
    qe = read_qe_output(QE_FIXTURE)
    assert s.temperature == 100.0  # sidecar
    assert s.n_electrons == 3.0  # only the QE output has it
    assert s.energy_grid.n == N_ENERGIES  # n from the LDOS last axis
    np.testing.assert_allclose(s.voxel, qe.atoms.cell.array / np.asarray(GRID)[:, None])
    assert s.reference["fermi_energy_dft"] == pytest.approx(7.1681)
    assert s.reference["total_energy_dft_calculation"] == pytest.approx(-4.16404123 * Rydberg)
    assert s.n_atoms == 1
    assert str(QE_FIXTURE) in s.sources["n_electrons"]
    assert s.qe_output is not None and s.qe_output.energy_terms["hartree"] == pytest.approx(
        0.01038920 * Rydberg)


def test_qe_output_discovered_next_to_arrays(tmp_path):
    write_snapshot(tmp_path, "snap0", info={"energy_grid": {"offset": 0.0, "spacing": 0.5}})
    shutil.copy(QE_FIXTURE, tmp_path / "snap0.pw.out")
    s = load_snapshot(tmp_path / "snap0")
    assert s.temperature == pytest.approx(0.0095 * Rydberg / kB)  # Fermi-Dirac width / k_B
    assert s.n_electrons == 3.0


def test_read_qe_output_values():
    qe = read_qe_output(QE_FIXTURE)
    assert qe.n_electrons == 3.0
    assert qe.fermi_energy == pytest.approx(7.1681)
    assert qe.smearing == "Fermi-Dirac"
    assert qe.temperature == pytest.approx(0.0095 * RYDBERG / K_B, rel=1e-9)  # the package's constants
    assert qe.fft_grid == (12, 12, 12)
    assert qe.energy_terms["ewald"] == pytest.approx(-5.39156566 * Rydberg)
    assert qe.energy_terms["smearing"] == pytest.approx(-0.00433565 * Rydberg)
    assert len(qe.atoms) == 1
    np.testing.assert_allclose(abs(np.linalg.det(qe.atoms.cell.array)), 4.05**3 / 4, rtol=1e-5)
    # band energy: the occupations it uses hold the 3 valence electrons
    kt = kB * qe.temperature
    occ = sum(k.weight * np.sum(0.5 * (1 - np.tanh((np.asarray(k.eps_n) - qe.fermi_energy) / (2 * kt))))
              for k in qe.atoms.calc.kpts)
    assert occ == pytest.approx(3.0, abs=1e-3)
    assert qe.band_energy is not None and 0 < qe.band_energy < 3 * qe.fermi_energy


def test_n_atoms_unknown_raises(tmp_path):
    info = default_info()
    del info["atoms"]
    write_snapshot(tmp_path, "snap0", info=info)
    s = load_snapshot(tmp_path / "snap0")
    assert s.atoms is None
    with pytest.raises(DataError, match="number of atoms is unknown"):
        _ = s.n_atoms


def test_snapshot_pickles_for_ray_trials(tmp_path):
    import pickle

    write_snapshot(tmp_path, "snap0")
    s = load_snapshot(tmp_path / "snap0", qe_output=QE_FIXTURE)
    r = pickle.loads(pickle.dumps(s))
    np.testing.assert_array_equal(r.descriptors, s.descriptors)
    np.testing.assert_array_equal(r.ldos, s.ldos)
    assert r.energy_grid == s.energy_grid and r.n_atoms == s.n_atoms
    assert r.reference == s.reference and r.temperature == s.temperature


def test_public_api_exports():
    import surrogate_hpo.data as data

    for name in data.__all__:
        assert hasattr(data, name), name
    assert {"load_snapshot", "Snapshot", "SnapshotSet", "DataError", "Scaler", "fit_scalers",
            "ArrayDataset", "iterate_batches"} <= set(data.__all__)
