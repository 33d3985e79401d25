"""An interrupted study resumes and finishes with every trial exactly once (real CLI, real Ray).

The study (TPE with the NASWOT pruner: a searcher and a scheduler with state) is stopped
twice: first with SIGINT, as Ctrl-C does (exit code 130), then its driver is killed with
SIGKILL (Ray's processes are left behind). Each time every pickle in the study folder is
deleted and ``resume=true`` continues it from the trials table alone. At the end the table
holds exactly ``n_trials`` trials, each trial finished before an interruption is kept
unchanged (not trained again), Optuna saw each trial once, and the Ray processes the killed
run left behind are gone.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

N_TRIALS = 12
STAGE = "tpe_naswot"


def _command(data: Path, out: Path, resume: bool) -> list[str]:
    return [sys.executable, "-m", "surrogate_hpo", f"method={STAGE}", "data=mala_dir", f"data.path={data}",
            "search_space=small", "training.max_epochs=30", f"method.n_trials={N_TRIALS}", "method.repeats=2",
            "method.warmup=3", "final_evaluation.seeds=2", f"output_root={out}", f"resume={str(resume).lower()}"]


def _rows(out: Path) -> pd.DataFrame:
    paths = list(out.glob(f"{STAGE}/*/{STAGE}_trials.csv"))
    if not paths:
        return pd.DataFrame()
    try:
        return pd.read_csv(paths[0])
    except (pd.errors.EmptyDataError, FileNotFoundError):
        return pd.DataFrame()


def _start(data: Path, out: Path, resume: bool) -> subprocess.Popen:
    env = {**os.environ, "SURROGATE_HPO_CACHE": str(out.parent / "cache")}
    return subprocess.Popen(_command(data, out, resume), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)


def _no_pickles(out: Path) -> None:
    for p in out.rglob("*.pkl"):
        p.unlink()


def _start_ticks(pid: int):
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except OSError:
        return None


def _wait_for_rows(proc: subprocess.Popen, out: Path, at_least: int, timeout: float = 300) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if len(_rows(out)) >= at_least:
            return
        if proc.poll() is not None:
            pytest.fail(f"study ended before {at_least} trials: rc={proc.returncode}\n{proc.stderr.read()[-3000:]}")
        time.sleep(0.05)
    pytest.fail(f"fewer than {at_least} trials after {timeout} s")


def _kept(before: pd.DataFrame, after: pd.DataFrame) -> None:
    """Rows on disk before the interruption are unchanged after the resume."""
    merged = before.merge(after, on="trial_id", suffixes=("_before", "_after"))
    assert len(merged) == len(before)
    for col in ("status", "config_json", "train_seconds", "val_band_energy_mae_mev_per_atom"):
        if f"{col}_before" in merged:
            a, b = merged[f"{col}_before"], merged[f"{col}_after"]
            assert ((a == b) | (a.isna() & b.isna())).all(), col


def test_interrupted_study_resumes_with_every_trial_exactly_once(synthetic_dir, tmp_path):
    out = tmp_path / "out"
    # 1. Ctrl-C: Tune saves its state, the CLI says how to resume and exits with 130
    proc = _start(synthetic_dir, out, resume=False)
    _wait_for_rows(proc, out, 2)
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    assert "resume=true" in err
    first = _rows(out)
    assert 2 <= len(first) < N_TRIALS
    _no_pickles(out)

    # 2. resume, then kill the driver alone without warning (its local Ray stays behind)
    proc = _start(synthetic_dir, out, resume=True)
    _wait_for_rows(proc, out, len(first) + 2)
    (record,) = (tmp_path / "cache" / "ray_processes").glob("*.json")
    left = json.loads(record.read_text())["processes"]
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    second = _rows(out)
    assert len(second) < N_TRIALS, "the study finished before it could be killed: make trials slower"
    _kept(first, second)
    _no_pickles(out)
    time.sleep(2)
    assert any(_start_ticks(p) == t for p, t in left), "SIGKILL left no Ray process behind: nothing to clean"

    # 3. resume again: the killed run's Ray processes are stopped, and the study finishes
    proc = _start(synthetic_dir, out, resume=True)
    stdout, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, stdout[-3000:] + err[-3000:]
    assert "Ray processes left behind by an earlier study" in stdout
    assert not [p for p, t in left if _start_ticks(p) == t]
    final = _rows(out)
    _kept(second, final)
    assert len(final) == N_TRIALS and final["trial_id"].is_unique
    assert set(final["status"]) <= {"ok", "pruned"}
    (study,) = [d for d in (out / STAGE).iterdir() if (d / "study.json").exists()]  # the others: Hydra's logs
    optuna_trials = pd.read_csv(study / f"{STAGE}_optuna.csv")
    assert len(optuna_trials) == N_TRIALS
    assert (optuna_trials["state"] == "COMPLETE").sum() == (final["status"] == "ok").sum()
    assert (optuna_trials["state"] == "PRUNED").sum() == (final["status"] == "pruned").sum()
    status = json.loads((study / "status.json").read_text())
    # three runs: stopped by SIGINT, killed (it could not record its end), finished
    assert status["status"] == "finished"
    assert [r.get("how") for r in status["runs"]] == ["interrupted", None, "finished"]
    summary = json.loads((study / "summary.json").read_text())
    assert summary["final_evaluation"]["test_band_energy_mae_mev_per_atom"]["n"] == 2
    # the choice is made over every trial, not just those of the last run
    assert summary["method_details"]["n_trials"] == N_TRIALS
    ok = final[final["status"] == "ok"]
    assert summary["method_details"]["best_trial"] == ok.loc[ok["objective"].idxmin(), "trial_id"]
