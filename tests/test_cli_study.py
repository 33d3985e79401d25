"""The main command on the bundled data, as a user runs it (quick budget), end to end."""

import json
import os
import re
import subprocess
import sys

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
