"""A study from config to summary: checks -> data -> Ray -> method -> final evaluation.

Everything that can be wrong with the config or the data is found before Ray starts; a
resumed study is checked to be the same study (config and data) before anything runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from .data.physics_checks import check_physics
from .data.prepared import load_snapshot_set, prepare_training_data
from .search import make_method
from .study import interrupt
from .study.background_plots import finish_plots
from .study.config import parse_study_config
from .study.context import StudyContext
from .study.final_evaluation import run_final_evaluation
from .study.ray_background import RayStarting
from .study.ray_runtime import check_cluster
from .study.resume import open_study_folder
from .study.summary import summary_lines, write_summary
from .study.time_account import TimeAccount
from .study.training_trial import policy_with
from .util.atomic import read_json, write_json

__all__ = ["load_summary", "run_study"]


def _remove_if_unused(run_dir: Path, study_dir: Path) -> None:
    """The fresh run folder Hydra made for a resumed study, if nothing was written there."""
    run_dir = Path(run_dir)
    if run_dir.resolve() != Path(study_dir).resolve() and run_dir.is_dir() and not any(run_dir.iterdir()):
        shutil.rmtree(run_dir, ignore_errors=True)


def run_study(raw: dict[str, Any], run_dir: Path, *, started: float | None = None) -> dict[str, Any]:
    """Run (or resume) the study of the composed config ``raw``; return its summary."""
    account = TimeAccount(started)
    with account.phase("config checks"):
        config = parse_study_config(raw)
        method = make_method(config.method, config.search_space)
        check_cluster(config.cluster)
        folder = open_study_folder(config.resume, config.output_root, config.study_name, Path(run_dir))
        folder.check_no_links()
        if folder.resuming:
            folder.check_same_study(raw, None)
    if folder.resuming and folder.finished:
        summary = load_summary(folder.path)
        print(f"[study] {folder.path} finished already; nothing to resume. Its summary:", flush=True)
        print("\n".join(summary_lines(summary)), flush=True)
        _remove_if_unused(Path(run_dir), folder.path)
        return summary
    print(f"[study] {config.study_name}: {method.describe()}; {'resuming ' if folder.resuming else ''}results in "
          f"{folder.path}", flush=True)
    snapshots, physics, fingerprint, data, ray_starting = _load_data(raw, config, method, folder, account)
    study_dir = folder.path
    folder.begin(raw, fingerprint)
    _remove_if_unused(Path(run_dir), study_dir)
    try:
        print(f"[data] {snapshots.directory}\n{snapshots.summary()}", flush=True)
        print("\n".join(physics.lines()), flush=True)
        if data is not None and data.train_stream is not None:
            print(f"[data] {data.train_stream.describe()}", flush=True)
        with account.phase("ray start (beyond data loading)"), interrupt.deferred("Ray start-up"):
            ray_starting.wait()
            interrupt.install(reset=False)  # Ray may have put its own SIGTERM handler in place
        study = StudyContext(config=config, study_dir=study_dir, snapshots=snapshots, data=data,
                             method=method.config, space=method.space, resume=folder.resuming)
        with account.phase(f"search ({method.name})"):
            outcome = method.run(study)
        summary: dict[str, Any] = {
            "study_name": config.study_name, "method": method.name, "study_dir": str(study_dir),
            "data": f"{snapshots.directory}: {len(snapshots.all)} snapshots "
                    f"({len(snapshots.train)} train, {len(snapshots.validation)} validation, {len(snapshots.test)} test)",
            "data_checks": physics.to_dict(),
            "method_details": outcome.details, "objective": outcome.objective,
            "search_compute": {k: float(outcome.compute.get(k, 0.0)) for k in ("cpu_seconds", "gpu_seconds")},
        }
        compute = dict(summary["search_compute"])
        if outcome.descriptors is not None:
            summary["descriptors"] = outcome.descriptors
        data = study.data  # a method may have made its own training data (workflow: from its descriptors)
        if outcome.architecture is not None and data is not None:
            policy = policy_with(config.training, outcome.training or {})
            with account.phase("final evaluation"):
                final = run_final_evaluation(study, outcome.architecture, policy, outcome.descriptors)
            summary["chosen"] = {**outcome.architecture.to_dict(), "architecture": outcome.architecture.describe(),
                                 "n_in": data.n_features, "n_out": data.n_energies,
                                 "n_parameters": outcome.architecture.n_parameters(data.n_features, data.n_energies)}
            summary["training"] = policy.to_dict()
            summary["final_evaluation"] = final
            compute = {k: compute[k] + float(final["compute"].get(k, 0.0)) for k in compute}
            band = final["test_band_energy_mae_mev_per_atom"]["mean"]
            summary["objective"] = band
            write_json(study_dir / "best_config.json", {"architecture": summary["chosen"], "training": policy.to_dict()})
        summary["compute"] = compute
        summary["warnings"] = [*physics.warnings, *outcome.warnings]
        summary["wall_seconds"] = account.wall_seconds
        summary["time_account"] = account.to_dict()
        summary["tune_stages"] = account.stages
        with account.phase("writing results"):
            summary["warnings"] += finish_plots()  # the plots drawn while the study went on
            text = write_summary(study_dir, summary)
        summary["time_account"] = account.to_dict()
        summary["wall_seconds"] = account.wall_seconds
        write_json(study_dir / "summary.json", summary)
        print(text, flush=True)
        folder.end("finished")
        return summary
    except interrupt.StudyInterrupted:
        finish_plots()  # drawn before the exit, not left for the next study of this process
        folder.end("interrupted")
        raise
    except BaseException:
        finish_plots()
        folder.end("failed")
        raise


def _load_data(raw: dict[str, Any], config: Any, method: Any, folder: Any, account: TimeAccount) -> tuple:
    """Check the data (every error before Ray starts), then prepare it while Ray comes up.

    ``(snapshots, physics checks, data fingerprints, prepared training data or None, RayStarting)``.
    """
    with account.phase("data checks"):
        snapshots = load_snapshot_set(config.data, require_descriptors=method.data == "training")
        physics = check_physics(snapshots)
        fingerprint = {"data": snapshots.fingerprint(), "metadata": snapshots.metadata_fingerprint()}
        if folder.resuming:
            folder.check_same_study(raw, fingerprint)
        method.prepare(snapshots, config.seed)
    ray_starting = RayStarting(config.cluster)
    try:
        with account.phase("data loading"):
            data = None
            if method.data == "training":
                data = prepare_training_data(snapshots, config.data, seed=config.seed,
                                             shards_dir=folder.path / "shards")
    except BaseException:
        with interrupt.deferred("Ray start-up"):
            ray_starting.cancel()  # the study stops before it needed Ray
        raise
    return snapshots, physics, fingerprint, data, ray_starting


def load_summary(study_dir: Path) -> dict[str, Any]:
    """The summary.json of a finished study."""
    return read_json(Path(study_dir) / "summary.json")
