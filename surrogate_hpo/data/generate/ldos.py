"""LDOS with ``pp.x`` (``plot_num = 3``): input writing, cube reading, unit conversion.

``pp.x`` writes one Gaussian cube per energy, values in 1/(Ry·bohr³) on the dense FFT
grid of the SCF.  They are converted to 1/(eV·Å³) (MALA's unit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from surrogate_hpo.data.generate.qe import QEError, QESettings, run_qe
from surrogate_hpo.physics.constants import BOHR, K_B, RYDBERG
from surrogate_hpo.physics.energy_grid import EnergyGrid

__all__ = [
    "LDOS_RY_BOHR3_TO_EV_ANG3",
    "LDOSSettings",
    "write_pp_input",
    "read_cube",
    "run_ldos",
    "electrons_from_ldos",
    "dos_from_eigenvalues",
]

#: multiply an LDOS in 1/(Ry·bohr³) by this to get 1/(eV·Å³)
LDOS_RY_BOHR3_TO_EV_ANG3 = 1.0 / (RYDBERG * BOHR**3)


@dataclass
class LDOSSettings:
    """Energy grid of the LDOS (absolute QE energies, eV) and its Gaussian broadening."""

    offset: float = -5.0  # eV, first energy
    spacing: float = 0.2  # eV
    n: int = 84  # number of energies
    #: eV; None: spacing / 2. pp.x broadens with the SCF's smearing kernel, i.e. for
    #: Fermi-Dirac smearing the derivative -df/dE of width degauss_ldos (std = 1.81 x it)
    degauss_ldos: float | None = 0.1

    @property
    def energy_grid(self) -> EnergyGrid:
        return EnergyGrid(offset=float(self.offset), spacing=float(self.spacing), n=int(self.n))

    @property
    def broadening(self) -> float:
        return float(self.degauss_ldos if self.degauss_ldos is not None else 0.5 * self.spacing)


def write_pp_input(*, prefix: str, outdir: str, grid: EnergyGrid, degauss_ldos: float,
                   filplot: str = "ldos") -> str:
    """Text of a ``pp.x`` input writing one cube per energy of ``grid``.

    ``emax`` is placed half a step beyond the last energy so float rounding in pp.x
    cannot drop it; the number of cubes is checked after the run.
    """
    emax = grid.end + 0.5 * grid.spacing
    return "\n".join(
        [
            "&INPUTPP",
            f"  prefix = '{prefix}'",
            f"  outdir = '{outdir}'",
            f"  filplot = '{filplot}'",
            "  plot_num = 3",
            f"  emin = {grid.offset!r}",
            f"  emax = {emax!r}",
            f"  delta_e = {grid.spacing!r}",
            f"  degauss_ldos = {float(degauss_ldos)!r}",
            "/",
            "&PLOT",
            "  iflag = 3",
            "  output_format = 6",
            "  fileout = '.cube'",
            "  nfile = 1",
            "/",
            "",
        ]
    )


_ENERGY_RE = re.compile(r"Energy\s*=\s*(-?\d+\.\d+)\s*eV")


def read_cube(path: Path) -> tuple[np.ndarray, dict]:
    """Read a Gaussian cube: ``(data (nx, ny, nz) float64, meta)``.

    ``meta``: ``comment`` (2nd line), ``origin`` and ``voxel`` (bohr), ``shape``, ``energy``
    (eV, parsed from pp.x's comment if present).
    """
    with open(path) as fh:
        title = fh.readline()
        comment = fh.readline()
        natoms, *origin = fh.readline().split()[:4]
        natoms = abs(int(natoms))
        shape, voxel = [], []
        for _ in range(3):
            n, *v = fh.readline().split()[:4]
            shape.append(int(n))
            voxel.append([float(x) for x in v])
        for _ in range(natoms):
            fh.readline()
        data = np.array(fh.read().split(), dtype=np.float64)
    if data.size != np.prod(shape):
        raise ValueError(f"{path}: expected {np.prod(shape)} values, found {data.size}")
    m = _ENERGY_RE.search(comment) or _ENERGY_RE.search(title)
    meta = {
        "comment": comment.strip(),
        "origin": [float(x) for x in origin],
        "voxel": voxel,
        "shape": shape,
        "energy": float(m.group(1)) if m else None,
    }
    return data.reshape(shape), meta


def run_ldos(
    workdir: Path,
    *,
    prefix: str,
    outdir: str,
    ldos: LDOSSettings,
    qe: QESettings,
    expected_grid: Sequence[int],
    keep_cubes: Path | None = None,
    element: str = "X",
) -> np.ndarray:
    """Run ``pp.x`` in ``workdir`` and return the LDOS ``(nx, ny, nz, nE)`` float32 in 1/(eV·Å³).

    ``keep_cubes``: a folder the cubes are moved to, named as MALA reads them
    (``tmp.pp<i>{element}_ldos.cube``, ``i`` from 1, zero-padded to the digits of nE).

    Raises:
        QEError: pp.x failed, produced the wrong number of cubes, energies, or a grid
            other than the SCF's FFT grid ``expected_grid``.
    """
    grid = ldos.energy_grid
    text = write_pp_input(prefix=prefix, outdir=outdir, grid=grid, degauss_ldos=ldos.broadening)
    run_qe(qe.pp_command, text, workdir, qe, name="pp", pools=False)
    cubes = sorted(Path(workdir).glob("ldos[0-9]*.cube"))
    if len(cubes) < grid.n:
        raise QEError(f"pp.x wrote {len(cubes)} LDOS cubes, expected {grid.n}")
    cubes = cubes[: grid.n]
    out = None
    for i, cube in enumerate(cubes):
        data, meta = read_cube(cube)
        if list(meta["shape"]) != list(expected_grid):
            raise QEError(
                f"pp.x LDOS grid {meta['shape']} differs from the SCF FFT grid {list(expected_grid)}"
            )
        e = meta["energy"]
        if e is not None and abs(e - grid.values[i]) > 1e-3:
            raise QEError(f"cube {cube.name} is at {e} eV, expected {grid.values[i]:.4f} eV")
        if out is None:
            out = np.empty((*data.shape, grid.n), dtype=np.float32)
        out[..., i] = data * LDOS_RY_BOHR3_TO_EV_ANG3
        if keep_cubes is not None:
            keep_cubes.mkdir(parents=True, exist_ok=True)
            digits = len(str(grid.n))
            cube.replace(keep_cubes / f"tmp.pp{i + 1:0{digits}d}{element}_ldos.cube")
        else:
            cube.unlink()  # keep the scratch small
    assert out is not None
    return out


def electrons_from_ldos(ldos: np.ndarray, grid: EnergyGrid, *, voxel_volume: float,
                        fermi_energy: float, temperature: float) -> float:
    """Sanity check: ``sum_r sum_E LDOS f(E) dE dV`` (rectangle rule; the physics module has the exact one)."""
    x = (grid.values - fermi_energy) / (K_B * temperature)
    f = 0.5 * (1.0 - np.tanh(0.5 * x))
    dos = ldos.reshape(-1, ldos.shape[-1]).sum(axis=0, dtype=np.float64) * voxel_volume
    return float(np.sum(dos * f) * grid.spacing)


def dos_from_eigenvalues(energies: np.ndarray, eigenvalues: np.ndarray, weights: np.ndarray,
                         degauss: float) -> np.ndarray:
    """DOS (states/eV) that pp.x's LDOS must integrate to over the cell.

    pp.x broadens each state with the SCF's smearing kernel; for Fermi-Dirac smearing
    that is ``-df/dE = 1 / (degauss (2 + e^x + e^-x))``, ``x = (E - eps) / degauss``.
    """
    out = np.zeros(len(energies))
    for i, e in enumerate(np.asarray(energies, dtype=float)):
        x = np.clip((e - eigenvalues) / degauss, -200.0, 200.0)
        out[i] = np.sum(weights[:, None] / (2.0 + np.exp(x) + np.exp(-x))) / degauss
    return out
