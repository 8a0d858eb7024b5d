"""Both DAGs (``dag.test()`` against the fakesnow emulator) on shares shaped like other portals:

- a share typed as HubSpot types property columns and the all-text share, holding the same clean records,
  publish the same bytes;
- the minimal portal (typed columns, only default and tutorial properties, no company external id or
  visitor id, its own database / schema / event table, pipeline and stage ids, association views with a
  type column): preflight names what is really there, its suggestion applied, both DAGs succeed with
  configuration changes only and their outputs pass the same checks as the default share's.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from hubspot_pipeline.config import deep_merge, load_config
from hubspot_pipeline.local.generator import generate_share
from hubspot_pipeline.local.generator.minimal_portal import (
    MINIMAL_PORTAL_DATABASE,
    MINIMAL_PORTAL_EVENT_TABLE,
    MINIMAL_PORTAL_SCHEMA,
    generate_minimal_portal_share,
)
from hubspot_pipeline.preflight import run_preflight
from tests.corpus.catalogue import EXPORT_DATE
from tests.corpus.dag_runs import HOOK, PERSONALIZE, both_dags, run_dag, serving
from tests.personalize.output_rules import check_training_folder

HERE = Path(__file__).parent
END_DATE = EXPORT_DATE  # the date both DAGs export (tests.corpus.dag_runs.DAG_CONF)
SIZE = {"contacts": 300, "companies": 30, "products": 60, "days": 30, "events_per_day": 80}
_RUNS = itertools.count()


@pytest.fixture(scope="module")
def dags(airflow_db):
    return both_dags()


def run_both(dags, share_dir: Path, objects: Path, settings: dict | None = None) -> dict[str, str]:
    """Run both DAGs on the share in ``share_dir`` with ``settings`` (task-only keys); their final states."""
    states = {}
    with serving(share_dir, objects, settings):
        for dag_id in (PERSONALIZE, HOOK):
            logical_date = datetime(2024, 7, 1, tzinfo=UTC) + timedelta(minutes=next(_RUNS))
            states[dag_id] = str(run_dag(dags[dag_id], logical_date).state)
    return states


# Data Docs pages carry the time they were built and run uuids
_VOLATILE = re.compile(rb"\d{8}T\d{6}\.\d+Z|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def published(objects: Path) -> dict[str, bytes]:
    """Every object published (outside the staging bucket), Data Docs' timestamps and uuids blanked."""
    staging = objects / load_config().storage.staging_bucket
    return {
        path.relative_to(objects).as_posix(): (
            _VOLATILE.sub(b"X", path.read_bytes()) if path.suffix == ".html" else path.read_bytes()
        )
        for path in sorted(objects.rglob("*"))
        if path.is_file() and staging not in path.parents
    }


def test_typed_and_all_text_shares_of_the_same_records_publish_the_same_bytes(dags, tmp_path):
    outputs = {}
    for variant, all_text in (("typed", False), ("all-text", True)):
        share_dir = tmp_path / variant
        generate_share(share_dir, **SIZE, end_date=END_DATE, dirty_share=0, all_text=all_text)
        states = run_both(dags, share_dir, tmp_path / f"{variant}-objects")
        assert states == {PERSONALIZE: "success", HOOK: "success"}, variant
        outputs[variant] = published(tmp_path / f"{variant}-objects")
    names = sorted(outputs["typed"])
    assert any(name.endswith("interactions.csv") for name in names)
    assert any(re.search(r"hook_export_\d{8}\.csv$", name) for name in names)
    assert names == sorted(outputs["all-text"])
    assert [name for name in names if outputs["typed"][name] != outputs["all-text"][name]] == []


@pytest.fixture(scope="module")
def minimal_portal(tmp_path_factory) -> Path:
    share_dir = tmp_path_factory.mktemp("minimal-portal")
    generate_minimal_portal_share(share_dir, **SIZE, end_date=END_DATE)
    return share_dir


def portal_settings() -> dict:
    """What a user of the minimal portal knows before preflight: where the share is, what their event
    types mean, and their Hook metric definitions (a file of their own: it names event types)."""
    portal = yaml.safe_load((HERE / "minimal_portal.yaml").read_text())
    return {
        "share": portal["share"],
        "personalize": {
            key: portal["personalize"][key] for key in ("event_types", "event_types_without_items")
        },
        "hook": {"metrics_file": str(HERE / "minimal_portal_hook_metrics.yaml")},
    }


def test_the_minimal_portal_runs_both_dags_with_configuration_only(dags, minimal_portal, tmp_path):
    settings = yaml.safe_load((HERE / "minimal_portal.yaml").read_text())
    settings["hook"] = {"metrics_file": str(HERE / "minimal_portal_hook_metrics.yaml")}
    objects = tmp_path / "objects"
    assert run_both(dags, minimal_portal, objects, settings) == {PERSONALIZE: "success", HOOK: "success"}
    check_outputs(objects, load_config(override=settings))


def check_outputs(objects: Path, config) -> None:
    """The checks the default share's outputs pass: Personalize's training folder, the Hook file's columns
    and accounts, and the empty optional fields named in both manifests."""
    train = objects / config.personalize.bucket / "train" / config.personalize.dataset_group
    assert check_training_folder(train) == []
    runs = objects / config.personalize.bucket / "runs" / config.personalize.dataset_group
    empty = json.loads((runs / END_DATE.isoformat() / "manifest.json").read_text())["empty_fields"]
    assert "properties.contacts.gender" in empty  # absent from the share, or set to null
    hook_bucket = objects / config.hook.bucket
    rows = list(csv.DictReader(io.StringIO((hook_bucket / config.hook.data_key(END_DATE)).read_text())))
    assert list(rows[0]) == ["account_id", "metric_date", *(metric.name for metric in config.hook.metrics)]
    assert len(rows) > 10 and all(row["metric_date"] == END_DATE.isoformat() for row in rows)
    assert sum(int(row["total_product_views"]) for row in rows) > 0  # the portal's own event types
    assert sum(int(row["total_deals_won"]) for row in rows) > 0  # and won stage
    hook_manifest = next(hook_bucket.rglob("manifest.json"))
    assert "properties.companies.external_id" in json.loads(hook_manifest.read_text())["empty_fields"]


def test_preflight_on_the_minimal_portal_then_its_suggestion_makes_both_dags_succeed(
    dags, minimal_portal, tmp_path
):
    objects = tmp_path / "objects"
    settings = deep_merge(portal_settings(), {"storage": {"local_root": str(objects)}})
    with serving(minimal_portal, objects, settings):
        before = run_preflight(load_config(override=settings))
        # the tutorial's pipeline and stage ids are not this portal's: blocking, and picked by label
        assert any("personalize.deals" in problem for problem in before.blocking), before.blocking
        for really_there in ("Online Store", "Cart", "Paid", "98765001", "98765002", "product_viewed"):
            assert really_there in before.report_text, really_there
        assert MINIMAL_PORTAL_EVENT_TABLE in before.report_text
        suggestion = yaml.safe_load(before.yaml)
        assert suggestion["personalize"]["deals"] == {
            "pipelines": ["12345678"],
            "add_to_cart_stages": ["98765001"],
            "closed_won_stages": ["98765002"],
        }
        applied = deep_merge(settings, suggestion)
        after = run_preflight(load_config(override=applied))
        assert after.blocking == [], after.report_text
        assert not [warning for warning in after.warnings if warning.startswith("hook.metrics_file")]
        # the shipped metric definitions name the tutorial's event types and won stage: said, not blocking
        shipped = {key: value for key, value in applied.items() if key != "hook"}
        shipped_warnings = run_preflight(load_config(override=shipped)).warnings
        assert any("total_product_views counts event types ['View']" in each for each in shipped_warnings)
        assert any("won_stages ['57441673'] are not stages" in each for each in shipped_warnings)
    assert load_config(override=applied).share.database == MINIMAL_PORTAL_DATABASE
    assert load_config(override=applied).share.schema == MINIMAL_PORTAL_SCHEMA
    assert run_both(dags, minimal_portal, objects, applied) == {PERSONALIZE: "success", HOOK: "success"}
    check_outputs(objects, load_config(override=applied))
