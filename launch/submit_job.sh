#!/usr/bin/env bash
# Submit a surrogate-hpo study to a running Ray cluster as a Ray job.
#
#   RAY_ADDRESS=http://HEAD:8265 bash launch/submit_job.sh [options] [--] <hydra overrides...>
#
# See `bash launch/submit_job.sh --help` and launch/README.md.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: RAY_ADDRESS=http://<head>:8265 bash launch/submit_job.sh [options] [--] [overrides...]

Submits `surrogate-hpo cluster.address=auto <overrides...>` to a running Ray cluster
(`ray job submit --address $RAY_ADDRESS --working-dir . -- ...`). The study's driver runs
on the head node; its trials run on every node of the cluster.

Overrides are Hydra overrides, exactly as on the command line, e.g.
  method=tpe method.n_trials=100 cluster.gpus_per_trial=0.25 cluster.max_failures=3
  data=mala_dir data.path=/shared/snapshots output_root=/shared/hpo_outputs

Options (before the overrides):
  --no-wait             return after submission (follow with `ray job logs -f <id>`)
  --submission-id ID    name the job (default: chosen by Ray)
  --runtime-env FILE    your runtime_env (YAML: env_vars, pip, excludes, ...) instead of the
                        default one below; --working-dir . still applies
  --dry-run             print the `ray job submit` command instead of running it
  -h, --help            this text

Environment:
  RAY_ADDRESS           the cluster's dashboard/job address (http://<head>:8265); required
  RAY_AUTH_TOKEN        the cluster's token, if it is not in ~/.ray/auth_token (clusters run
                        with token authentication; see launch/README.md)
  OUTPUT_ROOT           if set and no output_root= override is given, output_root=$OUTPUT_ROOT

Notes:
  * The job runs in a copy of this directory (`--working-dir .`; outputs/ multirun/ .git
    data/ benchmarks/results/ excluded), deleted with the job's session: give output_root= an absolute path on a
    filesystem every node sees (NFS, Lustre); Tune checks that trials on worker nodes can
    write there. data.path must exist on the head node (trials get the data through Ray).
  * Every node needs the package's dependencies (torch, ray, ...): run
    `bash launch/setup.sh` on each node (launch/ray_cluster.yaml does it for you).
  * Resume an interrupted study with the same overrides plus resume=true.
EOF
}

# results, not code, stay behind (Ray limits the size of a working_dir)
runtime_env=(--runtime-env-json '{"excludes": ["/outputs/", "/multirun/", ".git/", "__pycache__/", "/data/", "/benchmarks/results/", ".ruff_cache/", ".hypothesis/", ".pytest_cache/"]}')
wait_flag=()
submission=()
dry_run=0
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --no-wait) wait_flag=(--no-wait); shift ;;
    --submission-id)
      [ $# -ge 2 ] || { echo "submit_job.sh: --submission-id needs a value" >&2; exit 2; }
      submission=(--submission-id "$2"); shift 2 ;;
    --runtime-env)
      [ $# -ge 2 ] || { echo "submit_job.sh: --runtime-env needs a file" >&2; exit 2; }
      runtime_env=(--runtime-env "$2"); shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    --) shift; break ;;
    -*) echo "submit_job.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done

if [ -z "${RAY_ADDRESS:-}" ]; then
  echo "submit_job.sh: set RAY_ADDRESS to the cluster's job address, e.g. RAY_ADDRESS=http://head:8265" >&2
  echo "(see --help)" >&2
  exit 2
fi

cd "$(dirname "$0")/.."

overrides=("$@")
has_output_root=0
for o in "${overrides[@]}"; do
  case "$o" in output_root=*|+output_root=*|++output_root=*) has_output_root=1 ;; esac
done
if [ "$has_output_root" = 0 ]; then
  if [ -n "${OUTPUT_ROOT:-}" ]; then
    overrides+=("output_root=$OUTPUT_ROOT")
  else
    echo "submit_job.sh: warning: no output_root= given; results go to the job's temporary working" \
         "directory on the head node (set output_root=/shared/path or OUTPUT_ROOT)" >&2
  fi
fi

cmd=(ray job submit --address "$RAY_ADDRESS" --working-dir . "${runtime_env[@]}"
     "${submission[@]}" "${wait_flag[@]}"
     -- surrogate-hpo cluster.address=auto "${overrides[@]}")

if [ "$dry_run" = 1 ]; then
  printf '%q ' "${cmd[@]}"
  echo
  exit 0
fi
exec "${cmd[@]}"
