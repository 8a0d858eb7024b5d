"""``hook_metrics_export`` on a weekly schedule, run through Airflow (``dag.test()``) as the scheduler runs
it, each run on its own weekly data interval (no ``metric_date``): one file per week, and the first date's
"cumulative metrics never decrease" check compares with the previous week's published file; when that file
is absent (the first run) or Hook's keys may not read it (AccessDenied, through moto's IAM), the manifest
and report.md say the check was skipped and why. The share is test_dag.py's hand-built one."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, date, datetime, timedelta

import pytest
from airflow.dag_processing.dagbag import DagBag

from tests.conftest import ROOT, s3_client
from tests.hook import test_dag as daily

A, BUCKET, CONFIG, DAG_ID = daily.A, daily.BUCKET, daily.CONFIG, daily.DAG_ID
SCHEDULE = "0 4 * * 2"  # Tuesdays at 04:00 UTC
WEEKS = [date(2024, 1, 23), date(2024, 1, 30), date(2024, 2, 6)]  # the Tuesdays the runs export

# the hand-built share of test_dag.py (the fixtures, for this module: its own emulator)
emulator = daily.emulator
share = daily.share


@pytest.fixture(scope="module")
def weekly_dag(airflow_db, tmp_path_factory):
    """The DAG as parsed with ``hook.schedule`` weekly in the configuration file (the schedule is read when
    the DAG file is parsed; the tasks read the same file)."""
    config_file = tmp_path_factory.mktemp("weekly-config") / "pipeline.yaml"
    config_file.write_text(f'hook:\n  schedule: "{SCHEDULE}"\n')
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HUBSPOT_PIPELINE_CONFIG", str(config_file))
        dag = DagBag(dag_folder=str(ROOT / "dags")).get_dag(DAG_ID)
        assert dag.timetable.summary == SCHEDULE
        yield dag


def _weekly(dag, week: date):
    """The scheduled run of the week starting ``week``: Airflow runs it when its data interval ends, a week
    later, and the run exports the interval's first day."""
    dag_run = daily._run(dag, {}, week + timedelta(days=7))
    assert dag_run.data_interval_start == datetime(week.year, week.month, week.day, 4, tzinfo=UTC)
    assert dag_run.data_interval_end - dag_run.data_interval_start == timedelta(days=7)
    return dag_run


def _states(dag_run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def _raise_total_events(data: bytes, account: str, day: date, total: int) -> bytes:
    """``data`` (a published CSV file of ``day``) with ``account``'s total_events (the first metric) set to
    ``total``."""
    lines = data.decode().splitlines(keepends=True)
    row = next(n for n, line in enumerate(lines) if line.startswith(f"{account},{day},"))
    fields = lines[row].split(",")
    fields[2] = str(total)
    lines[row] = ",".join(fields)
    return "".join(lines).encode()


def test_weekly_runs_write_a_file_a_week_each_checked_against_the_week_before(
    weekly_dag, share, pipeline_override, tmp_path
):
    bucket = tmp_path / "objects" / BUCKET
    for week in WEEKS:
        assert str(_weekly(weekly_dag, week).state) == "success", week
    assert [path.name for path in sorted(bucket.glob("hook_export_*"))] == [daily._name(w) for w in WEEKS]
    # the week's file holds its first day's numbers, as a daily run's file does (test_dag.py's by hand)
    assert f"{A},2024-01-30,3,2,0,1,1,1,1000.50," in (bucket / daily._name(WEEKS[1])).read_text()

    def run_folder(week: date):
        return bucket / CONFIG.hook.runs_prefix / f"{week}_{week}"

    # the first run: the week before was never published, and the manifest and report say so
    first = json.loads((run_folder(WEEKS[0]) / "manifest.json").read_text())["previous_period_check"]
    previous = WEEKS[0] - timedelta(days=7)
    assert {key: first[key] for key in ("status", "reason", "date", "key")} == {
        "status": "skipped",
        "reason": "absent",
        "date": previous.isoformat(),
        "key": daily._name(previous),
    }
    assert "no such file" in first["detail"]
    report = (run_folder(WEEKS[0]) / "report.md").read_text()
    assert f"**Skipped: the never-decreases check of {WEEKS[0]} against `{daily._name(previous)}`" in report
    assert "(absent): Hook's bucket has no such file" in report
    # every later week was compared with the week before's published file
    for before, week in zip(WEEKS, WEEKS[1:], strict=False):
        check = json.loads((run_folder(week) / "manifest.json").read_text())["previous_period_check"]
        assert check == {"status": "compared", "date": before.isoformat(), "key": daily._name(before)}
        report = (run_folder(week) / "report.md").read_text()
        assert f"Cumulative metrics of {week} compared with `{daily._name(before)}`" in report
        assert "**Skipped" not in report

    # plant a decrease: the previous week's published file now says A had 999 events (6 on the last
    # week); the rerun of the last week must compare with it, fail, and publish nothing
    planted = bucket / daily._name(WEEKS[1])
    planted.write_bytes(_raise_total_events(planted.read_bytes(), A, WEEKS[1], 999))
    published = {path.name: path.read_bytes() for path in bucket.rglob("*") if path.is_file()}
    dag_run = _weekly(weekly_dag, WEEKS[2])
    assert str(dag_run.state) == "failed"
    states = _states(dag_run)
    assert states["validate"] == "failed" and states["publish"] == "upstream_failed"
    assert {path.name: path.read_bytes() for path in bucket.rglob("*") if path.is_file()} == published


@pytest.fixture
def write_only_hook_keys(moto_server, s3_connection, monkeypatch):
    """IAM on moto's server: the pipeline's key (``personalize_s3``) may do anything, Hook's key
    (``hook_s3``) may only write to Hook's bucket, GetObject denied, like Hook's write-only key pairs.
    moto checks every request's signature and policies until the end of the test."""
    import boto3

    endpoint = moto_server["endpoint_url"]
    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="setup",
        aws_secret_access_key="setup",
    )
    hook_objects = f"arn:aws:s3:::{BUCKET}/*"
    statements = {
        "pipeline": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
        "hook": [
            {"Effect": "Allow", "Action": ["s3:PutObject", "s3:PutObjectAcl"], "Resource": hook_objects},
            {"Effect": "Deny", "Action": "s3:GetObject", "Resource": hook_objects},
        ],
    }
    connections = {}
    for user, statement in statements.items():
        iam.create_user(UserName=user)
        policy = json.dumps({"Version": "2012-10-17", "Statement": statement})
        iam.put_user_policy(UserName=user, PolicyName=f"{user}-s3", PolicyDocument=policy)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        connections[user] = {**s3_connection, "login": key["AccessKeyId"], "password": key["SecretAccessKey"]}
    monkeypatch.setenv("AIRFLOW_CONN_PERSONALIZE_S3", json.dumps(connections["pipeline"]))
    monkeypatch.setenv("AIRFLOW_CONN_HOOK_S3", json.dumps(connections["hook"]))

    def authenticate_after(requests: str) -> None:
        url, headers = f"{endpoint}/moto-api/reset-auth", {"Content-Type": "text/plain"}
        urllib.request.urlopen(urllib.request.Request(url, requests.encode(), headers, method="POST")).close()

    authenticate_after("0")
    try:
        yield connections
    finally:
        authenticate_after("inf")  # moto's server is the session's: back to no authentication


def test_when_hook_keys_may_not_read_the_previous_week_the_check_is_reported_skipped(
    weekly_dag, share, write_only_hook_keys, pipeline_override
):
    pipeline_override({"storage": {"backend": "s3"}})
    pipeline = s3_client(write_only_hook_keys["pipeline"], BUCKET, CONFIG.storage.staging_bucket)
    hook = s3_client(write_only_hook_keys["hook"])
    # the previous week's file is there, with a value the week would fall below: were it read, the run
    # would fail; Hook's key may not read it
    previous_key = daily._name(WEEKS[0])
    columns = ["account_id", "metric_date", *(metric.name for metric in CONFIG.hook.metrics)]
    values = ["999" if name == "total_events" else "0" for name in columns[2:]]
    pipeline.put_object(
        Bucket=BUCKET,
        Key=previous_key,
        Body=(",".join(columns) + "\n" + ",".join([A, WEEKS[0].isoformat(), *values]) + "\n").encode(),
    )
    with pytest.raises(hook.exceptions.ClientError, match="AccessDenied"):
        hook.get_object(Bucket=BUCKET, Key=previous_key)

    assert str(_weekly(weekly_dag, WEEKS[1]).state) == "success"
    run_folder = f"{CONFIG.hook.runs_prefix}/{WEEKS[1]}_{WEEKS[1]}"
    manifest_key = f"{run_folder}/manifest.json"
    manifest = json.loads(pipeline.get_object(Bucket=BUCKET, Key=manifest_key)["Body"].read())
    check = manifest["previous_period_check"]
    assert {key: check[key] for key in ("status", "reason", "date", "key")} == {
        "status": "skipped",
        "reason": "AccessDenied",
        "date": WEEKS[0].isoformat(),
        "key": previous_key,
    }
    assert "hook_s3 may not read Hook's bucket" in check["detail"]
    report = pipeline.get_object(Bucket=BUCKET, Key=f"{run_folder}/report.md")["Body"].read().decode()
    assert f"**Skipped: the never-decreases check of {WEEKS[1]} against `{previous_key}`" in report
    assert "(AccessDenied): the connection hook_s3 may not read Hook's bucket" in report
    assert manifest["files"][WEEKS[1].isoformat()]["key"] == daily._name(WEEKS[1])  # published all the same
