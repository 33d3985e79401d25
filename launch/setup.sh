#!/usr/bin/env bash
# Set up surrogate_hpo on a fresh machine (Debian 12 / Python 3.11, no GPU needed).
#
#   bash launch/setup.sh         the package (studies on the bundled data, LAMMPS descriptors)
#   bash launch/setup.sh --dev   + test tools + Quantum ESPRESSO (pw.x, pp.x) for the DFT pipeline, shellcheck
#   bash launch/setup.sh --bench + the benchmark extra (MALA, for side-by-side figures)
#
# torch: on a CPU-only machine the pinned CPU wheel is installed first (a plain `torch`
# requirement would pull a multi-GB CUDA build). With a GPU, install your CUDA build of
# torch before running this script; it is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
dev=0; bench=0
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    --bench) bench=1 ;;
    *) echo "setup.sh: unknown option $arg (use --dev, --bench)" >&2; exit 2 ;;
  esac
done

pip_install() { "$PY" -m pip install --disable-pip-version-check -q "$@"; }

if ! "$PY" -c "import torch" >/dev/null 2>&1; then
  echo "[setup] installing torch (CPU wheel 2.13.0)"
  pip_install "torch==2.13.0"
fi

extras=""
[ "$dev" = 1 ] && extras="dev"
[ "$bench" = 1 ] && extras="${extras:+$extras,}bench"
echo "[setup] installing surrogate-hpo${extras:+[$extras]}"
pip_install -e ".${extras:+[$extras]}"

if [ "$dev" = 1 ] && { ! command -v pw.x >/dev/null 2>&1 || ! command -v shellcheck >/dev/null 2>&1; }; then
  echo "[setup] installing Quantum ESPRESSO (DFT pipeline tests) and shellcheck (launch-script tests) from Debian"
  SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq quantum-espresso quantum-espresso-data shellcheck >/dev/null
fi

# pyenv puts console scripts behind shims that need a rehash to appear on PATH.
command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
echo "[setup] done: run 'surrogate-hpo' (a study on the bundled data) or 'python -m pytest'"
