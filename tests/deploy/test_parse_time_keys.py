"""One source for what the DAG files read at parse time: ``PARSE_TIME_KEYS`` is exactly what changes a
parsed DAG (every other key of ``pipeline.yaml`` leaves the serialized DAGs byte for byte the same), the
deploy-time file sets them for parsing and tasks alike, and a Variable setting one fails the run on its
first try, while a Variable setting a task-only key works (``tests/deploy/test_layouts.py`` runs with one)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime

import pytest
import yaml
from airflow.dag_processing.dagbag import DagBag
from airflow.serialization.serialized_objects import DagSerialization

from hubspot_pipeline.config import PARSE_TIME_KEYS, ConfigError, include_dir, load_config, raw_config
from hubspot_pipeline.config.properties import PROPERTY_FIELDS, PROPERTY_OBJECTS
from tests.conftest import ROOT

DATA_MAPPINGS = {"personalize.event_types", "identity.attribute_types"}  # a mapping that is one value
PARSE_TIME_VALUES = {
    "personalize.dataset_group": "other-group",
    "personalize.schedule": "0 5 * * *",
    "hook.schedule": "0 5 * * 1",
}


def task_only_settings(metrics_file: str) -> dict:
    """A value other than the default for every key of pipeline.yaml that is not a parse-time key."""
    return {
        "connections": {"snowflake": "prod_snowflake", "personalize_s3": "prod_s3", "hook_s3": "prod_hook"},
        "share": {"database": "HUB_1234567_DB", "schema": "V2_LIVE", "event_table": "EVENTS_OTHER"},
        "storage": {
            "backend": "s3",
            "local_root": "/elsewhere/objects",
            "server_side_encryption": "aws:kms",
            "kms_key_id": "alias/pipeline",
            "staging_bucket": "other-staging-bucket",
            "staging_prefix": "other/staging",
        },
        "personalize": {
            "lookback_days": 365,
            "earliest_timestamp": "2015-01-01",
            "require_known_items": False,
            "event_types": {"View": "View", "Purchase": "Purchase", "Wishlist": None},
            "event_types_without_items": ["ViewCart"],
            "deals": {
                "pipelines": ["123"],
                "add_to_cart_stages": ["234"],
                "closed_won_stages": ["345"],
                "add_to_cart_event_type": "Cart",
                "purchase_event_type": "Buy",
                "closed_won_implies_add_to_cart": False,
            },
            "minimums": {
                "interactions": 10,
                "users_with_two_interactions": 2,
                "required_event_types": ["View"],
            },
            "bucket": "other-personalize-bucket",
            "recommenders": ["recommended-for-you"],
            "recommender_shortfall": "fail",
            "max_quarantined_share": 0.5,
            "max_quarantined_share_per_reason": 0.3,
            "chunk_rows": 1000,
            "unload": {
                "enabled": True,
                "stage": "DB.SCHEMA.STAGE",
                "workspace": "DB.WORK",
                "max_file_size": 10**6,
            },
        },
        "hook": {
            "bucket": "other-hook-bucket",
            "key_prefix": "other/prefix",
            "region": "us-east-1",
            "runs_prefix": "reports",
            "file_format": "jsonl",
            "acl": None,
            "max_range_days": 30,
            "metrics_file": metrics_file,
        },
        "identity": {
            "anonymous_ids": [],
            "blocked_values": ["nobody"],
            "blocked_email_patterns": [r".*@example\.net"],
            "max_contacts_per_identifier": 10,
            "max_external_id_length": 64,
            "account_id": "external_id",
            "free_email_domains": ["mail.example"],
            "attribute_types": {"hubspot/age": "string"},
            "hash_key_variable": "other_hash_key",
        },
        "properties": {
            obj: {field: f"other_{field}" for (each, field) in PROPERTY_FIELDS if each == obj}
            for obj in PROPERTY_OBJECTS
        },
    }


def leaf_keys(mapping: dict, prefix: str = "") -> set[str]:
    keys = set()
    for name, value in mapping.items():
        key = f"{prefix}{name}"
        keys |= leaf_keys(value, f"{key}.") if isinstance(value, dict) and key not in DATA_MAPPINGS else {key}
    return keys


def nested(key: str, value) -> dict:
    for part in reversed(key.split(".")):
        value = {part: value}
    return value


@pytest.fixture
def metrics_copy(tmp_path) -> str:
    """The metrics file at an absolute path elsewhere (``hook.metrics_file`` is a task-only key too)."""
    copy = tmp_path / "metrics.yaml"
    shutil.copyfile(include_dir() / "config" / "hook_metrics.yaml", copy)
    return str(copy)


@pytest.fixture
def parsed(tmp_path, monkeypatch):
    """``parsed(settings)``: both DAGs serialized, parsed with ``settings`` as the deploy-time file."""

    def parse(settings: dict | None) -> dict[str, str]:
        monkeypatch.delenv("HUBSPOT_PIPELINE_CONFIG", raising=False)
        if settings is not None:
            deploy_file = tmp_path / "deploy.yaml"
            deploy_file.write_text(yaml.safe_dump(settings))
            monkeypatch.setenv("HUBSPOT_PIPELINE_CONFIG", str(deploy_file))
        bag = DagBag(dag_folder=str(ROOT / "dags"))
        assert bag.import_errors == {}
        return {
            dag_id: json.dumps(DagSerialization.to_dict(dag), sort_keys=True, default=str)
            for dag_id, dag in bag.dags.items()
        }

    return parse


def test_every_key_of_the_configuration_is_either_parse_time_or_task_only(metrics_copy):
    task_only = leaf_keys(task_only_settings(metrics_copy))
    assert not task_only & set(PARSE_TIME_KEYS)
    assert leaf_keys(raw_config()) == task_only | set(PARSE_TIME_KEYS)
    load_config(override=task_only_settings(metrics_copy))  # valid values


def test_task_only_keys_leave_the_parsed_dags_unchanged(parsed, metrics_copy):
    assert parsed(task_only_settings(metrics_copy)) == parsed(None)


@pytest.mark.parametrize("key", PARSE_TIME_KEYS)
def test_each_parse_time_key_changes_its_dag_and_only_it(parsed, key):
    defaults, changed = parsed(None), parsed(nested(key, PARSE_TIME_VALUES[key]))
    product = "personalize_training_export" if key.startswith("personalize.") else "hook_metrics_export"
    assert [dag_id for dag_id in defaults if defaults[dag_id] != changed[dag_id]] == [product]


def test_a_variable_setting_a_parse_time_key_says_where_to_set_it(monkeypatch, tmp_path):
    deploy_file = tmp_path / "production.yaml"
    deploy_file.write_text("personalize: {schedule: 0 2 * * *}\n")
    monkeypatch.setenv("HUBSPOT_PIPELINE_CONFIG", str(deploy_file))
    variable = {"personalize": {"schedule": "0 9 * * *", "chunk_rows": 10}, "hook": {"schedule": "0 1 * * *"}}
    monkeypatch.setenv("AIRFLOW_VAR_HUBSPOT_PIPELINE_CONFIG", json.dumps(variable))
    with pytest.raises(ConfigError) as raised:
        load_config(use_airflow_variable=True)
    message = str(raised.value)
    assert "hubspot_pipeline_config sets personalize.schedule, hook.schedule:" in message
    assert f"deploy-time file named by HUBSPOT_PIPELINE_CONFIG (now {deploy_file})" in message
    # a section replaced by something else than a mapping replaces its parse-time keys too
    monkeypatch.setenv("AIRFLOW_VAR_HUBSPOT_PIPELINE_CONFIG", json.dumps({"hook": None}))
    with pytest.raises(ConfigError, match="sets hook.schedule:"):
        load_config(use_airflow_variable=True)
    # task-only keys are fine, over the file's parse-time keys
    monkeypatch.setenv("AIRFLOW_VAR_HUBSPOT_PIPELINE_CONFIG", json.dumps({"personalize": {"chunk_rows": 10}}))
    config = load_config(use_airflow_variable=True).personalize
    assert (config.schedule, config.chunk_rows) == ("0 2 * * *", 10)


@pytest.mark.parametrize(
    ("dag_id", "first_config_task"),
    [("hook_metrics_export", "plan_run"), ("personalize_training_export", "extract")],
)
def test_the_run_fails_on_its_first_try_when_the_variable_sets_a_parse_time_key(
    dag_id, first_config_task, airflow_db, pipeline_override
):
    pipeline_override({"hook": {"schedule": "0 1 * * *"}})
    dag = DagBag(dag_folder=str(ROOT / "dags")).get_dag(dag_id)
    dag_run = dag.test(logical_date=datetime(2024, 6, 30, 8, tzinfo=UTC))
    states = {ti.task_id: (str(ti.state), ti.try_number) for ti in dag_run.get_task_instances()}
    assert str(dag_run.state) == "failed"
    assert states[first_config_task] == ("failed", 1)  # no retry: AirflowFailException
    assert {
        state for task_id, (state, _) in states.items() if task_id not in ("plan_run", first_config_task)
    } == {"upstream_failed"}
