"""The data layer's error, and the config keys that supply missing metadata."""

from __future__ import annotations

from ..errors import DataError

__all__ = ["DataError", "OVERRIDE_KEYS"]

#: Config override that supplies each piece of metadata when neither the
#: ``<name>.info.json`` sidecar nor the Quantum ESPRESSO output has it (each works pasted
#: after ``surrogate-hpo``).
OVERRIDE_KEYS: dict[str, str] = {
    "energy_grid.offset": "data.energy_grid.offset=<eV>",
    "energy_grid.spacing": "data.energy_grid.spacing=<eV>",
    "energy_grid.n": "data.energy_grid.n=<count>",
    "temperature": "data.temperature=<K>",
    "n_electrons": "data.n_electrons=<count>",
    "voxel": "'data.voxel=[[ax,ay,az],[bx,by,bz],[cx,cy,cz]]' (Å, one grid step per row)",
}
