"""Pipeline configuration: ``<include>/config/pipeline.yaml`` (the documented defaults), overridden by the
deploy-time file named in ``HUBSPOT_PIPELINE_CONFIG`` and, in tasks only, by the Airflow Variable
``hubspot_pipeline_config``.

The DAG files read the configuration when they are parsed, where no Variable is read: the keys that decide
a schedule or an Asset URI (:data:`PARSE_TIME_KEYS`) come from the files alone, at parse time and at run
time alike, and a Variable setting one fails the task, saying where to set it instead.

Values that become SQL identifiers are checked against a strict pattern here, once, so the SQL layer
only ever quotes names that are known to be plain identifiers.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from hubspot_pipeline.config.checks import (
    AWS_REGION,
    BUCKET_NAME,
    CONNECTION_ID,
    DATASET_GROUP_NAME,
    HOOK_ACLS,
    SERVER_SIDE_ENCRYPTIONS,
    ConfigError,
    key_prefix,
    kms_key_id_of,
    matching,
    one_of,
    sql_identifier,
)
from hubspot_pipeline.config.hook_metrics import load_metric_definitions
from hubspot_pipeline.config.paths import (
    CONFIG_FILE_ENV,
    PROJECT_ROOT,
    default_config_file,
    deploy_config_file,
    include_path,
)
from hubspot_pipeline.config.properties import PROPERTY_FIELDS
from hubspot_pipeline.config.settings import (
    ACCOUNT_ID_SOURCES,
    IDENTITY_RESERVED_COLUMNS,
    IdentityConfig,
    PipelineConfig,
    ShareConfig,
    StorageConfig,
)
from hubspot_pipeline.hook.settings import HookConfig
from hubspot_pipeline.personalize.settings import (
    RECOMMENDER_REQUIREMENTS,
    RECOMMENDER_SHORTFALLS,
    DealConfig,
    PersonalizeConfig,
    UnloadConfig,
)

CONFIG_VARIABLE = "hubspot_pipeline_config"
# What the DAG files read when they are parsed (the schedules, the Asset alias's name): set only in the
# files (pipeline.yaml, the deploy-time file of HUBSPOT_PIPELINE_CONFIG), never in the Variable, which only
# tasks read. Buckets and prefixes are task-only: the Assets published are named by the run itself.
PARSE_TIME_KEYS = (
    "personalize.dataset_group",
    "personalize.schedule",
    "hook.schedule",
)


# mappings whose keys are the user's own (event types, attribute names, reason prefixes), not settings
FREE_FORM_KEYS = frozenset(
    {
        "personalize.event_types",
        "personalize.max_quarantined_share_per_reason",
        "identity.attribute_types",
    }
)


def unknown_keys(override: Any, known: Any, path: str = "") -> list[str]:
    """Each key of ``override`` that ``known`` (the documented defaults, ``pipeline.yaml``) does not have,
    as ``"a.b.c"`` with the nearest valid key when one is close (else the valid ones): a typo never passes
    silently."""
    if not isinstance(override, dict) or not isinstance(known, dict) or path in FREE_FORM_KEYS:
        return []
    found = []
    for key, value in override.items():
        dotted = f"{path}.{key}" if path else str(key)
        if key in known:
            found += unknown_keys(value, known[key], dotted)
            continue
        valid = [str(each) for each in known]
        if nearest := difflib.get_close_matches(str(key), valid, n=1, cutoff=0.6):
            found.append(f"{dotted} (did you mean {path + '.' if path else ''}{nearest[0]}?)")
        else:
            found.append(f"{dotted} (valid here: {', '.join(valid)})")
    return found


def _checked_keys(override: dict, known: dict, source: str) -> dict:
    if keys := unknown_keys(override, known):
        raise ConfigError(
            f"{source} sets unknown configuration key(s): {'; '.join(keys)}. Every key is documented in "
            "include/config/pipeline.yaml"
        )
    return override


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


def parse_time_keys_in(override: dict) -> list[str]:
    """The :data:`PARSE_TIME_KEYS` that ``override`` sets (also by replacing a section holding one with a
    value that is not a mapping)."""
    found = []
    for key in PARSE_TIME_KEYS:
        value: Any = override
        for part in key.split("."):
            if not isinstance(value, dict):  # a section holding the key, replaced by a scalar or null
                found.append(key)
                break
            if part not in value:
                break
            value = value[part]
        else:
            found.append(key)
    return found


def _check_variable_override(override: dict) -> dict:
    if keys := parse_time_keys_in(override):
        named = os.environ.get(CONFIG_FILE_ENV)
        where = f"now {named}" if named else "unset now"
        raise ConfigError(
            f"the Airflow Variable {CONFIG_VARIABLE} sets {', '.join(keys)}: the DAG files read these when "
            "they are parsed (schedules, Asset URIs), where no Variable is read, so the run would disagree "
            f"with its DAG. Set them in the deploy-time file named by {CONFIG_FILE_ENV} ({where}) and remove "
            "them from the Variable, which may set only what tasks alone use (README: Configuration)"
        )
    return override


def raw_config(*, use_airflow_variable: bool = False, override: dict | None = None) -> dict:
    """The merged configuration mapping, before validation: ``pipeline.yaml``, the deploy-time file, then
    (tasks) the Airflow Variable, which may not set a :data:`PARSE_TIME_KEYS` key."""
    defaults = _read_yaml(default_config_file())
    merged = defaults
    if deploy_file := deploy_config_file():
        merged = deep_merge(merged, _checked_keys(_read_yaml(deploy_file), defaults, str(deploy_file)))
    if use_airflow_variable:
        variable = _check_variable_override(_airflow_variable_override())
        merged = deep_merge(
            merged, _checked_keys(variable, defaults, f"the Airflow Variable {CONFIG_VARIABLE}")
        )
    if override:
        merged = deep_merge(merged, _checked_keys(override, defaults, "the override"))
    return merged


def _positive_int(value: Any, key: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{key}={value!r} must be a positive integer")
    return value


def _string_tuple(values: Any, key: str) -> tuple[str, ...]:
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{key} must be a non-empty list")
    return tuple(str(value) for value in values)


def _event_types(mapping: Any) -> dict[str, str | None]:
    if not isinstance(mapping, dict) or not mapping:
        raise ConfigError("personalize.event_types must map HubSpot event types to Personalize event types")
    return {str(source): (None if target is None else str(target)) for source, target in mapping.items()}


def _hook_config(hook: dict) -> HookConfig:
    file_format = hook["file_format"]
    if file_format not in ("csv", "jsonl"):
        raise ConfigError(f"hook.file_format={file_format!r} must be 'csv' or 'jsonl'")
    metrics_file = include_path(hook["metrics_file"])
    definitions = load_metric_definitions(metrics_file)
    prefixes = {
        key: key_prefix(hook[key], f"hook.{key}", required=key == "runs_prefix")
        for key in ("key_prefix", "runs_prefix")
    }
    if prefixes["runs_prefix"] == prefixes["key_prefix"]:
        raise ConfigError("hook.runs_prefix must differ from hook.key_prefix")
    return HookConfig(
        bucket=matching(BUCKET_NAME, hook["bucket"], "hook.bucket", "bucket name"),
        region=matching(AWS_REGION, hook["region"], "hook.region", "AWS region"),
        key_prefix=prefixes["key_prefix"],
        runs_prefix=prefixes["runs_prefix"],
        file_format=file_format,
        schedule=str(hook["schedule"]),
        acl=None if hook.get("acl") is None else one_of(hook["acl"], HOOK_ACLS, "hook.acl"),
        max_range_days=_positive_int(hook["max_range_days"], "hook.max_range_days"),
        metrics_file=metrics_file,
        account_id_column=definitions.account_id_column,
        won_stages=definitions.won_stages,
        metrics=definitions.metrics,
    )


def _identity(raw: Any) -> IdentityConfig:
    """``identity:``; a missing key keeps :class:`IdentityConfig`'s default."""
    if not isinstance(raw, dict):
        raise ConfigError("identity must be a mapping")
    defaults = IdentityConfig()
    aliases = tuple(
        sql_identifier(name, "identity.anonymous_ids")
        for name in raw.get("anonymous_ids", defaults.anonymous_ids) or []
    )
    if reserved := IDENTITY_RESERVED_COLUMNS.intersection(aliases):
        raise ConfigError(f"identity.anonymous_ids: {sorted(reserved)} are contact columns already")
    patterns = tuple(str(each) for each in raw.get("blocked_email_patterns", defaults.blocked_email_patterns))
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as error:
            raise ConfigError(
                f"identity.blocked_email_patterns: {pattern!r} is not a regex ({error})"
            ) from error
    limit = raw.get("max_contacts_per_identifier", defaults.max_contacts_per_identifier)
    if limit is not None and (not isinstance(limit, int) or limit < 2):
        raise ConfigError(f"identity.max_contacts_per_identifier={limit!r} must be an integer ≥ 2 or null")
    length = raw.get("max_external_id_length", defaults.max_external_id_length)
    if not isinstance(length, int) or length < 1:
        raise ConfigError(f"identity.max_external_id_length={length!r} must be a positive integer")
    account_id = raw.get("account_id", defaults.account_id)
    if account_id not in ACCOUNT_ID_SOURCES:
        raise ConfigError(
            f"identity.account_id={account_id!r} must be one of {', '.join(ACCOUNT_ID_SOURCES)}"
        )
    blocked = raw.get("blocked_values", defaults.blocked_values) or []
    variable = raw.get("hash_key_variable", defaults.hash_key_variable)
    if not isinstance(variable, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", variable):
        raise ConfigError(f"identity.hash_key_variable={variable!r} must name an Airflow Variable")
    return IdentityConfig(
        anonymous_ids=aliases,
        blocked_values=frozenset("" if each is None else str(each).strip().lower() for each in blocked),
        blocked_email_patterns=patterns,
        max_contacts_per_identifier=limit,
        max_external_id_length=length,
        account_id=account_id,
        hash_key_variable=variable,
        free_email_domains=tuple(
            str(domain).strip().lower() for domain in raw.get("free_email_domains") or []
        ),
        attribute_types=_attribute_types(raw.get("attribute_types", defaults.attribute_types)),
    )


def _properties(raw: Any) -> dict[tuple[str, str], str | None]:
    """``properties:`` as ``(object, field)`` → ``PROPERTY_<NAME>`` (None: the portal lacks it, allowed
    for optional properties only). Every field must be set: pipeline.yaml documents each one."""
    if not isinstance(raw, dict) or not all(isinstance(section, dict) for section in raw.values()):
        raise ConfigError("properties must map objects to mappings of fields to property names")
    declared = {
        obj: {name: None for each, name in PROPERTY_FIELDS if each == obj} for obj, _ in PROPERTY_FIELDS
    }
    if undeclared := unknown_keys(raw, declared, "properties"):  # pipeline.yaml itself is checked here
        raise ConfigError(f"properties: no such field(s): {'; '.join(undeclared)}")
    columns = {}
    for (obj, name), spec in PROPERTY_FIELDS.items():
        section = raw.get(obj)
        if not isinstance(section, dict) or name not in section:
            raise ConfigError(f"configuration key '{spec.key}' is missing")
        value = section[name]
        if value is None:
            if spec.required:
                raise ConfigError(
                    f"{spec.key} is required ({spec.used_for}): it must name a HubSpot property, not null"
                )
            columns[(obj, name)] = None
        elif str(value).upper().startswith("PROPERTY_"):
            raise ConfigError(
                f"{spec.key}={value!r}: give the property's internal name, without PROPERTY_ (the column is "
                "PROPERTY_<NAME>)"
            )
        else:
            columns[(obj, name)] = "PROPERTY_" + sql_identifier(value, spec.key)
    return columns


def _qualified_name(value: Any, key: str, parts: int) -> tuple[str, ...] | None:
    """``DATABASE.SCHEMA[.NAME]`` as its ``parts`` plain identifiers (upper-cased), or None for null."""
    if value is None:
        return None
    names = str(value).split(".")
    if len(names) != parts:
        raise ConfigError(f"{key}={value!r} must be {parts} dot-separated identifiers")
    return tuple(sql_identifier(name, key) for name in names)


def _unload(raw: dict) -> UnloadConfig:
    enabled = raw.get("enabled", False)
    if not isinstance(enabled, bool):
        raise ConfigError(f"personalize.unload.enabled={enabled!r} must be true or false")
    stage = _qualified_name(raw.get("stage"), "personalize.unload.stage", 3)
    workspace = _qualified_name(raw.get("workspace"), "personalize.unload.workspace", 2)
    if stage is not None and workspace is None:
        raise ConfigError(
            "personalize.unload.workspace is required with a stage: the share is read-only, so the run "
            "needs a DATABASE.SCHEMA of its own for its tables"
        )
    max_file_size = _positive_int(
        raw.get("max_file_size", UnloadConfig.max_file_size), "personalize.unload.max_file_size"
    )
    if max_file_size > UnloadConfig.max_file_size:
        raise ConfigError("personalize.unload.max_file_size: Snowflake unloads at most 5 GB into one file")
    return UnloadConfig(enabled=enabled, stage=stage, workspace=workspace, max_file_size=max_file_size)


def _recommenders(raw: Any) -> tuple[str, ...]:
    names = _string_tuple(raw, "personalize.recommenders")
    if unknown := sorted(set(names) - set(RECOMMENDER_REQUIREMENTS)):
        raise ConfigError(
            f"personalize.recommenders: {unknown} are not ECOMMERCE recommenders "
            f"({', '.join(RECOMMENDER_REQUIREMENTS)})"
        )
    if len(set(names)) != len(names):
        raise ConfigError("personalize.recommenders lists a recommender twice")
    return names


def _share(value: Any, key: str) -> float | None:
    """A ceiling on a share of rows: a number from 0 to 1, or null (no ceiling)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConfigError(f"{key}={value!r} must be a share from 0 to 1 (or null: no ceiling)")
    return float(value)


def _shares_per_reason(raw: Any) -> dict[str, float]:
    """Ceilings by reason prefix: one share for every reason (``{"": share}``), a mapping, or null."""
    key = "personalize.max_quarantined_share_per_reason"
    shares = raw if isinstance(raw, dict) else {"": raw}
    checked = {
        str(prefix): _share(value, f"{key}.{prefix}" if prefix else key) for prefix, value in shares.items()
    }
    return {prefix: share for prefix, share in checked.items() if share is not None}


def _attribute_types(raw: Any) -> dict[str, str]:
    kinds = ("date", "number", "boolean", "string")
    if not isinstance(raw, dict) or any(kind not in kinds for kind in raw.values()):
        raise ConfigError(f"identity.attribute_types must map attribute names to one of {', '.join(kinds)}")
    return {str(name).lower(): str(kind) for name, kind in raw.items()}


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
            snowflake_conn_id=matching(
                CONNECTION_ID, connections["snowflake"], "connections.snowflake", "connection id"
            ),
            personalize_s3_conn_id=matching(
                CONNECTION_ID, connections["personalize_s3"], "connections.personalize_s3", "connection id"
            ),
            hook_s3_conn_id=matching(
                CONNECTION_ID, connections["hook_s3"], "connections.hook_s3", "connection id"
            ),
            share=ShareConfig(
                database=sql_identifier(share["database"], "share.database"),
                schema=sql_identifier(share["schema"], "share.schema"),
                event_table=sql_identifier(share["event_table"], "share.event_table"),
                properties=_properties(raw["properties"]),
            ),
            storage=StorageConfig(
                backend=backend,
                local_root=local_root if local_root.is_absolute() else PROJECT_ROOT / local_root,
                server_side_encryption=one_of(
                    storage["server_side_encryption"],
                    SERVER_SIDE_ENCRYPTIONS,
                    "storage.server_side_encryption",
                ),
                kms_key_id=kms_key_id_of(storage),
                staging_bucket=matching(
                    BUCKET_NAME, storage["staging_bucket"], "storage.staging_bucket", "bucket"
                ),
                staging_prefix=key_prefix(storage["staging_prefix"], "storage.staging_prefix", required=True),
            ),
            personalize=PersonalizeConfig(
                bucket=matching(BUCKET_NAME, personalize["bucket"], "personalize.bucket", "bucket name"),
                dataset_group=matching(
                    DATASET_GROUP_NAME,
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
                recommenders=_recommenders(personalize["recommenders"]),
                recommender_shortfall=one_of(
                    personalize.get("recommender_shortfall", "omit"),
                    RECOMMENDER_SHORTFALLS,
                    "personalize.recommender_shortfall",
                ),
                max_quarantined_share=_share(
                    personalize.get("max_quarantined_share"), "personalize.max_quarantined_share"
                ),
                max_quarantined_share_per_reason=_shares_per_reason(
                    personalize.get("max_quarantined_share_per_reason")
                ),
                chunk_rows=_positive_int(personalize.get("chunk_rows", 500_000), "personalize.chunk_rows"),
                unload=_unload(personalize.get("unload") or {}),
            ),
            hook=_hook_config(raw["hook"]) if "hook" in raw else None,
            identity=_identity(raw.get("identity") or {}),
        )
    except KeyError as missing:
        raise ConfigError(f"configuration key {missing} is missing") from missing


def load_config(*, use_airflow_variable: bool = False, override: dict | None = None) -> PipelineConfig:
    """Load and validate the configuration. The DAG files call it as it is (at parse time); tasks pass
    ``use_airflow_variable=True``, which adds the Variable's keys (none of :data:`PARSE_TIME_KEYS`)."""
    return parse_config(raw_config(use_airflow_variable=use_airflow_variable, override=override))
