#!/usr/bin/env bash
# Create .bench-venv/ with the peer radiomics engines the benchmark compares radiomix against.
# The peers are never a runtime dependency of radiomix: they live in their own virtualenv.
# Each peer is installed on its own, so one that cannot install here is recorded (bench-output/peers-install.log)
# and the others still install. Usage: benchmarks/setup_peers.sh [PYTHON]   (default python3.11)
set -u
cd "$(dirname "$0")/.."
PYTHON=${1:-${PYTHON:-python3.11}}
VENV=.bench-venv
LOG=bench-output/peers-install.log
mkdir -p bench-output
test -x $VENV/bin/python || "$PYTHON" -m venv $VENV || { echo "cannot create $VENV with $PYTHON"; exit 1; }
$VENV/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1
# common runtime deps of the runners (NIfTI I/O, memory measurement)
$VENV/bin/python -m pip install -q numpy SimpleITK nibabel pandas >"$LOG" 2>&1
: > bench-output/peers-status.txt
for spec in "pyradiomics-bhklab==3.1.4" "mirp==2.7.0" "nyxus==0.11.0" "flash-radiomics==1.0.0 h5py pykwalify PyWavelets scikit-image scikit-learn trimesh"; do
    echo "== $spec" >>"$LOG"
    if $VENV/bin/python -m pip install $spec >>"$LOG" 2>&1; then
        echo "$spec ok" | tee -a bench-output/peers-status.txt
    else
        echo "$spec FAILED (see $LOG)" | tee -a bench-output/peers-status.txt
    fi
done
$VENV/bin/python -m pip list 2>/dev/null | grep -i -E "radiomics|mirp|nyxus|numpy|simpleitk" | tee -a "$LOG"
