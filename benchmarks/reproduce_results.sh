#!/usr/bin/env bash
# Every number and plot of benchmarks/RESULTS.md, in order. Run from the repository root
# after `bash launch/setup.sh --dev` (Quantum ESPRESSO for the data) and, for the MALA
# comparison, `bash launch/setup.sh --bench` (+ `pip install oapackage` for MALA's OAT).
#
#   bash benchmarks/reproduce_results.sh            # everything (about 7 hours on 2 cores)
#   STEPS="methods score" bash benchmarks/reproduce_results.sh   # only some steps
#
# Data: AL32 (default data/al32) is made by the DFT pipeline if it is not there yet.
# Study directories go to RUNS (default runs/); results to benchmarks/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
AL32=${AL32:-data/al32}
RUNS=${RUNS:-runs}
AL4GT=${AL4GT:-data/al4_gt}
STEPS=${STEPS:-"data methods score architectures scaling acsd mala gt workflow overhead streaming"}
LABEL="Al32: 32-atom fcc Al at 298 K, 10 snapshots, 45^3 grid"
# the shared budget of the method comparison (every method, the same data and space)
METHOD_OVERRIDES=(--override data=mala_dir --override "data.path=$AL32"
                  --override data.max_train_points_per_snapshot=6000 --override training.max_epochs=20
                  --override ++method.repeats=1 --override ++method.n_trials=24)

has() { case " $STEPS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

if has data; then   # ~5-10 min per snapshot on 2 cores; finished snapshots are skipped
  surrogate-hpo-generate --config-name=al32 output_dir="$AL32"
fi
if has methods; then   # figures 3 and 4 (accuracy vs compute and vs wall time), all six methods
  python3 benchmarks/methods.py --budget default --data-label "$LABEL" "${METHOD_OVERRIDES[@]}" \
    --output-root "$RUNS/methods_al32" --out benchmarks/results/methods_al32
fi
if has score; then   # figure 5: NASWOT score vs trained error over the TPE trials
  python3 benchmarks/score_vs_error.py --tpe-study "$RUNS/methods_al32/tpe" \
    --naswot-study "$RUNS/methods_al32/naswot" --title "NASWOT score vs trained error, TPE trials, Al32" \
    --where config.optimizer=adam --train-sample 24 --sample-seeds 2 \
    --out benchmarks/results/score_vs_error_al32
fi
if has architectures; then   # figure 6: the chosen networks, size and inference time
  python3 benchmarks/architectures.py --methods-json benchmarks/results/methods_al32.json \
    --title "Networks chosen on Al32" --out benchmarks/results/architectures_al32
fi
if has scaling; then   # figure 4: wall time against parallel workers
  python3 benchmarks/scaling.py --override data=mala_dir --override "data.path=$AL32" \
    --override data.max_train_points_per_snapshot=6000 --out benchmarks/results/scaling_al32
fi
if has acsd; then   # figures 7 and 8: ACSD vs trained error across descriptor settings
  python3 benchmarks/acsd_vs_training.py --data "$AL32" --data-label "Al32" --seeds 5 --epochs 30 \
    --points 8000 --threads 1 --out benchmarks/results/acsd_vs_training_al32
fi
if has mala; then   # against MALA's own hyperparameter optimisers
  # 4 widths x 4 activations: every factor has 4 levels, so a 16-row orthogonal array exists
  # (with 3 widths the array is the full 144-row grid and MALA's oapackage search hangs)
  python3 benchmarks/mala_hpo.py --data "$AL32" --max-points 6000 --widths 16 32 64 128 \
    --out benchmarks/results/mala_hpo_al32
fi
if has gt; then   # section 2b: the Al4 ground-truth set (30 snapshots), 216 trainings, the score panel
  surrogate-hpo-generate --config-name=sample format=mala keep_pw_output=true first_index=0 n_snapshots=30 \
    output_dir="$AL4GT"
  python3 benchmarks/ldos_ground_truth.py --data "$AL4GT"   # resumable
  python3 benchmarks/score_study.py
fi
if has workflow; then   # section 6: the workflow against the all-trained route, and prediction
  python3 benchmarks/workflow.py --data "$AL4GT"
fi
if has overhead; then   # section 7: small studies against MALA, the default command before and after
  python3 benchmarks/study_overhead.py
  python3 benchmarks/default_command.py
fi
if has streaming; then   # section 8: streamed against in-memory training
  python3 benchmarks/streaming_quality.py
fi
