"""Preflight on a generated local share (the fakesnow emulator): it passes and lists the share's real
pipelines, stages and event types; a renamed required property, a missing stage, unreachable minimums and
an unwritable bucket block it, each named; the probe objects are written and deleted outside ``train/``;
the suggested override loads and fixes what it can; the command line writes it."""

from __future__ import annotations

import json

import duckdb
import pytest
import yaml

from hubspot_pipeline.config import deep_merge, load_config
from hubspot_pipeline.local.emulator import running_emulator
from hubspot_pipeline.local.generator import generate_share
from hubspot_pipeline.local.generator.dirt import UNKNOWN_EVENT_TYPES
from hubspot_pipeline.local.quickstart import snowflake_connection
from hubspot_pipeline.local.share_schema import DEAL_PIPELINES, DEAL_STAGES, database_file
from hubspot_pipeline.preflight import __main__ as cli
from hubspot_pipeline.preflight import run_preflight
from hubspot_pipeline.preflight.share import candidate_columns, clear_candidate
from hubspot_pipeline.storage import S3ObjectStore
from tests.conftest import s3_client
from tests.preflight.conftest import SHARE_SIZES

CONFIG = load_config()
GENERATED_EVENT_TYPES = {"View", "AddToCart", "ViewCart", "StartCheckout", "Purchase"}


@pytest.fixture
def preflight(emulator, monkeypatch, tmp_path):
    """Preflight through the emulator, with the objects in ``tmp_path`` and ``override`` over them."""
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_SNOWFLAKE", snowflake_connection(emulator, CONFIG.share))
    base = {"storage": {"local_root": str(tmp_path / "objects")}}

    def run(override: dict | None = None):
        return run_preflight(load_config(override=deep_merge(base, override or {})))

    run.base = base
    return run


def test_the_generated_share_passes_with_its_pipelines_stages_and_event_types(preflight):
    result = preflight()
    assert result.blocking == []
    pipelines = {each["id"]: each for each in result.share["pipelines"]}
    assert {pipeline_id: each["label"] for pipeline_id, each in pipelines.items()} == DEAL_PIPELINES
    for pipeline_id, stages in DEAL_STAGES.items():
        assert [(s["id"], s["label"]) for s in pipelines[pipeline_id]["stages"]] == [
            (stage.stage_id, stage.label) for stage in stages
        ]
    ecommerce = {s["id"]: s for s in pipelines["ecommerce"]["stages"]}
    assert pipelines["ecommerce"]["configured"] and not pipelines["default"]["configured"]
    assert ecommerce["57441672"]["configured_as"] == ecommerce["57441672"]["label_suggests"] == "add_to_cart"
    assert ecommerce["57441673"]["configured_as"] == ecommerce["57441673"]["label_suggests"] == "closed_won"
    event_types = {each["event_type"]: each for each in result.share["event_types"]}
    mapped = {name for name, each in event_types.items() if each["mapped"]}
    assert mapped == GENERATED_EVENT_TYPES and all(each["events"] > 0 for each in event_types.values())
    unmapped = set(event_types) - mapped
    assert unmapped and unmapped <= set(UNKNOWN_EVENT_TYPES)  # the dirt: quarantined by the export
    assert sum("is not mapped: such events are quarantined" in each for each in result.warnings) == len(
        unmapped
    )
    assert "**unmapped** (quarantined)" in result.report_text
    estimate = result.share["estimate"]
    assert estimate["interactions"] >= CONFIG.personalize.min_interactions
    assert estimate["by_event_type"]["Purchase"] > event_types["Purchase"]["events"]  # deals add purchases
    for heading in ("## Share tables", "## Properties", "## Deal pipelines", "## Event types", "## Buckets"):
        assert heading in result.report_text
    assert "estimate before validation" in result.report_text
    assert "Checkout Pending" in result.report_text and "`57441673`" in result.report_text


def test_the_suggested_override_loads_and_keeps_a_working_configuration(preflight):
    result = preflight()
    suggestion = yaml.safe_load(result.yaml)
    assert suggestion == result.suggested_override
    config = load_config(override=suggestion)
    assert config.share == CONFIG.share
    assert config.personalize.deals == CONFIG.personalize.deals


def test_a_renamed_required_property_blocks_naming_its_key_and_the_candidates(preflight):
    renamed = {"properties": {"products": {"external_id": "item_code"}}}
    result = preflight(renamed)
    [problem] = result.blocking
    assert problem.startswith(
        "properties.products.external_id: OBJECTS_PRODUCTS has no column PROPERTY_ITEM_CODE"
    )
    assert problem.endswith("the share has PROPERTY_EXTERNAL_ID, PROPERTY_HS_SKU")  # by name, then SKU
    assert "**missing**" in result.report_text
    # the field's own name is clearer than a known alternative: the suggestion undoes the rename
    assert result.suggested_override["properties"] == {"products": {"external_id": "external_id"}}
    assert preflight(deep_merge(renamed, result.suggested_override)).blocking == []


@pytest.fixture(scope="module")
def renamed_emulator(tmp_path_factory):
    """A share like a portal whose products' external id is ``sku`` (no ``hs_sku``, no ``promoted``)."""
    share_dir = tmp_path_factory.mktemp("renamed-share")
    generate_share(share_dir, **SHARE_SIZES, dirty_share=0.0)
    with duckdb.connect(str(database_file(share_dir, CONFIG.share.database))) as connection:
        for statement in (
            "DROP COLUMN PROPERTY_HS_SKU",
            "RENAME COLUMN PROPERTY_EXTERNAL_ID TO PROPERTY_SKU",
            "DROP COLUMN PROPERTY_PROMOTED",
        ):
            connection.execute(f"ALTER TABLE {CONFIG.share.schema}.OBJECTS_PRODUCTS {statement}")
    with running_emulator(share_dir) as running:
        yield running


def test_on_a_portal_naming_properties_otherwise_the_suggestion_makes_it_pass(
    renamed_emulator, monkeypatch, tmp_path
):
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_SNOWFLAKE", snowflake_connection(renamed_emulator, CONFIG.share))
    base = {"storage": {"local_root": str(tmp_path / "objects")}}
    result = run_preflight(load_config(override=base))
    assert [problem.split(":")[0] for problem in result.blocking] == ["properties.products.external_id"]
    assert result.blocking[0].endswith("the share has PROPERTY_SKU")
    assert "properties.products.promoted: OBJECTS_PRODUCTS has no column PROPERTY_PROMOTED" in " ".join(
        result.warnings
    )
    assert result.suggested_override["properties"] == {"products": {"external_id": "sku", "promoted": None}}
    applied = run_preflight(load_config(override=deep_merge(base, yaml.safe_load(result.yaml))))
    assert applied.blocking == [] and applied.suggested_override == result.suggested_override


def test_two_equally_likely_candidates_are_listed_but_none_is_suggested():
    columns = {
        "PROPERTY_NAME": "TEXT",
        "PROPERTY_SKU": "TEXT",
        "PROPERTY_HS_SKU": "TEXT",
        "PROPERTY_PRICE": "NUMBER",
    }
    candidates = candidate_columns(columns, set(), "products", "external_id", "PROPERTY_EXTERNAL_ID")
    assert [each["column"] for each in candidates] == ["PROPERTY_HS_SKU", "PROPERTY_SKU"]
    assert clear_candidate(candidates) is None
    assert clear_candidate(candidate_columns(columns, set(), "products", "price", None))["column"] == (
        "PROPERTY_PRICE"
    )
    assert candidate_columns(columns, {"PROPERTY_PRICE"}, "products", "price", None) == []  # used elsewhere


def test_a_missing_optional_property_only_warns(preflight):
    result = preflight({"properties": {"products": {"promoted": "featured_flag"}}})
    assert result.blocking == []
    assert "properties.products.promoted: OBJECTS_PRODUCTS has no column PROPERTY_FEATURED_FLAG" in " ".join(
        result.warnings
    )
    assert result.suggested_override["properties"] == {"products": {"promoted": "promoted"}}  # the share's


def test_configured_pipelines_and_stages_that_do_not_exist_block_and_are_picked_by_label(preflight):
    result = preflight(
        {
            "personalize": {
                "deals": {"pipelines": ["shop"], "add_to_cart_stages": ["1"], "closed_won_stages": ["2"]}
            }
        }
    )
    assert [problem.split(":")[0] for problem in result.blocking] == [
        "personalize.deals.pipelines",
        "personalize.deals.add_to_cart_stages",
        "personalize.deals.closed_won_stages",
    ]
    assert "'shop'" in result.blocking[0] and "ecommerce (eCommerce)" in result.blocking[0]
    assert result.suggested_override["personalize"]["deals"] == {
        "pipelines": ["ecommerce"],  # the sales pipeline's "Closed Won" has no cart stage beside it
        "add_to_cart_stages": ["57441672"],
        "closed_won_stages": ["57441673"],
    }
    assert load_config(override=result.suggested_override).personalize.deals == CONFIG.personalize.deals


def test_a_missing_event_table_blocks_and_the_one_with_event_types_is_suggested(preflight):
    result = preflight({"share": {"event_table": "EVENTS_OTHER"}})
    assert result.blocking == [
        "share.event_table: the share has no table EVENTS_OTHER, needed for the exports"
    ]
    assert result.suggested_override["share"]["event_table"] == CONFIG.share.event_table
    assert "properties" not in result.suggested_override  # nothing chosen for a table that is not there
    assert preflight(result.suggested_override).blocking == []


def test_unreachable_minimums_block_and_skipped_event_types_count_for_nothing(preflight):
    result = preflight(
        {
            "personalize": {
                "minimums": {"interactions": 10**6},
                "event_types": {"View": "View", "Purchase": "Purchase", "ViewCart": None},
            }
        }
    )
    assert result.blocking == [
        f"personalize.minimums: interactions: about {result.share['estimate']['interactions']}, Personalize "
        "needs at least 1000000 (estimate before validation)"
    ]
    view_cart = next(each for each in result.share["event_types"] if each["event_type"] == "ViewCart")
    assert view_cart["mapped"] and view_cart["maps_to"] is None and "null (skipped)" in result.report_text
    assert "ViewCart" not in result.share["estimate"]["by_event_type"]


def test_probe_objects_are_written_and_deleted_on_s3_never_under_train(
    preflight, hook_s3_connection, monkeypatch
):
    hook = CONFIG.hook
    client = s3_client(
        hook_s3_connection, CONFIG.personalize.bucket, CONFIG.storage.staging_bucket, hook.bucket
    )
    writes = []
    put_bytes = S3ObjectStore.put_bytes

    def recording(store, key, data, content_type):
        put_bytes(store, key, data, content_type)
        head = client.head_object(
            Bucket=store.bucket, Key=key
        )  # there, encrypted, before preflight deletes it
        writes.append((store.bucket, key, dict(store.write_arguments), head["ServerSideEncryption"]))

    monkeypatch.setattr(S3ObjectStore, "put_bytes", recording)
    result = preflight({"storage": {"backend": "s3"}})
    assert result.blocking == []
    probes = {each["bucket"]: each for each in result.buckets}
    assert all(each["written"] and each["deleted"] and each["error"] is None for each in probes.values())
    assert probes["personalize"]["key"].startswith(f"runs/{CONFIG.personalize.dataset_group}/preflight/")
    assert probes["hook"]["key"].startswith(f"{hook.runs_prefix}/preflight/")
    assert probes["staging"]["key"].startswith(f"{CONFIG.storage.staging_prefix}/preflight/")
    assert [(bucket, key) for bucket, key, _, _ in writes] == [
        (CONFIG.personalize.bucket, probes["personalize"]["key"]),
        (CONFIG.storage.staging_bucket, probes["staging"]["key"]),
        (hook.bucket, probes["hook"]["key"]),
    ]
    assert not [key for _, key, _, _ in writes if key.startswith("train/")]
    assert all(arguments["ServerSideEncryption"] == sse == "AES256" for _, _, arguments, sse in writes)
    assert [arguments.get("ACL") for _, _, arguments, _ in writes] == [None, None, hook.acl]
    for bucket in (CONFIG.personalize.bucket, CONFIG.storage.staging_bucket, hook.bucket):
        assert client.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_a_bucket_that_cannot_be_written_blocks_naming_it(preflight, hook_s3_connection):
    s3_client(hook_s3_connection, CONFIG.personalize.bucket, CONFIG.storage.staging_bucket)  # no Hook bucket
    result = preflight({"storage": {"backend": "s3"}})
    [problem] = result.blocking
    assert problem.startswith(
        f"hook bucket: cannot write s3://{CONFIG.hook.bucket}/{CONFIG.hook.runs_prefix}/"
    )
    assert "NoSuchBucket" in problem


def test_the_command_line_prints_the_report_writes_the_yaml_and_exits_non_zero_when_blocked(
    preflight, monkeypatch, tmp_path, capsys
):
    monkeypatch.setenv("AIRFLOW_VAR_HUBSPOT_PIPELINE_CONFIG", json.dumps(preflight.base))
    suggestion = tmp_path / "portal.yaml"
    assert cli.main(["--yaml", str(suggestion)]) == 0
    assert "# Preflight of HUB_23826378_DB.V2_DAILY" in capsys.readouterr().out
    load_config(override=yaml.safe_load(suggestion.read_text()))

    blocked = deep_merge(preflight.base, {"properties": {"deals": {"amount": "deal_value"}}})
    monkeypatch.setenv("AIRFLOW_VAR_HUBSPOT_PIPELINE_CONFIG", json.dumps(blocked))
    assert cli.main(["--json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["blocking"][0].startswith("properties.deals.amount:")
    assert (
        "blocking: properties.deals.amount: OBJECTS_DEALS has no column PROPERTY_DEAL_VALUE" in captured.err
    )
