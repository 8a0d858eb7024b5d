"""The nightly path: scheduled runs, made by the real scheduler, export the date of their own data
interval, and publish byte for byte what a manual run of that date publishes.

The stack fixture unpaused both DAGs with a start date one cron tick before ``SCHEDULED_DATES`` and
catchup on, so the scheduler made one run per date, and kept what they published before any other run.
The stack's ``manual_runs`` of the same dates (``export_date`` / ``metric_date`` params) published
again, one date at a time; the files are compared. A DAG that ignored its data interval (exporting
"yesterday", or the default date) would publish other dates and fail here.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime

import pytest

from hubspot_pipeline.config import load_config
from tests.stack.conftest import SCHEDULED_DATES

PERSONALIZE_DAG = "personalize_training_export"
HOOK_DAG = "hook_metrics_export"
CONFIG = load_config()
PERSONALIZE_BUCKET, GROUP = CONFIG.personalize.bucket, CONFIG.personalize.dataset_group
HOOK_BUCKET = CONFIG.hook.bucket
TRAIN = f"train/{GROUP}"


def interval_date(run: dict) -> date:
    return datetime.fromisoformat(run["data_interval_start"]).date()


def hook_files(files: dict[str, bytes], day: date) -> dict[str, bytes]:
    """The data file and the run report (``_runs/<day>_<day>/``) of one metric date."""
    runs = f"{CONFIG.hook.runs_prefix}/{day}_{day}/"
    data = f"hook_export_{day:%Y%m%d}."
    return {key: value for key, value in files.items() if key.startswith(runs) or data in key}


def personalize_run_files(files: dict[str, bytes], day: date) -> dict[str, bytes]:
    """What a Personalize export keeps per date: ``runs/<group>/<day>/`` (manifest with each data file's
    sha256, report, quarantine files, identity log)."""
    prefix = f"runs/{GROUP}/{day}/"
    return {key: value for key, value in files.items() if key.startswith(prefix)}


def train_files(files: dict[str, bytes]) -> dict[str, bytes]:
    return {key: value for key, value in files.items() if key.startswith(f"{TRAIN}/")}


@pytest.fixture(scope="module")
def manual(manual_runs) -> dict[date, dict[str, dict[str, bytes]]]:
    """What each bucket held after the manual runs of each scheduled date (the stack's ``manual_runs``)."""
    for day, done in manual_runs.items():
        for dag_id, run in done["runs"].items():
            assert run["final"] == "success", f"{dag_id} {day}: {run['diagnostics']}"
    return {day: done["files"] for day, done in manual_runs.items()}


@pytest.mark.parametrize("dag_id", [PERSONALIZE_DAG, HOOK_DAG])
def test_one_scheduled_run_per_data_interval_exports_that_date(airflow_stack, dag_id):
    runs = airflow_stack.scheduled["runs"][dag_id]
    assert [(run["run_type"], run["state"], interval_date(run)) for run in runs] == [
        ("scheduled", "success", day) for day in SCHEDULED_DATES
    ]
    for run in runs:
        path = f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}/taskInstances/plan_run/xcomEntries/return_value"
        plan = airflow_stack.api("GET", path, params={"deserialize": True})["value"]
        day = interval_date(run).isoformat()
        expected = {"export_date": day} if dag_id == PERSONALIZE_DAG else {"start": day, "end": day}
        assert {key: plan[key] for key in expected} == expected, plan


def test_hook_scheduled_files_equal_the_manual_runs_of_their_dates(airflow_stack, manual):
    scheduled = airflow_stack.scheduled["files"][HOOK_BUCKET]
    for day in SCHEDULED_DATES:
        files = hook_files(scheduled, day)
        assert any(key.startswith("hook_export_") for key in files), sorted(scheduled)
        assert files == hook_files(manual[day][HOOK_BUCKET], day), day


def test_personalize_scheduled_exports_equal_the_manual_runs_of_their_dates(airflow_stack, manual):
    scheduled = airflow_stack.scheduled["files"][PERSONALIZE_BUCKET]
    for day in SCHEDULED_DATES:
        files = personalize_run_files(scheduled, day)
        manifest = json.loads(files[f"runs/{GROUP}/{day}/manifest.json"])
        assert manifest["export_date"] == day.isoformat()
        assert files == personalize_run_files(manual[day][PERSONALIZE_BUCKET], day), day
        # train/ holds the latest run's files: the manual run's are those the scheduled run's manifest
        # recorded, byte for byte
        train = train_files(manual[day][PERSONALIZE_BUCKET])
        recorded = {entry["key"]: entry["sha256"] for entry in manifest["files"].values()}
        assert recorded and {key: hashlib.sha256(train[key]).hexdigest() for key in recorded} == recorded
    # the last scheduled run left train/ (config.json included) as the manual run of its date does
    assert train_files(scheduled) == train_files(manual[SCHEDULED_DATES[-1]][PERSONALIZE_BUCKET])
