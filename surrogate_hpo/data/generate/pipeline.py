"""MD snapshots -> pw.x SCF -> pp.x LDOS -> LAMMPS descriptors -> MALA files + sidecar.

Each snapshot is built in a private temporary folder next to the output and moved into
place only when complete, so a failure never leaves a half-written snapshot; the
``.info.json`` sidecar is moved last and marks a finished snapshot (re-running skips
finished snapshots unless ``overwrite``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import platform
import shlex
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from surrogate_hpo.data.generate.ldos import (
    LDOSSettings,
    dos_from_eigenvalues,
    electrons_from_ldos,
    run_ldos,
)
from surrogate_hpo.data.generate.md import (
    MDSettings,
    pair_coeff_arguments,
    thermal_snapshots,
)
from surrogate_hpo.data.generate.pack import save_packed
from surrogate_hpo.data.generate.qe import (
    QEError,
    QESettings,
    band_energy,
    fermi_dirac_degauss_ry,
    parse_pw_output,
    parse_pw_xml,
    run_qe,
    write_pw_input,
)
from surrogate_hpo.data.sidecar import unknown_symbols
from surrogate_hpo.descriptors.bispectrum import BispectrumSettings, compute_bispectrum
from surrogate_hpo.descriptors.lammps_runtime import create_lammps
from surrogate_hpo.errors import ConfigError
from surrogate_hpo.util.names import STUDY_NAME

__all__ = ["GenerateConfig", "generate_snapshot", "generate_dataset", "atoms_to_dict", "preflight"]

log = logging.getLogger(__name__)


#: (key, int or float, lower bound, bound excluded) of the numeric settings; None passes
#: where the setting may be null
_NUMBERS = (
    ("n_snapshots", int, 1, False), ("first_index", int, 0, False), ("keep_bits", int, 1, False),
    ("temperature", float, 0, True), ("electron_count_tolerance", float, 0, True),
    ("md.lattice_constant", float, 0, True), ("md.mass", float, 0, True), ("md.timestep", float, 0, True),
    ("md.damping", float, 0, True), ("md.equilibration_steps", int, 0, False), ("md.spacing_steps", int, 1, False),
    ("md.seed", int, 1, False), ("qe.npool", int, 1, False), ("qe.ecutwfc", float, 0, True),
    ("qe.ecutrho", float, 0, True), ("qe.nbnd", int, 1, False), ("qe.conv_thr", float, 0, True),
    ("qe.mixing_beta", float, 0, True), ("qe.timeout", float, 0, True), ("ldos.spacing", float, 0, True),
    ("ldos.n", int, 1, False), ("ldos.degauss_ldos", float, 0, True), ("descriptors.rcutfac", float, 0, True),
    ("descriptors.twojmax", int, 0, False),
)
_OPTIONAL = {"qe.ecutrho", "qe.nbnd", "ldos.degauss_ldos"}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_number(key: str, value: Any, kind: type, low: float, strict: bool) -> None:
    if value is None and key in _OPTIONAL:
        return
    ok_type = _is_int(value) if kind is int else (_is_int(value) or isinstance(value, float))
    if not ok_type:
        raise ConfigError(f"{key}={value!r} must be {'a whole number' if kind is int else 'a number'}")
    if value < low or strict and value == low:
        raise ConfigError(f"{key}={value} must be {'>' if strict else '>='} {low}")


@dataclass
class GenerateConfig:
    """Everything the generator needs (mirrors ``conf/generate/*.yaml``)."""

    n_snapshots: int = 8
    output_dir: str = "generated"
    name_prefix: str = "Al_298K"
    #: "mala": <name>.in.npy/.out.npy/.info.json;  "bundle": <name>.ldos.npz + .info.json
    #: (LDOS packed, descriptors recomputed on use), as in surrogate_hpo/data/sample
    format: str = "mala"
    keep_bits: int = 12  # mantissa bits kept by the "bundle" format
    overwrite: bool = False
    keep_pw_output: bool = False  # also write <name>.pw.out (pw.x text output)
    keep_cubes: bool = False  # also keep pp.x's LDOS cubes in <name>.ldos_cubes/ (MALA's file names)
    first_index: int = 0
    temperature: float = 298.0  # K: MD thermostat and electronic (Fermi-Dirac) temperature
    electron_count_tolerance: float = 0.05  # max allowed relative deviation of the LDOS electron count
    md: MDSettings = field(default_factory=MDSettings)
    qe: QESettings = field(default_factory=QESettings)
    ldos: LDOSSettings = field(default_factory=LDOSSettings)
    descriptors: BispectrumSettings = field(default_factory=BispectrumSettings)

    @classmethod
    def from_mapping(cls, cfg: Mapping[str, Any]) -> "GenerateConfig":
        cfg = dict(cfg)
        sub = {"md": MDSettings, "qe": QESettings, "ldos": LDOSSettings, "descriptors": BispectrumSettings}
        kwargs: dict[str, Any] = {}
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(cfg) - names
        if unknown:
            raise ConfigError(f"unknown generator settings: {sorted(unknown)}")
        for key, val in cfg.items():
            if key in sub:
                val = dict(val or {})
                val.pop("type", None)
                allowed = {f.name for f in dataclasses.fields(sub[key])}
                bad = set(val) - allowed
                if bad:
                    raise ConfigError(f"unknown {key} settings: {sorted(bad)} (allowed: {sorted(allowed)})")
                if key == "md" and "repeat" in val:
                    val["repeat"] = tuple(val["repeat"])
                if key == "md" and "basis_elements" in val:
                    val["basis_elements"] = tuple(val["basis_elements"] or ())
                for k in ("pseudopotentials", "masses", "valence_charges"):
                    if k in val:
                        val[k] = dict(val[k] or {})
                for k in ("kpoints", "kshift"):
                    if k in val:
                        val[k] = tuple(val[k])
                kwargs[key] = sub[key](**val)
            else:
                kwargs[key] = val
        out = cls(**kwargs)
        out.check()
        return out

    def check(self) -> None:
        """Every setting in range before the MD starts (ConfigError naming the key)."""
        if self.format not in ("mala", "bundle"):
            raise ConfigError(f"format={self.format!r}: choose mala or bundle")
        if not isinstance(self.name_prefix, str) or not STUDY_NAME.match(self.name_prefix):
            raise ConfigError(f"name_prefix={self.name_prefix!r} must be a plain file name (letters, digits, '_', "
                              "'-', '.', '+'; no '/' and no leading '.'), e.g. name_prefix=Al_298K")
        for key, kind, low, strict in _NUMBERS:
            _check_number(key, self._value(key), kind, low, strict)
        if not 1 <= self.keep_bits <= 23:
            raise ConfigError(f"keep_bits={self.keep_bits} must be between 1 and 23 (float32 mantissa bits)")
        if self.qe.mixing_beta > 1:
            raise ConfigError(f"qe.mixing_beta={self.qe.mixing_beta} must be <= 1")
        for key, low, high in (("md.repeat", 1, None), ("qe.kpoints", 1, None), ("qe.kshift", 0, 1)):
            value = self._value(key)
            if (not isinstance(value, (list, tuple)) or len(value) != 3
                    or not all(_is_int(v) and v >= low and (high is None or v <= high) for v in value)):
                raise ConfigError(f"{key}={list(value) if isinstance(value, (list, tuple)) else value!r} must be "
                                  f"three whole numbers >= {low}" + (f" and <= {high}" if high is not None else ""))
        for key, symbols in (("md.element", [self.md.element]), ("md.basis_elements", list(self.md.basis_elements))):
            unknown = unknown_symbols(symbols)
            if unknown:
                raise ConfigError(f"{key}: {unknown[0]!r} is not a chemical element symbol (e.g. Al, Mg, Cu)")

    def _value(self, key: str) -> Any:
        obj: Any = self
        for part in key.split("."):
            obj = getattr(obj, part)
        return obj

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["descriptors"] = self.descriptors.to_dict()
        return d


def atoms_to_dict(atoms) -> dict[str, Any]:
    return {
        "symbols": list(atoms.get_chemical_symbols()),
        "positions": np.asarray(atoms.positions, dtype=float).tolist(),
        "cell": np.asarray(atoms.cell[:], dtype=float).tolist(),
        "pbc": [bool(p) for p in atoms.pbc],
    }


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for mod in ("numpy", "ase", "lammps"):
        try:
            m = __import__(mod)
            out[mod] = str(getattr(m, "__version__", "")) or "unknown"
        except Exception:  # pragma: no cover
            pass
    try:

        lmp = create_lammps()
        out["lammps"] = str(lmp.version())
        lmp.close()
    except Exception:  # pragma: no cover
        pass
    return out


def generate_snapshot(atoms, name: str, out_dir: Path, cfg: GenerateConfig) -> Path:
    """Compute one snapshot and write it into ``out_dir``; return the sidecar path.

    Raises:
        QEError: pw.x/pp.x failed (message quotes QE), or the result is inconsistent.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    timings: dict[str, float] = {}
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=out_dir))
    moved: list[Path] = []
    try:
        qe = cfg.qe
        work = tmp / "qe"
        work.mkdir()
        prefix = "snap"
        # pw.x SCF
        t0 = time.perf_counter()
        pw_in = write_pw_input(atoms, qe, temperature=cfg.temperature, prefix=prefix, outdir="./scratch")
        pw_text = run_qe(qe.pw_command, pw_in, work, qe, name="pw", pools=True)
        timings["pw_s"] = time.perf_counter() - t0
        parsed = parse_pw_output(pw_text)
        xml_path = work / "scratch" / f"{prefix}.save" / "data-file-schema.xml"
        xml = parse_pw_xml(xml_path)
        grid = xml["fft_grid"] or parsed["fft_grid"]
        if grid is None:
            raise QEError("could not read the FFT grid from pw.x output")
        n_electrons = qe.n_electrons(atoms.get_chemical_symbols())
        e_fermi = xml["fermi_energy"] if xml["fermi_energy"] is not None else parsed["fermi_energy"]
        # are there bands enough for the LDOS window?
        egrid = cfg.ldos.energy_grid
        top = float(xml["eigenvalues"][:, -1].min())
        needed = egrid.end + 10.0 * cfg.ldos.broadening
        if top < needed:
            raise QEError(
                f"the highest band reaches only {top:.2f} eV at some k-point; the LDOS window needs "
                f"states up to {needed:.2f} eV: raise qe.nbnd"
            )
        bottom = float(xml["eigenvalues"].min())
        if bottom - 3.0 * cfg.ldos.broadening < egrid.offset:
            log.warning("lowest eigenvalue %.2f eV is within 3 broadenings of the LDOS start %.2f eV",
                        bottom, egrid.offset)
        # pp.x LDOS
        t0 = time.perf_counter()
        cubes = tmp / f"{name}.ldos_cubes" if cfg.keep_cubes else None
        ldos = run_ldos(work, prefix=prefix, outdir="./scratch", ldos=cfg.ldos, qe=qe, expected_grid=grid,
                        keep_cubes=cubes, element=atoms.get_chemical_symbols()[0])
        timings["pp_s"] = time.perf_counter() - t0
        cell = np.asarray(atoms.cell[:], dtype=float)
        voxel = cell / np.asarray(grid, dtype=float)[:, None]
        vvol = abs(float(np.linalg.det(voxel)))
        n_ldos = electrons_from_ldos(ldos, egrid, voxel_volume=vvol, fermi_energy=e_fermi,
                                     temperature=cfg.temperature)
        rel = abs(n_ldos - n_electrons) / n_electrons
        if rel > cfg.electron_count_tolerance:
            raise QEError(
                f"LDOS integrates to {n_ldos:.3f} electrons instead of {n_electrons:g} "
                f"({100 * rel:.1f}% off): energy window, broadening or units are wrong"
            )
        # unit / grid check: the LDOS summed over the cell must equal the broadened eigenvalue DOS
        dos_ldos = ldos.reshape(-1, egrid.n).sum(axis=0, dtype=np.float64) * vvol
        dos_eig = dos_from_eigenvalues(egrid.values, xml["eigenvalues"], xml["weights"], cfg.ldos.broadening)
        big = dos_eig > 0.01 * dos_eig.max()
        dos_dev = float(np.max(np.abs(dos_ldos[big] - dos_eig[big]) / dos_eig[big]))
        if dos_dev > 0.01:
            raise QEError(
                f"sum of the LDOS over the cell differs from the eigenvalue DOS by {100 * dos_dev:.2f}%"
            )
        energies = parsed["energies"]
        info: dict[str, Any] = {
            "fermi_energy_dft": e_fermi,
            "temperature": float(cfg.temperature),
            "number_of_electrons_exact": float(n_electrons),
            "band_energy_dft_calculation": band_energy(xml),
            "total_energy_dft_calculation": energies["total"],
            "grid_dimensions": [int(n) for n in grid],
            "voxel": voxel.tolist(),
            "atoms": atoms_to_dict(atoms),
            "valence_charges": {s: float(qe.valence_charges[s]) for s in set(atoms.get_chemical_symbols())},
            "energy_grid": egrid.to_dict(),
            "qe_energy_terms": energies,
            "descriptors": cfg.descriptors.to_dict(),
            "number_of_electrons_from_ldos": n_ldos,
            "ldos_dos_max_relative_deviation": dos_dev,
            "provenance": {
                "generator": "surrogate_hpo.data.generate",
                "quantum_espresso": parsed["version"],
                "pseudopotentials": dict(qe.pseudopotentials),
                "xc": "LDA (Perdew-Zunger), from the pseudopotential",
                "ecutwfc_ry": qe.ecutwfc,
                "ecutrho_ry": qe.ecutrho or 4 * qe.ecutwfc,
                "kpoints": list(qe.kpoints),
                "kshift": list(qe.kshift),
                "n_irreducible_kpoints": xml["n_kpoints"],
                "nbnd": int(xml["eigenvalues"].shape[1]),
                "smearing": "fermi-dirac",
                "degauss_ry": fermi_dirac_degauss_ry(cfg.temperature),
                "conv_thr_ry": qe.conv_thr,
                "scf_iterations": parsed["scf_iterations"],
                "ldos": {"tool": "pp.x plot_num=3", "degauss_ldos_ev": cfg.ldos.broadening,
                         "kernel": "Fermi-Dirac derivative (pp.x uses the SCF smearing), width degauss_ldos",
                         "units": "1/(eV*Angstrom^3), converted from 1/(Ry*bohr^3)"},
                "md": {**dataclasses.asdict(cfg.md), "temperature": float(cfg.temperature),
                       "step": atoms.info.get("md_step"),
                       "kinetic_temperature": atoms.info.get("md_temperature")},
                "software": _versions(),
                "timings_s": timings,
            },
        }
        # outputs
        files: list[tuple[Path, Path]] = []
        if cubes is not None:
            files.append((cubes, out_dir / cubes.name))
        if cfg.format == "mala":
            t0 = time.perf_counter()
            desc = compute_bispectrum(atoms, grid, settings=cfg.descriptors)
            timings["descriptors_s"] = time.perf_counter() - t0
            np.save(tmp / f"{name}.in.npy", desc)
            np.save(tmp / f"{name}.out.npy", ldos)
            files += [(tmp / f"{name}.in.npy", out_dir / f"{name}.in.npy"),
                      (tmp / f"{name}.out.npy", out_dir / f"{name}.out.npy")]
        else:
            save_packed(tmp / f"{name}.ldos.npz", ldos, keep_bits=cfg.keep_bits)
            info["provenance"]["ldos_storage"] = {"file": f"{name}.ldos.npz", "keep_mantissa_bits": cfg.keep_bits}
            files.append((tmp / f"{name}.ldos.npz", out_dir / f"{name}.ldos.npz"))
        if cfg.keep_pw_output:
            shutil.copy(work / "pw.out", tmp / f"{name}.pw.out")
            files.append((tmp / f"{name}.pw.out", out_dir / f"{name}.pw.out"))
        timings["total_s"] = time.perf_counter() - t_start
        (tmp / f"{name}.info.json").write_text(json.dumps(info, indent=1) + "\n")
        files.append((tmp / f"{name}.info.json", out_dir / f"{name}.info.json"))  # last: completion marker
        for src, dst in files:
            if dst.is_dir():
                shutil.rmtree(dst)  # an earlier cube folder of this snapshot (overwrite)
            os.replace(src, dst)
            moved.append(dst)
        log.info("%s: %d electrons from LDOS %.3f, %.0f s", name, n_electrons, n_ldos, timings["total_s"])
        return out_dir / f"{name}.info.json"
    except BaseException:
        for p in moved:
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def preflight(cfg: GenerateConfig) -> None:
    """What the run will need, found before the MD starts (ConfigError naming the key):
    the QE programs, a pseudopotential file and a valence charge per element, and the
    interatomic potential."""
    qe = cfg.qe
    programs = [("qe.pw_command", qe.pw_command), ("qe.pp_command", qe.pp_command)]
    if qe.mpi_command:
        programs.append(("qe.mpi_command", shlex.split(qe.mpi_command)[0]))
    for key, exe in programs:
        if shutil.which(exe) is None and not Path(exe).expanduser().is_file():
            raise ConfigError(f"{key}: {exe!r} is not on PATH (Debian: apt-get install quantum-espresso; "
                              f"or set {key}=/path/to/{Path(exe).name})")
    elements = sorted(set(cfg.md.basis_elements or (cfg.md.element,)))
    for element in elements:
        try:
            qe.pseudopotential_file(element)
        except FileNotFoundError as e:
            raise ConfigError(f"qe.pseudopotentials.{element}: {e}") from None
        except ValueError as e:
            raise ConfigError(str(e)) from None
        if element not in qe.valence_charges:
            raise ConfigError(f"qe.valence_charges has no charge for {element}: add qe.valence_charges."
                              f"{element}=<electrons>")
    try:
        pair_coeff_arguments(cfg.md, len(elements))
    except (FileNotFoundError, ValueError) as e:
        raise ConfigError(f"md.potential / md.pair_coeff: {e}") from None


def generate_dataset(cfg: GenerateConfig) -> list[Path]:
    """MD, then one :func:`generate_snapshot` per frame; returns the sidecar paths."""
    preflight(cfg)
    out_dir = Path(cfg.output_dir).expanduser().resolve()
    md = dataclasses.replace(cfg.md, temperature=cfg.temperature)
    frames = thermal_snapshots(cfg.first_index + cfg.n_snapshots, md)[cfg.first_index:]
    paths = []
    for i, atoms in enumerate(frames, start=cfg.first_index):
        name = f"{cfg.name_prefix}_{i:03d}"
        target = out_dir / f"{name}.info.json"
        if target.exists() and not cfg.overwrite:
            log.info("%s exists, skipping", name)
            paths.append(target)
            continue
        log.info("snapshot %s (%d/%d)", name, i + 1 - cfg.first_index, cfg.n_snapshots)
        paths.append(generate_snapshot(atoms, name, out_dir, cfg))
    return paths
