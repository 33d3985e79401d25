"""The model bundle ``<study>/model/``: a trained network and everything needed to use it.

``bundle.json`` holds the metadata (architecture, scalers, descriptor settings, energy grid
(eV), temperature (K), valence charges (e), grid spacing (Å), provenance, errors
(meV/atom)); ``weights.npz`` the network's parameters as plain arrays. Neither file is a
pickle: reading a bundle runs no code from it.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..errors import SurrogateHpoError
from ..util.atomic import atomic_open, read_json, write_json
from ..util.json_safe import json_safe

__all__ = ["BUNDLE_FORMAT", "BUNDLE_VERSION", "METADATA", "WEIGHTS", "BundleError", "read_bundle", "write_bundle"]

BUNDLE_FORMAT = "surrogate_hpo.model"
#: the bundle layout this version writes and reads; another major version is refused
BUNDLE_VERSION = 1
METADATA = "bundle.json"
WEIGHTS = "weights.npz"
#: keys every bundle.json has
REQUIRED = ("format", "version", "architecture", "n_in", "n_out", "x_scaler", "y_scaler", "energy_grid",
            "temperature", "descriptors", "species", "valence_charges", "grid_spacing")


class BundleError(SurrogateHpoError):
    """A model bundle that cannot be used: missing, incomplete or from an incompatible version."""


def write_bundle(folder: Path, state_dict: dict[str, Any], metadata: dict[str, Any]) -> Path:
    """Write ``weights.npz`` and ``bundle.json`` (last: its presence marks a complete bundle)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {k: np.asarray(v.detach().cpu().numpy() if hasattr(v, "detach") else v) for k, v in state_dict.items()}
    with atomic_open(folder / WEIGHTS) as fh:
        np.savez(fh, **arrays)
    meta = {"format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, "package_version": __version__,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), **metadata}
    write_json(folder / METADATA, json_safe(meta))
    return folder


def read_bundle(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray], Path]:
    """``(metadata, weights, folder)`` of the bundle at ``path`` (the folder or a file in it)."""
    folder = Path(path).expanduser()
    if folder.name == METADATA or (folder.is_file() and (folder.parent / METADATA).is_file()):
        folder = folder.parent
    meta_path, weights_path = folder / METADATA, folder / WEIGHTS
    if not folder.is_dir():
        raise BundleError(f"{folder}: no such model bundle folder (a study writes one as <study>/model)")
    if not meta_path.is_file():
        raise BundleError(f"{folder}: {METADATA} is missing; this is not a complete model bundle (a study writes "
                          "one as <study>/model when its final evaluation ends)")
    try:
        meta = read_json(meta_path)
    except ValueError as e:
        raise BundleError(f"{meta_path}: not readable JSON ({e})") from e
    if not isinstance(meta, dict) or meta.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{meta_path}: not a surrogate_hpo model bundle (format {meta.get('format')!r}, "
                          f"expected {BUNDLE_FORMAT!r})" if isinstance(meta, dict) else f"{meta_path}: not a bundle")
    if meta.get("version") != BUNDLE_VERSION:
        raise BundleError(f"{folder}: bundle version {meta.get('version')!r} was written by surrogate_hpo "
                          f"{meta.get('package_version', '?')}; this surrogate_hpo ({__version__}) reads version "
                          f"{BUNDLE_VERSION}. Use that version of surrogate_hpo, or train the model again with this one")
    missing = [k for k in REQUIRED if k not in meta]
    if missing:
        raise BundleError(f"{meta_path}: incomplete bundle, keys {missing} are missing")
    if not weights_path.is_file():
        raise BundleError(f"{folder}: {WEIGHTS} is missing (the network's weights); copy the whole model folder")
    try:
        with np.load(weights_path, allow_pickle=False) as z:
            weights = {k: np.array(z[k]) for k in z.files}
    except (OSError, ValueError) as e:
        raise BundleError(f"{weights_path}: not readable ({e})") from e
    return meta, weights, folder
