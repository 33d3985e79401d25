"""Physics of LDOS surrogates: energy grid, Fermi-Dirac, DOS, density, Fermi level, energies.

Units: eV, Å, K. LDOS in 1/(eV Å^3), DOS in 1/eV, density in 1/Å^3.
The public one-call API is :func:`observables` (from an LDOS) and
:func:`observables_from_dos` (from a precomputed DOS, e.g. every training epoch);
:func:`total_free_energy` adds Hartree, LDA-PZ exchange-correlation and Ewald terms.
"""

from .constants import BOHR, E2, HARTREE, RYDBERG
from .dos import apply_weights, density_from_ldos, dos_from_ldos
from .energy_grid import EnergyGrid, as_energy_grid
from .ewald import ewald_energy
from .fermi import K_B, entropy_integrand, fermi_function, thermal_energy
from .fermi_level import fermi_energy_from_dos, number_of_electrons
from .hartree import hartree_energy, hartree_potential
from .integration import (
    IntegrationWeights,
    band_energy_weights,
    entropy_weights,
    hat_interpolate,
    integration_weights,
    kernel_variance,
    occupation_weights,
)
from .lda import lda_pz, xc_energy
from .observables import (
    band_energy,
    entropy_contribution,
    observables,
    observables_from_dos,
    observables_or_fallback,
)
from .total_energy import (
    energy_terms_from_density,
    free_energy_terms,
    total_free_energy,
)

__all__ = [
    "BOHR",
    "E2",
    "HARTREE",
    "K_B",
    "RYDBERG",
    "EnergyGrid",
    "IntegrationWeights",
    "apply_weights",
    "as_energy_grid",
    "band_energy",
    "band_energy_weights",
    "density_from_ldos",
    "dos_from_ldos",
    "energy_terms_from_density",
    "entropy_contribution",
    "free_energy_terms",
    "entropy_integrand",
    "entropy_weights",
    "ewald_energy",
    "fermi_energy_from_dos",
    "fermi_function",
    "hartree_energy",
    "hartree_potential",
    "hat_interpolate",
    "integration_weights",
    "kernel_variance",
    "lda_pz",
    "number_of_electrons",
    "observables",
    "observables_from_dos",
    "observables_or_fallback",
    "occupation_weights",
    "thermal_energy",
    "total_free_energy",
    "xc_energy",
]
