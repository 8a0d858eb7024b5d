#!/usr/bin/env bash
# Sourced by demo.sh and test.sh: creates .venv with the pinned requirements (reinstalling only when
# requirements.txt changes) and points Airflow at this project. Needs Python >= 3.11 and pip.
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
wanted="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [ "$(cat .venv/.requirements.sha256 2>/dev/null || true)" != "$wanted" ]; then
  echo "==> installing requirements.txt into .venv (first time: about 2 minutes; log: var/logs/pip-install.log)"
  mkdir -p var/logs
  if ! { .venv/bin/python -m pip install --disable-pip-version-check --upgrade pip \
         && .venv/bin/python -m pip install --disable-pip-version-check -r requirements.txt; } \
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
