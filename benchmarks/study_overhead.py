"""Fixed costs of small studies, side by side with MALA 1.4.0, and driver memory at 10^5 candidates.

One run, one machine, same data (the bundled Al sample: 8 / 1 / 1 snapshots of 24^3 points)
and the same spaces:

* **NASWOT** at 32 / 576 / 1728 networks (1 layer of 8 widths, 2 layers of 6 widths, 3 layers
  of 3 widths; 4 activations each). Ours: the CLI from
  process start until the chosen network is printed (``[final]`` line; the final training
  is excluded), and the NASWOT Tune stage split (useful scoring / trial start / idle slots /
  bookkeeping)
  from the summary's time account. MALA: ``DataHandler.prepare_data`` + ``perform_study()``
  of ``HyperOptNASWOT`` (T = 5, B = 64) in a fresh process.
* **TPE**, 4 trials of one training each (epochs chosen so a trial trains >= 5 s): ours
  CLI start to chosen network; the stage's overhead (1 - useful / wall) and each trial's
  (1 - training seconds / the trial's wall from Tune's start of it to its end), first trials
  of an actor apart from trials on a reused actor; MALA's Optuna study (data +
  ``perform_study()``).
* **Driver memory** of our NASWOT study (peak RSS of the CLI process, Ray workers not
  included) for 1 872 and 168 400 candidates (2-4 layers of 5 widths x 4 activations).

    python3 benchmarks/study_overhead.py                  # ~15 min on 2 cores
    python3 benchmarks/study_overhead.py --only memory
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for p in (str(ROOT), str(ROOT / "benchmarks")):
    if p not in sys.path:
        sys.path.insert(0, p)

from bench_machine import machine_info  # noqa: E402

ACTS = ["sigmoid", "relu", "leakyrelu", "tanh"]  # every space: MALA's benchmark child uses all four
NASWOT_SPACES = {  # networks: (layers, widths, activations)
    32: (1, [16, 24, 32, 48, 64, 96, 128, 192], ACTS),
    576: (2, [16, 32, 48, 64, 96, 128], ACTS),
    1728: (3, [32, 64, 128], ACTS),
}
MEMORY_SPACES = {1872: ([2, 3], [32, 64, 128]), 168400: ([2, 3, 4], [16, 32, 64, 128, 256])}
TPE_EPOCHS = 12

_DRIVER = ("import resource, sys, json\nsys.argv = ['surrogate-hpo'] + sys.argv[1:]\n"
           "from surrogate_hpo.cli.study import main\ntry:\n    main()\nexcept SystemExit as e:\n"
           "    code = e.code\nelse:\n    code = 0\n"
           "print('@@' + json.dumps({'rc': code, 'peak_rss_mib': "
           "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), flush=True)\n")


def _list(v: list[Any]) -> str:
    return "[" + ",".join(map(str, v)) + "]"


def run_ours(overrides: list[str], out: Path) -> dict[str, Any]:
    """Our CLI in a fresh process: seconds until the ``[final]`` line, the study summary, peak RSS."""
    cmd = [sys.executable, "-c", _DRIVER, *overrides, f"output_root={out}", "final_evaluation.seeds=1"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                            env={**os.environ, "SURROGATE_HPO_CACHE": str(out / "cache")})
    to_choice, tail, stats = None, [], {}
    for line in proc.stdout:
        if to_choice is None and line.startswith("[final] training"):
            to_choice = time.perf_counter() - t0
        if line.startswith("@@"):
            stats = json.loads(line[2:])
        tail = (tail + [line])[-30:]
    proc.wait()
    if proc.returncode or stats.get("rc"):
        raise RuntimeError("".join(tail))
    (study,) = [d for d in out.rglob("summary.json")]
    s = json.loads(study.read_text())
    return {"to_choice_seconds": to_choice, "process_seconds": time.perf_counter() - t0,
            "peak_rss_mib": stats.get("peak_rss_mib"), "time_account": s["time_account"],
            "tune_stages": s.get("tune_stages", []), "chosen": s["chosen"]["architecture"], "study_dir": str(study.parent)}


def per_trial_overhead(stage: dict[str, Any], trials_csv: Path) -> dict[str, Any]:
    """Each trial's overhead, 1 - training seconds / its wall. The first trial of each slot
    is timed from the stage's start (its actor starts first: a process importing ray.tune
    and torch); a trial on a reused actor from when Tune started it, both to its end."""
    import pandas as pd

    train = pd.read_csv(trials_csv).groupby("trial_id")["train_seconds"].sum().to_dict()
    spans = sorted(stage.get("trial_spans", []), key=lambda s: s["launched"])
    slots = max(1, int(stage.get("slots", 2)))
    began = float(stage.get("began", min((s["launched"] for s in spans), default=0.0)))
    rows = [{"trial_id": s["trial_id"], "wall": s["ended"] - (began if i < slots else s["launched"]),
             "train": float(train[s["trial_id"]]), "first_on_actor": i < slots} for i, s in enumerate(spans)
            if s["trial_id"] in train]
    for r in rows:
        r["overhead"] = 1 - r["train"] / r["wall"] if r["wall"] > 0 else None

    def mean(sel: list[dict[str, Any]], key: str) -> float | None:
        vals = [r[key] for r in sel if r[key] is not None]
        return sum(vals) / len(vals) if vals else None

    first, later = [r for r in rows if r["first_on_actor"]], [r for r in rows if not r["first_on_actor"]]
    return {"trials": rows, "first_on_actor": mean(first, "overhead"), "reused_actor": mean(later, "overhead"),
            "all": mean(rows, "overhead"), "train_seconds_mean": mean(rows, "train")}


def _mala_args(layers: int, widths: list[int], n_trials: int = 4) -> argparse.Namespace:
    return argparse.Namespace(n_trials=n_trials, mala_naswot_ensemble="mean_std", layers=layers, widths=widths,
                              mala_threads=1, mala_timeout=1800.0)


def run_mala(method: str, folder: Path, split: dict[str, list[str]], policy: dict[str, Any], layers: int,
             widths: list[int], acts: list[str], work: Path) -> dict[str, Any]:
    import mala_hpo

    assert list(acts) == list(mala_hpo.ACTIVATIONS)
    rec = mala_hpo.run_mala(method, folder, split, policy, _mala_args(layers, widths), work)
    if "error" in rec:
        raise RuntimeError(rec["error"])
    return {"data_seconds": rec["data_seconds"], "study_seconds": rec["wall_seconds"],
            "total_seconds": rec["data_seconds"] + rec["wall_seconds"], "process_seconds": rec["process_seconds"]}


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f} %"


def _stage(result: dict[str, Any], name: str) -> dict[str, Any]:
    return next((s for s in result["tune_stages"] if s["stage"] == name), {})


def main() -> None:
    import mala_hpo

    from surrogate_hpo.data.snapshot_set import default_split

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=["naswot", "tpe", "memory"], action="append")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "study_overhead")
    args = ap.parse_args()
    parts = args.only or ["naswot", "tpe", "memory"]
    result: dict[str, Any] = json.loads(args.out.with_suffix(".json").read_text()) \
        if args.out.with_suffix(".json").exists() else {}
    result.update(machine=machine_info(), command="python3 " + " ".join(sys.argv))
    from surrogate_hpo.data.bundled import sample_directory

    src = sample_directory()
    names = sorted(p.name[:-len(".in.npy")] for p in src.glob("*.in.npy"))
    split = default_split(names)
    policy = {"optimizer": "adam", "learning_rate": 1e-3, "batch_size": 256, "max_epochs": TPE_EPOCHS,
              "early_stopping_patience": 0, "lr_decay_patience": 2, "lr_decay_factor": 0.5, "weight_decay": 0.0}
    with tempfile.TemporaryDirectory(dir=ROOT / "benchmarks" / "results") as tmp:
        work = Path(tmp)
        # every grid point of the 8 training snapshots on both sides (a subsampled folder would fail
        # our physics checks: its LDOS no longer holds the cell's electrons)
        folder = Path(mala_hpo.prepare_folder(src, split, 0, work / "data")["folder"])
        data = ["data=mala_dir", f"data.path={folder}", f"data.train={_list(split['train'])}",
                f"data.validation={_list(split['validation'])}", f"data.test={_list(split['test'])}",
                "~search_space.training", "training.max_epochs=1"]
        if "naswot" in parts:
            rows = []
            for n, (layers, widths, acts) in NASWOT_SPACES.items():
                ours = run_ours([*data, "method=naswot", "method.n_inits=5", "method.batch_size=64",
                                 f"search_space.architecture.n_layers=[{layers}]",
                                 f"search_space.architecture.width={_list(widths)}",
                                 f"search_space.architecture.activation={_list(acts)}"], work / f"naswot_{n}")
                mala = run_mala("naswot", folder, split, {**policy, "max_epochs": 1}, layers, widths, acts,
                                work / f"mala_naswot_{n}")
                st = _stage(ours, "naswot")
                row = {"networks": n, "ours_to_choice_s": ours["to_choice_seconds"], "mala_data_plus_study_s":
                       mala["total_seconds"], "mala": mala, "ours_stage": st,
                       "scoring_share_of_stage": st.get("useful", 0.0) / max(st.get("wall", 1e-9), 1e-9),
                       "ours_time_account": ours["time_account"]}
                rows.append(row)
                print(f"[overhead] naswot {n}: ours {row['ours_to_choice_s']:.1f} s to the choice (stage "
                      f"{st.get('wall', 0):.1f} s, scoring {100 * row['scoring_share_of_stage']:.0f} %), MALA "
                      f"{mala['total_seconds']:.1f} s (data {mala['data_seconds']:.1f} + study "
                      f"{mala['study_seconds']:.1f})", flush=True)
            result["naswot"] = rows
        if "tpe" in parts:
            layers, widths, acts = 2, [32, 64, 128], ACTS
            ours = run_ours([*data, "method=tpe", "method.n_trials=4", "method.repeats=1", "method.n_startup_trials=2",
                             f"training.max_epochs={TPE_EPOCHS}", "training.early_stopping_patience=100",
                             f"search_space.architecture.n_layers=[{layers}]",
                             f"search_space.architecture.width={_list(widths)}",
                             f"search_space.architecture.activation={_list(acts)}"], work / "tpe")
            mala = run_mala("optuna", folder, split, {**policy, "early_stopping_patience": 0}, layers, widths, acts,
                            work / "mala_tpe")
            st = _stage(ours, "tpe")
            trials = per_trial_overhead({**st, "slots": 2}, Path(ours["study_dir"]) / "tpe_trials.csv")
            result["tpe"] = {"ours_to_choice_s": ours["to_choice_seconds"], "mala_data_plus_study_s":
                             mala["total_seconds"], "mala": mala, "ours_stage": st,
                             "stage_overhead": 1 - st.get("useful", 0.0) / max(st.get("wall", 1e-9), 1e-9),
                             "per_trial": trials, "ours_time_account": ours["time_account"]}
            print(f"[overhead] tpe 4 trials: ours {ours['to_choice_seconds']:.1f} s to the choice (stage "
                  f"{st.get('wall', 0):.1f} s, stage overhead {100 * result['tpe']['stage_overhead']:.0f} %, per trial "
                  f"{_pct(trials['first_on_actor'])} first on an actor, {_pct(trials['reused_actor'])} reused), MALA "
                  f"{mala['total_seconds']:.1f} s", flush=True)
        if "memory" in parts:
            rows = []
            for n, (layers, widths) in MEMORY_SPACES.items():
                ours = run_ours([*data, "method=naswot", f"search_space.architecture.n_layers={_list(layers)}",
                                 f"search_space.architecture.width={_list(widths)}"], work / f"memory_{n}")
                rows.append({"candidates": n, "peak_rss_mib": ours["peak_rss_mib"],
                             "to_choice_s": ours["to_choice_seconds"], "stage": _stage(ours, "naswot")})
                print(f"[overhead] memory {n} candidates: driver peak {ours['peak_rss_mib']:.0f} MiB, "
                      f"{ours['to_choice_seconds']:.0f} s to the choice", flush=True)
            result["memory"] = rows
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=1, default=str) + "\n")
    report(result, args.out)


def report(r: dict[str, Any], out: Path) -> None:
    lines = ["# Fixed costs of small studies, ours and MALA 1.4.0", "",
             f"Machine: {r['machine']['node']}, {r['machine']['cpu_count']} CPUs, load "
             f"{r['machine']['load_average_1_5_15min'][0]:.2f} at the start.", ""]
    if r.get("naswot"):
        lines += ["| networks | ours: CLI start to choice (s) | MALA: data + perform_study (s) | ratio ours/MALA | "
                  "our NASWOT stage (s) | scoring share of the stage | trial start (s) | idle slots (s) | "
                  "bookkeeping (s) |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for row in r["naswot"]:
            st = row["ours_stage"]
            lines.append(f"| {row['networks']} | {row['ours_to_choice_s']:.1f} | {row['mala_data_plus_study_s']:.1f} | "
                         f"{row['ours_to_choice_s'] / row['mala_data_plus_study_s']:.2f} | {st.get('wall', 0):.1f} | "
                         f"{100 * row['scoring_share_of_stage']:.0f} % | {st.get('trial start', 0):.1f} | "
                         f"{st.get('idle slots', 0):.1f} | {st.get('bookkeeping', 0):.1f} |")
    if r.get("tpe"):
        t = r["tpe"]
        st = t["ours_stage"]
        pt = t.get("per_trial") or {}
        lines += ["", "| TPE, 4 trials | ours | MALA |", "|---|---:|---:|",
                  f"| start to choice (s) | {t['ours_to_choice_s']:.1f} | {t['mala_data_plus_study_s']:.1f} |",
                  f"| Tune stage wall / useful / trial start / idle slots (s) | {st.get('wall', 0):.1f} / "
                  f"{st.get('useful', 0):.1f} / {st.get('trial start', 0):.1f} / {st.get('idle slots', 0):.1f} | |",
                  f"| stage overhead (1 - useful / wall) | {100 * t.get('stage_overhead', t.get('per_trial_overhead', 0)):.0f} % | |",
                  f"| mean training per trial (s) | {pt.get('train_seconds_mean') or 0:.1f} | |",
                  f"| per-trial overhead, first trial of an actor (1 - training / trial wall) | "
                  f"{_pct(pt.get('first_on_actor'))} | |",
                  f"| per-trial overhead, trials on a reused actor | {_pct(pt.get('reused_actor'))} | |"]
    if r.get("memory"):
        lines += ["", "| NASWOT candidates | driver peak RSS (MiB) | start to choice (s) |", "|---:|---:|---:|"]
        lines += [f"| {m['candidates']} | {m['peak_rss_mib']:.0f} | {m['to_choice_s']:.0f} |" for m in r["memory"]]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
