"""DFT training data: LAMMPS MD snapshots -> Quantum ESPRESSO SCF -> pp.x LDOS -> descriptors.

Modules: :mod:`.md` (thermal snapshots, EAM), :mod:`.qe` (pw.x input/run/parse),
:mod:`.ldos` (pp.x, cubes, units), :mod:`.pack` (compact LDOS storage of the bundled
data), :mod:`.pipeline` (one snapshot / a data set, atomic writes), :mod:`.cli`
(``surrogate-hpo-generate``, Hydra, ``conf/generate``).
"""

from .pipeline import GenerateConfig, generate_dataset, generate_snapshot

__all__ = ["GenerateConfig", "generate_dataset", "generate_snapshot"]
