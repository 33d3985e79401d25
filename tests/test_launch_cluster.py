"""The cluster paths run for real: a Ray head started with ``ray start --head`` (token
authentication on), a quick study submitted with ``launch/submit_job.sh``; and the body of
``launch/slurm_study.sbatch`` run to a finished quick study.

No SLURM here: ``srun`` and ``scontrol`` are small stand-ins on PATH (``scontrol show
hostnames`` names this machine, ``srun <options> <command>`` runs the command; ``srun ...
ray stop`` is skipped because ``ray stop`` would stop every Ray of this machine, the test
session's included). Everything else is the real script, Ray and study.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["budget=quick", "final_evaluation.seeds=1", "training.max_epochs=2"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("", 0))
        return s.getsockname()[1]


def _env(tmp_path: Path, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    bin_dir = Path(sys.executable).parent
    env.update({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token, "PATH": f"{bin_dir}:{env['PATH']}",
                "SURROGATE_HPO_CACHE": os.environ.get("SURROGATE_HPO_CACHE",
                                                      str(Path.home() / ".cache" / "surrogate_hpo"))})
    return env


@pytest.mark.slow
def test_submit_job_runs_a_quick_study_on_a_real_head(tmp_path):
    token = secrets.token_hex(32)
    env = _env(tmp_path, token)
    port, dash, agent = _free_port(), _free_port(), _free_port()
    # the job agent's HTTP port defaults to 52365, which the test session's own Ray already holds
    head = subprocess.Popen(
        ["ray", "start", "--head", f"--port={port}", "--dashboard-host=127.0.0.1", f"--dashboard-port={dash}",
         f"--dashboard-agent-listen-port={agent}", "--include-dashboard=true", "--num-cpus=2",
         "--disable-usage-stats", "--block"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        address = f"http://127.0.0.1:{dash}"
        for _ in range(90):
            probe = subprocess.run(["ray", "job", "list", "--address", address], env=env, capture_output=True,
                                   text=True)
            if probe.returncode == 0:
                break
            time.sleep(1)
        else:
            pytest.fail(f"the head's job API did not come up: {probe.stderr[-2000:]}")
        # without the token the job API refuses
        no_token = {k: v for k, v in env.items() if k != "RAY_AUTH_TOKEN"}
        no_token["HOME"] = str(tmp_path)  # no ~/.ray/auth_token either
        refused = subprocess.run(["ray", "job", "list", "--address", address], env=no_token, capture_output=True,
                                 text=True, timeout=120)
        assert refused.returncode != 0

        for _ in range(60):  # the job API answers before its agent takes jobs
            ready = subprocess.run(["ray", "job", "submit", "--address", address, "--", "true"], env=env,
                                   capture_output=True, text=True, timeout=120)
            if ready.returncode == 0:
                break
            time.sleep(2)
        else:
            pytest.fail(f"the head took no job: {ready.stderr[-2000:]}")
        out = tmp_path / "results"
        proc = subprocess.run(["bash", str(ROOT / "launch" / "submit_job.sh"), *QUICK, f"output_root={out}"],
                              env={**env, "RAY_ADDRESS": address}, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert "test band-energy MAE" in proc.stdout
        (summary,) = out.glob("naswot/*/summary.json")
        assert json.loads(summary.read_text())["final_evaluation"]["test_band_energy_mae_mev_per_atom"]["n"] == 1
    finally:
        os.killpg(head.pid, signal.SIGTERM)  # `ray start --block` stops its node on SIGTERM
        head.wait(timeout=120)


@pytest.mark.slow
def test_slurm_batch_script_body_runs_a_quick_study(tmp_path):
    fake = tmp_path / "fake_slurm"
    fake.mkdir()
    (fake / "scontrol").write_text("#!/usr/bin/env bash\n# stand-in: the allocation is this machine\nhostname\n")
    (fake / "srun").write_text(
        "#!/usr/bin/env bash\n"
        "# stand-in: drop srun's own options, run the step's command here; never `ray stop`\n"
        "while [ $# -gt 0 ]; do case \"$1\" in -w) shift 2 ;; --*|-*) shift ;; *) break ;; esac; done\n"
        "if [ \"$1\" = ray ] && [ \"$2\" = stop ]; then exit 0; fi\n"
        "exec \"$@\"\n")
    for f in fake.iterdir():
        f.chmod(0o755)
    env = _env(tmp_path, secrets.token_hex(32))
    env.update({"PATH": f"{fake}:{env['PATH']}", "RAY_PORT": str(_free_port()), "CPUS_PER_NODE": "2",
                "GPUS_PER_NODE": "0", "SLURM_JOB_NODELIST": "localhost", "HOME": str(tmp_path)})
    out = tmp_path / "results"
    proc = subprocess.run(["bash", str(ROOT / "launch" / "slurm_study.sbatch"), *QUICK, f"output_root={out}"],
                          env=env, capture_output=True, text=True, timeout=900, cwd=ROOT, start_new_session=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "[slurm] 1 Ray nodes up; starting the study" in proc.stdout
    (summary,) = out.glob("naswot/*/summary.json")
    assert json.loads(summary.read_text())["final_evaluation"]["test_band_energy_mae_mev_per_atom"]["n"] == 1
