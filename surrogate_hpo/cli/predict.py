"""``surrogate-hpo-predict``: the LDOS and energies of a structure from a model bundle.

Exit codes: 0 done, 2 a bad bundle, structure or setting (one line on stderr, nothing written).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

import hydra
from omegaconf import DictConfig

from ..util.folders import why_not_writable
from . import CONF_DIR
from ._errors import refuse_unknown_keys, run_hydra, user_errors

DEVICE = re.compile(r"cuda:\d+")


def run(cfg: DictConfig) -> dict:
    """Predict for the composed config; returns what ``prediction.json`` holds."""
    from ..inference import (
        describe_prediction,
        load_model,
        predict_structure,
        read_structure,
    )
    from ..util.atomic import temporary_path, write_json
    from ..util.json_safe import json_safe

    if cfg.batch_points < 1:
        raise ValueError(f"batch_points={cfg.batch_points} must be >= 1")
    if not isinstance(cfg.descriptor_memory_gb, (int, float)) or not cfg.descriptor_memory_gb > 0:
        raise ValueError(f"descriptor_memory_gb={cfg.descriptor_memory_gb!r} must be a number of GiB > 0, "
                         "e.g. descriptor_memory_gb=4")
    if not (cfg.device in ("auto", "cpu", "cuda") or DEVICE.fullmatch(str(cfg.device))):
        raise ValueError(f"device={cfg.device}: choose auto, cpu, cuda or cuda:<index>, e.g. device=cpu")
    if cfg.output_dir and (problem := why_not_writable(cfg.output_dir)):
        raise ValueError(f"output_dir={cfg.output_dir}: {problem}; choose a folder you can write")
    model = load_model(cfg.model)
    print(f"[predict] {model}", flush=True)
    structure = read_structure(cfg.structure, model)
    out_dir = Path(cfg.output_dir) if cfg.output_dir else Path("predictions") / structure.name
    if not cfg.output_dir and (problem := why_not_writable(out_dir)):  # the default folder, known only now
        raise ValueError(f"{out_dir}: {problem}; choose a folder you can write with output_dir=...")
    grid = list(cfg.grid) if cfg.grid is not None else None
    with tempfile.TemporaryDirectory() as tmp:
        target = (out_dir / "ldos.npy") if cfg.write_ldos else Path(tmp) / "ldos.npy"
        partial = temporary_path(target)  # becomes ldos.npy only when the prediction succeeds
        partial.unlink(missing_ok=True)  # a stale file or a planted link: removed, not followed
        try:
            prediction = predict_structure(model, structure, grid=grid, ldos_path=partial,
                                           batch_points=int(cfg.batch_points), device=str(cfg.device),
                                           descriptor_memory_gb=float(cfg.descriptor_memory_gb))
            os.replace(partial, target)  # a link at ldos.npy is replaced, not written through
        finally:
            partial.unlink(missing_ok=True)
        result = {"model": str(model.folder), **prediction.to_dict(),
                  "ldos": str(target) if cfg.write_ldos else None}
        write_json(out_dir / "prediction.json", json_safe(result))
    print("\n".join(describe_prediction(prediction)), flush=True)
    print(f"[predict] wrote {out_dir / 'prediction.json'}" + (f" and {target}" if cfg.write_ldos else ""), flush=True)
    return result


@hydra.main(config_path=str(CONF_DIR / "predict"), config_name="config", version_base="1.3")
def _task(cfg: DictConfig) -> None:
    from ..errors import SurrogateHpoError

    with user_errors("surrogate-hpo-predict", (SurrogateHpoError, ValueError, FileNotFoundError)):
        run(cfg)


def main() -> None:
    """Console script; a config Hydra cannot compose exits 2."""
    refuse_unknown_keys("surrogate-hpo-predict", CONF_DIR / "predict", sys.argv[1:])
    run_hydra(_task)


if __name__ == "__main__":
    main()
