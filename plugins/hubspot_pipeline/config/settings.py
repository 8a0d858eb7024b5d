"""The validated configuration, one frozen dataclass per section (built by
:mod:`hubspot_pipeline.config.loading`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path


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
class UnloadConfig:
    """The warehouse-unload mode of the Personalize export (``personalize.unload``): Snowflake builds,
    validates and unloads the interactions itself (``COPY INTO`` an external stage) instead of streaming
    them through the worker.

    ``stage`` is ``(database, schema, name)`` of an external stage on the Personalize bucket's root, made
    with a storage integration; ``None`` (the local emulator, which cannot unload) makes the worker write
    the same query's result to the same keys instead. ``workspace`` is ``(database, schema)`` where the run
    may create its tables (a share is read-only); ``None`` is the connection's own schema.
    """

    enabled: bool = False
    stage: tuple[str, str, str] | None = None
    workspace: tuple[str, str] | None = None
    max_file_size: int = 5 * 1024**3


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
    chunk_rows: int = 500_000
    unload: UnloadConfig = field(default_factory=UnloadConfig)

    @property
    def personalize_event_types(self) -> set[str]:
        """Every EVENT_TYPE the export can produce."""
        mapped = {name for name in self.event_types.values() if name}
        return mapped | {self.deals.add_to_cart_event_type, self.deals.purchase_event_type}

    @property
    def train_prefix(self) -> str:
        return f"train/{self.dataset_group}"

    def dataset_uri(self, dataset: str) -> str:
        """The published dataset's S3 URI (also its Airflow Asset URI; locally the bucket is a folder)."""
        return f"s3://{self.bucket}/{self.train_prefix}/{dataset}.csv"

    def run_prefix(self, export_date: date) -> str:
        """Prefix of a run's manifest and quarantine files: outside ``train/``, where a JSON triggers."""
        return f"runs/{self.dataset_group}/{export_date.isoformat()}"


@dataclass(frozen=True)
class HookConfig:
    """The Hook export: bucket, key layout, file format and the metric definitions
    (``metrics`` is a tuple of :class:`hubspot_pipeline.hook.metrics.MetricDefinition`)."""

    bucket: str
    region: str
    key_prefix: str
    runs_prefix: str
    file_format: str
    schedule: str
    acl: str | None
    max_range_days: int
    metrics_file: Path
    account_id_column: str
    won_stages: tuple[str, ...]
    metrics: tuple

    @property
    def files_uri(self) -> str:
        """The S3 URI of the folder holding the data files (the Airflow Asset the DAG updates)."""
        return f"s3://{self.bucket}/{self.key_prefix + '/' if self.key_prefix else ''}"

    def data_key(self, metric_date: date) -> str:
        """Key of the file for ``metric_date``: ``<key_prefix>/hook_export_YYYYMMDD.<csv|jsonl>``."""
        name = f"hook_export_{metric_date:%Y%m%d}.{self.file_format}"
        return f"{self.key_prefix}/{name}" if self.key_prefix else name


ACCOUNT_ID_SOURCES = ("company_id", "external_id")
IDENTITY_RESERVED_COLUMNS = frozenset({"CONTACT_ID", "EXTERNAL_ID", "EMAIL", "AGE", "GENDER"})
DEFAULT_BLOCKED_VALUES = frozenset(
    {"", "null", "none", "nil", "nan", "undefined", "0", "-1", "-", "anonymous", "unknown", "n/a", "test"}
)
DEFAULT_BLOCKED_EMAIL_PATTERNS = (
    r"(test|tester|testing|example|sample|demo|dummy|fake|noreply|no-reply|donotreply|do-not-reply"
    r"|none|null|unknown|anonymous|asdf|qwerty)@.*",
    r".*@(test|example|invalid|localhost)(\.[a-z]+)?",
    r".*\.(test|example|invalid|localhost|local)",
)


@dataclass(frozen=True)
class IdentityConfig:
    """Identity resolution (``hubspot_pipeline.identity``): identifiers, placeholders, free e-mail domains.
    The defaults are those documented in ``include/config/pipeline.yaml``."""

    anonymous_ids: tuple[str, ...] = ("VISITOR_ID",)
    blocked_values: frozenset[str] = DEFAULT_BLOCKED_VALUES
    blocked_email_patterns: tuple[str, ...] = DEFAULT_BLOCKED_EMAIL_PATTERNS
    max_contacts_per_identifier: int | None = 50
    max_external_id_length: int = 256
    account_id: str = "company_id"
    free_email_domains: tuple[str, ...] = ()
    attribute_types: dict[str, str] = field(
        default_factory=lambda: {"hubspot/age": "number", "hubspot/createdate": "date"}
    )

    @property
    def anonymous_id_columns(self) -> dict[str, str]:
        """Alias column → the ``OBJECTS_CONTACTS`` column it is read from (``PROPERTY_<alias>``)."""
        return {name: f"PROPERTY_{name}" for name in self.anonymous_ids}


@dataclass(frozen=True)
class PipelineConfig:
    """The whole configuration."""

    snowflake_conn_id: str
    personalize_s3_conn_id: str
    hook_s3_conn_id: str
    share: ShareConfig
    storage: StorageConfig
    personalize: PersonalizeConfig
    hook: HookConfig | None = None
    identity: IdentityConfig = IdentityConfig()


def cron_interval(cron: str) -> timedelta:
    """The time between two runs of a cron schedule (from two consecutive fire times)."""
    from croniter import croniter

    fire_times = croniter(cron, datetime(2024, 1, 1))
    first = fire_times.get_next(float)
    return timedelta(seconds=fire_times.get_next(float) - first)
