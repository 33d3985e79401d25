"""The one reader of Quantum ESPRESSO ``pw.x`` output (units: eV, Å, K).

:func:`parse_pw_text` reads what the text states (energy terms, Fermi energy, FFT grid,
electron count, smearing, valence charges and pseudopotential files per species);
:func:`read_qe_output` adds the structure and the eigenvalues through ASE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from ..physics.constants import K_B, RYDBERG
from .errors import DataError

__all__ = ["QEOutput", "parse_pw_text", "read_qe_output"]

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


def _last(pattern: str, text: str) -> float | None:
    hits = re.findall(pattern, text, flags=re.MULTILINE)
    if not hits:
        return None
    return float(hits[-1].replace("D", "E").replace("d", "e"))


def parse_pw_text(text: str) -> dict[str, Any]:
    """What a ``pw.x`` output states, in eV; a key is None when the text lacks it.

    Keys: ``energies`` (terms of :data:`_ENERGY_TERMS`), ``fermi_energy``, ``fft_grid``,
    ``n_electrons``, ``smearing`` (name), ``smearing_width`` (eV), ``valence_charges``
    (species -> e), ``pseudopotentials`` (species -> file), ``version``, ``scf_iterations``.
    """
    energies = {k: (None if (v := _last(p, text)) is None else v * RYDBERG) for k, p in _ENERGY_TERMS.items()}
    fermi = re.findall(r"the Fermi energy is\s+" + _FLOAT + r"\s+ev", text)
    fft = re.findall(r"Dense\s+grid:.*FFT dimensions:\s*\(\s*(\d+),\s*(\d+),\s*(\d+)\)", text) or \
        re.findall(r"FFT dimensions:\s*\(\s*(\d+),\s*(\d+),\s*(\d+)\)", text)
    smear = re.findall(r"(\S+) smearing, width \(Ry\)=\s*" + _FLOAT, text)
    species = re.search(r"atomic species\s+valence\s+mass\s+pseudopotential\s*\n((?:\s+\S+\s+[-\d.]+\s+[-\d.]+.*\n)+)",
                        text)
    valence = {}
    if species:
        for line in species.group(1).splitlines():
            parts = line.split()
            if len(parts) >= 3:
                valence[parts[0]] = float(parts[1])
    pseudo = dict(re.findall(r"PseudoPot\. #\s*\d+ for (\S+) read from file:\s*\n\s*(\S+)", text))
    version = re.search(r"Program PWSCF (v\.\S+)", text)
    iters = re.findall(r"convergence has been achieved in\s+(\d+)\s+iterations", text)
    return {
        "energies": energies,
        "fermi_energy": float(fermi[-1]) if fermi else None,
        "fft_grid": tuple(int(x) for x in fft[-1]) if fft else None,
        "n_electrons": _last(r"number of electrons\s*=\s*" + _FLOAT, text),
        "smearing": smear[-1][0] if smear else None,
        "smearing_width": float(smear[-1][1]) * RYDBERG if smear else None,
        "valence_charges": valence,
        "pseudopotentials": pseudo,
        "version": version.group(1) if version else None,
        "scf_iterations": int(iters[-1]) if iters else None,
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
        valence_charges: valence charge per species (e), from the "atomic species" table.
        pseudopotentials: pseudopotential file per species, as pw.x read it.
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
    valence_charges: dict[str, float] = field(default_factory=dict)
    pseudopotentials: dict[str, str] = field(default_factory=dict)


def _band_energy(atoms: Atoms, fermi: float, temperature: float) -> float | None:
    """Band energy (eV) with Fermi-Dirac occupations; None if eigenvalues are missing."""
    kpts = getattr(atoms.calc, "kpts", None) or []
    if not kpts or any(len(k.eps_n) == 0 for k in kpts):
        return None
    kt = K_B * temperature
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
    parsed = parse_pw_text(text)
    out = QEOutput(path=path, atoms=atoms, n_electrons=parsed["n_electrons"], fft_grid=parsed["fft_grid"],
                   energy_terms=parsed["energies"], smearing=parsed["smearing"],
                   smearing_width=parsed["smearing_width"], valence_charges=parsed["valence_charges"],
                   pseudopotentials=parsed["pseudopotentials"])
    if atoms.calc is not None:
        try:
            out.fermi_energy = float(atoms.calc.get_fermi_level())
        except Exception:
            out.fermi_energy = parsed["fermi_energy"]
        energy = atoms.calc.results.get("free_energy", atoms.calc.results.get("energy"))
        out.total_energy = None if energy is None else float(energy)
    if out.energy_terms["total"] is not None:  # same Rydberg constant as the other terms
        out.total_energy = out.energy_terms["total"]
    if out.smearing is not None and out.smearing.lower() == "fermi-dirac" and out.smearing_width:
        out.temperature = out.smearing_width / K_B
    if out.temperature is not None and out.fermi_energy is not None:
        out.band_energy = _band_energy(atoms, out.fermi_energy, out.temperature)
    return out
