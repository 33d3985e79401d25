"""``surrogate-hpo-shards``: Hydra entry point converting MALA snapshots to Parquet shards.

Examples::

    surrogate-hpo-shards source=/data/al_298K output=/data/al_298K_shards
    surrogate-hpo-shards source=/data/al_298K output=shards test=[Al_298K_007] overwrite=true

Prints the shard folder and one line per split; exits with status 2 and a one-line
message on a config or data error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from ..data.errors import OVERRIDE_KEYS, DataError
from ..data.shards import check_outside, read_manifest, write_shards
from ..errors import SurrogateHpoError
from . import CONF_DIR
from ._errors import (
    argv_value,
    exit_config_error,
    refuse_unwritable,
    run_hydra,
    user_errors,
)


def _names(value: Any) -> list[str] | None:
    return None if value is None else [str(v) for v in value]


def run(cfg: DictConfig | dict) -> Path:
    """Write the shards for a composed config; return the shard folder."""

    c = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True) if isinstance(cfg, DictConfig) else dict(cfg)
    c.pop("hydra", None)
    if c.get("source") in (None, "", "???"):
        raise DataError("source is required: add source=/folder/of/MALA/snapshots")
    grid = {k: v for k, v in dict(c.get("energy_grid") or {}).items() if v is not None}
    load = {k: c.get(k) for k in ("temperature", "n_electrons", "voxel") if c.get(k) is not None}
    try:
        out = write_shards(
            Path(str(c["source"])).expanduser(), Path(str(c.get("output") or "shards")).expanduser(),
            **{k: c[k] for k in ("rows_per_shard", "row_group_rows", "compression") if k in c},
            input_scaling=str(c.get("input_scaling", "feature-wise-standard")),
            output_scaling=str(c.get("output_scaling", "minmax")),
            train=_names(c.get("train")), validation=_names(c.get("validation")), test=_names(c.get("test")),
            overwrite=bool(c.get("overwrite", False)),
            **({"energy_grid": grid} if grid else {}), **load,
        )
    except DataError as e:  # the study's hints name data.<key>; this command's keys are <key>
        raise DataError(_without_data_prefix(str(e))) from None
    m = read_manifest(out)
    print(f"shards written to {out.resolve()} (F={m.n_features}, nE={m.n_energies}; scalers fitted on train)")
    for split in m.raw["splits"]:
        print(f"  {split:<11}{len(m.names(split)):>4} snapshots {m.n_rows(split):>12} rows "
              f"{len(m.files(split)):>6} shards  {m.split_dir(split)}")
    return out


def _without_data_prefix(message: str) -> str:
    """``message`` with each metadata override hint written as this command's key."""
    for hint in OVERRIDE_KEYS.values():
        message = message.replace(hint, hint.replace("data.", "", 1))
    return message


@hydra.main(config_path=str(CONF_DIR / "shards"), config_name="config", version_base="1.3")
def _task(cfg: DictConfig) -> None:
    with user_errors("surrogate-hpo-shards", (SurrogateHpoError,)):
        run(cfg)


def main() -> None:
    """Console script: exit 2 with one line on a config or data error (Hydra's included)."""
    output = argv_value(sys.argv[1:], "output", "shards")
    refuse_unwritable("surrogate-hpo-shards", "output", output)
    source = argv_value(sys.argv[1:], "source", "")
    if source:  # before Hydra makes its log folder in output
        try:
            check_outside(Path(source), Path(output))
        except DataError as e:
            exit_config_error("surrogate-hpo-shards", str(e))
    run_hydra(_task)


if __name__ == "__main__":
    main()
