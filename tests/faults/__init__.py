"""Fault injection, retries, idempotency and overlapping runs of both exports (issue 6).

CI (short): ``scripts/test.sh tests/faults`` (pyproject's addopts deselect ``slow``).
Long soak and the other export's variants: ``scripts/test.sh -m slow tests/faults`` (a later ``-m``
overrides the addopts one); everything: ``scripts/test.sh -m "slow or not slow" tests/faults``.
"""
