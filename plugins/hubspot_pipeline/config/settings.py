"""The validated configuration's shared sections, one frozen dataclass each (built by
:mod:`hubspot_pipeline.config.loading`): the share, storage, identity, and the whole. Each product's own
section lives with the product (``personalize/settings.py``, ``hook/settings.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hubspot_pipeline.hook.settings import HookConfig
    from hubspot_pipeline.personalize.settings import PersonalizeConfig


@dataclass(frozen=True)
class ShareConfig:
    """Where HubSpot's share lives in Snowflake, and the column of each property the exports read
    (``(object, field)`` → ``PROPERTY_<NAME>``, None for a property the portal does not have; the fields:
    :data:`hubspot_pipeline.config.properties.PROPERTY_FIELDS`)."""

    database: str
    schema: str
    event_table: str
    properties: dict[tuple[str, str], str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class StorageConfig:
    """Where objects are written: a local folder standing in for S3, or S3 itself."""

    backend: str
    local_root: Path
    server_side_encryption: str
    kms_key_id: str | None
    staging_bucket: str
    staging_prefix: str


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
    hash_key_variable: str = "hubspot_pipeline_identity_hash_key"
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
