"""The main command on the bundled data, as a user runs it (quick budget), end to end."""

import json
import os
import re
import subprocess
import sys

import pandas as pd
import pytest


@pytest.mark.slow
def test_quick_study_on_bundled_data_prints_choice_and_test_mae(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "surrogate_hpo", "budget=quick", f"output_root={tmp_path}"],
        capture_output=True, text=True, timeout=900, env={**os.environ},
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert re.search(r"chosen network\s+91 -> .+ -> \d+", out)
    m = re.search(r"test band-energy MAE\s+([\d.]+) ± ([\d.]+)", out)
    assert m and float(m.group(1)) > 0
    assert "[naswot] 16/16 candidates" in out  # quick grid: 2 layers, (2 widths x 2 activations)^2
    (study,) = list((tmp_path / "naswot").iterdir())
    summary = json.loads((study / "summary.json").read_text())
    assert summary["final_evaluation"]["test_band_energy_mae_mev_per_atom"]["n"] == 5


# one score of each kind: NASWOT masks, a training-based score, a parameter count
KINDS_OF_SCORE = ["n_params", "naswot", "short_training"]


def test_scores_of_each_kind_run_a_study_each_in_one_multirun(synthetic_dir, tmp_path):
    _multirun_every_score(KINDS_OF_SCORE, synthetic_dir, tmp_path)


@pytest.mark.slow
def test_every_registered_score_runs_a_study_in_one_multirun(synthetic_dir, tmp_path):
    from surrogate_hpo.scores import SCORES

    _multirun_every_score(sorted(SCORES), synthetic_dir, tmp_path)


def _multirun_every_score(names: list[str], synthetic_dir, tmp_path) -> None:
    """``surrogate-hpo -m method=naswot method.score=<names>``: each study finishes and its
    chosen network is the top of its own score column."""
    names = list(names)
    sweep = tmp_path / "sweep"
    cmd = [sys.executable, "-m", "surrogate_hpo", "-m", "method=naswot", f"method.score={','.join(names)}",
           "data=mala_dir", f"data.path={synthetic_dir}", "search_space=small", "training.max_epochs=1",
           "final_evaluation.seeds=1", f"hydra.sweep.dir={sweep}", f"output_root={tmp_path}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env={**os.environ})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads((sweep / "comparison.json").read_text())
    assert len(result["studies"]) == len(names)
    for job in sorted(p for p in sweep.iterdir() if p.is_dir()):
        summary = json.loads((job / "summary.json").read_text())
        score = summary["method_details"]["score"]
        assert score == json.loads((job / "study.json").read_text())["config"]["method"]["score"]
        names.remove(score)
        trials = pd.read_parquet(job / "naswot_trials.parquet")
        assert len(trials) == 16 and trials["score"].notna().all(), score
        assert summary["method_details"]["best_score"] == pytest.approx(trials["score"].max()), score
    assert names == []  # every score ran once
