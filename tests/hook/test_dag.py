"""``hook_metrics_export`` end to end through Airflow (``dag.test()``) against the fakesnow emulator, on a
tiny hand-built share whose numbers are worked out below by hand: daily runs, the bulk backfill across a
month boundary (byte-identical), reruns, a validation failure and S3 through moto with ``hook_s3``."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from airflow.dag_processing.dagbag import DagBag

from hubspot_pipeline.config import load_config
from hubspot_pipeline.local.emulator import running_emulator
from hubspot_pipeline.local.quickstart import snowflake_connection
from hubspot_pipeline.local.share_schema import DEFAULT_EVENT_TABLE, rebuilt_share, share_tables
from tests.conftest import ROOT, asset_events, s3_client

DAG_ID = "hook_metrics_export"
CONFIG = load_config()
BUCKET = CONFIG.hook.bucket
DATES = [date(2024, 1, 30), date(2024, 1, 31), date(2024, 2, 1), date(2024, 2, 2)]
A, B, C, D = "20000000001", "20000000002", "20000000003", "20000000004"
C1, C2, C3, C4 = 10000000001, 10000000002, 10000000003, 10000000004

# ---------------------------------------------------------------------------------------- the share
# Companies: A created 2024-01-01; B created 2024-02-01 but active earlier (a deal created 01-15, an
# event 01-20); C with an unreadable create date (a row on every date) and a free e-mail domain, which
# never claims contacts; D created 2024-02-02 (epoch ms).
COMPANIES = [
    (A, "2024-01-01T10:00:00Z", "www.Acme-A.com"),
    (B, "2024-02-01 09:00:00", None),
    (C, "not a date", "gmail.com"),
    (D, "1706832000000", None),
]
# Contacts: c1, c2 belong to A, c3 to B (explicit associations); c4 to nobody (its events are skipped);
# c5 to A through its e-mail domain (identity stage); c6 (gmail.com) to nobody.
C5, C6 = 10000000005, 10000000006
CONTACTS = [
    (C1, "1704844800000", None),
    (C2, "2024-01-31T12:00:00Z", None),
    (C3, "2024-02-01", None),
    (C4, "2024-01-05", None),
    (C5, "2024-02-02T08:00:00Z", "ann@acme-a.com"),
    (C6, "2024-01-30", "bob@gmail.com"),
]
MEMBERSHIPS = [(C1, int(A)), (C2, int(A)), (C3, int(B))]
EVENTS = [
    (C1, "2024-01-05 10:00:00", "View"),
    (C1, "2024-01-30 09:00:00", "View"),
    (C1, "2024-01-30 09:05:00", "Purchase"),
    (C1, "2024-02-01 23:59:00", "AddToCart"),
    (C2, "2024-01-31 08:00:00", "View"),
    (C2, "2024-01-31 08:01:00", "Wishlist"),  # counted by total_events (every type) only
    (C3, "2024-01-20 12:00:00", "View"),
    (C4, "2024-01-30 12:00:00", "View"),  # contact without an account: skipped
]
# Deals: (id, company, contact, pipeline, stage, amount, created, closed)
DEALS = [
    (
        30000000001,
        int(A),
        None,
        "default",
        "closedwon",
        "1000.50",
        "2024-01-02T08:00:00Z",
        "2024-01-30T16:00:00Z",
    ),
    (30000000002, int(A), None, "default", "appointmentscheduled", "250.25", "2024-01-31", None),
    (30000000003, None, C3, "default", "closedlost", "99", "2024-01-15", "2024-02-01"),  # B via its contact
    (30000000004, None, None, "default", "closedwon", "5", "2024-01-10", "2024-01-11"),  # no account: skipped
    (
        30000000005,
        int(A),
        None,
        "default",
        "closedwon",
        "abc",
        "2024-01-01",
        "2024-02-02",
    ),  # amount unreadable
]

# ------------------------------------------------------------------------------- expected, by hand
# per account: {column: [value on 01-30, 01-31, 02-01, 02-02]}
EXPECTED = {
    A: {
        "total_events": [3, 5, 6, 6],  # c1: 01-05 V, 01-30 V+P, 02-01 A; c2: 01-31 V+Wishlist
        "total_product_views": [2, 3, 3, 3],
        "total_add_to_carts": [0, 0, 1, 1],
        "total_purchases": [1, 1, 1, 1],
        "total_contacts_created": [1, 2, 2, 3],  # c1 01-10, c2 01-31, c5 (by e-mail domain) 02-02
        "total_deals_won": [1, 1, 1, 2],  # deal 1 won 01-30, deal 5 won 02-02
        "total_revenue_won": ["1000.50", "1000.50", "1000.50", "1000.50"],  # deal 5's amount counts 0
        "purchases_28d": [1, 1, 1, 1],
        "active_users_1d": [1, 1, 1, 0],  # c1 on 01-30, c2 on 01-31, c1 on 02-01
        "active_users_7d": [1, 2, 2, 2],
        "active_users_28d": [1, 2, 2, 2],
        "open_deals": [1, 2, 2, 1],  # deal 5 open 01-01..02-01, deal 2 from 01-31; deal 1 closed 01-30
        "open_pipeline_amount": ["0.00", "250.25", "250.25", "250.25"],
    },
    B: {
        "total_events": [1, 1, 1, 1],
        "total_product_views": [1, 1, 1, 1],
        "total_add_to_carts": [0, 0, 0, 0],
        "total_purchases": [0, 0, 0, 0],
        "total_contacts_created": [0, 0, 1, 1],
        "total_deals_won": [0, 0, 0, 0],
        "total_revenue_won": ["0.00"] * 4,
        "purchases_28d": [0, 0, 0, 0],
        "active_users_1d": [0, 0, 0, 0],
        "active_users_7d": [0, 0, 0, 0],
        "active_users_28d": [1, 1, 1, 1],  # c3's event of 01-20 is inside every 28-day window
        "open_deals": [1, 1, 0, 0],  # deal 3 open 01-15..01-31, lost on 02-01
        "open_pipeline_amount": ["99.00", "99.00", "0.00", "0.00"],
    },
}
ROWS = {DATES[0]: [A, B, C], DATES[1]: [A, B, C], DATES[2]: [A, B, C], DATES[3]: [A, B, C, D]}


def _rows(table: str, records: list[dict]) -> pd.DataFrame:
    columns = [name for name, _ in share_tables()[table]]
    return pd.DataFrame([{name: record.get(name) for name in columns} for record in records], columns=columns)


def build_share(path: Path) -> None:
    with rebuilt_share(path, all_text=True) as loader:  # its text includes a date that is none
        loader.append(
            "OBJECTS_COMPANIES",
            _rows(
                "OBJECTS_COMPANIES",
                [
                    {"OBJECTID": int(i), "PROPERTY_CREATEDATE": c, "PROPERTY_DOMAIN": d}
                    for i, c, d in COMPANIES
                ],
            ),
        )
        loader.append(
            "OBJECTS_CONTACTS",
            _rows(
                "OBJECTS_CONTACTS",
                [{"OBJECTID": i, "PROPERTY_CREATEDATE": c, "PROPERTY_EMAIL": e} for i, c, e in CONTACTS],
            ),
        )
        loader.append(
            "ASSOCIATIONS_CONTACTS_TO_COMPANIES",
            pd.DataFrame(MEMBERSHIPS, columns=["CONTACT_OBJECTID", "COMPANY_OBJECTID"]),
        )
        loader.append(
            DEFAULT_EVENT_TABLE,
            _rows(
                DEFAULT_EVENT_TABLE,
                [
                    {
                        "ID": f"event-{n}",
                        "OBJECTID": contact,
                        "OCCURREDAT": pd.Timestamp(moment),
                        "PROPERTY_EVENT_TYPE": kind,
                    }
                    for n, (contact, moment, kind) in enumerate(EVENTS)
                ],
            ),
        )
        loader.append(
            "OBJECTS_DEALS",
            _rows(
                "OBJECTS_DEALS",
                [
                    {
                        "OBJECTID": deal,
                        "PROPERTY_PIPELINE": pipeline,
                        "PROPERTY_DEALSTAGE": stage,
                        "PROPERTY_AMOUNT": amount,
                        "PROPERTY_CREATEDATE": created,
                        "PROPERTY_CLOSEDATE": closed,
                    }
                    for deal, _, _, pipeline, stage, amount, created, closed in DEALS
                ],
            ),
        )
        loader.append(
            "ASSOCIATIONS_DEALS_TO_COMPANIES",
            pd.DataFrame(
                [(deal[0], deal[1]) for deal in DEALS if deal[1]],
                columns=["DEAL_OBJECTID", "COMPANY_OBJECTID"],
            ),
        )
        loader.append(
            "ASSOCIATIONS_DEALS_TO_CONTACTS",
            pd.DataFrame(
                [(deal[0], deal[2]) for deal in DEALS if deal[2]],
                columns=["DEAL_OBJECTID", "CONTACT_OBJECTID"],
            ),
        )


@pytest.fixture(scope="module")
def dag(airflow_db):
    return DagBag(dag_folder=str(ROOT / "dags")).get_dag(DAG_ID)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    share_dir = tmp_path_factory.mktemp("hook-share")
    build_share(share_dir)
    with running_emulator(share_dir) as running:
        yield running


@pytest.fixture
def share(emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_SNOWFLAKE", snowflake_connection(emulator, CONFIG.share))


def _run(dag, conf: dict, logical_day: date):
    logical_date = datetime(logical_day.year, logical_day.month, logical_day.day, 4, tzinfo=UTC)
    # every param given: dag.test() keeps the previous run's params on the DAG object
    defaults = {
        "metric_date": None,
        "start_date": None,
        "end_date": None,
        "file_format": None,
        "dry_run": False,
    }
    return dag.test(logical_date=logical_date, run_conf={**defaults, **conf})


def _daily(dag, day: date) -> str:
    return str(_run(dag, {"metric_date": day.isoformat()}, day).state)


def _bulk(dag, first: date, last: date):
    conf = {"metric_date": None, "start_date": first.isoformat(), "end_date": last.isoformat()}
    return _run(dag, conf, last)


def _files(bucket: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(bucket.glob("hook_export_*"))}


def _name(day: date) -> str:
    return f"hook_export_{day:%Y%m%d}.csv"


def test_daily_runs_give_the_hand_checked_numbers_and_bulk_gives_the_same_bytes(
    dag, share, pipeline_override, tmp_path
):
    daily_root, bulk_root = tmp_path / "daily", tmp_path / "bulk"
    pipeline_override({"storage": {"local_root": str(daily_root)}})
    bucket = daily_root / BUCKET
    for day in DATES:
        assert _daily(dag, day) == "success", day
    for position, day in enumerate(DATES):
        frame = pd.read_csv(bucket / _name(day), dtype=str, keep_default_na=False)
        assert list(frame.columns) == ["account_id", "metric_date", *(m.name for m in CONFIG.hook.metrics)]
        assert frame["account_id"].tolist() == ROWS[day], day
        assert set(frame["metric_date"]) == {day.isoformat()}
        rows = frame.set_index("account_id")
        for account, columns in EXPECTED.items():
            for column, values in columns.items():
                assert rows.loc[account, column] == str(values[position]), (day, account, column)
        assert set(rows.drop(columns="metric_date").loc[C]) <= {"0", "0.00"}
    manifest = (bucket / "_runs" / "2024-01-30_2024-01-30" / "manifest.json").read_text()
    assert '"contact has no account": 1' in manifest  # c4's event
    assert '"no company and no contact with an account": 1' in manifest  # deal 4
    daily = _files(bucket)

    # the bulk backfill over the same dates, across the month boundary: the same bytes
    pipeline_override({"storage": {"local_root": str(bulk_root)}})
    assert str(_bulk(dag, DATES[0], DATES[-1]).state) == "success"
    bulk = _files(bulk_root / BUCKET)
    assert list(bulk) == [_name(day) for day in DATES]
    assert bulk == daily
    assert str(_bulk(dag, DATES[0], DATES[-1]).state) == "success"  # rerun: same bytes
    assert _files(bulk_root / BUCKET) == daily
    assert _daily(dag, DATES[2]) == "success"  # a daily rerun inside the backfilled range, too
    assert _files(bulk_root / BUCKET) == daily
    staging = bulk_root / CONFIG.storage.staging_bucket
    assert not [path for path in staging.rglob("*") if path.is_file()]  # staging cleaned


def test_jsonl_files_hold_the_same_numbers(dag, share, pipeline_override, tmp_path):
    # the Variable may set only task-only keys: a prefix is read at parse time (tests/deploy/ runs with one)
    pipeline_override({"hook": {"file_format": "jsonl"}})
    assert _daily(dag, DATES[2]) == "success"
    path = tmp_path / "objects" / BUCKET / f"hook_export_{DATES[2]:%Y%m%d}.jsonl"
    lines = path.read_text().splitlines()
    assert lines[0].startswith('{"account_id":"20000000001","metric_date":"2024-02-01","total_events":6,')
    assert '"total_revenue_won":1000.50,' in lines[0] and lines[0].endswith('"open_pipeline_amount":250.25}')
    assert len(lines) == 3


def test_a_validation_failure_publishes_nothing(dag, share, pipeline_override, tmp_path):
    bucket = tmp_path / "objects" / BUCKET
    bucket.mkdir(parents=True)
    # the day before's published file says A already had 999 events: a cumulative metric would decrease
    columns = ["account_id", "metric_date", *(metric.name for metric in CONFIG.hook.metrics)]
    previous = DATES[0] - timedelta(days=1)
    values = ["999" if name == "total_events" else "0" for name in columns[2:]]
    (bucket / _name(previous)).write_text(
        ",".join(columns) + "\n" + ",".join([A, previous.isoformat(), *values]) + "\n"
    )
    dag_run = _bulk(dag, DATES[0], DATES[1])
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert str(dag_run.state) == "failed"
    assert states["validate"] == "failed" and states["publish"] == "upstream_failed"
    validate = next(ti for ti in dag_run.get_task_instances() if ti.task_id == "validate")
    assert validate.try_number == 1  # no retry
    assert sorted(path.name for path in bucket.rglob("*") if path.is_file()) == [_name(previous)]


def test_publishes_to_s3_through_the_hook_connection(
    dag, share, hook_s3_connection, pipeline_override, monkeypatch
):
    pipeline_override({"storage": {"backend": "s3"}})
    client = s3_client(hook_s3_connection, BUCKET, CONFIG.storage.staging_bucket)
    assert _daily(dag, DATES[1]) == "success"
    key = f"hook_export_{DATES[1]:%Y%m%d}.csv"
    keys = sorted(obj["Key"] for obj in client.list_objects_v2(Bucket=BUCKET)["Contents"])
    run_folder = f"_runs/{DATES[1]}_{DATES[1]}/"
    assert [name for name in keys if not name.startswith(run_folder)] == [key]  # the only data file
    run_files = {name.removeprefix(run_folder) for name in keys if name.startswith(run_folder)}
    assert {"manifest.json", "report.md", "data_docs/index.html"} <= run_files
    head = client.head_object(Bucket=BUCKET, Key=key)
    assert head["ServerSideEncryption"] == "AES256"
    body = client.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    assert body.splitlines()[1].startswith(f"{A},{DATES[1]},5,3,0,1,2,1,1000.50,")
    assert client.list_objects_v2(Bucket=CONFIG.storage.staging_bucket).get("KeyCount", 0) == 0


def test_a_dry_run_computes_and_validates_but_publishes_nothing(dag, share, pipeline_override, tmp_path):
    dag_run = _run(dag, {"metric_date": DATES[2].isoformat(), "dry_run": True}, DATES[2])
    assert str(dag_run.state) == "success"
    assert not (tmp_path / "objects" / BUCKET).exists()
    assert asset_events(dag_run) == {}


def test_the_format_param_overrides_the_configuration_and_the_run_is_reported(
    dag, share, pipeline_override, tmp_path
):
    dag_run = _run(dag, {"metric_date": DATES[2].isoformat(), "file_format": "jsonl"}, DATES[2])
    assert str(dag_run.state) == "success"
    day = DATES[2].isoformat()
    assert asset_events(dag_run) == {CONFIG.hook.asset_name: {"start_date": day, "end_date": day, "files": 1}}
    bucket = tmp_path / "objects" / BUCKET
    name = f"hook_export_{DATES[2]:%Y%m%d}.jsonl"
    assert [path.name for path in bucket.glob("hook_export_*")] == [name]
    run_folder = bucket / CONFIG.hook.runs_prefix / f"{DATES[2]}_{DATES[2]}"
    report = (run_folder / "report.md").read_text()
    assert f"`{name}`" in report and "Great Expectations" in report and "| rows of | read |" in report
    assert "data_docs/index.html" in report and (run_folder / "data_docs" / "index.html").exists()
    manifest = json.loads((run_folder / "manifest.json").read_text())
    assert manifest["file_format"] == "jsonl" and manifest["report_key"].endswith("report.md")
