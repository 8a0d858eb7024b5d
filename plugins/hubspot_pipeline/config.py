"""Pipeline configuration: ``include/config/pipeline.yaml``, overridden by a file named in
``HUBSPOT_PIPELINE_CONFIG`` and by the Airflow Variable ``hubspot_pipeline_config``.

Values that become SQL identifiers are checked against a strict pattern here, once, so the SQL layer
only ever quotes names that are known to be plain identifiers.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG_FILE = PROJECT_ROOT / "include" / "config" / "pipeline.yaml"
CONFIG_FILE_ENV = "HUBSPOT_PIPELINE_CONFIG"
CONFIG_VARIABLE = "hubspot_pipeline_config"

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_DATASET_GROUP = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")


class ConfigError(ValueError):
    """The configuration is invalid; the message names the offending key."""


def sql_identifier(value: Any, key: str) -> str:
    """Return ``value`` upper-cased if it is a plain SQL identifier, else raise naming ``key``."""
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise ConfigError(f"{key}={value!r} is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*, ≤ 255 chars)")
    return value.upper()


def _matching(pattern: re.Pattern, value: Any, key: str, what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ConfigError(f"{key}={value!r} is not a valid {what}")
    return value


@dataclass(frozen=True)
class ShareConfig:
    """Where HubSpot's share lives in Snowflake."""

    database: str
    schema: str
    event_table: str


@dataclass(frozen=True)
class StorageConfig:
    """Where objects are written: a local folder standing in for S3, or S3 itself."""

    backend: str
    local_root: Path
    server_side_encryption: str
    kms_key_id: str | None
    staging_bucket: str
    staging_prefix: str


@dataclass(frozen=True)
class DealConfig:
    """Which deals become interactions, and as what."""

    pipelines: tuple[str, ...]
    add_to_cart_stages: tuple[str, ...]
    closed_won_stages: tuple[str, ...]
    add_to_cart_event_type: str
    purchase_event_type: str
    closed_won_implies_add_to_cart: bool


@dataclass(frozen=True)
class PersonalizeConfig:
    """The Personalize export: bucket, dataset group, mappings and minimums."""

    bucket: str
    dataset_group: str
    schedule: str
    lookback_days: int | None
    earliest_timestamp: date
    require_known_items: bool
    event_types: dict[str, str | None]
    event_types_without_items: tuple[str, ...]
    deals: DealConfig
    min_interactions: int
    min_users_with_two_interactions: int
    required_event_types: tuple[str, ...]
    recommenders: tuple[str, ...]

    @property
    def personalize_event_types(self) -> set[str]:
        """Every EVENT_TYPE the export can produce."""
        mapped = {name for name in self.event_types.values() if name}
        return mapped | {self.deals.add_to_cart_event_type, self.deals.purchase_event_type}

    @property
    def train_prefix(self) -> str:
        return f"train/{self.dataset_group}"

    def run_prefix(self, export_date: date) -> str:
        """Prefix of a run's manifest and quarantine files: outside ``train/``, where a JSON triggers."""
        return f"runs/{self.dataset_group}/{export_date.isoformat()}"


@dataclass(frozen=True)
class PipelineConfig:
    """The whole configuration."""

    snowflake_conn_id: str
    personalize_s3_conn_id: str
    hook_s3_conn_id: str
    share: ShareConfig
    storage: StorageConfig
    personalize: PersonalizeConfig


def deep_merge(base: dict, override: dict) -> dict:
    """Merge ``override`` into a copy of ``base``; nested mappings merge, anything else replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path) -> dict:
    with path.open(encoding="utf-8") as handle:
        loaded = yaml.safe_load(handle) or {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path} must hold a mapping at the top level")
    return loaded


def _airflow_variable_override() -> dict:
    from airflow.sdk import Variable

    raw = Variable.get(CONFIG_VARIABLE, default=None)
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):
        return raw
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError:
        parsed = yaml.safe_load(raw)
    if not isinstance(parsed, dict):
        raise ConfigError(f"Airflow Variable {CONFIG_VARIABLE} must hold a JSON or YAML mapping")
    return parsed


def raw_config(*, use_airflow_variable: bool = False, override: dict | None = None) -> dict:
    """The merged configuration mapping, before validation."""
    merged = _read_yaml(DEFAULT_CONFIG_FILE)
    if extra_file := os.environ.get(CONFIG_FILE_ENV):
        merged = deep_merge(merged, _read_yaml(Path(extra_file)))
    if use_airflow_variable:
        merged = deep_merge(merged, _airflow_variable_override())
    if override:
        merged = deep_merge(merged, override)
    return merged


def _string_tuple(values: Any, key: str) -> tuple[str, ...]:
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{key} must be a non-empty list")
    return tuple(str(value) for value in values)


def _event_types(mapping: Any) -> dict[str, str | None]:
    if not isinstance(mapping, dict) or not mapping:
        raise ConfigError("personalize.event_types must map HubSpot event types to Personalize event types")
    return {str(source): (None if target is None else str(target)) for source, target in mapping.items()}


def parse_config(raw: dict) -> PipelineConfig:
    """Validate a raw configuration mapping into a :class:`PipelineConfig`."""
    try:
        connections, share, storage = raw["connections"], raw["share"], raw["storage"]
        personalize, deals = raw["personalize"], raw["personalize"]["deals"]
        minimums = personalize["minimums"]
        backend = storage["backend"]
        if backend not in ("local", "s3"):
            raise ConfigError(f"storage.backend={backend!r} must be 'local' or 's3'")
        local_root = Path(storage["local_root"])
        lookback = personalize["lookback_days"]
        if lookback is not None and (not isinstance(lookback, int) or lookback < 1):
            raise ConfigError(f"personalize.lookback_days={lookback!r} must be a positive integer or null")
        return PipelineConfig(
            snowflake_conn_id=str(connections["snowflake"]),
            personalize_s3_conn_id=str(connections["personalize_s3"]),
            hook_s3_conn_id=str(connections["hook_s3"]),
            share=ShareConfig(
                database=sql_identifier(share["database"], "share.database"),
                schema=sql_identifier(share["schema"], "share.schema"),
                event_table=sql_identifier(share["event_table"], "share.event_table"),
            ),
            storage=StorageConfig(
                backend=backend,
                local_root=local_root if local_root.is_absolute() else PROJECT_ROOT / local_root,
                server_side_encryption=str(storage["server_side_encryption"]),
                kms_key_id=storage.get("kms_key_id"),
                staging_bucket=_matching(
                    _BUCKET, storage["staging_bucket"], "storage.staging_bucket", "bucket"
                ),
                staging_prefix=str(storage["staging_prefix"]).strip("/"),
            ),
            personalize=PersonalizeConfig(
                bucket=_matching(_BUCKET, personalize["bucket"], "personalize.bucket", "bucket name"),
                dataset_group=_matching(
                    _DATASET_GROUP,
                    personalize["dataset_group"],
                    "personalize.dataset_group",
                    "dataset group name",
                ),
                schedule=str(personalize["schedule"]),
                lookback_days=lookback,
                earliest_timestamp=date.fromisoformat(str(personalize["earliest_timestamp"])),
                require_known_items=bool(personalize["require_known_items"]),
                event_types=_event_types(personalize["event_types"]),
                event_types_without_items=tuple(
                    str(name) for name in personalize["event_types_without_items"]
                ),
                deals=DealConfig(
                    pipelines=_string_tuple(deals["pipelines"], "personalize.deals.pipelines"),
                    add_to_cart_stages=_string_tuple(
                        deals["add_to_cart_stages"], "personalize.deals.add_to_cart_stages"
                    ),
                    closed_won_stages=_string_tuple(
                        deals["closed_won_stages"], "personalize.deals.closed_won_stages"
                    ),
                    add_to_cart_event_type=str(deals["add_to_cart_event_type"]),
                    purchase_event_type=str(deals["purchase_event_type"]),
                    closed_won_implies_add_to_cart=bool(deals["closed_won_implies_add_to_cart"]),
                ),
                min_interactions=int(minimums["interactions"]),
                min_users_with_two_interactions=int(minimums["users_with_two_interactions"]),
                required_event_types=tuple(minimums["required_event_types"]),
                recommenders=tuple(personalize["recommenders"]),
            ),
        )
    except KeyError as missing:
        raise ConfigError(f"configuration key {missing} is missing") from missing


def load_config(*, use_airflow_variable: bool = False, override: dict | None = None) -> PipelineConfig:
    """Load and validate the configuration (tasks pass ``use_airflow_variable=True``)."""
    return parse_config(raw_config(use_airflow_variable=use_airflow_variable, override=override))


def cron_interval(cron: str) -> timedelta:
    """The time between two runs of a cron schedule (from two consecutive fire times)."""
    from croniter import croniter

    fire_times = croniter(cron, datetime(2024, 1, 1))
    first = fire_times.get_next(float)
    return timedelta(seconds=fire_times.get_next(float) - first)
