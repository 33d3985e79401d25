"""QE input writing, output/cube parsing and unit conversion (no QE needed)."""

from __future__ import annotations

import numpy as np
import pytest

from surrogate_hpo.data.generate.ldos import (
    LDOS_RY_BOHR3_TO_EV_ANG3,
    dos_from_eigenvalues,
    read_cube,
    write_pp_input,
)
from surrogate_hpo.data.generate.qe import (
    QEError,
    QESettings,
    _qe_error_text,
    fermi_dirac_degauss_ry,
    parse_pw_output,
    write_pw_input,
)
from surrogate_hpo.physics.constants import RYDBERG as RY_TO_EV
from surrogate_hpo.physics.energy_grid import EnergyGrid

PW_OUT = """
     Program PWSCF v.6.7MaX starts on 25Nov2026 at  9:26:20
     Dense  grid:     5449 G-vectors     FFT dimensions: (  24,  24,  20)
     the Fermi energy is     7.4581 ev
!    total energy              =     -16.75720817 Ry
     smearing contrib. (-TS)   =      -0.00045275 Ry
     internal energy E=F+TS    =     -16.75675542 Ry
     one-electron contribution =      11.18850228 Ry
     hartree contribution      =       0.03680997 Ry
     xc contribution           =      -6.41886722 Ry
     ewald contribution        =     -21.56320044 Ry
     convergence has been achieved in   7 iterations
"""


def test_parse_pw_output_converts_to_ev():
    p = parse_pw_output(PW_OUT)
    e = p["energies"]
    assert e["total"] == pytest.approx(-16.75720817 * RY_TO_EV)
    assert e["smearing"] == pytest.approx(-0.00045275 * RY_TO_EV)
    assert e["total"] == pytest.approx(e["internal_energy"] + e["smearing"], abs=1e-6)
    assert set(e) == {"total", "one_electron", "hartree", "xc", "ewald", "smearing", "internal_energy"}
    assert e["ewald"] == pytest.approx(-21.56320044 * RY_TO_EV)
    assert p["fft_grid"] == [24, 24, 20]
    assert p["fermi_energy"] == 7.4581 and p["scf_iterations"] == 7 and p["version"] == "v.6.7MaX"
    with pytest.raises(QEError, match="total energy"):
        parse_pw_output("nothing here")


def test_qe_error_block_is_quoted(tmp_path):
    out = (
        "stuff\n %%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%\n"
        "     Error in routine setup (1):\n     too few bands\n"
        " %%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%\n"
    )
    assert _qe_error_text(out, tmp_path) == "Error in routine setup (1): too few bands"
    assert "no QE error message" in _qe_error_text("a\nb\n", tmp_path)


def test_write_pw_input_fermi_dirac_at_temperature():
    ase_build = pytest.importorskip("ase.build")
    atoms = ase_build.bulk("Al", "fcc", a=4.05, cubic=True)
    s = QESettings(pseudo_dir=None)
    try:
        text = write_pw_input(atoms, s, temperature=298.0)
    except FileNotFoundError:
        pytest.skip("Al.pz-vbc.UPF not installed")
    assert "smearing = 'fd'" in text
    assert f"degauss = {fermi_dirac_degauss_ry(298.0):.10e}" in text
    assert fermi_dirac_degauss_ry(298.0) == pytest.approx(0.0018874, rel=1e-4)
    assert "nbnd = 20" in text  # ceil(1.5 * 12) + 2
    assert text.count("  Al ") == 5  # species line + 4 positions
    assert "K_POINTS automatic\n  6 6 6 0 0 0" in text


def test_pp_input_covers_the_grid():
    g = EnergyGrid(offset=-5.0, spacing=0.2, n=84)
    text = write_pp_input(prefix="p", outdir="o", grid=g, degauss_ldos=0.1)
    assert "plot_num = 3" in text and "output_format = 6" in text and "iflag = 3" in text
    assert "emin = -5.0" in text and "delta_e = 0.2" in text
    emax = float(text.split("emax = ")[1].split()[0])
    assert g.end < emax < g.end + g.spacing


def test_unit_conversion_constant():
    # 1/(Ry bohr^3) -> 1/(eV A^3): divide by 13.6057 eV/Ry and by 0.148185 A^3/bohr^3
    assert LDOS_RY_BOHR3_TO_EV_ANG3 == pytest.approx(1 / (13.605693 * 0.529177210903**3), rel=1e-7)
    assert LDOS_RY_BOHR3_TO_EV_ANG3 == pytest.approx(0.49601, rel=1e-4)


def test_read_cube(tmp_path):
    vals = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4) * 1e-3
    lines = [
        " Cubefile created from PWScf calculation",
        "  Energy =  -5.0000 eV, broadening =   0.2000 eV",
        "    1    0.000000    0.000000    0.000000",
        "    2    0.5 0.0 0.0",
        "    3    0.0 0.5 0.0",
        "    4    0.0 0.0 0.5",
        "   13   13.000000    0.0    0.0    0.0",
    ]
    flat = vals.ravel()  # z fastest, as in cube files
    lines += ["  ".join(f"{v:.5E}" for v in flat[i:i + 6]) for i in range(0, flat.size, 6)]
    (tmp_path / "a.cube").write_text("\n".join(lines) + "\n")
    data, meta = read_cube(tmp_path / "a.cube")
    np.testing.assert_allclose(data, vals)
    assert meta["shape"] == [2, 3, 4] and meta["energy"] == -5.0


def test_dos_from_eigenvalues_is_normalised():
    eig = np.array([[0.0, 1.0], [0.5, 2.0]])
    w = np.array([1.5, 0.5])
    e = np.linspace(-5, 7, 4001)
    dos = dos_from_eigenvalues(e, eig, w, degauss=0.1)
    assert np.trapezoid(dos, e) == pytest.approx(2 * w.sum(), rel=1e-6)


@pytest.mark.parametrize("name", ["config", "sample", "tiny", "al32", "almg"])
def test_every_shipped_generate_config_builds_settings(name):
    """Each conf/generate/*.yaml composes and its keys are ones the pipeline knows."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    from surrogate_hpo.cli import CONF_DIR
    from surrogate_hpo.data.generate.pipeline import GenerateConfig

    with initialize_config_dir(config_dir=str(CONF_DIR / "generate"), version_base="1.3"):
        cfg = compose(config_name=name)
    settings = GenerateConfig.from_mapping(OmegaConf.to_container(cfg, resolve=True))
    assert settings.n_snapshots >= 1
