"""Hook metric definitions (validation, no SQL injection), run planning, month chunks and the engine's
trailing windows, as plain functions."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
from airflow.sdk.exceptions import AirflowFailException

from hubspot_pipeline.config import ConfigError, load_config
from hubspot_pipeline.config.hook_metrics import (
    CUMULATIVE,
    STOCK,
    MetricDefinitions,
    parse_metric_definitions,
)
from hubspot_pipeline.hook.engine import MetricEngine, MetricInputs, render_files
from hubspot_pipeline.hook.metrics import day_number, month_chunks
from hubspot_pipeline.hook.run import plan_dates
from hubspot_pipeline.share.session import render_sql

NOW = datetime(2024, 3, 10, 12, tzinfo=UTC)


def _definitions(*metrics: dict, **extra) -> MetricDefinitions:
    return parse_metric_definitions({"won_stages": ["closedwon"], "metrics": list(metrics), **extra})


def test_the_shipped_definitions_have_both_kinds_and_at_least_eight_metrics():
    hook = load_config().hook
    assert len(hook.metrics) >= 8
    assert {metric.kind for metric in hook.metrics} == {CUMULATIVE, STOCK}
    assert hook.data_key(date(2024, 3, 1)) == "hook_export_20240301.csv"
    assert hook.bucket == "hook-customer-data-production-example-imports" and hook.region == "eu-west-1"


@pytest.mark.parametrize(
    ("metric", "problem"),
    [
        ({"name": "x", "kind": "cumulative", "source": "events", "sql": "SELECT 1"}, "unknown keys"),
        ({"name": 'x"; DROP TABLE y; --', "kind": "stock", "source": "open_deals"}, "not a column name"),
        ({"name": "Total Orders", "kind": "stock", "source": "open_deals"}, "not a column name"),
        ({"name": "x", "kind": "ytd", "source": "events"}, "kind"),
        ({"name": "x", "kind": "cumulative", "source": "active_users", "window_days": 7}, "cumulative"),
        ({"name": "x", "kind": "stock", "source": "active_users"}, "window_days"),
        ({"name": "x", "kind": "stock", "source": "active_users", "window_days": 0}, "window_days"),
        ({"name": "x", "kind": "cumulative", "source": "events", "measure": "amount"}, "measure"),
        ({"name": "x", "kind": "cumulative", "source": "events", "event_types": []}, "event_types"),
        ({"name": "x", "kind": "stock", "source": "open_deals", "event_types": ["View"]}, "event_types"),
    ],
)
def test_invalid_definitions_are_rejected(metric, problem):
    with pytest.raises(ConfigError, match=problem):
        _definitions(metric)


def test_duplicate_columns_are_rejected():
    metric = {"name": "metric_date", "kind": "stock", "source": "open_deals"}
    with pytest.raises(ConfigError, match="duplicate"):
        _definitions(metric)


def test_event_types_are_bound_values_never_sql_text(tmp_path):
    config = load_config(
        override={"hook": {"metrics_file": str(_metrics_file(tmp_path, ["View'); DROP TABLE x; --"]))}}
    )
    from hubspot_pipeline.hook.run import HookRun
    from hubspot_pipeline.hook.tasks import _event_query

    run = HookRun(config, date(2024, 1, 1), date(2024, 1, 1), "test")
    variables, parameters = _event_query(run)
    sql = render_sql("hook/event_activity.sql", run.config.share, **variables)
    assert "DROP" not in sql and "%(event_set_0)s" in sql
    assert parameters["event_set_0"] == ("View'); DROP TABLE x; --",)


def _metrics_file(tmp_path, event_types: list[str]):
    path = tmp_path / "metrics.yaml"
    path.write_text(
        "metrics:\n  - {name: views, kind: cumulative, source: events, event_types: "
        + json.dumps(event_types)
        + "}\n"
    )
    return path


def test_plan_dates():
    assert plan_dates({"metric_date": "2024-02-29"}, None, NOW, 1098) == (
        date(2024, 2, 29),
        date(2024, 2, 29),
    )
    assert plan_dates({}, datetime(2024, 3, 1, 4, tzinfo=UTC), NOW, 1098) == (
        date(2024, 3, 1),
        date(2024, 3, 1),
    )
    assert plan_dates({}, None, NOW, 1098) == (date(2024, 3, 9), date(2024, 3, 9))
    bulk = {"start_date": "2023-01-01", "end_date": "2024-12-31"}
    assert plan_dates(bulk, None, NOW, 1098) == (date(2023, 1, 1), date(2024, 12, 31))
    for params in ({"start_date": "2024-01-02"}, {"start_date": "2024-01-02", "end_date": "2024-01-01"}):
        with pytest.raises(AirflowFailException):
            plan_dates(params, None, NOW, 1098)
    with pytest.raises(AirflowFailException, match="longer than 30 days"):
        plan_dates({"start_date": "2024-01-01", "end_date": "2024-01-31"}, None, NOW, 30)


def test_month_chunks_split_at_month_ends():
    assert month_chunks(date(2024, 1, 30), date(2024, 3, 2)) == [
        (date(2024, 1, 30), date(2024, 1, 31)),
        (date(2024, 2, 1), date(2024, 2, 29)),
        (date(2024, 3, 1), date(2024, 3, 2)),
    ]
    assert month_chunks(date(2024, 5, 5), date(2024, 5, 5)) == [(date(2024, 5, 5), date(2024, 5, 5))]


def test_distinct_users_in_a_window_are_not_double_counted_and_chunks_agree():
    """One contact active on days 0, 1, 2 and 10 counts once per 7-day window; computing day by day gives
    what one long chunk gives."""
    definitions = _definitions(
        {"name": "users_7d", "kind": "stock", "source": "active_users", "window_days": 7},
        {"name": "events", "kind": "cumulative", "source": "events"},
    )
    start = date(2024, 1, 1)
    activity = pd.DataFrame(
        {
            "CONTACT_ID": ["1", "1", "1", "1", "2"],
            "ACCOUNT_POS": [0, 0, 0, 0, 0],
            "DAY": [day_number(start) + offset for offset in (0, 1, 2, 10, 2)],
            "EVENTS": [1, 2, 1, 1, 1],
            "E0": [1, 2, 1, 1, 1],
        }
    )
    inputs = MetricInputs(
        accounts=pd.DataFrame({"ACCOUNT_ID": ["7"], "CREATED_DAY": pd.array([None], dtype="Int64")}),
        contacts=pd.DataFrame({"CONTACT_ID": [], "ACCOUNT_POS": [], "CREATED_DAY": pd.array([], "Int64")}),
        deals=pd.DataFrame(
            {
                name: pd.array([], dtype)
                for name, dtype in {
                    "ACCOUNT_POS": "int64",
                    "PIPELINE": object,
                    "DEAL_STAGE": object,
                    "IS_CLOSED": bool,
                    "CENTS": "int64",
                    "CREATED_DAY": "Int64",
                    "CLOSED_DAY": "Int64",
                }.items()
            }
        ),
        contact_positions=pd.Series({"1": 0, "2": 0}),
    )
    baseline = pd.DataFrame({"CONTACT_ID": [], "FIRST_DATE": pd.to_datetime([]), "EVENTS": [], "E0": []})
    whole = MetricEngine(definitions, inputs, baseline, start).compute(date(2024, 1, 14), activity)
    assert whole.values["users_7d"][0].tolist() == [1, 1, 2, 2, 2, 2, 2, 2, 2, 0, 1, 1, 1, 1]
    assert whole.values["events"][0].tolist() == [1, 3, 5, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6]
    engine = MetricEngine(definitions, inputs, baseline, start)
    by_day = [engine.compute(date(2024, 1, day), activity) for day in range(1, 15)]
    assert [file for chunk in by_day for file in render_files(chunk, definitions, "csv")] == list(
        render_files(whole, definitions, "csv")
    )
    assert np.all(whole.present)
