"""Self-consistent Fermi level, DOS/density from an LDOS, the one-call observables."""

import numpy as np
import pytest

from surrogate_hpo.physics import (
    EnergyGrid,
    density_from_ldos,
    dos_from_ldos,
    fermi_energy_from_dos,
    number_of_electrons,
    observables,
    observables_from_dos,
)


@pytest.mark.parametrize("temperature", [0.0, 298.0, 2500.0])
def test_root_recovers_known_fermi_level(rng, temperature):
    grid = EnergyGrid(offset=-6.0, spacing=0.1, n=130)
    dos = rng.random(grid.n) * 3 + 0.1
    mu_true = 0.3579
    n_el = number_of_electrons(dos, grid, mu_true, temperature)
    mu = fermi_energy_from_dos(dos, grid, temperature, n_el)
    assert mu == pytest.approx(mu_true, abs=1e-9)
    assert number_of_electrons(dos, grid, mu, temperature) == pytest.approx(n_el, rel=1e-10)


def test_fermi_level_lands_between_delta_peaks():
    """Two single-hat peaks of 2 electrons each; 2 electrons put E_F in the gap, at its
    centre by symmetry at finite T."""
    grid = EnergyGrid(offset=-5.0, spacing=0.25, n=41)
    dos = np.zeros(grid.n)
    i1, i2 = 16, 22  # -1 eV and +0.5 eV (a gap narrow enough that N(E_F) still varies in it)
    dos[[i1, i2]] = 2.0 / grid.spacing  # hat area = h * height = 2 electrons
    e1, e2 = grid.values[i1], grid.values[i2]
    mu = fermi_energy_from_dos(dos, grid, 2000.0, 2.0)
    assert e1 + grid.spacing < mu < e2 - grid.spacing
    assert mu == pytest.approx(0.5 * (e1 + e2), abs=1e-8)
    # at T = 0 any E_F in the gap is a root; it must still be in the gap
    mu0 = fermi_energy_from_dos(dos, grid, 0.0, 2.0)
    assert e1 + grid.spacing - 1e-9 <= mu0 <= e2 - grid.spacing + 1e-9
    # 3 electrons: E_F near the centre of the upper peak (shifted by the lower peak's tail)
    assert fermi_energy_from_dos(dos, grid, 2000.0, 3.0) == pytest.approx(e2, abs=1e-3)


def test_too_many_electrons_raises():
    grid = EnergyGrid(offset=0.0, spacing=0.1, n=10)
    with pytest.raises(ValueError, match="bracket"):
        fermi_energy_from_dos(np.ones(grid.n), grid, 300.0, 5.0)  # holds 1 electron


def test_dos_density_and_observables_from_ldos(rng):
    grid = EnergyGrid(offset=-4.0, spacing=0.2, n=45)
    shape = (6, 5, 4)
    voxel_volume = 0.37
    ldos = (rng.random(shape + (grid.n,)) * 0.05).astype(np.float32)
    dos = dos_from_ldos(ldos, voxel_volume)
    assert dos.dtype == np.float64 and dos.shape == (grid.n,)
    np.testing.assert_allclose(dos, ldos.astype(np.float64).sum(axis=(0, 1, 2)) * voxel_volume, rtol=1e-12)
    n_el = 0.6 * float(dos.sum() * grid.spacing)
    obs = observables(
        ldos, energy_grid=grid, voxel_volume=voxel_volume, temperature=800.0, n_electrons=n_el, density=True
    )
    assert obs["number_of_electrons"] == pytest.approx(n_el, rel=1e-10)
    assert obs["density"].shape == shape
    # the density integrates to the electron count
    assert obs["density"].sum() * voxel_volume == pytest.approx(n_el, rel=1e-10)
    dens = density_from_ldos(ldos, grid, obs["fermi_energy"], 800.0)
    np.testing.assert_allclose(dens, obs["density"], rtol=1e-14)
    assert obs["entropy_contribution"] < 0
    # same numbers from the precomputed DOS, and grid given as a dict
    obs2 = observables_from_dos(obs["dos"], grid.to_dict(), 800.0, n_el)
    for key in ("fermi_energy", "band_energy", "entropy_contribution", "number_of_electrons"):
        assert obs2[key] == pytest.approx(obs[key], rel=1e-12, abs=1e-12)


def test_observables_from_dos_batch_matches_single(rng):
    grid = EnergyGrid(offset=-4.0, spacing=0.1, n=90)
    batch = rng.random((3, grid.n)) + 0.5
    out = observables_from_dos(batch, grid, 300.0, 4.0)
    assert out["band_energy"].shape == (3,)
    for b in range(3):
        single = observables_from_dos(batch[b], grid, 300.0, 4.0)
        assert out["band_energy"][b] == pytest.approx(single["band_energy"], rel=1e-14)
        assert out["fermi_energy"][b] == pytest.approx(single["fermi_energy"], abs=1e-12)


def test_given_fermi_energy_skips_root():
    grid = EnergyGrid(offset=-1.0, spacing=0.1, n=21)
    dos = np.ones(grid.n)
    out = observables_from_dos(dos, grid, 0.0, fermi_energy=0.0)
    assert out["fermi_energy"] == 0.0
    assert out["number_of_electrons"] == pytest.approx(1.0 + 0.05, rel=1e-14)
    with pytest.raises(ValueError):
        observables_from_dos(dos, grid, 0.0)
