"""``surrogate-hpo``: compose the config, run the study, print the summary.

Exit codes: 0 done, 2 a config or data error (one line on stderr, before any compute),
130/143 stopped by SIGINT/SIGTERM (finished trials kept; ``resume=true`` continues).
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import hydra
from omegaconf import DictConfig, OmegaConf

from . import CONF_DIR
from ._errors import (
    argv_value,
    exit_config_error,
    refuse_unknown_keys,
    refuse_unwritable,
)

_STARTED = time.perf_counter()
_state = {"task_started": False}


@hydra.main(config_path=str(CONF_DIR), config_name="config", version_base="1.3")
def _task(cfg: DictConfig) -> float:
    """Run one study; return the mean test band-energy MAE (meV/atom) for Hydra sweeps."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf.errors import MissingMandatoryValue

    from ..errors import SurrogateHpoError
    from ..study import interrupt

    # the first study of a process counts its start-up (imports); later jobs of a multirun start now
    started = _STARTED if not _state["task_started"] else time.perf_counter()
    _state["task_started"] = True
    interrupt.install()
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        plain = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
        from ..experiment import run_study

        summary = run_study(plain, run_dir, started=started)
    except MissingMandatoryValue as e:
        _remove_empty(run_dir)
        print(f"surrogate-hpo: config error: {e.full_key} is required (add {e.full_key}=... to the command)",
              file=sys.stderr)
        sys.exit(2)
    except SurrogateHpoError as e:
        _remove_empty(run_dir)
        print(f"surrogate-hpo: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(2)
    except interrupt.StudyInterrupted as e:
        _remove_empty(run_dir)
        print(f"surrogate-hpo: {e}; every finished trial is saved in the study folder. Continue with the same "
              "command and resume=true", file=sys.stderr)
        _shutdown_ray()
        sys.exit(e.exit_code)
    value = summary.get("objective")
    return float(value) if isinstance(value, (int, float)) else math.nan


def _remove_empty(run_dir: Path) -> None:
    """The folders Hydra made for a study that never started, if nothing was written there."""
    for d in (run_dir, run_dir.parent, run_dir.parent.parent):
        try:
            d.rmdir()  # only empty folders go
        except OSError:
            return


def _shutdown_ray() -> None:
    try:
        import ray

        if ray.is_initialized():
            ray.shutdown()
    except Exception:  # pragma: no cover - best effort on the way out
        pass


def _check_run_folder(argv: list[str]) -> None:
    """``study_name=`` must be a plain folder name and ``output_root`` a folder this user can
    write: Hydra makes the run folder ``output_root/study_name/<time>`` before anything else runs."""
    from ..util.names import STUDY_NAME

    key, name = "study_name", argv_value(argv, "study_name", "${method.name}")
    if name == "${method.name}":  # the default study name is the method's
        key, name = "method.name", argv_value(argv, "method.name", "naswot")
    if not STUDY_NAME.match(name):
        exit_config_error("surrogate-hpo", f"{key}={name!r} must be a plain folder name (letters, digits, "
                                           "'_', '-', '.', '+'; no '/' and no leading '.'), e.g. study_name=al_tpe")
    refuse_unwritable("surrogate-hpo", "output_root", argv_value(argv, "output_root", "outputs"))


#: config folders of the other commands, which share the package's conf/
OTHER_COMMANDS = {"generate": "surrogate-hpo-generate", "predict": "surrogate-hpo-predict",
                  "shards": "surrogate-hpo-shards"}


def _check_group_choices(argv: list[str]) -> None:
    """A group choice must be one of the group's own options: not a shared part (``_*.yaml``,
    included by the options) and not another command's config."""
    for arg in argv:
        key, eq, value = arg.lstrip("+~").partition("=")
        if not eq or "." in key or "/" in key or not (CONF_DIR / key).is_dir():
            continue
        if key in OTHER_COMMANDS:
            exit_config_error("surrogate-hpo", f"{key} is the config of {OTHER_COMMANDS[key]}, not of this command; "
                                               f"run {OTHER_COMMANDS[key]} for it")
        options = sorted(p.stem for p in (CONF_DIR / key).glob("*.yaml") if not p.name.startswith("_"))
        for choice in value.split(","):
            if choice.startswith("_"):
                exit_config_error("surrogate-hpo", f"{key}={choice} is a part that the {key} options share, not an "
                                                   f"option; choose one of {', '.join(options)}")


def main() -> None:
    """Console script. A config Hydra cannot compose (an unknown key, a missing option) exits 2."""
    _check_run_folder(sys.argv[1:])
    _check_group_choices(sys.argv[1:])
    refuse_unknown_keys("surrogate-hpo", CONF_DIR, sys.argv[1:])
    try:
        _task()
    except SystemExit as e:
        if e.code == 1 and not _state["task_started"]:
            sys.exit(2)
        raise


if __name__ == "__main__":
    main()
