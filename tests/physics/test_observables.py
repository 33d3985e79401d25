"""observables_or_fallback: the Fermi level from the electron count, or the given level when
the LDOS cannot hold the electrons."""

import numpy as np
import pytest

from surrogate_hpo.physics import EnergyGrid, observables, observables_or_fallback

GRID = EnergyGrid(-2.0, 0.1, 41)
LDOS = np.full((8, 41), 0.05)  # 1/(eV Å^3) on 8 points of 1 Å^3: 0.4 states/eV
KW = dict(energy_grid=GRID, voxel_volume=1.0, temperature=300.0)


def test_a_holdable_electron_count_solves_the_fermi_level():
    obs, fell_back = observables_or_fallback(LDOS, fallback_fermi_energy=0.5, n_electrons=1.0, **KW)
    assert not fell_back
    assert obs["number_of_electrons"] == pytest.approx(1.0, rel=1e-6)
    assert obs["fermi_energy"] == pytest.approx(observables(LDOS, n_electrons=1.0, **KW)["fermi_energy"])


def test_too_many_electrons_fall_back_to_the_given_level_or_raise():
    with pytest.raises(ValueError):
        observables(LDOS, n_electrons=100.0, **KW)
    obs, fell_back = observables_or_fallback(LDOS, fallback_fermi_energy=0.5, n_electrons=100.0, **KW)
    assert fell_back and obs["fermi_energy"] == 0.5
    with pytest.raises(ValueError):
        observables_or_fallback(LDOS, fallback_fermi_energy=None, n_electrons=100.0, **KW)
