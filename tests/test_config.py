"""Configuration: defaults load, overrides merge, identifiers are validated."""

from __future__ import annotations

import json

import pytest

from hubspot_pipeline.config import ConfigError, cron_interval, load_config, raw_config


def test_defaults_load_and_name_the_tutorial_share():
    config = load_config()
    assert config.share.database == "HUB_23826378_DB"
    assert config.share.schema == "V2_DAILY"
    assert config.personalize.deals.closed_won_stages == ("57441673",)
    assert {"View", "Purchase"} <= config.personalize.personalize_event_types
    assert config.storage.backend == "local"


def test_file_and_variable_overrides_merge_in_order(tmp_path, monkeypatch):
    override_file = tmp_path / "override.yaml"
    override_file.write_text(
        "share:\n  schema: v2_live\n  database: from_file\npersonalize:\n  dataset_group: from-file\n"
    )
    monkeypatch.setenv("HUBSPOT_PIPELINE_CONFIG", str(override_file))
    monkeypatch.setenv("AIRFLOW_VAR_HUBSPOT_PIPELINE_CONFIG", json.dumps({"share": {"database": "from_var"}}))
    config = load_config(use_airflow_variable=True)
    assert config.share.schema == "V2_LIVE"
    assert config.personalize.dataset_group == "from-file"
    assert config.share.database == "FROM_VAR"
    assert config.share.event_table == "EVENTS_AWS_E_COMMERCE_INTERACTIONS"
    assert load_config().share.database == "FROM_FILE"  # parse time: the files only


def test_identifiers_are_upper_cased_and_injection_attempts_are_rejected():
    # every configurable name against every injection string: tests/security/test_injection.py
    assert load_config(override={"share": {"schema": "v2_live"}}).share.schema == "V2_LIVE"
    with pytest.raises(ConfigError, match="share.schema"):
        load_config(override={"share": {"schema": 'V2"; DROP TABLE X; --'}})


def test_a_kms_key_needs_kms_encryption():
    kms = {"server_side_encryption": "aws:kms", "kms_key_id": "alias/pipeline"}
    assert load_config(override={"storage": kms}).storage.kms_key_id == "alias/pipeline"
    with pytest.raises(ConfigError, match="storage.kms_key_id needs"):
        load_config(override={"storage": {"kms_key_id": "alias/pipeline"}})


def test_hook_acl_null_sends_none_and_prefixes_lose_their_outer_slashes():
    config = load_config(
        override={"hook": {"acl": None, "key_prefix": "/daily/hubspot/", "runs_prefix": "/_runs"}}
    )
    assert (config.hook.acl, config.hook.key_prefix, config.hook.runs_prefix) == (
        None,
        "daily/hubspot",
        "_runs",
    )
    with pytest.raises(ConfigError, match="must differ"):
        load_config(override={"hook": {"key_prefix": "same", "runs_prefix": "same/"}})


def test_missing_key_is_named():
    raw = raw_config()
    del raw["personalize"]["deals"]
    from hubspot_pipeline.config import parse_config

    with pytest.raises(ConfigError, match="deals"):
        parse_config(raw)


def test_cron_interval():
    assert cron_interval("0 3 * * *").days == 1
    assert cron_interval("0 3 * * 1").days == 7
    assert cron_interval("0 */6 * * *").total_seconds() == 6 * 3600
