"""The energy grid: from a dict, an EnergyGrid or the energies themselves; never ambiguous."""

import numpy as np
import pytest

from surrogate_hpo.physics import EnergyGrid, as_energy_grid, observables


def test_the_energies_themselves_give_the_grid():
    e = np.linspace(-5.0, 11.6, 84)
    g = as_energy_grid(e)
    assert (g.offset, g.n) == (-5.0, 84) and g.spacing == pytest.approx(0.2)
    assert as_energy_grid(list(e)) == g
    assert as_energy_grid({"offset": -5.0, "spacing": 0.2, "n": 84}).n == 84


@pytest.mark.parametrize("bad, words", [
    ([0.0, 1.0, 3.0], "not an equally spaced ascending grid: step 0"),
    ([1.0, 0.5, 0.0], "not an equally spaced ascending grid"),
    ([1.0], "at least 2"),
    (np.zeros((2, 2)), "1-D"),
])
def test_energies_that_are_not_a_uniform_grid_are_refused(bad, words):
    with pytest.raises(ValueError) as e:
        as_energy_grid(bad)
    assert words in str(e.value)


def test_three_numbers_are_three_energies_not_offset_spacing_n():
    """The old (offset, spacing, n) tuple read [-5, 0.2, 84] as a grid of 84: no longer."""
    with pytest.raises(ValueError, match="not an equally spaced"):
        as_energy_grid((-5.0, 0.2, 84))
    assert as_energy_grid((-5.0, -4.8, -4.6)).n == 3


def test_observables_accept_an_array_of_energies():
    e = np.linspace(-2.0, 2.0, 41)
    ldos = np.tile(np.exp(-e**2), (10, 1)) * 0.1
    a = observables(ldos, energy_grid=e, voxel_volume=1.0, temperature=300.0, n_electrons=1.0)
    b = observables(ldos, energy_grid=EnergyGrid(-2.0, 0.1, 41), voxel_volume=1.0, temperature=300.0,
                    n_electrons=1.0)
    assert a["band_energy"] == pytest.approx(b["band_energy"], rel=1e-12)
