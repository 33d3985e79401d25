"""Total free energy from an LDOS for norm-conserving LDA calculations (eV, Å, K).

    A = E_b - E_H[n] + E_xc[n] - \\int v_xc n + E_ewald - TS

with ``E_b`` the band energy and ``n`` the density, both from the LDOS at the
self-consistent Fermi level. Terms as Quantum ESPRESSO prints them:
'one-electron contribution' = ``E_b - \\int (v_H + v_xc) n``; 'hartree contribution' = E_H;
'xc contribution' = E_xc; 'ewald contribution' = E_ewald; 'smearing contrib.' = -TS;
'!' total energy = A.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .dos import apply_weights, dos_from_ldos
from .energy_grid import EnergyGrid, as_energy_grid
from .ewald import ewald_energy
from .fermi import thermal_energy
from .fermi_level import fermi_energy_from_dos
from .grid import cell_from_voxel, cell_volume
from .hartree import hartree_energy
from .integration import integration_weights
from .lda import xc_energy


def atom_charges(
    valence_charges: Sequence[float] | Mapping[str, float] | np.ndarray,
    symbols: Sequence[str] | None,
    n_atoms: int,
) -> np.ndarray:
    """Valence charge per atom from a per-atom sequence or a ``{symbol: Z}`` mapping."""
    if isinstance(valence_charges, Mapping):
        if symbols is None:
            raise ValueError("valence charges given per species need the atoms' symbols")
        missing = sorted(set(symbols) - set(valence_charges))
        if missing:
            raise ValueError(f"no valence charge for species {missing}")
        z = np.array([float(valence_charges[s]) for s in symbols])
    else:
        z = np.asarray(valence_charges, dtype=np.float64).reshape(-1)
    if z.size != n_atoms:
        raise ValueError(f"{z.size} valence charges for {n_atoms} atoms")
    return z


def energy_terms_from_density(
    density: np.ndarray,
    *,
    cell: np.ndarray,
    ecutrho_ry: float | None = None,
) -> dict[str, float]:
    """Density functionals of ``n`` (1/Å^3, full periodic grid spanning ``cell``): Hartree
    energy, LDA-PZ ``E_xc`` and ``\\int v_xc n``, all eV."""
    density = np.asarray(density, dtype=np.float64)
    voxel_volume = cell_volume(cell) / density.size
    e_h = hartree_energy(density, cell, ecutrho_ry=ecutrho_ry)
    e_xc, vxc_n = xc_energy(density, voxel_volume)
    return {"hartree": e_h, "xc": e_xc, "xc_potential_integral": vxc_n}


def free_energy_terms(
    *,
    band: float,
    entropy: float,
    density: np.ndarray,
    cell: np.ndarray,
    positions: np.ndarray,
    atom_valence: np.ndarray,
    ecutrho_ry: float | None = None,
) -> dict[str, float]:
    """The terms of ``A`` from the band energy, ``-TS`` (eV) and the density ``(nx, ny, nz)``
    (1/Å^3) on the whole cell (Å): ``band``, ``hartree``, ``xc``, ``xc_potential_integral``,
    ``ewald``, ``entropy``, ``one_electron``, ``total`` (A) and ``internal_energy`` (A + TS), eV.
    ``atom_valence``: the valence charge of every atom (e)."""
    terms = energy_terms_from_density(density, cell=cell, ecutrho_ry=ecutrho_ry)
    ewald = ewald_energy(np.atleast_2d(np.asarray(positions, dtype=np.float64)),
                         np.asarray(atom_valence, dtype=np.float64), np.asarray(cell, dtype=np.float64))
    total = band - terms["hartree"] + terms["xc"] - terms["xc_potential_integral"] + ewald + entropy
    return {
        "band": float(band),
        **terms,
        "ewald": ewald,
        "entropy": float(entropy),
        "one_electron": band - 2.0 * terms["hartree"] - terms["xc_potential_integral"],
        "total": total,
        "internal_energy": total - entropy,
    }


def total_free_energy(
    ldos: np.ndarray,
    *,
    energy_grid: EnergyGrid | dict,
    voxel: np.ndarray,
    positions: np.ndarray,
    valence_charges: Sequence[float] | Mapping[str, float] | np.ndarray,
    temperature: float,
    n_electrons: float,
    cell: np.ndarray | None = None,
    symbols: Sequence[str] | None = None,
    fermi_energy: float | None = None,
    ecutrho_ry: float | None = None,
    broadening_variance: float = 0.0,
    return_density: bool = False,
) -> dict[str, Any]:
    """Every term of the total free energy from an LDOS ``(nx, ny, nz, nE)`` in 1/(eV Å^3).

    Args:
        energy_grid: the LDOS energy grid.
        voxel: 3x3, one grid step per row (Å); the cell is ``voxel * shape`` unless given.
        positions: ``(N, 3)`` cartesian ion positions (Å).
        valence_charges: per atom, or ``{symbol: Z}`` together with ``symbols``.
        temperature: electronic temperature (K).  n_electrons: valence electrons.
        fermi_energy: use this Fermi level (eV) instead of the self-consistent one.
        ecutrho_ry: keep only density G vectors inside QE's ``ecutrho`` sphere (Ry) in the
            Hartree energy; ``None`` uses the full FFT grid.
        broadening_variance: variance (eV^2) of the kernel that broadened the LDOS
            (``kernel_variance(degauss_ldos)``): removes the broadening error of the band
            energy, Fermi level, density and entropy to second order. Default 0: the plain
            integral (MALA's convention).

    Returns (eV unless stated): ``fermi_energy``, ``number_of_electrons``, ``band``,
    ``hartree``, ``xc``, ``xc_potential_integral``, ``ewald``, ``entropy`` (-TS),
    ``one_electron`` (QE's: ``band - 2 hartree - xc_potential_integral``), ``total``
    (the free energy A), ``internal_energy`` (A + TS) and ``dos`` (1/eV); ``density``
    (1/Å^3) with ``return_density``.
    """
    grid = as_energy_grid(energy_grid)
    ldos = np.asarray(ldos)
    if ldos.ndim != 4 or ldos.shape[-1] != grid.n:
        raise ValueError(f"ldos must be (nx, ny, nz, {grid.n}), got {ldos.shape}")
    shape = ldos.shape[:3]
    voxel = np.asarray(voxel, dtype=np.float64)
    grid_cell = cell_from_voxel(voxel, shape)
    if cell is None:
        cell = grid_cell
    else:
        cell = np.asarray(cell, dtype=np.float64)
        if not np.allclose(cell, grid_cell, atol=1e-6 * max(1.0, np.abs(cell).max())):
            raise ValueError("cell differs from voxel * grid shape: the LDOS must span the whole cell")
    voxel_volume = cell_volume(cell) / float(np.prod(shape))
    positions = np.atleast_2d(np.asarray(positions, dtype=np.float64))
    z = atom_charges(valence_charges, symbols, positions.shape[0])

    dos = dos_from_ldos(ldos, voxel_volume)
    if fermi_energy is None:
        fermi_energy = fermi_energy_from_dos(
            dos, grid, temperature, n_electrons, broadening_variance=broadening_variance
        )
    w = integration_weights(grid, fermi_energy, temperature, broadening_variance=broadening_variance)
    density = apply_weights(ldos, w.occupation)

    band = float(dos @ w.band_energy)
    entropy = thermal_energy(temperature) * float(dos @ w.entropy)
    out: dict[str, Any] = {
        "fermi_energy": float(fermi_energy),
        "number_of_electrons": float(dos @ w.occupation),
        **free_energy_terms(band=band, entropy=entropy, density=density, cell=cell, positions=positions,
                            atom_valence=z, ecutrho_ry=ecutrho_ry),
        "dos": dos,
    }
    if return_density:
        out["density"] = density
    return out
