"""Physics sanity before any training: broken LDOS refused, doubtful data warned about with numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from synthetic_study_data import write_synthetic_set

from surrogate_hpo.data import DataError, SnapshotSet
from surrogate_hpo.data.physics_checks import LIMITS, check_physics


@pytest.fixture
def folder(tmp_path):
    return write_synthetic_set(tmp_path / "snaps")


def _edit_ldos(folder, name, fn):
    path = folder / f"{name}.out.npy"
    np.save(path, fn(np.load(path)).astype(np.float32))


def _edit_info(folder, name, **changes):
    path = folder / f"{name}.info.json"
    info = json.loads(path.read_text())
    info.update(changes)
    path.write_text(json.dumps(info))


def test_good_data_passes_with_its_numbers(folder):
    report = check_physics(SnapshotSet.from_directory(folder))
    # the synthetic grid (0.5 eV at 298 K) is coarse: said, nothing else
    assert len(report.warnings) == 1 and "is 19 k_B T" in report.warnings[0]
    assert len(report.snapshots) == 5
    s = report.snapshots[0]
    assert s.electron_capacity > s.n_electrons == 6.0 and s.negative_share == 0.0
    assert s.fermi_energy_ldos is not None and report.grid["spacing_over_kt"] == pytest.approx(0.5 / 0.02568, 0.01)
    assert "[physics] energy grid spacing 0.5 eV" in report.lines()[0]


@pytest.mark.parametrize("name", ["snap0", "snap4"])  # a training snapshot, the test snapshot
def test_an_all_zero_ldos_is_refused(folder, name):
    _edit_ldos(folder, name, np.zeros_like)
    with pytest.raises(DataError, match=f"snapshot {name} .*the LDOS is zero everywhere"):
        check_physics(SnapshotSet.from_directory(folder))


def test_negative_ldos_is_refused_in_training_and_warned_about_in_test(folder):
    def dip(y):
        y = y.copy()
        y[..., :2] = -0.01  # negative at the two lowest energies
        return y

    _edit_ldos(folder, "snap4", dip)
    report = check_physics(SnapshotSet.from_directory(folder, test=["snap4"], validation=["snap3"]))
    assert any("snapshot snap4 (test)" in w and "negative" in w for w in report.warnings) \
        or pytest.fail(report.warnings)
    _edit_ldos(folder, "snap1", lambda y: y - 0.02)
    with pytest.raises(DataError, match=r"snapshot snap1 \(train\): .* of the LDOS mass is negative"):
        check_physics(SnapshotSet.from_directory(folder))


def test_a_window_that_cannot_hold_the_electrons_is_refused(folder):
    for i in range(5):
        _edit_info(folder, f"snap{i}", number_of_electrons_exact=500.0)
    with pytest.raises(DataError, match=r"holds [\d.]+ electrons, fewer than the snapshot's 500"):
        check_physics(SnapshotSet.from_directory(folder))


def test_a_temperature_that_smears_every_state_is_refused_naming_its_source(folder):
    _edit_info(folder, "snap2", temperature=1e300)
    with pytest.raises(DataError, match=r"snapshot snap2 \(train\): no Fermi level in the LDOS window .*"
                                        r"temperature 1e\+300 K \(.*snap2.info.json\)"):
        check_physics(SnapshotSet.from_directory(folder))


@pytest.mark.parametrize("charges", [{"Al": float("nan")}, {"Al": -3.0}, {"Al": "three"}])
def test_a_sidecar_valence_charge_must_be_a_positive_number(folder, charges):
    _edit_info(folder, "snap1", valence_charges=charges)
    with pytest.raises(DataError, match="snap1.info.json"):
        SnapshotSet.from_directory(folder)


def test_a_coarse_grid_and_a_distant_dft_fermi_level_are_warned_about_not_refused(folder):
    for i in range(5):  # a DFT Fermi level 1.5 eV below the LDOS's, a band energy far off
        _edit_info(folder, f"snap{i}", fermi_energy_dft=-3.0, band_energy_dft_calculation=-100.0,
                   energy_grid={"offset": -10.0, "spacing": 2.5, "n": 30})
    report = check_physics(SnapshotSet.from_directory(folder))
    text = "\n".join(report.warnings)
    assert "energy grid spacing 2.5 eV is" in text and "k_B T" in text
    assert "Fermi level of the DFT LDOS" in text and "DFT code's -3.000 eV" in text
    assert "meV/atom" in text
    assert report.grid["spacing_over_kt"] > LIMITS["spacing_over_kt"]


def test_a_snapshot_without_atoms_is_refused_before_training(folder):
    """Energies are per atom: a snapshot whose atoms nothing gives stops the study at the checks."""
    info = json.loads((folder / "snap4.info.json").read_text())
    del info["atoms"]
    (folder / "snap4.info.json").write_text(json.dumps(info))
    with pytest.raises(DataError, match=r"snap4 \(test\): the number of atoms is unknown .*snap4.info.json, or put "
                                        r"the snapshot's pw.x output next to its arrays as .*snap4.pw.out"):
        check_physics(SnapshotSet.from_directory(folder))
