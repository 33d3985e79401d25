"""Quantum ESPRESSO ``pw.x``: input writing, running, and parsing of the output and XML.

Energies leave this module in eV (QE prints Ry, its XML stores Hartree).
"""

from __future__ import annotations

import math
import os
import re
import shlex
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ...physics.constants import HARTREE, K_B, RYDBERG
from ..qe_output import parse_pw_text

__all__ = [
    "QEError",
    "QESettings",
    "default_pseudo_dir",
    "fermi_dirac_degauss_ry",
    "write_pw_input",
    "run_qe",
    "parse_pw_output",
    "parse_pw_xml",
    "band_energy",
]



class QEError(RuntimeError):
    """A Quantum ESPRESSO run failed; the message quotes QE's own error text."""


def default_pseudo_dir() -> str:
    """Folder of the pseudopotentials: ``$ESPRESSO_PSEUDO`` or Debian's ``/usr/share/espresso/pseudo``."""
    for cand in (os.environ.get("ESPRESSO_PSEUDO"), "/usr/share/espresso/pseudo",
                 str(Path.home() / "espresso" / "pseudo")):
        if cand and Path(cand).is_dir():
            return cand
    return "/usr/share/espresso/pseudo"


@dataclass
class QESettings:
    """pw.x / pp.x settings. Energies of the input file are in Ry, as QE wants them."""

    pw_command: str = "pw.x"
    pp_command: str = "pp.x"
    mpi_command: str = "/usr/bin/mpirun -np 2"  # "" for serial
    npool: int = 2  # k-point pools (-nk)
    pseudo_dir: str | None = None  # None: $ESPRESSO_PSEUDO or /usr/share/espresso/pseudo
    pseudopotentials: dict[str, str] = field(default_factory=lambda: {"Al": "Al.pz-vbc.UPF"})
    masses: dict[str, float] = field(default_factory=lambda: {"Al": 26.9815385})
    valence_charges: dict[str, float] = field(default_factory=lambda: {"Al": 3.0})
    ecutwfc: float = 20.0  # Ry
    ecutrho: float | None = None  # Ry, None: 4 * ecutwfc (norm-conserving)
    kpoints: Sequence[int] = (6, 6, 6)
    kshift: Sequence[int] = (0, 0, 0)
    nbnd: int | None = None  # None: ceil(1.5 * electrons) + 2
    conv_thr: float = 1e-9  # Ry
    mixing_beta: float = 0.3
    timeout: float = 3600.0  # s per QE call

    def resolved_pseudo_dir(self) -> str:
        return self.pseudo_dir or default_pseudo_dir()

    def pseudopotential_file(self, element: str) -> Path:
        """The UPF file of ``element`` (ValueError: none configured; FileNotFoundError: missing)."""
        if element not in self.pseudopotentials:
            raise ValueError(f"qe.pseudopotentials has no file for {element}: add "
                             f"qe.pseudopotentials.{element}=<file.UPF>")
        upf = Path(self.resolved_pseudo_dir()) / self.pseudopotentials[element]
        if not upf.is_file():
            raise FileNotFoundError(f"pseudopotential {upf} not found (Debian: apt-get install "
                                    "quantum-espresso-data; or set qe.pseudo_dir=/folder/of/UPF/files)")
        return upf

    def n_electrons(self, symbols: Sequence[str]) -> float:
        try:
            return float(sum(self.valence_charges[s] for s in symbols))
        except KeyError as exc:
            raise ValueError(f"no valence charge configured for element {exc.args[0]!r}") from exc

    def command(self, exe: str, *, pools: bool) -> list[str]:
        cmd = shlex.split(self.mpi_command) if self.mpi_command else []
        cmd.append(exe)
        if pools and self.npool > 1:
            cmd += ["-nk", str(int(self.npool))]
        return cmd


def fermi_dirac_degauss_ry(temperature: float) -> float:
    """k_B T in Ry: QE's ``degauss`` for ``smearing='fd'`` at ``temperature`` (K)."""
    return K_B * float(temperature) / RYDBERG


def write_pw_input(
    atoms: Any,
    settings: QESettings,
    *,
    temperature: float,
    prefix: str = "snapshot",
    outdir: str = "./scratch",
    nr: Sequence[int] | None = None,
) -> str:
    """Text of a ``pw.x`` SCF input for ``atoms`` (ase.Atoms, Å) with Fermi-Dirac smearing.

    Args:
        temperature: electronic temperature (K); ``degauss = k_B T``.
        nr: optional FFT grid ``(nr1, nr2, nr3)`` to force.
    """
    symbols = atoms.get_chemical_symbols()
    species = list(dict.fromkeys(symbols))
    for s in species:
        settings.pseudopotential_file(s)
    pdir = settings.resolved_pseudo_dir()
    nelec = settings.n_electrons(symbols)
    nbnd = settings.nbnd or int(math.ceil(1.5 * nelec)) + 2
    ecutrho = settings.ecutrho or 4.0 * settings.ecutwfc
    degauss = fermi_dirac_degauss_ry(temperature)
    system = [
        "  ibrav = 0",
        f"  nat = {len(atoms)}",
        f"  ntyp = {len(species)}",
        f"  ecutwfc = {settings.ecutwfc!r}",
        f"  ecutrho = {float(ecutrho)!r}",
        "  occupations = 'smearing'",
        "  smearing = 'fd'",
        f"  degauss = {degauss:.10e}",
        f"  nbnd = {int(nbnd)}",
    ]
    if nr is not None:
        system += [f"  nr{i + 1} = {int(n)}" for i, n in enumerate(nr)]
    lines = [
        "&CONTROL",
        "  calculation = 'scf'",
        f"  prefix = '{prefix}'",
        f"  outdir = '{outdir}'",
        f"  pseudo_dir = '{pdir}'",
        "  tprnfor = .true.",
        "  tstress = .true.",
        "/",
        "&SYSTEM",
        *system,
        "/",
        "&ELECTRONS",
        f"  conv_thr = {settings.conv_thr:.3e}",
        f"  mixing_beta = {settings.mixing_beta!r}",
        "/",
        "ATOMIC_SPECIES",
        *[f"  {s} {settings.masses.get(s, 1.0)!r} {settings.pseudopotentials[s]}" for s in species],
        "CELL_PARAMETERS angstrom",
        *["  " + " ".join(f"{float(v):.12f}" for v in row) for row in np.asarray(atoms.cell[:])],
        "ATOMIC_POSITIONS angstrom",
        *[f"  {s} " + " ".join(f"{float(v):.12f}" for v in p) for s, p in zip(symbols, atoms.positions)],
        "K_POINTS automatic",
        "  " + " ".join(str(int(k)) for k in settings.kpoints)
        + " " + " ".join(str(int(k)) for k in settings.kshift),
        "",
    ]
    return "\n".join(lines)


_ERR_BLOCK = re.compile(r"%{20,}\s*\n(.*?)\n\s*%{20,}", re.S)


def _qe_error_text(stdout: str, workdir: Path) -> str:
    blocks = _ERR_BLOCK.findall(stdout)
    if blocks:
        return " | ".join(" ".join(b.split()) for b in blocks[-1:])
    crash = workdir / "CRASH"
    if crash.is_file():
        text = crash.read_text(errors="replace")
        blocks = _ERR_BLOCK.findall(text)
        if blocks:
            return " ".join(blocks[-1].split())
        return text.strip()[-2000:]
    tail = "\n".join(stdout.strip().splitlines()[-15:])
    return f"no QE error message; last output lines:\n{tail}"


def run_qe(
    exe: str,
    input_text: str,
    workdir: Path,
    settings: QESettings,
    *,
    name: str,
    pools: bool = True,
) -> str:
    """Run a QE executable on ``input_text`` in ``workdir``; return its stdout.

    Writes ``<name>.in`` and ``<name>.out`` there.

    Raises:
        QEError: the program is missing, exits non-zero, times out, or does not print
            ``JOB DONE``; the message quotes QE's error block.
    """
    workdir = Path(workdir)
    inp = workdir / f"{name}.in"
    inp.write_text(input_text)
    cmd = settings.command(exe, pools=pools)
    if shutil.which(cmd[0]) is None:
        raise QEError(f"{cmd[0]!r} not found on PATH (install quantum-espresso)")
    if shutil.which(exe) is None and not Path(exe).is_file():
        raise QEError(f"{exe!r} not found on PATH (install quantum-espresso)")
    env = dict(os.environ)
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    env.setdefault("OMP_NUM_THREADS", "1")
    try:
        proc = subprocess.run(
            [*cmd, "-in", inp.name],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=settings.timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise QEError(f"{exe} timed out after {settings.timeout} s in {workdir}") from exc
    out = proc.stdout
    (workdir / f"{name}.out").write_text(out + ("\n--- stderr ---\n" + proc.stderr if proc.stderr else ""))
    if proc.returncode != 0 or "JOB DONE" not in out:
        msg = _qe_error_text(out, workdir)
        if proc.stderr.strip() and "no QE error message" in msg:
            msg += "\nstderr: " + "\n".join(proc.stderr.strip().splitlines()[-10:])
        raise QEError(f"{exe} failed (exit code {proc.returncode}): {msg}")
    if "convergence NOT achieved" in out:
        raise QEError(f"{exe}: SCF convergence NOT achieved (see {workdir / (name + '.out')})")
    return out


def parse_pw_output(text: str) -> dict[str, Any]:
    """Energies (eV), Fermi energy (eV), FFT grid and version from a ``pw.x`` output
    (:func:`surrogate_hpo.data.qe_output.parse_pw_text`); QEError when the SCF did not finish."""
    parsed = parse_pw_text(text)
    if parsed["energies"]["total"] is None:
        raise QEError("no '!    total energy' line in the pw.x output (SCF did not finish?)")
    parsed["fft_grid"] = list(parsed["fft_grid"]) if parsed["fft_grid"] else None
    return parsed


def parse_pw_xml(path: Path) -> dict[str, Any]:
    """Eigenvalues (eV), k-weights, occupations, Fermi energy (eV), FFT grid from QE's XML."""
    root = ET.parse(path).getroot()
    ks = root.findall(".//band_structure/ks_energies")
    if not ks:
        raise QEError(f"no ks_energies in {path}")
    weights = np.array([float(k.find("k_point").attrib["weight"]) for k in ks])
    eig = np.array([[float(x) for x in k.find("eigenvalues").text.split()] for k in ks]) * HARTREE
    occ = np.array([[float(x) for x in k.find("occupations").text.split()] for k in ks])
    fermi = root.find(".//band_structure/fermi_energy")
    nelec = root.find(".//band_structure/nelec")
    fft = root.find(".//basis_set/fft_grid")
    return {
        "weights": weights,
        "eigenvalues": eig,
        "occupations": occ,
        "fermi_energy": float(fermi.text) * HARTREE if fermi is not None else None,
        "nelec": float(nelec.text) if nelec is not None else None,
        "fft_grid": [int(fft.attrib[f"nr{i}"]) for i in (1, 2, 3)] if fft is not None else None,
        "n_kpoints": len(ks),
    }


def band_energy(xml: dict[str, Any]) -> float:
    """``sum_k w_k sum_n f_nk eps_nk`` (eV); QE's weights include the spin factor 2."""
    w = xml["weights"][:, None]
    return float(np.sum(w * xml["occupations"] * xml["eigenvalues"]))
