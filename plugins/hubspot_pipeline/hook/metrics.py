"""What the metric definitions (:mod:`hubspot_pipeline.config.hook_metrics`) imply for the queries and the
engine: the event-type sets counted, the trailing windows' look-back, day numbers and month chunks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from hubspot_pipeline.config.hook_metrics import ACTIVE_USERS, EVENTS, MetricDefinition

_EPOCH = date(1970, 1, 1)


def event_sets(metrics: Sequence[MetricDefinition]) -> list[tuple[str, ...] | None]:
    """The distinct event-type sets the event metrics count (None: every type), in first-use order.
    The event queries return one count column per set: ``E0``, ``E1``, …"""
    sets: list[tuple[str, ...] | None] = []
    for metric in metrics:
        if metric.source in (EVENTS, ACTIVE_USERS):
            key = None if metric.event_types is None else tuple(sorted(set(metric.event_types)))
            if key not in sets:
                sets.append(key)
    return sets


def event_set_column(metric: MetricDefinition, sets: list[tuple[str, ...] | None]) -> str:
    key = None if metric.event_types is None else tuple(sorted(set(metric.event_types)))
    return f"E{sets.index(key)}"


def lookback_days(metrics: Sequence[MetricDefinition]) -> int:
    """Days before a chunk whose per-day facts its trailing windows need."""
    return max((metric.window_days - 1 for metric in metrics if metric.window_days), default=0)


def day_number(value: date) -> int:
    return (value - _EPOCH).days


def day_date(number: int) -> date:
    return _EPOCH + timedelta(days=int(number))


def month_chunks(start: date, end: date) -> list[tuple[date, date]]:
    """``[start, end]`` split at month boundaries (a one-day range is one chunk)."""
    chunks, first = [], start
    while first <= end:
        next_month = (first.replace(day=1) + timedelta(days=32)).replace(day=1)
        last = min(end, next_month - timedelta(days=1))
        chunks.append((first, last))
        first = last + timedelta(days=1)
    return chunks
