#!/usr/bin/env bash
# README command 2: set everything up and run the whole test suite (pytest arguments pass through).
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
# The browser test (tests/stack/test_trigger_form.py) needs Debian's chromium and chromium-driver, and
# tests/test_compose.py validates docker-compose.yaml with docker-compose 1.29 (no Docker engine needed):
# install them once where we can (root with apt-get). Without Chromium the browser test fails, loudly.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null \
   || ! command -v docker-compose >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> installing chromium, chromium-driver, docker-compose (apt; log: var/logs/apt-install.log)"
    mkdir -p var/logs
    if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
             chromium chromium-driver fonts-liberation docker-compose; } > var/logs/apt-install.log 2>&1; then
      tail -n 20 var/logs/apt-install.log >&2
      echo "apt-get install failed (full log: var/logs/apt-install.log): the browser test will fail" >&2
    fi
  else
    echo "WARNING: chromium / chromedriver / docker-compose missing and no root apt-get to install them:" \
         "install Debian's chromium, chromium-driver and docker-compose, or the browser test fails" >&2
  fi
fi
ruff check .
exec python -m pytest "$@"
