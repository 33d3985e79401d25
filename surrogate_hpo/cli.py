"""Hydra entry point ``surrogate-hpo``: compose the config, run the study, print the summary."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import MissingMandatoryValue

CONF_DIR = str(Path(__file__).resolve().parent.parent / "conf")


@hydra.main(config_path=CONF_DIR, config_name="config", version_base="1.3")
def main(cfg: DictConfig) -> float:
    """Run one study; return the mean test band-energy MAE (meV/atom) for Hydra sweeps."""
    from .data import DataError
    from .experiment import run_study
    from .study.errors import ConfigError
    from .study.tune_run import StageInterrupted

    try:
        plain = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
        summary = run_study(plain, Path(HydraConfig.get().runtime.output_dir))
    except MissingMandatoryValue as e:
        print(f"surrogate-hpo: config error: {e.full_key} is required (add {e.full_key}=... to the command)",
              file=sys.stderr)
        sys.exit(2)
    except (ConfigError, DataError) as e:
        print(f"surrogate-hpo: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(2)
    except StageInterrupted as e:
        print(f"surrogate-hpo: interrupted: {e}", file=sys.stderr)
        sys.exit(130)
    value = summary.get("objective")
    if value is None and "final_evaluation" in summary:
        value = summary["final_evaluation"]["test_band_energy_mae_mev_per_atom"]["mean"]
    return float(value) if value is not None else math.nan


if __name__ == "__main__":
    main()
