"""Hydra entry points: ``surrogate-hpo`` (:mod:`.study`), ``surrogate-hpo-generate``
(:mod:`.generate`), ``surrogate-hpo-shards`` (:mod:`.shards`). Configs live in
``surrogate_hpo/conf`` and are found through the package, so an installed wheel works."""

from pathlib import Path

CONF_DIR = Path(__file__).resolve().parent.parent / "conf"

__all__ = ["CONF_DIR"]
