"""Airflow's own backfill (``POST /api/v2/backfills``, what ``airflow backfill create`` calls), run by the
real scheduler on PostgreSQL: the path the design names for one to two years of history.

Hook: a bulk run (``start_date``/``end_date`` params) publishes ``HOOK_DATES``; its files are kept and
deleted, then a backfill of the same 14 days (one run at a time) must publish them again byte for byte,
each run its own date. Then three of the files are spoiled and a second backfill with reprocess behaviour
``completed`` must rerun those dates (the same runs, a second attempt) and rewrite the same bytes. A
Personalize backfill of ``PERSONALIZE_DATES`` runs meanwhile, each run exporting its own date. Throughout,
no two runs of one DAG run at once (``max_active_runs=1``).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock

import pytest

from hubspot_pipeline.config import load_config
from tests.stack.conftest import LAST_DAY, SCHEDULED_DATES

PERSONALIZE_DAG = "personalize_training_export"
HOOK_DAG = "hook_metrics_export"
CONFIG = load_config()
HOOK_BUCKET = CONFIG.hook.bucket
PERSONALIZE_BUCKET, GROUP = CONFIG.personalize.bucket, CONFIG.personalize.dataset_group
# before the scheduled dates (and the retry test's), so no other test publishes these
HOOK_DATES = [LAST_DAY - timedelta(days=offset) for offset in range(16, 2, -1)]
REPROCESSED = HOOK_DATES[-3:]
PERSONALIZE_DATES = [LAST_DAY - timedelta(days=offset) for offset in (5, 4, 3)]
assert not {*HOOK_DATES, *PERSONALIZE_DATES} & set(SCHEDULED_DATES)


def midnight(day: date) -> str:
    return datetime.combine(day, clock(0), UTC).isoformat()


def interval_date(run: dict) -> date:
    return datetime.fromisoformat(run["data_interval_start"]).date()


def data_key(day: date) -> str:
    prefix = CONFIG.hook.key_prefix.strip("/")
    name = f"hook_export_{day:%Y%m%d}.{CONFIG.hook.file_format}"
    return f"{prefix}/{name}" if prefix else name


class Watch:
    """Follows backfills to completion, counting the runs of each DAG running at once on every poll."""

    def __init__(self, stack):
        self.stack = stack
        self.most_running = dict.fromkeys((PERSONALIZE_DAG, HOOK_DAG), 0)

    def poll(self) -> None:
        self.stack.check_alive()
        for dag_id in self.most_running:
            running = self.stack.runs(dag_id, state="running")
            self.most_running[dag_id] = max(self.most_running[dag_id], len(running))

    def create(self, dag_id: str, days: list[date], reprocess: str = "none") -> int:
        """Backfill ``days`` of ``dag_id``, one run at a time; return the backfill's id. ``to_date`` is
        the midnight after the last day: the last run is the one whose interval starts on that day."""
        body = {
            "dag_id": dag_id,
            "from_date": midnight(days[0]),
            "to_date": midnight(days[-1] + timedelta(days=1)),
            "reprocess_behavior": reprocess,
            "max_active_runs": 1,
        }
        return self.stack.api("POST", "/backfills", json=body)["id"]

    def until_done(self, backfill_ids: list[int], timeout: float = 900.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            backfills = [self.stack.api("GET", f"/backfills/{backfill_id}") for backfill_id in backfill_ids]
            if all(backfill["completed_at"] for backfill in backfills):
                return
            time.sleep(2)
        details = self.stack.diagnostics()
        raise AssertionError(f"backfills {backfill_ids} unfinished after {timeout} s\n{details}")

    def until_run_done(self, dag_id: str, run_id: str) -> str:
        while (state := self.stack.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]) not in (
            "success",
            "failed",
        ):
            self.poll()
            time.sleep(2)
        return state


def backfill_runs(stack, dag_id: str, days: list[date]) -> dict[date, dict]:
    runs = {interval_date(run): run for run in stack.runs(dag_id, run_type="backfill")}
    return {day: runs[day] for day in days if day in runs}


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def overlaps(runs: list[dict]) -> list[tuple[str, str]]:
    """Pairs of runs whose [start, end] times overlap."""
    timed = sorted(
        (_time(run["start_date"]), _time(run["end_date"]), run["dag_run_id"])
        for run in runs
        if run["start_date"] and run["end_date"]
    )
    return [(a[2], b[2]) for a, b in zip(timed, timed[1:], strict=False) if b[0] < a[1]]


@pytest.fixture(scope="module")
def backfills(airflow_stack) -> dict:
    stack, watch = airflow_stack, Watch(airflow_stack)
    result: dict = {"seconds": {}}
    began = time.monotonic()
    personalize = watch.create(PERSONALIZE_DAG, PERSONALIZE_DATES)

    bulk_conf = {"start_date": HOOK_DATES[0].isoformat(), "end_date": HOOK_DATES[-1].isoformat()}
    bulk = stack.trigger(HOOK_DAG, bulk_conf)
    assert watch.until_run_done(HOOK_DAG, bulk) == "success", stack.diagnostics(HOOK_DAG, bulk)
    hook_root = stack.objects / HOOK_BUCKET
    result["bulk"] = {day: (hook_root / data_key(day)).read_bytes() for day in HOOK_DATES}
    for day in HOOK_DATES:
        (hook_root / data_key(day)).unlink()

    first = time.monotonic()
    watch.until_done([watch.create(HOOK_DAG, HOOK_DATES)])
    result["seconds"]["hook backfill"] = time.monotonic() - first
    result["backfilled"] = {day: (hook_root / data_key(day)).read_bytes() for day in HOOK_DATES}
    result["first runs"] = backfill_runs(stack, HOOK_DAG, HOOK_DATES)
    result["overlaps before reprocessing"] = overlaps(stack.runs(HOOK_DAG))

    for day in REPROCESSED:
        (hook_root / data_key(day)).write_bytes(b"spoiled\n")
    second = time.monotonic()
    watch.until_done([watch.create(HOOK_DAG, REPROCESSED, reprocess="completed")])
    result["seconds"]["hook reprocess"] = time.monotonic() - second
    result["reprocessed"] = {day: (hook_root / data_key(day)).read_bytes() for day in REPROCESSED}
    result["second runs"] = backfill_runs(stack, HOOK_DAG, REPROCESSED)

    watch.until_done([personalize])
    result["personalize runs"] = backfill_runs(stack, PERSONALIZE_DAG, PERSONALIZE_DATES)
    runs_folder = stack.objects / PERSONALIZE_BUCKET / "runs" / GROUP
    result["manifests"] = {
        day: json.loads((runs_folder / str(day) / "manifest.json").read_text()) for day in PERSONALIZE_DATES
    }
    result["most running"] = watch.most_running
    result["overlaps"] = {dag_id: overlaps(stack.runs(dag_id)) for dag_id in (PERSONALIZE_DAG, HOOK_DAG)}
    result["seconds"]["all"] = time.monotonic() - began
    print(f"backfills: {result['seconds']}")
    return result


def test_a_hook_backfill_publishes_each_date_as_the_bulk_mode_does(airflow_stack, backfills):
    runs = backfills["first runs"]
    assert sorted(runs) == HOOK_DATES  # one run per date, named after its data interval
    failed = [run["dag_run_id"] for run in runs.values() if run["state"] != "success"]
    assert not failed, airflow_stack.diagnostics(HOOK_DAG, failed[0])
    assert all(run["run_type"] == "backfill" for run in runs.values())
    assert backfills["backfilled"] == backfills["bulk"]
    assert all(content.count(b"\n") > 1 for content in backfills["bulk"].values())  # header and rows


def test_reprocessing_completed_dates_reruns_them_and_rewrites_the_same_bytes(backfills):
    first, second = backfills["first runs"], backfills["second runs"]
    assert sorted(second) == REPROCESSED
    for day in REPROCESSED:
        assert second[day]["dag_run_id"] == first[day]["dag_run_id"]  # the same run, run again
        assert second[day]["state"] == "success"
        assert second[day]["start_date"] > first[day]["end_date"]
    assert backfills["reprocessed"] == {day: backfills["bulk"][day] for day in REPROCESSED}


def test_a_personalize_backfill_exports_each_run_its_own_date(backfills):
    runs = backfills["personalize runs"]
    assert sorted(runs) == PERSONALIZE_DATES
    assert {run["state"] for run in runs.values()} == {"success"}
    for day, manifest in backfills["manifests"].items():
        assert manifest["export_date"] == day.isoformat()
        assert manifest["ledgers"]["interactions"]["written"] > 1000


def test_no_two_runs_of_one_dag_ran_at_once(backfills):
    assert backfills["overlaps before reprocessing"] == []
    assert backfills["overlaps"] == {PERSONALIZE_DAG: [], HOOK_DAG: []}
    assert backfills["most running"] == {PERSONALIZE_DAG: 1, HOOK_DAG: 1}
