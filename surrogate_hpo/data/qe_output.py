"""Metadata from a Quantum ESPRESSO ``pw.x`` output file (units: eV, Å, K)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.units import Rydberg, kB

from .errors import DataError

__all__ = ["QEOutput", "read_qe_output"]

_FLOAT = r"([-+]?\d+(?:\.\d*)?(?:[EeDd][-+]?\d+)?)"

# QE label -> key of ``energy_terms`` (values printed in Ry, stored in eV).
_ENERGY_TERMS = {
    "one_electron": r"one-electron contribution\s*=\s*" + _FLOAT + r"\s*Ry",
    "hartree": r"hartree contribution\s*=\s*" + _FLOAT + r"\s*Ry",
    "xc": r"xc contribution\s*=\s*" + _FLOAT + r"\s*Ry",
    "ewald": r"ewald contribution\s*=\s*" + _FLOAT + r"\s*Ry",
    "smearing": r"smearing contrib\. \(-TS\)\s*=\s*" + _FLOAT + r"\s*Ry",
    "total": r"^!\s*total energy\s*=\s*" + _FLOAT + r"\s*Ry",
    "internal_energy": r"internal energy E=F\+TS\s*=\s*" + _FLOAT + r"\s*Ry",
}


@dataclass
class QEOutput:
    """What the loader takes from a ``pw.x`` SCF output.

    Attributes:
        path: the file read.
        atoms: final structure (Å), ``pbc=True``.
        n_electrons: valence electrons in the cell ("number of electrons").
        fermi_energy: Fermi energy (eV), None if not printed.
        total_energy: the ``!`` total energy (eV); with smearing this is the free energy F.
        smearing: smearing name as printed (e.g. ``"Fermi-Dirac"``), None without smearing.
        smearing_width: smearing width (eV).
        temperature: electronic temperature (K) = width / k_B, only for Fermi-Dirac smearing.
        band_energy: ``sum_k w_k sum_n f_nk eps_nk`` (eV) from the printed eigenvalues, only
            for Fermi-Dirac smearing (occupations recomputed from E_F and T).
        fft_grid: dense FFT grid ``(nr1, nr2, nr3)``.
        energy_terms: energy decomposition (eV), keys as in the sidecar ``qe_energy_terms``.
    """

    path: Path
    atoms: Atoms
    n_electrons: float | None = None
    fermi_energy: float | None = None
    total_energy: float | None = None
    smearing: str | None = None
    smearing_width: float | None = None
    temperature: float | None = None
    band_energy: float | None = None
    fft_grid: tuple[int, int, int] | None = None
    energy_terms: dict[str, float | None] = field(default_factory=dict)


def _last(pattern: str, text: str) -> float | None:
    hits = re.findall(pattern, text, flags=re.MULTILINE)
    if not hits:
        return None
    return float(hits[-1].replace("D", "E").replace("d", "e"))


def _band_energy(atoms: Atoms, fermi: float, temperature: float) -> float | None:
    """Band energy (eV) with Fermi-Dirac occupations; None if eigenvalues are missing."""
    kpts = getattr(atoms.calc, "kpts", None) or []
    if not kpts or any(len(k.eps_n) == 0 for k in kpts):
        return None
    kt = kB * temperature
    total = 0.0
    for k in kpts:  # ASE's weights include the spin factor (they sum to 2 without spin)
        eps = np.asarray(k.eps_n, dtype=np.float64)
        occ = 0.5 * (1.0 - np.tanh((eps - fermi) / (2.0 * kt)))
        total += k.weight * float(np.sum(occ * eps))
    return float(total)


def read_qe_output(path: str | Path) -> QEOutput:
    """Read a ``pw.x`` output; raises :class:`DataError` if it is missing or unreadable."""
    import ase.io

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: Quantum ESPRESSO output not found. Pass qe_output=<path to the "
                        "pw.x output> or leave it out to rely on the .info.json sidecar.")
    text = path.read_text(errors="replace")
    try:
        atoms = ase.io.read(path, format="espresso-out", index=-1)
    except Exception as exc:  # ASE raises many kinds on a truncated or foreign file
        raise DataError(f"{path}: not a readable pw.x output ({type(exc).__name__}: {exc}). "
                        "Check that it is the SCF output of pw.x and that the run finished.") from exc

    out = QEOutput(path=path, atoms=atoms)
    out.n_electrons = _last(r"number of electrons\s*=\s*" + _FLOAT, text)
    if atoms.calc is not None:
        try:
            out.fermi_energy = float(atoms.calc.get_fermi_level())
        except Exception:
            out.fermi_energy = None
        energy = atoms.calc.results.get("free_energy", atoms.calc.results.get("energy"))
        out.total_energy = None if energy is None else float(energy)
    m = re.findall(r"(\S+) smearing, width \(Ry\)=\s*" + _FLOAT, text)
    if m:
        out.smearing = m[-1][0]
        out.smearing_width = float(m[-1][1]) * Rydberg
        if out.smearing.lower() == "fermi-dirac":
            out.temperature = out.smearing_width / kB
    m = re.findall(r"Dense\s+grid:.*FFT dimensions:\s*\(\s*(\d+),\s*(\d+),\s*(\d+)\)", text)
    if m:
        out.fft_grid = tuple(int(v) for v in m[-1])  # type: ignore[assignment]
    out.energy_terms = {}
    for key, pattern in _ENERGY_TERMS.items():
        value = _last(pattern, text)
        out.energy_terms[key] = None if value is None else value * Rydberg
    if out.energy_terms["total"] is not None:  # same Rydberg constant as the other terms
        out.total_energy = out.energy_terms["total"]
    if out.temperature is not None and out.fermi_energy is not None:
        out.band_energy = _band_energy(atoms, out.fermi_energy, out.temperature)
    return out
