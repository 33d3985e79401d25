"""End-to-end: LAMMPS MD -> pw.x -> pp.x -> descriptors -> MALA files (real programs)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from surrogate_hpo.physics.constants import K_B as KB_EV

pytestmark = pytest.mark.skipif(
    shutil.which("pw.x") is None or shutil.which("pp.x") is None,
    reason="Quantum ESPRESSO (pw.x, pp.x) not on PATH: apt-get install quantum-espresso quantum-espresso-data",
)

CONF_DIR = Path(__file__).resolve().parents[3] / "surrogate_hpo" / "conf" / "generate"

SIDECAR_KEYS = {
    "fermi_energy_dft", "temperature", "number_of_electrons_exact", "band_energy_dft_calculation",
    "total_energy_dft_calculation", "grid_dimensions", "voxel", "atoms", "valence_charges",
    "energy_grid", "qe_energy_terms", "descriptors", "provenance",
}


def _compose(overrides):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name="tiny", overrides=overrides)


def test_tiny_end_to_end(tmp_path):
    from surrogate_hpo.cli.generate import run

    cfg = _compose([f"output_dir={tmp_path}"])
    paths = run(cfg)
    assert paths == [tmp_path / "tiny_000.info.json"]
    # nothing but the three MALA files (temporary folders removed)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "tiny_000.in.npy", "tiny_000.info.json", "tiny_000.out.npy"
    ]
    info = json.loads(paths[0].read_text())
    assert SIDECAR_KEYS <= set(info)
    assert set(info["qe_energy_terms"]) == {
        "one_electron", "hartree", "xc", "ewald", "smearing", "total", "internal_energy"
    }
    nx, ny, nz = info["grid_dimensions"]
    eg = info["energy_grid"]
    x = np.load(tmp_path / "tiny_000.in.npy")
    y = np.load(tmp_path / "tiny_000.out.npy")
    assert x.dtype == np.float32 and y.dtype == np.float32
    assert x.shape == (nx, ny, nz, 3 + 14)  # twojmax=4 -> 14 components
    assert y.shape == (nx, ny, nz, eg["n"])
    voxel = np.array(info["voxel"])
    np.testing.assert_allclose(voxel * [[nx], [ny], [nz]], info["atoms"]["cell"], atol=1e-9)
    np.testing.assert_allclose(x[1, 2, 3, :3], [1, 2, 3] @ voxel, atol=1e-5)
    assert info["descriptors"]["twojmax"] == 4
    assert len(info["atoms"]["symbols"]) == 4 and info["number_of_electrons_exact"] == 12.0
    assert info["temperature"] == 298.0

    # electron count from the LDOS: sum_r sum_E LDOS f(E) dE dV  (1/(eV*A^3) units)
    e = eg["offset"] + eg["spacing"] * np.arange(eg["n"])
    f = 1.0 / (1.0 + np.exp((e - info["fermi_energy_dft"]) / (KB_EV * info["temperature"])))
    dv = abs(np.linalg.det(voxel))
    n = float((y.astype(np.float64).sum(axis=(0, 1, 2)) * f).sum() * eg["spacing"] * dv)
    assert n == pytest.approx(12.0, rel=0.05)
    # the LDOS summed over the cell is the broadened eigenvalue DOS (checked in the pipeline)
    assert info["ldos_dos_max_relative_deviation"] < 1e-3

    # energies are in eV and consistent: F = E - TS
    t = info["qe_energy_terms"]
    assert t["total"] == pytest.approx(t["internal_energy"] + t["smearing"], abs=1e-5)
    assert -250 < t["total"] < -200  # 4 Al atoms, ~ -57 eV each with pz-vbc
    assert 0 < info["fermi_energy_dft"] < 15
    assert 30 < info["band_energy_dft_calculation"] < 50

    # re-running skips finished snapshots
    assert run(cfg) == paths


def test_failed_qe_run_quotes_qe_and_leaves_nothing(tmp_path):
    from surrogate_hpo.cli.generate import run
    from surrogate_hpo.data.generate.qe import QEError

    cfg = _compose([f"output_dir={tmp_path}", "qe.nbnd=4", "qe.kpoints=[1,1,1]"])
    with pytest.raises(QEError, match="too few bands"):
        run(cfg)
    assert list(tmp_path.iterdir()) == []


def test_unknown_setting_is_rejected():
    from surrogate_hpo.data.generate.pipeline import GenerateConfig

    with pytest.raises(ValueError, match="unknown qe settings"):
        GenerateConfig.from_mapping({"qe": {"ecut": 10}})


def test_two_elements_end_to_end(tmp_path):
    """Al3Mg (MEAM MD, Al and Mg pseudopotentials) at the tiny DFT settings: one snapshot
    whose sidecar, electron count and descriptors carry both elements."""
    from hydra import compose, initialize_config_dir

    from surrogate_hpo.cli.generate import run
    from surrogate_hpo.descriptors.bispectrum import (
        BispectrumSettings,
        compute_bispectrum,
    )

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        almg = compose(config_name="almg")
    tiny = _compose([f"output_dir={tmp_path}", "name_prefix=almg"])
    for key in ("md", "qe"):
        for k, v in almg[key].items():
            if k not in ("pw_command", "pp_command", "mpi_command", "npool", "ecutwfc", "kpoints", "nbnd",
                         "conv_thr", "equilibration_steps", "spacing_steps"):
                tiny[key][k] = v
    tiny.descriptors.element_weights = almg.descriptors.element_weights
    (path,) = run(tiny)
    info = json.loads(path.read_text())
    assert sorted(info["atoms"]["symbols"]) == ["Al", "Al", "Al", "Mg"]
    assert info["number_of_electrons_exact"] == 11.0 and info["valence_charges"] == {"Al": 3.0, "Mg": 2.0}
    assert info["number_of_electrons_from_ldos"] == pytest.approx(11.0, rel=0.08)
    assert info["descriptors"]["element_weights"] == {"Al": 1.0, "Mg": 0.8}
    import ase

    atoms = ase.Atoms(info["atoms"]["symbols"], positions=info["atoms"]["positions"], cell=info["atoms"]["cell"],
                      pbc=True)
    x = np.load(tmp_path / "almg_000.in.npy")
    again = compute_bispectrum(atoms, info["grid_dimensions"], settings=BispectrumSettings.from_dict(info["descriptors"]))
    np.testing.assert_array_equal(x, again)
