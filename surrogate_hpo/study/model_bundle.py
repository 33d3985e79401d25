"""What a study puts in its model bundle besides the network (``inference.bundle``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..descriptors.bispectrum import BispectrumSettings
from .context import StudyContext

__all__ = ["bundle_metadata", "descriptor_settings"]


def descriptor_settings(study: StudyContext, chosen: dict[str, Any] | None) -> dict[str, Any] | None:
    """The bispectrum settings of the training inputs: the method's choice (acsd, workflow),
    else ``data.descriptors``, else the sidecars' when every snapshot records the same."""
    if chosen:
        return BispectrumSettings.from_dict(chosen).to_dict()
    if study.config.data.descriptors:
        return BispectrumSettings.from_dict(study.config.data.descriptors).to_dict()
    recorded = [s.info.get("descriptors") for s in study.snapshots.all]
    if recorded and all(isinstance(d, dict) and d == recorded[0] for d in recorded):
        return BispectrumSettings.from_dict(recorded[0]).to_dict()
    return None


def bundle_metadata(study: StudyContext, descriptors: dict[str, Any] | None) -> dict[str, Any]:
    """Physics and provenance of the training data: energy grid (eV), temperature (K),
    species, valence charges (e), grid spacing (Å per step along each cell vector)."""
    data = study.require_data()
    snaps = study.snapshots
    train = snaps.train
    species = sorted({e for s in snaps.all if s.atoms is not None for e in s.atoms.get_chemical_symbols()})
    valence: dict[str, float] = {}
    for s in snaps.all:
        valence.update({k: float(v) for k, v in s.valence_charges.items()})
    spacing = np.mean([np.linalg.norm(np.asarray(s.voxel, dtype=float), axis=1) for s in train], axis=0)
    electrons_per_atom = None
    if train and train[0].atoms is not None and len(species) == 1:
        electrons_per_atom = float(train[0].n_electrons) / len(train[0].atoms)
    if descriptors is not None and species:
        descriptors = {**descriptors, "species": descriptors.get("species") or species}
    return {
        "energy_grid": data.energy_grid.to_dict(),
        "temperature": float(train[0].temperature),
        "species": species,
        "valence_charges": valence,
        "electrons_per_atom": electrons_per_atom,
        "grid_spacing": [float(h) for h in spacing],
        "descriptors": descriptors,
        "training_data": {"path": str(snaps.directory), "fingerprint": snaps.fingerprint(),
                          "metadata_fingerprint": snaps.metadata_fingerprint(),
                          "train": snaps.names("train"), "validation": snaps.names("validation"),
                          "test": snaps.names("test")},
        "study": {"dir": str(study.study_dir), "name": study.config.study_name},
    }
