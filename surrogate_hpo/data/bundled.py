"""The bundled sample data (fcc Al at 298 K) as plain MALA files.

The package ships only the LDOS (packed, see :mod:`surrogate_hpo.data.generate.pack`)
and the sidecars with the atoms.  :func:`sample_directory` writes ``<name>.in.npy``
(bispectrum descriptors recomputed with LAMMPS), ``<name>.out.npy`` (float32 LDOS) and
``<name>.info.json`` into a cache folder, once; a stamp keyed by the bundled files'
content hash and the descriptor settings makes stale caches rebuild.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterator

import numpy as np

from ..descriptors.bispectrum import BispectrumSettings, compute_bispectrum
from .generate.pack import load_packed
from .sidecar import atoms_from_dict

__all__ = ["BUNDLED_DIR", "bundled_names", "default_cache_dir", "sample_directory"]

BUNDLED_DIR = Path(__file__).resolve().parent / "sample"
_STAMP = ".surrogate_hpo_stamp.json"
_FORMAT_VERSION = 1


def bundled_names(bundled_dir: Path = BUNDLED_DIR) -> list[str]:
    """Names of the bundled snapshots (those with both a sidecar and a packed LDOS)."""
    names = sorted(p.name[: -len(".info.json")] for p in Path(bundled_dir).glob("*.info.json"))
    return [n for n in names if (Path(bundled_dir) / f"{n}.ldos.npz").is_file()]


def default_cache_dir() -> Path:
    """``$SURROGATE_HPO_CACHE/sample`` if that variable is set, else ``~/.cache/surrogate_hpo/sample``."""
    root = os.environ.get("SURROGATE_HPO_CACHE")
    if root:
        return Path(root).expanduser() / "sample"
    return Path.home() / ".cache" / "surrogate_hpo" / "sample"


def _content_hash(bundled_dir: Path, names: list[str]) -> str:
    h = hashlib.sha256()
    for n in names:
        for suffix in (".info.json", ".ldos.npz"):
            p = bundled_dir / f"{n}{suffix}"
            h.update(p.name.encode())
            with open(p, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _read_stamp(cache_dir: Path) -> dict | None:
    try:
        return json.loads((cache_dir / _STAMP).read_text())
    except (OSError, ValueError):
        return None


def sample_directory(
    cache_dir: Path | None = None,
    *,
    rcutfac: float | None = None,
    twojmax: int | None = None,
    bundled_dir: Path | None = None,
) -> Path:
    """Folder with the bundled snapshots as MALA files; built on first use.

    Args:
        cache_dir: where to write them (default :func:`default_cache_dir`).
        rcutfac, twojmax: descriptor settings; default: those recorded in the sidecars
            (MALA's Al defaults, 4.67637 Å and 10).
        bundled_dir: source folder (default: the package's ``data/sample``).

    Returns:
        ``cache_dir``, holding ``<name>.in.npy`` (float32 ``(nx,ny,nz,3+F)``),
        ``<name>.out.npy`` (float32 ``(nx,ny,nz,nE)``, 1/(eV·Å³)) and ``<name>.info.json``.

    Building is atomic (temporary folder, then rename) and guarded by a file lock, so
    concurrent callers (e.g. Ray workers) build it once.
    """

    src = Path(bundled_dir) if bundled_dir is not None else BUNDLED_DIR
    names = bundled_names(src)
    if not names:
        raise FileNotFoundError(f"no bundled snapshots (<name>.info.json + <name>.ldos.npz) in {src}")
    cache_dir = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    cache_dir = cache_dir.resolve()

    infos = {n: json.loads((src / f"{n}.info.json").read_text()) for n in names}
    base = BispectrumSettings.from_dict(infos[names[0]].get("descriptors", {}))
    settings = _override(base, rcutfac, twojmax)
    stamp = {
        "format_version": _FORMAT_VERSION,
        "content_sha256": _content_hash(src, names),
        "descriptors": settings.to_dict(),
        "names": names,
    }
    if _read_stamp(cache_dir) == stamp:
        return cache_dir

    with _lock(cache_dir.parent / f".{cache_dir.name}.lock"):
        if _read_stamp(cache_dir) == stamp:  # built by someone else meanwhile
            return cache_dir
        tmp = Path(tempfile.mkdtemp(prefix=f".{cache_dir.name}.build-", dir=cache_dir.parent))
        started = time.perf_counter()
        try:
            for i, n in enumerate(names):
                print(f"[data] bundled sample, first use: bispectrum descriptors (LAMMPS, twojmax={settings.twojmax}, "
                      f"rcutfac={settings.rcutfac:g} Å) of snapshot {i + 1}/{len(names)} ({n}) | "
                      f"{time.perf_counter() - started:.0f} s", flush=True)
                info = dict(infos[n])
                ldos = load_packed(src / f"{n}.ldos.npz").astype(np.float32, copy=False)
                grid = tuple(int(g) for g in info["grid_dimensions"])
                if ldos.shape[:3] != grid:
                    raise ValueError(f"{n}: LDOS grid {ldos.shape[:3]} != grid_dimensions {grid}")
                atoms = atoms_from_dict(info["atoms"])
                desc = compute_bispectrum(atoms, grid, settings=settings)
                np.save(tmp / f"{n}.in.npy", desc)
                np.save(tmp / f"{n}.out.npy", ldos)
                info["descriptors"] = settings.to_dict()
                (tmp / f"{n}.info.json").write_text(json.dumps(info, indent=1) + "\n")
            (tmp / _STAMP).write_text(json.dumps(stamp, indent=1) + "\n")
            old = None
            if cache_dir.exists():
                old = cache_dir.parent / f".{cache_dir.name}.old-{os.getpid()}"
                os.replace(cache_dir, old)
            os.replace(tmp, cache_dir)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return cache_dir


def _override(base, rcutfac, twojmax):
    import dataclasses

    changes = {}
    if rcutfac is not None:
        changes["rcutfac"] = float(rcutfac)
    if twojmax is not None:
        changes["twojmax"] = int(twojmax)
    return dataclasses.replace(base, **changes)
