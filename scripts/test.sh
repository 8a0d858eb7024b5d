#!/usr/bin/env bash
# README command 2: set everything up and run the whole test suite (pytest arguments pass through).
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
# The browser test (tests/stack/test_trigger_form.py) needs Debian's chromium and chromium-driver,
# tests/test_compose.py validates docker-compose.yaml with docker-compose 1.29 (no Docker engine needed), and
# the stack tests (tests/stack/) run Airflow on PostgreSQL, a throwaway cluster of Debian's postgresql (only
# its binaries are used: the tests start their own server on 127.0.0.1 and stop it): install them once where
# we can (root with apt-get). Without them those tests fail, loudly.
packages=()
command -v chromium >/dev/null || packages+=(chromium fonts-liberation)
command -v chromedriver >/dev/null || packages+=(chromium-driver)
command -v docker-compose >/dev/null || packages+=(docker-compose)
compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || packages+=(postgresql)
if [ ${#packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing ${packages[*]} (apt; log: var/logs/apt-install.log)"
    mkdir -p var/logs
    if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
             "${packages[@]}"; } > var/logs/apt-install.log 2>&1; then
      tail -n 20 var/logs/apt-install.log >&2
      echo "apt-get install failed (full log: var/logs/apt-install.log): the tests needing them will fail" >&2
    elif [[ " ${packages[*]} " == *" postgresql "* ]] && command -v pg_lsclusters >/dev/null; then
      # the package may have started its default cluster: the tests need only the binaries
      pg_lsclusters --no-header | awk '$4 == "online" {print $1, $2}' | while read -r version cluster; do
        pg_ctlcluster "$version" "$cluster" stop
      done
    fi
  else
    echo "WARNING: ${packages[*]} missing and no root apt-get to install them: install Debian's" \
         "${packages[*]}, or the browser, compose and stack tests fail" >&2
  fi
fi
ruff check .
# two workers (2 cores); tests sharing a module or a session fixture run on one worker (tests/conftest.py)
exec python -m pytest -n "${PYTEST_WORKERS:-2}" "$@"
