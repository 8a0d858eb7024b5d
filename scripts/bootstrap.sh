#!/usr/bin/env bash
# Sourced by demo.sh and test.sh: creates .venv with requirements-dev.txt at the exact versions of
# constraints.txt (reinstalling only when one of the requirement files or the constraints change) and
# points Airflow at this project. Needs Python >= 3.11 (tested: 3.11) and pip.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "Python >= 3.11 is required (found $("$PYTHON" --version 2>&1))" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
requirement_files=(requirements.txt requirements-local.txt requirements-dev.txt constraints.txt)
wanted="$(sha256sum "${requirement_files[@]}" | sha256sum | cut -d' ' -f1)"
if [ "$(cat .venv/.requirements.sha256 2>/dev/null || true)" != "$wanted" ]; then
  echo "==> installing requirements-dev.txt (-c constraints.txt) into .venv" \
       "(first time: about 2 minutes; log: var/logs/pip-install.log)"
  mkdir -p var/logs
  if ! { .venv/bin/python -m pip install --disable-pip-version-check --upgrade pip \
         && .venv/bin/python -m pip install --disable-pip-version-check \
              -r requirements-dev.txt -c constraints.txt; } \
       > var/logs/pip-install.log 2>&1; then
    tail -n 40 var/logs/pip-install.log >&2
    echo "pip install failed; full log: var/logs/pip-install.log" >&2
    exit 1
  fi
  echo "$wanted" > .venv/.requirements.sha256
fi
export PATH="$ROOT/.venv/bin:$PATH"
export PYTHONPATH="$ROOT/plugins${PYTHONPATH:+:$PYTHONPATH}"
export AIRFLOW_HOME="${AIRFLOW_HOME:-$ROOT/var/airflow}"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__PLUGINS_FOLDER="$ROOT/plugins"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__UNIT_TEST_MODE=False
export GX_ANALYTICS_ENABLED=False
