"""``surrogate-hpo-generate``: Hydra entry point of the DFT data generator.

Examples::

    surrogate-hpo-generate n_snapshots=20 output_dir=data/al_298K
    surrogate-hpo-generate --config-name=sample          # the bundled data's settings
    surrogate-hpo-generate qe.kpoints=[8,8,8] ldos.spacing=0.1 ldos.n=170
"""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from ..data.generate.pipeline import GenerateConfig, generate_dataset
from . import CONF_DIR

log = logging.getLogger(__name__)


def run(cfg: DictConfig) -> list[Path]:
    """Run the generator for a composed config; returns the sidecar paths."""
    settings = GenerateConfig.from_mapping(OmegaConf.to_container(cfg, resolve=True))
    paths = generate_dataset(settings)
    log.info("wrote %d snapshots to %s", len(paths), Path(settings.output_dir).resolve())
    return paths


@hydra.main(config_path=str(CONF_DIR / "generate"), config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> None:
    for p in run(cfg):
        print(p)


if __name__ == "__main__":
    main()
