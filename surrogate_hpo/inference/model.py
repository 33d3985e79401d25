"""A loaded model bundle: the network with its scalers, descriptor settings and physics."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.scalers import Scaler
from ..descriptors.bispectrum import BispectrumSettings, compute_bispectrum
from ..model import Architecture
from ..physics.energy_grid import EnergyGrid, as_energy_grid
from ..util.chunks import row_slices
from .bundle import BundleError, read_bundle

__all__ = ["SurrogateModel", "load_model", "resolve_device"]


def _count(value: Any) -> int:
    """A positive whole number (JSON may hold 1e999 or NaN)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{value!r} is not a positive whole number")
    return value


def _positive(value: Any) -> float:
    """A positive finite number."""
    v = float(value)
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{value!r} is not a positive finite number")
    return v


def _finite_scaler(d: Any) -> Scaler:
    scaler = Scaler.from_dict(d)
    for k in ("mean", "m2", "min", "max"):
        if not np.all(np.isfinite(np.asarray(getattr(scaler, k, 0.0), dtype=float))):
            raise ValueError(f"its {k} holds NaN or inf")
    return scaler


def resolve_device(device: str) -> torch.device:
    """``auto``: the first GPU when torch sees one, else the CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BundleError(f"device={device} but torch sees no GPU here; use device=cpu or device=auto")
    return torch.device(device)


class SurrogateModel:
    """The network of a bundle and what it was trained on.

    Attributes:
        metadata: the bundle's ``bundle.json``.
        architecture: the hidden layers.  n_in: descriptors per point (F).  n_out: energies (nE).
        energy_grid: the LDOS energies (eV).  temperature: electronic temperature (K).
        species: elements the model was trained on.  valence_charges: e per species.
        descriptor_settings: the bispectrum settings of its inputs (None if unknown).
        grid_spacing: Å per grid step along each cell vector of the training data.
    """

    def __init__(self, metadata: dict[str, Any], weights: dict[str, np.ndarray], folder: Path) -> None:
        self.metadata, self.folder = metadata, folder
        where = folder / "bundle.json"
        key = "architecture"
        try:
            self.architecture = Architecture.from_dict(metadata["architecture"])
            key = "n_in/n_out"
            self.n_in, self.n_out = _count(metadata["n_in"]), _count(metadata["n_out"])
            key = "architecture"
            stored = sum(int(np.asarray(v).size) for v in weights.values())
            if self.architecture.n_parameters(self.n_in, self.n_out) != stored:
                raise ValueError(f"it gives {self.architecture.n_parameters(self.n_in, self.n_out)} parameters, "
                                 f"weights.npz holds {stored}")
            self.network = self.architecture.build(self.n_in, self.n_out)
            self.network.load_state_dict({k: torch.as_tensor(v) for k, v in weights.items()})
            key = "x_scaler/y_scaler"
            self.x_scaler = _finite_scaler(metadata["x_scaler"])
            self.y_scaler = _finite_scaler(metadata["y_scaler"])
            key = "energy_grid"
            self.energy_grid: EnergyGrid = as_energy_grid(metadata["energy_grid"])
            key = "temperature"
            self.temperature = _positive(metadata["temperature"])
            key = "species"
            self.species = [str(e) for e in metadata["species"]]
            key = "valence_charges"
            self.valence_charges = {str(k): _positive(v) for k, v in (metadata.get("valence_charges") or {}).items()}
            key = "grid_spacing"
            self.grid_spacing = [_positive(h) for h in metadata["grid_spacing"]]
            if len(self.grid_spacing) != 3:
                raise ValueError("three spacings (Å) are needed")
            key = "descriptors"
            d = metadata.get("descriptors")
            self.descriptor_settings = None if d is None else BispectrumSettings.from_dict(
                {**d, "species": d.get("species") or self.species})
        except (KeyError, TypeError, ValueError, OverflowError, RuntimeError, AttributeError) as e:
            raise BundleError(f"{where}: {key} is not valid ({type(e).__name__}: {e}); this bundle was not written "
                              "by a study as it is now: use the study's own model folder") from None
        self.network.eval()
        if self.energy_grid.n != self.n_out:
            raise BundleError(f"{folder}: the energy grid has {self.energy_grid.n} energies, the network {self.n_out}")

    # ------------------------------------------------------------------ structures
    def check_species(self, symbols: Sequence[str], where: str = "the structure") -> None:
        """BundleError for a species the model was not trained on."""
        unknown = sorted(set(symbols) - set(self.species))
        if unknown:
            raise BundleError(f"{where} holds {unknown}; the model was trained on {self.species} only and cannot "
                              "predict other elements")

    def default_grid(self, atoms: Any) -> tuple[int, int, int]:
        """Grid points along each cell vector at the training data's spacing (Å)."""
        lengths = np.linalg.norm(np.asarray(atoms.cell[:], dtype=float), axis=1)
        return tuple(max(1, int(round(L / h))) for L, h in zip(lengths, self.grid_spacing))  # type: ignore[return-value]

    def n_electrons(self, atoms: Any) -> float:
        """Valence electrons of ``atoms`` from the bundle's valence charges."""
        symbols = atoms.get_chemical_symbols()
        missing = sorted(set(symbols) - set(self.valence_charges))
        if missing:
            raise BundleError(f"the bundle has no valence charge for {missing}; the Fermi level needs the electron "
                              "count (train on data whose sidecars or QE outputs give valence charges)")
        return float(sum(self.valence_charges[s] for s in symbols))

    def descriptors(self, atoms: Any, grid: Sequence[int], planes: tuple[int, int] | None = None) -> np.ndarray:
        """Descriptors ``(nx, ny, nz, F)`` (float32) of ``atoms`` with the bundle's settings
        (LAMMPS); with ``planes=(k0, k1)`` only those planes of the third grid axis."""
        self.check_species(atoms.get_chemical_symbols())
        if self.descriptor_settings is None:
            raise BundleError("the bundle does not record its descriptor settings (the training data's sidecars "
                              "had none), so it cannot compute descriptors for a new structure; give a MALA "
                              "snapshot with its .in.npy instead")
        x = compute_bispectrum(atoms, grid, settings=self.descriptor_settings, dtype=np.float32, planes=planes)[..., 3:]
        if x.shape[-1] != self.n_in:
            raise BundleError(f"the descriptor settings give {x.shape[-1]} components, the network takes {self.n_in}")
        return x

    # ------------------------------------------------------------------ the network
    def iter_ldos(self, descriptors: np.ndarray, *, batch_points: int = 65536, device: str = "auto"
                  ) -> Iterator[tuple[slice, np.ndarray]]:
        """``(rows, LDOS)`` batches: the LDOS in 1/(eV·Å³) of ``batch_points`` grid points at a time."""
        x = np.asarray(descriptors).reshape(-1, descriptors.shape[-1])
        if x.shape[1] != self.n_in:
            raise BundleError(f"the descriptors have {x.shape[1]} components per point, the network takes {self.n_in}")
        dev = resolve_device(device)
        self.network.to(dev)
        with torch.no_grad():
            for rows in row_slices(x.shape[0], batch_points):
                scaled = np.asarray(self.x_scaler.transform(np.asarray(x[rows], dtype=np.float32)), dtype=np.float32)
                out = self.network(torch.as_tensor(scaled, device=dev)).float().cpu().numpy()
                yield rows, np.asarray(self.y_scaler.inverse_transform(out), dtype=np.float32)

    def predict_ldos(self, descriptors: np.ndarray, *, batch_points: int = 65536, device: str = "auto") -> np.ndarray:
        """The LDOS ``(..., nE)`` (1/(eV·Å³)) of descriptors ``(..., F)``, in memory."""
        out = np.empty((int(np.prod(descriptors.shape[:-1])), self.n_out), dtype=np.float32)
        for rows, ldos in self.iter_ldos(descriptors, batch_points=batch_points, device=device):
            out[rows] = ldos
        return out.reshape(*descriptors.shape[:-1], self.n_out)

    def __repr__(self) -> str:
        return (f"SurrogateModel({self.folder}, {self.n_in} -> {self.architecture.describe()} -> {self.n_out}, "
                f"species {self.species}, T={self.temperature:g} K)")


def load_model(path: str | Path) -> SurrogateModel:
    """The model bundle at ``path`` (``<study>/model``), checked and ready to predict."""
    metadata, weights, folder = read_bundle(path)
    return SurrogateModel(metadata, weights, folder)
