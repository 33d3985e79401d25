"""``surrogate-hpo method=workflow`` on the bundled data: every stage, the model bundle, and a
run killed during stage 4 (the TPE of the policy) that resumes to the uninterrupted result."""

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

N_TRIALS = 5
ARGS = ["method=workflow", "budget=quick", "method.rcutfac=[4.67637]", "method.twojmax=[6,10]", "method.n_points=50",
        f"method.n_trials={N_TRIALS}", "method.n_startup_trials=2", "training.max_epochs=6",
        "final_evaluation.seeds=1", "cluster.max_concurrent_trials=1"]


def _start(out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "surrogate_hpo", *ARGS, f"output_root={out}", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ},
                            start_new_session=True)


def _study(out: Path) -> Path:
    (study,) = [d for d in (out / "workflow").iterdir() if (d / "study.json").exists()]
    return study


def _policy_rows(out: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(next((out / "workflow").glob("*/tpe_policy_trials.csv")))
    except (StopIteration, pd.errors.EmptyDataError, FileNotFoundError):
        return pd.DataFrame()


@pytest.mark.slow
def test_the_workflow_runs_every_stage_and_resumes_after_a_kill_in_stage_4(tmp_path):
    # the uninterrupted study
    ref = _start(tmp_path / "ref")
    stdout, err = ref.communicate(timeout=600)
    assert ref.returncode == 0, stdout[-3000:] + err[-3000:]
    for n in range(1, 5):
        assert f"[workflow] stage {n}/4" in stdout
    assert "[descriptors] 10/10" in stdout or "holds them already" in stdout
    reference = json.loads((_study(tmp_path / "ref") / "summary.json").read_text())
    stages = reference["method_details"]["stages"]
    assert [s["stage"] for s in stages] == ["acsd", "descriptors", "naswot", "tpe_policy"]
    assert all(s["wall_seconds"] > 0 for s in stages)
    assert reference["descriptors"]["twojmax"] in (6, 10)
    assert (_study(tmp_path / "ref") / "model" / "bundle.json").is_file()
    bundle = json.loads((_study(tmp_path / "ref") / "model" / "bundle.json").read_text())
    assert bundle["descriptors"]["twojmax"] == reference["descriptors"]["twojmax"]
    assert bundle["n_in"] == reference["descriptors"]["n_features"]

    # the same study, killed (SIGKILL: no chance to clean up) during the TPE of the policy
    out = tmp_path / "out"
    proc = _start(out)
    t0 = time.monotonic()
    while len(_policy_rows(out)) < 2:
        assert proc.poll() is None, proc.stderr.read()[-3000:]
        assert time.monotonic() - t0 < 600
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    before = _policy_rows(out)
    assert 2 <= len(before) < N_TRIALS, "the stage finished before it could be killed"
    study = _study(out)
    acsd_before = pd.read_csv(study / "acsd_trials.csv")
    naswot_before = pd.read_csv(study / "naswot_trials.csv")

    again = _start(out, "resume=true")
    stdout, err = again.communicate(timeout=600)
    assert again.returncode == 0, stdout[-3000:] + err[-3000:]
    assert "holds them already" in stdout  # stage 2 not redone
    pd.testing.assert_frame_equal(pd.read_csv(study / "acsd_trials.csv"), acsd_before)
    pd.testing.assert_frame_equal(pd.read_csv(study / "naswot_trials.csv"), naswot_before)
    after = _policy_rows(out)
    assert len(after) == N_TRIALS and after["trial_id"].is_unique
    kept = before.merge(after, on="trial_id", suffixes=("_b", "_a"))
    assert len(kept) == len(before) and (kept["config_json_b"] == kept["config_json_a"]).all()
    resumed = json.loads((study / "summary.json").read_text())
    for key in ("chosen", "training", "descriptors"):
        assert resumed[key] == reference[key], key
