"""Comparison of finished studies: rows from summaries, table, plot, and the multirun hook."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from surrogate_hpo.study.comparison import comparison_row, write_comparison


def _summary(name: str, method: str, band: float, cpu: float) -> dict:
    return {
        "study_name": name, "method": method, "study_dir": f"/x/{name}",
        "final_evaluation": {"test_band_energy_mae_mev_per_atom": {"mean": band, "std": 1.0, "n": 5},
                             "test_total_free_energy_mae_mev_per_atom": {"mean": band + 1, "std": 2.0, "n": 5}},
        "search_compute": {"cpu_seconds": cpu, "gpu_seconds": 0.0}, "compute": {"cpu_seconds": cpu + 10},
        "wall_seconds": 30.0, "method_details": {"search_wall_seconds": 5.0},
        "chosen": {"architecture": "64 relu -> 32 tanh", "n_parameters": 1234},
    }


def test_rows_and_files_from_finished_studies_only(tmp_path):
    for i, (method, band, cpu) in enumerate([("naswot", 40.0, 0.5), ("tpe", 30.0, 200.0)]):
        d = tmp_path / f"{i}_{method}"
        d.mkdir()
        (d / "summary.json").write_text(json.dumps(_summary(method, method, band, cpu)))
        (d / "study.json").write_text("{}")
    stray = tmp_path / "not_a_study"  # a summary.json without the study marker is not a study
    stray.mkdir()
    (stray / "summary.json").write_text(json.dumps(_summary("x", "x", 1.0, 1.0)))
    result = write_comparison(tmp_path)
    assert [r["method"] for r in result["studies"]] == ["naswot", "tpe"]
    md = (tmp_path / "comparison.md").read_text()
    assert "| naswot | naswot | 40.00 ± 1.00 | 41.00 ± 2.00 | 0.5 | 10.5 |" in md
    assert (tmp_path / "comparison.png").stat().st_size > 1000
    assert json.loads((tmp_path / "comparison.json").read_text())["studies"][1]["search_cpu_seconds"] == 200.0
    assert write_comparison(tmp_path / "empty_dir_that_is_missing") is None


def test_row_of_a_summary_without_final_numbers_is_not_a_crash():
    row = comparison_row({"study_name": "s", "method": "m"})
    assert row["band_mae_mean"] is None and row["study"] == "s"


@pytest.mark.slow
def test_hydra_multirun_compares_its_studies(synthetic_dir, tmp_path):
    sweep = tmp_path / "sweep"
    cmd = [sys.executable, "-m", "surrogate_hpo", "-m", "method=naswot,tpe", "data=mala_dir",
           f"data.path={synthetic_dir}", "search_space=small", "training.max_epochs=2", "final_evaluation.seeds=2",
           "++method.n_trials=2", "++method.repeats=1", f"hydra.sweep.dir={sweep}", f"output_root={tmp_path}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env={**os.environ})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert sorted(p.name for p in sweep.iterdir() if p.is_dir()) == ["0_naswot", "1_tpe"]
    result = json.loads((sweep / "comparison.json").read_text())
    assert [r["method"] for r in result["studies"]] == ["naswot", "tpe"]
    assert all(r["band_mae_mean"] > 0 for r in result["studies"])
    assert "[compare] 2 studies" in proc.stdout
