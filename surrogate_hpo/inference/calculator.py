"""An ASE calculator backed by a model bundle: the total free energy (eV) of a structure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ase.calculators.calculator import Calculator, all_changes

from .model import SurrogateModel, load_model
from .prediction import Prediction, StructureInput, predict_structure

__all__ = ["SurrogateCalculator"]


class SurrogateCalculator(Calculator):
    """``atoms.calc = SurrogateCalculator("<study>/model"); atoms.get_potential_energy()``.

    ``energy`` and ``free_energy`` are both the total (Mermin) free energy ``A`` in eV from the
    predicted LDOS at the model's temperature (LDA, norm-conserving pseudopotentials, as the
    training data). No forces or stress: the model predicts the LDOS, not its derivatives.
    The last :class:`Prediction` (LDOS, Fermi level, band energy) is ``calc.prediction``.
    """

    implemented_properties = ["energy", "free_energy"]

    def __init__(self, model: SurrogateModel | str | Path, *, grid: tuple[int, int, int] | None = None,
                 device: str = "auto", batch_points: int = 65536, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model = model if isinstance(model, SurrogateModel) else load_model(model)
        self.grid, self.device, self.batch_points = grid, device, batch_points
        self.prediction: Prediction | None = None

    def calculate(self, atoms: Any = None, properties: Any = ("energy",), system_changes: Any = all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        structure = StructureInput(name=self.atoms.get_chemical_formula(), atoms=self.atoms.copy())
        self.prediction = predict_structure(self.model, structure, grid=self.grid, device=self.device,
                                            batch_points=self.batch_points, log=lambda _: None)
        energy = self.prediction.energies.get("total_free_energy")
        if energy is None:
            raise RuntimeError(f"no total free energy: {self.prediction.energies.get('total_free_energy_missing')}")
        self.results = {"energy": float(energy), "free_energy": float(energy)}
