"""Fault injection, retries, idempotency and overlapping runs of both exports (issue 6).

Every variant runs in CI (both exports, the soak included): ``scripts/test.sh tests/faults``.
"""
