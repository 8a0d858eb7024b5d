"""What only the real scheduler does, on PostgreSQL: Airflow's own backfills (``POST /api/v2/backfills``,
what ``airflow backfill create`` calls; the path the design names for one to two years of history) and
retries after a task's retry delay.

Hook: a bulk run (``start_date``/``end_date`` params) publishes ``HOOK_DATES``; its files are kept and
deleted, then a backfill of the same 14 days (one run at a time) must publish them again byte for byte,
each run its own date. Then two of the files are spoiled and a second backfill with reprocess behaviour
``completed`` must rerun those dates (the same runs, a second attempt) and rewrite the same bytes.

Personalize, meanwhile: a run of ``RETRY_DATE`` whose publish fails once (the test takes the path of the
run's report with a directory, a transient fault of the store, and frees it once the task is up for
retry) must be retried by the scheduler after the DAG's retry delay and publish what the scheduled run of
that date published. Then a backfill of ``PERSONALIZE_DATES`` (older than the live date) and, at the same
moment, a manual run of the live date: each run exports its own date, the runs' ``publish`` tasks never
run at once (Airflow does not count backfill runs against ``max_active_runs``; the DAG's publish task has
``max_active_tis_per_dag=1``, which the scheduler applies to every run type), and the backfilled dates
never replace the newer live data.

Hook: no two runs ever run at once (the test starts none beside its backfills). Both DAGs' sequences run
side by side, so the retry delay costs no time of its own.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
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
# before the scheduled dates, so no other test publishes these
HOOK_DATES = [LAST_DAY - timedelta(days=offset) for offset in range(15, 1, -1)]
REPROCESSED = HOOK_DATES[-2:]
PERSONALIZE_DATES = [LAST_DAY - timedelta(days=offset) for offset in (3, 2)]
assert not {*HOOK_DATES, *PERSONALIZE_DATES} & set(SCHEDULED_DATES)
RETRY_DATE = SCHEDULED_DATES[-1]  # the scheduled run of this date published the clean files
RETRY_DELAY = timedelta(minutes=1)  # the DAGs' default_args
BLOCKED = f"runs/{GROUP}/{RETRY_DATE}/report.md"  # written after the data files, before the manifest
FINISHED = ("success", "failed")


def midnight(day: date) -> str:
    return datetime.combine(day, clock(0), UTC).isoformat()


def interval_date(run: dict) -> date:
    return datetime.fromisoformat(run["data_interval_start"]).date()


def data_key(day: date) -> str:
    prefix = CONFIG.hook.key_prefix.strip("/")
    name = f"hook_export_{day:%Y%m%d}.{CONFIG.hook.file_format}"
    return f"{prefix}/{name}" if prefix else name


def personalize_export(files: dict[str, bytes], day: date) -> dict[str, bytes]:
    """A Personalize export of ``day``: ``train/<group>/`` and ``runs/<group>/<day>/``."""
    keep = (f"train/{GROUP}/", f"runs/{GROUP}/{day}/")
    return {key: value for key, value in files.items() if key.startswith(keep)}


def overlaps(runs: list[dict]) -> list[tuple[str, str]]:
    """Pairs of runs whose [start, end] times overlap."""
    timed = sorted(
        (
            datetime.fromisoformat(run["start_date"]),
            datetime.fromisoformat(run["end_date"]),
            run["dag_run_id"],
        )
        for run in runs
        if run["start_date"] and run["end_date"]
    )
    return [(a[2], b[2]) for a, b in zip(timed, timed[1:], strict=False) if b[0] < a[1]]


def until(condition: Callable[[], bool]) -> Iterator[None]:
    while not condition():
        yield


class Scheduler:
    """Drives the test's sequences (generators that yield while they wait) side by side, polling the
    stack every two seconds, and counts the runs of each DAG running at once on every poll. A sequence
    that fails stops and leaves its error in ``errors``; the others go on."""

    def __init__(self, stack):
        self.stack = stack
        self.most_running = dict.fromkeys((PERSONALIZE_DAG, HOOK_DAG), 0)
        self.errors: dict[str, str] = {}

    def run(self, sequences: dict[str, Iterator[None]], timeout: float = 1200.0) -> None:
        pending, deadline = dict(sequences), time.monotonic() + timeout
        while pending:
            assert time.monotonic() < deadline, f"unfinished after {timeout} s\n{self.stack.diagnostics()}"
            self.stack.check_alive()
            for dag_id in self.most_running:
                running = len(self.stack.runs(dag_id, state="running"))
                self.most_running[dag_id] = max(self.most_running[dag_id], running)
            for name, sequence in list(pending.items()):
                try:
                    next(sequence)
                except StopIteration:
                    del pending[name]
                except Exception as error:  # noqa: BLE001 - reported by the tests that need this sequence
                    self.errors[name] = f"{type(error).__name__}: {error}"
                    del pending[name]
            time.sleep(2)

    def finished(self, dag_id: str, run_id: str) -> bool:
        state = self.stack.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
        assert state != "failed", self.stack.diagnostics(dag_id, run_id)
        return state in FINISHED

    def backfill(self, dag_id: str, days: list[date], reprocess: str = "none") -> int:
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

    def completed(self, backfill_id: int) -> bool:
        return bool(self.stack.api("GET", f"/backfills/{backfill_id}")["completed_at"])

    def backfill_runs(self, dag_id: str, days: list[date]) -> dict[date, dict]:
        runs = {interval_date(run): run for run in self.stack.runs(dag_id, run_type="backfill")}
        return {day: runs[day] for day in days if day in runs}


def hook_sequence(stack, scheduler: Scheduler, result: dict) -> Iterator[None]:
    began = time.monotonic()
    bulk_conf = {"start_date": HOOK_DATES[0].isoformat(), "end_date": HOOK_DATES[-1].isoformat()}
    bulk = stack.trigger(HOOK_DAG, bulk_conf)
    yield from until(lambda: scheduler.finished(HOOK_DAG, bulk))
    root = stack.objects / HOOK_BUCKET
    result["bulk"] = {day: (root / data_key(day)).read_bytes() for day in HOOK_DATES}
    for day in HOOK_DATES:
        (root / data_key(day)).unlink()

    backfilled = time.monotonic()
    first = scheduler.backfill(HOOK_DAG, HOOK_DATES)
    yield from until(lambda: scheduler.completed(first))
    result["seconds"]["hook backfill"] = time.monotonic() - backfilled
    result["backfilled"] = {day: (root / data_key(day)).read_bytes() for day in HOOK_DATES}
    result["first runs"] = scheduler.backfill_runs(HOOK_DAG, HOOK_DATES)
    result["overlaps before reprocessing"] = overlaps(stack.runs(HOOK_DAG))

    for day in REPROCESSED:
        (root / data_key(day)).write_bytes(b"spoiled\n")
    second = scheduler.backfill(HOOK_DAG, REPROCESSED, reprocess="completed")
    yield from until(lambda: scheduler.completed(second))
    result["reprocessed"] = {day: (root / data_key(day)).read_bytes() for day in REPROCESSED}
    result["second runs"] = scheduler.backfill_runs(HOOK_DAG, REPROCESSED)
    result["seconds"]["hook"] = time.monotonic() - began


def personalize_sequence(stack, scheduler: Scheduler, result: dict) -> Iterator[None]:
    began = time.monotonic()
    root = stack.objects / PERSONALIZE_BUCKET
    for key in personalize_export(stack.files(PERSONALIZE_BUCKET), RETRY_DATE):
        (root / key).unlink()  # what the retried run must publish again
    blocked = root / BLOCKED
    (blocked / "blocked").mkdir(parents=True)  # writing the report fails while this directory is there
    run_id = stack.trigger(PERSONALIZE_DAG, {"export_date": RETRY_DATE.isoformat()})

    def up_for_retry() -> bool:
        assert not scheduler.finished(PERSONALIZE_DAG, run_id), "the run finished without a retry"
        return "publish" in stack.tasks_in(PERSONALIZE_DAG, run_id, "up_for_retry")

    yield from until(up_for_retry)
    shutil.rmtree(blocked)
    yield from until(lambda: scheduler.finished(PERSONALIZE_DAG, run_id))
    result["retried"] = personalize_export(stack.files(PERSONALIZE_BUCKET), RETRY_DATE)
    result["retried run"] = stack.api("GET", f"/dags/{PERSONALIZE_DAG}/dagRuns/{run_id}")
    tries = stack.api("GET", f"/dags/{PERSONALIZE_DAG}/dagRuns/{run_id}/taskInstances/publish/tries")
    result["publish tries"] = sorted(tries["task_instances"], key=lambda ti: ti["try_number"])
    result["seconds"]["personalize retry"] = time.monotonic() - began

    backfilled = time.monotonic()
    backfill = scheduler.backfill(PERSONALIZE_DAG, PERSONALIZE_DATES)
    beside = stack.trigger(PERSONALIZE_DAG, {"export_date": RETRY_DATE.isoformat()})  # the live date, at once
    yield from until(lambda: scheduler.completed(backfill) and scheduler.finished(PERSONALIZE_DAG, beside))
    result["seconds"]["personalize backfill beside a run"] = time.monotonic() - backfilled
    result["personalize runs"] = scheduler.backfill_runs(PERSONALIZE_DAG, PERSONALIZE_DATES)
    run_ids = [run["dag_run_id"] for run in result["personalize runs"].values()] + [beside]
    result["publishes"] = [
        stack.api("GET", f"/dags/{PERSONALIZE_DAG}/dagRuns/{run_id}/taskInstances/publish")
        for run_id in run_ids
    ]
    result["live after backfill"] = personalize_export(stack.files(PERSONALIZE_BUCKET), RETRY_DATE)
    result["manifests"] = {
        day: json.loads((root / "runs" / GROUP / str(day) / "manifest.json").read_text())
        for day in PERSONALIZE_DATES
    }
    result["seconds"]["personalize"] = time.monotonic() - began


@pytest.fixture(scope="module")
def scheduled_paths(airflow_stack) -> dict:
    stack, scheduler, result = airflow_stack, Scheduler(airflow_stack), {"seconds": {}}
    began = time.monotonic()
    scheduler.run(
        {
            HOOK_DAG: hook_sequence(stack, scheduler, result),
            PERSONALIZE_DAG: personalize_sequence(stack, scheduler, result),
        }
    )
    result["errors"], result["most running"] = scheduler.errors, scheduler.most_running
    result["overlaps"] = {dag_id: overlaps(stack.runs(dag_id)) for dag_id in (PERSONALIZE_DAG, HOOK_DAG)}
    result["seconds"]["all"] = time.monotonic() - began
    print(
        f"backfills and retries: { {name: round(seconds) for name, seconds in result['seconds'].items()} } s"
    )
    return result


def completed(scheduled_paths: dict, dag_id: str, *keys: str) -> None:
    """Fail with the sequence's error unless it got as far as ``keys``."""
    missing = [key for key in keys if key not in scheduled_paths]
    assert not missing, f"{dag_id}: {scheduled_paths['errors'].get(dag_id, 'unfinished')} (no {missing})"


def test_a_hook_backfill_publishes_each_date_as_the_bulk_mode_does(airflow_stack, scheduled_paths):
    completed(scheduled_paths, HOOK_DAG, "bulk", "backfilled", "first runs")
    runs = scheduled_paths["first runs"]
    assert sorted(runs) == HOOK_DATES  # one run per date, named after its data interval
    failed = [run["dag_run_id"] for run in runs.values() if run["state"] != "success"]
    assert not failed, airflow_stack.diagnostics(HOOK_DAG, failed[0])
    assert all(run["run_type"] == "backfill" for run in runs.values())
    assert scheduled_paths["backfilled"] == scheduled_paths["bulk"]
    assert all(content.count(b"\n") > 1 for content in scheduled_paths["bulk"].values())  # header and rows


def test_reprocessing_completed_dates_reruns_them_and_rewrites_the_same_bytes(scheduled_paths):
    completed(scheduled_paths, HOOK_DAG, "bulk", "first runs", "second runs", "reprocessed")
    first, second = scheduled_paths["first runs"], scheduled_paths["second runs"]
    assert sorted(second) == REPROCESSED
    for day in REPROCESSED:
        assert second[day]["dag_run_id"] == first[day]["dag_run_id"]  # the same run, run again
        assert second[day]["state"] == "success"
        assert second[day]["start_date"] > first[day]["end_date"]
    assert scheduled_paths["reprocessed"] == {day: scheduled_paths["bulk"][day] for day in REPROCESSED}


def test_a_publish_that_failed_once_is_retried_by_the_scheduler_with_the_clean_files(
    airflow_stack, scheduled_paths
):
    completed(scheduled_paths, PERSONALIZE_DAG, "publish tries", "retried", "retried run")
    tries = scheduled_paths["publish tries"]
    assert [(ti["try_number"], ti["state"]) for ti in tries] == [(1, "failed"), (2, "success")]
    first_end = datetime.fromisoformat(tries[0]["end_date"])
    retry_start = datetime.fromisoformat(tries[1]["start_date"])
    assert retry_start - first_end >= RETRY_DELAY  # after the retry delay, not at once
    assert scheduled_paths["retried run"]["state"] == "success"
    clean = personalize_export(airflow_stack.scheduled["files"][PERSONALIZE_BUCKET], RETRY_DATE)
    assert f"train/{GROUP}/config.json" in clean and BLOCKED in clean, sorted(clean)
    assert scheduled_paths["retried"] == clean


def test_a_personalize_backfill_exports_each_run_its_own_date(scheduled_paths):
    completed(scheduled_paths, PERSONALIZE_DAG, "personalize runs", "manifests")
    runs = scheduled_paths["personalize runs"]
    assert sorted(runs) == PERSONALIZE_DATES
    assert {run["state"] for run in runs.values()} == {"success"}
    for day, manifest in scheduled_paths["manifests"].items():
        assert manifest["export_date"] == day.isoformat()
        assert manifest["ledgers"]["interactions"]["written"] > 1000
        assert manifest["not_live"].startswith(f"not published live: {RETRY_DATE} is newer")
        assert manifest["files"]["interactions"]["key"] == f"runs/{GROUP}/{day}/train/interactions.csv"


def test_a_backfill_beside_a_run_never_publishes_at_once_nor_replaces_newer_data(
    airflow_stack, scheduled_paths
):
    completed(scheduled_paths, PERSONALIZE_DAG, "publishes", "live after backfill")
    publishes = scheduled_paths["publishes"]
    assert [ti["state"] for ti in publishes] == ["success"] * 3
    assert overlaps(publishes) == []
    clean = personalize_export(airflow_stack.scheduled["files"][PERSONALIZE_BUCKET], RETRY_DATE)
    assert scheduled_paths["live after backfill"] == clean  # the newest date's data is still live
    assert json.loads(airflow_stack.files(PERSONALIZE_BUCKET)[f"runs/{GROUP}/live.json"]) == {
        "export_date": RETRY_DATE.isoformat()
    }


def test_no_two_runs_of_one_dag_ran_at_once(scheduled_paths):
    completed(scheduled_paths, HOOK_DAG, "overlaps before reprocessing")
    assert scheduled_paths["overlaps before reprocessing"] == []
    assert scheduled_paths["overlaps"][HOOK_DAG] == []
    # Personalize: the backfill and the manual run beside it ran together (their publish tasks did not)
    assert scheduled_paths["most running"] == {PERSONALIZE_DAG: 2, HOOK_DAG: 1}
