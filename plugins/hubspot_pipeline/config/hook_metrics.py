"""Hook metric definitions: ``include/config/hook_metrics.yaml`` parsed into structured, validated
definitions (never SQL). What they imply for the queries and the engine: :mod:`hubspot_pipeline.hook.metrics`.

Light on purpose (no pandas, no numpy): the configuration is loaded at DAG-parse time. The computation
lives in :mod:`hubspot_pipeline.hook.engine`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hubspot_pipeline.config.checks import ConfigError

CUMULATIVE, STOCK = "cumulative", "stock"
EVENTS, ACTIVE_USERS, CONTACTS_CREATED, DEALS_WON, OPEN_DEALS = (
    "events",
    "active_users",
    "contacts_created",
    "deals_won",
    "open_deals",
)
FLOW_SOURCES = (EVENTS, CONTACTS_CREATED, DEALS_WON)  # counted per day: cumulative, or summed over a window
SNAPSHOT_SOURCES = (ACTIVE_USERS, OPEN_DEALS)  # stock only
DEAL_SOURCES = (DEALS_WON, OPEN_DEALS)
MAX_WINDOW_DAYS = 366
METRIC_DATE = "metric_date"
_COLUMN_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")


@dataclass(frozen=True)
class MetricDefinition:
    """One column of the Hook files (see ``include/config/hook_metrics.yaml``)."""

    name: str
    kind: str
    source: str
    event_types: tuple[str, ...] | None = None
    window_days: int | None = None
    measure: str = "count"
    pipelines: tuple[str, ...] | None = None
    description: str = ""

    @property
    def is_money(self) -> bool:
        return self.measure == "amount"


@dataclass(frozen=True)
class MetricDefinitions:
    """The parsed metrics file."""

    account_id_column: str
    won_stages: tuple[str, ...]
    metrics: tuple[MetricDefinition, ...]

    @property
    def columns(self) -> list[str]:
        """Every column of a file, in order."""
        return [self.account_id_column, METRIC_DATE, *(metric.name for metric in self.metrics)]


def _strings(value: Any, key: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(item, str) and item for item in value):
        raise ConfigError(f"{key} must be a non-empty list of non-empty strings")
    return tuple(value)


def _column_name(value: Any, key: str) -> str:
    if not isinstance(value, str) or not _COLUMN_NAME.fullmatch(value):
        raise ConfigError(f"{key}={value!r} is not a column name ([a-z][a-z0-9_]*, ≤ 63 chars)")
    return value


def _metric(raw: Any, position: int) -> MetricDefinition:
    where = f"hook metrics[{position}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a mapping")
    known = {"name", "kind", "source", "event_types", "window_days", "measure", "pipelines", "description"}
    if unknown := sorted(set(raw) - known):
        raise ConfigError(f"{where}: unknown keys {unknown} (raw SQL is not accepted)")
    name = _column_name(raw.get("name"), f"{where}.name")
    where = f"hook metric {name}"
    kind, source = raw.get("kind"), raw.get("source")
    if kind not in (CUMULATIVE, STOCK):
        raise ConfigError(f"{where}: kind={kind!r} must be {CUMULATIVE!r} or {STOCK!r}")
    if source not in FLOW_SOURCES + SNAPSHOT_SOURCES:
        raise ConfigError(f"{where}: source={source!r} must be one of {FLOW_SOURCES + SNAPSHOT_SOURCES}")
    window = raw.get("window_days")
    if window is not None and (not isinstance(window, int) or not 1 <= window <= MAX_WINDOW_DAYS):
        raise ConfigError(f"{where}: window_days={window!r} must be an integer from 1 to {MAX_WINDOW_DAYS}")
    if kind == CUMULATIVE and (source in SNAPSHOT_SOURCES or window is not None):
        raise ConfigError(f"{where}: a cumulative metric counts {FLOW_SOURCES} all time, without window_days")
    if kind == STOCK and source != OPEN_DEALS and window is None:
        raise ConfigError(f"{where}: a stock metric of {source} needs window_days")
    if source == OPEN_DEALS and window is not None:
        raise ConfigError(f"{where}: open_deals is a snapshot, without window_days")
    measure = raw.get("measure", "count")
    if measure not in ("count", "amount") or (measure == "amount" and source not in DEAL_SOURCES):
        raise ConfigError(f"{where}: measure={measure!r} (amount only for deal sources)")
    event_types = _strings(raw.get("event_types"), f"{where}.event_types")
    if event_types is not None and source not in (EVENTS, ACTIVE_USERS):
        raise ConfigError(f"{where}: event_types only apply to events and active_users")
    pipelines = _strings(raw.get("pipelines"), f"{where}.pipelines")
    if pipelines is not None and source not in DEAL_SOURCES:
        raise ConfigError(f"{where}: pipelines only apply to deal sources")
    return MetricDefinition(
        name=name,
        kind=kind,
        source=source,
        event_types=event_types,
        window_days=window,
        measure=measure,
        pipelines=pipelines,
        description=str(raw.get("description", "")),
    )


def parse_metric_definitions(raw: Any) -> MetricDefinitions:
    """Validate the metrics file's mapping. Only structured definitions are accepted: names are checked
    column names, event types and stages become bound values, never SQL text."""
    if not isinstance(raw, dict):
        raise ConfigError("the hook metrics file must hold a mapping")
    account_column = _column_name(raw.get("account_id_column", "account_id"), "account_id_column")
    won_stages = _strings(raw.get("won_stages"), "won_stages") or ()
    entries = raw.get("metrics")
    if not isinstance(entries, list) or not entries:
        raise ConfigError("hook metrics: `metrics` must be a non-empty list")
    metrics = tuple(_metric(entry, position) for position, entry in enumerate(entries))
    names = [account_column, METRIC_DATE, *(metric.name for metric in metrics)]
    if duplicates := sorted({name for name in names if names.count(name) > 1}):
        raise ConfigError(f"hook metrics: duplicate column names {duplicates}")
    if not won_stages and any(metric.source == DEALS_WON for metric in metrics):
        raise ConfigError("hook metrics: deals_won metrics need won_stages")
    return MetricDefinitions(account_column, won_stages, metrics)


def load_metric_definitions(path: str | Path) -> MetricDefinitions:
    """Read and validate the metrics file."""
    try:
        with Path(path).open(encoding="utf-8") as handle:
            return parse_metric_definitions(yaml.safe_load(handle))
    except FileNotFoundError as missing:
        raise ConfigError(f"hook.metrics_file {path} does not exist") from missing
