"""The Personalize export's settings (``personalize:`` of the configuration): bucket, dataset group, event
and deal mappings, minimums, chunking and the warehouse-unload mode, with the keys and URIs they imply."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

# The ECOMMERCE recommenders (``personalize.recommenders``) and what each needs to train beyond the dataset
# minimums: at least this many published interactions of each EVENT_TYPE (Personalize developer guide,
# "ECOMMERCE use cases"). The one definition: the config accepts these names, validate checks them on
# the interactions' tallies and config.json lists only those that can train.
RECOMMENDER_REQUIREMENTS: dict[str, dict[str, int]] = {
    "recommended-for-you": {"View": 1, "Purchase": 1},
    "popular-items-by-views": {"View": 1000},
    "popular-items-by-purchases": {"Purchase": 1000},
    "frequently-bought-together": {"Purchase": 1000},
    "customers-who-viewed-x-also-viewed": {"View": 1000},
}
RECOMMENDER_SHORTFALLS = ("omit", "fail")  # personalize.recommender_shortfall


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
    recommender_shortfall: str = "omit"
    max_quarantined_share: float | None = None
    max_quarantined_share_per_reason: Mapping[str, float] = field(default_factory=dict)
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

    def asset_name(self, dataset: str) -> str:
        """The name of the Airflow Asset a published dataset updates (its URI: :meth:`dataset_uri`)."""
        return f"personalize/{self.dataset_group}/{dataset}"

    @property
    def live_key(self) -> str:
        """Where publish records the export date live under ``train/`` (outside it: a JSON there triggers)."""
        return f"runs/{self.dataset_group}/live.json"

    def run_prefix(self, export_date: date) -> str:
        """Prefix of a run's manifest and quarantine files: outside ``train/``, where a JSON triggers."""
        return f"runs/{self.dataset_group}/{export_date.isoformat()}"
