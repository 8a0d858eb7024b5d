#!/usr/bin/env bash
# README command 2: set everything up and run the whole test suite (pytest arguments pass through).
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
ruff check .
exec python -m pytest "$@"
