"""``surrogate-hpo-generate``: Hydra entry point of the DFT data generator.

Examples::

    surrogate-hpo-generate n_snapshots=20 output_dir=data/al_298K
    surrogate-hpo-generate --config-name=sample          # the bundled data's settings
    surrogate-hpo-generate qe.kpoints=[8,8,8] ldos.spacing=0.1 ldos.n=170
"""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from ..data.generate.pipeline import GenerateConfig, generate_dataset
from ..errors import ConfigError, SurrogateHpoError
from ..util.folders import why_not_writable
from . import CONF_DIR
from ._errors import argv_value, refuse_unwritable, run_hydra, user_errors

log = logging.getLogger(__name__)


def run(cfg: DictConfig) -> list[Path]:
    """Run the generator for a composed config; returns the sidecar paths."""
    settings = GenerateConfig.from_mapping(OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True))
    problem = why_not_writable(settings.output_dir)
    if problem:
        raise ConfigError(f"output_dir={settings.output_dir}: {problem}; choose a folder you can write")
    paths = generate_dataset(settings)
    log.info("wrote %d snapshots to %s", len(paths), Path(settings.output_dir).resolve())
    return paths


@hydra.main(config_path=str(CONF_DIR / "generate"), config_name="config", version_base="1.3")
def _task(cfg: DictConfig) -> None:
    with user_errors("surrogate-hpo-generate", (SurrogateHpoError,)):
        try:
            paths = run(cfg)
        except ConfigError:
            _remove_log_folder()  # a refused config leaves nothing behind
            raise
        for p in paths:
            print(p)


def _remove_log_folder() -> None:
    """Remove the log folder Hydra made for this run, and the folders above it it left empty."""
    from hydra.core.hydra_config import HydraConfig

    logging.shutdown()
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    shutil.rmtree(run_dir, ignore_errors=True)
    for folder in (run_dir.parent, run_dir.parent.parent):  # .logs, then output_dir, if empty now
        try:
            folder.rmdir()
        except OSError:
            break


def main() -> None:
    """Console script: exit 2 with one line on a config error (Hydra's included)."""
    folder = argv_value(sys.argv[1:], "output_dir", "")
    if folder:
        refuse_unwritable("surrogate-hpo-generate", "output_dir", folder)
    run_hydra(_task)


if __name__ == "__main__":
    main()
