#!/usr/bin/env bash
# README command 1: set everything up and run the Personalize export end to end on the local stack
# (a seeded fakesnow share and a local folder standing in for S3). Options go to the quickstart, e.g.
#   scripts/demo.sh --source tutorial
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
exec python -m hubspot_pipeline.local.quickstart "$@"
