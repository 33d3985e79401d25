"""Snapshots with new descriptors: compute a bispectrum setting for every snapshot, cached,
and write them as a MALA folder (``<name>.in.npy`` + ``.out.npy`` + ``.info.json``)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..descriptors.bispectrum import BispectrumSettings
from ..descriptors.cache import cached_bispectrum
from ..util.atomic import atomic_open, replace_dir, temporary_path
from ..util.json_safe import json_safe
from .errors import DataError
from .snapshot import Snapshot

__all__ = ["default_cache_dir", "write_descriptor_set"]


def default_cache_dir(setting: str | None = None) -> Path:
    """The descriptor cache: ``setting``, else ``$SURROGATE_HPO_CACHE/descriptors``, else
    ``~/.cache/surrogate_hpo/descriptors``."""
    if setting:
        return Path(setting).expanduser().resolve()
    root = os.environ.get("SURROGATE_HPO_CACHE")
    base = Path(root).expanduser() if root else Path.home() / ".cache" / "surrogate_hpo"
    return (base / "descriptors").resolve()


def write_descriptor_set(snapshots: Sequence[Snapshot], settings: BispectrumSettings, out_dir: Path, *,
                         cache_dir: Path, log: Callable[[str], None] = print) -> Path:
    """Every snapshot with ``settings`` descriptors (LAMMPS, cached) as a new MALA folder."""
    tmp = temporary_path(out_dir)
    tmp.mkdir(parents=True)
    try:
        for i, s in enumerate(snapshots, 1):
            if s.atoms is None:
                raise DataError(f"snapshot {s.name}: no atoms to compute descriptors from")
            log(f"[descriptors] {i}/{len(snapshots)} {s.name}: rcutfac {settings.rcutfac:g} Å, "
                f"twojmax {settings.twojmax}")
            desc = cached_bispectrum(s.atoms, s.grid_shape, rcutfac=settings.rcutfac, twojmax=settings.twojmax,
                                     settings=settings, cache_dir=cache_dir)
            with atomic_open(tmp / f"{s.name}.in.npy") as fh:
                np.save(fh, desc)
            with atomic_open(tmp / f"{s.name}.out.npy") as fh:
                np.save(fh, np.asarray(s.ldos, dtype=np.float32))
            info = dict(s.info)
            info.update({"descriptors": settings.to_dict(), "energy_grid": s.energy_grid.to_dict(),
                         "temperature": s.temperature, "number_of_electrons_exact": s.n_electrons,
                         "voxel": np.asarray(s.voxel).tolist(), "grid_dimensions": list(s.grid_shape)})
            if s.valence_charges:
                info["valence_charges"] = dict(s.valence_charges)
            with atomic_open(tmp / f"{s.name}.info.json") as fh:
                fh.write((json.dumps(json_safe(info), indent=1) + "\n").encode())
        return replace_dir(tmp, Path(out_dir))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
