"""Total free energy: assembly of the terms from an LDOS."""

import math

import numpy as np
import pytest

from surrogate_hpo.physics import EnergyGrid, observables
from surrogate_hpo.physics.constants import BOHR, HARTREE
from surrogate_hpo.physics.ewald import ewald_energy
from surrogate_hpo.physics.hartree import hartree_energy
from surrogate_hpo.physics.lda import lda_pz, xc_energy
from surrogate_hpo.physics.total_energy import total_free_energy

A_AL = 4.05
FCC = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]) * A_AL


def _grid_and_dos():
    grid = EnergyGrid(offset=-3.0, spacing=0.1, n=150)  # -3 .. 11.9 eV
    e = grid.values
    dos_shape = np.where(e > 0, np.sqrt(np.clip(e, 0, None)), 0.0)  # free electrons from 0 eV
    return grid, dos_shape


def test_uniform_electron_gas():
    """A spatially uniform LDOS: no Hartree energy, LDA of the uniform gas, QE identities."""
    grid, shape_e = _grid_and_dos()
    n_grid = (8, 8, 8)
    cell = np.eye(3) * A_AL
    voxel = cell / np.array(n_grid)[:, None]
    omega = A_AL**3
    ldos = np.broadcast_to(shape_e / omega, n_grid + (grid.n,)).copy()  # DOS = shape_e
    out = total_free_energy(
        ldos, energy_grid=grid, voxel=voxel, positions=FCC, valence_charges={"Al": 3.0},
        symbols=["Al"] * 4, temperature=500.0, n_electrons=12.0, return_density=True,
    )
    assert out["number_of_electrons"] == pytest.approx(12.0, rel=1e-10)
    n = 12.0 / omega
    np.testing.assert_allclose(out["density"], n, rtol=1e-10)
    assert out["hartree"] == pytest.approx(0.0, abs=1e-9)
    eps, v = lda_pz(np.array([n]))
    assert out["xc"] == pytest.approx(eps[0] * 12.0, rel=1e-9)
    assert out["xc_potential_integral"] == pytest.approx(v[0] * 12.0, rel=1e-9)
    # rs of Al valence electrons ~ 2.07 bohr: eps_xc ~ -0.46/2.07 - 0.045 Ha ~ -7.2 eV
    rs = (3 / (4 * math.pi * n * BOHR**3)) ** (1 / 3)
    assert rs == pytest.approx(2.07, abs=0.01)
    assert eps[0] / HARTREE == pytest.approx(-0.458165 / rs - 0.0445, abs=2e-3)
    assert out["ewald"] == pytest.approx(ewald_energy(FCC, [3.0] * 4, cell), rel=1e-14)
    obs = observables(ldos, energy_grid=grid, voxel_volume=omega / 512, temperature=500.0, n_electrons=12.0)
    assert out["band"] == pytest.approx(obs["band_energy"], rel=1e-13)
    assert out["entropy"] == pytest.approx(obs["entropy_contribution"], rel=1e-12)
    expected = (
        out["band"] - out["hartree"] + out["xc"] - out["xc_potential_integral"] + out["ewald"] + out["entropy"]
    )
    assert out["total"] == pytest.approx(expected, rel=1e-14)
    qe_sum = out["one_electron"] + out["hartree"] + out["xc"] + out["ewald"] + out["entropy"]
    assert qe_sum == pytest.approx(out["total"], rel=1e-13)
    assert out["internal_energy"] == pytest.approx(out["total"] - out["entropy"], rel=1e-14)


def test_inhomogeneous_density_terms():
    """LDOS(r, E) = rho(r) D(E) / N: the density is rho at any E_F, so each term can be
    recomputed from rho independently."""
    grid, shape_e = _grid_and_dos()
    cell = np.eye(3) * A_AL
    voxel = cell / 12
    frac = np.stack(np.meshgrid(*[np.arange(12) / 12] * 3, indexing="ij"), -1)
    rho = 1.0 + 0.3 * np.cos(2 * np.pi * frac[..., 0]) * np.cos(2 * np.pi * frac[..., 1])
    dv = A_AL**3 / rho.size
    rho *= 12.0 / (rho.sum() * dv)  # 12 electrons
    ldos = (rho[..., None] / 12.0) * shape_e  # DOS = shape_e * (12/12)... rescaled below
    out = total_free_energy(
        ldos.astype(np.float32), energy_grid=grid, voxel=voxel, cell=cell, positions=FCC,
        valence_charges=[3.0] * 4, temperature=300.0, n_electrons=12.0, return_density=True,
    )
    # density = rho * N(E_F)/12 with N(E_F) = 12
    np.testing.assert_allclose(out["density"], rho, rtol=2e-6)
    assert out["hartree"] == pytest.approx(hartree_energy(rho, cell), rel=5e-6)
    assert out["hartree"] > 0
    exc, vn = xc_energy(rho, dv)
    assert out["xc"] == pytest.approx(exc, rel=5e-6)
    assert out["xc_potential_integral"] == pytest.approx(vn, rel=5e-6)


def test_cell_must_match_voxel_grid():
    grid, shape_e = _grid_and_dos()
    ldos = np.ones((4, 4, 4, grid.n)) * 1e-3
    with pytest.raises(ValueError, match="cell"):
        total_free_energy(
            ldos, energy_grid=grid, voxel=np.eye(3), cell=np.eye(3) * 5.0, positions=[[0, 0, 0]],
            valence_charges=[1.0], temperature=300.0, n_electrons=0.1,
        )
    with pytest.raises(ValueError, match="symbols"):
        total_free_energy(
            ldos, energy_grid=grid, voxel=np.eye(3), positions=[[0, 0, 0]],
            valence_charges={"Al": 3.0}, temperature=300.0, n_electrons=0.1,
        )
