"""Retries through the real scheduler: a publish that fails once (the test blocks one object's path, a
transient fault of the store) is retried by the scheduler after the task's retry delay, and the run
succeeds with the files of a clean run of the same date.

Both DAGs run side by side (the delay, a minute, is waited out once): first a clean manual run of
``RETRY_DATE``, whose files are kept; then the path of one object the publish task writes is taken by a
directory, so the first try fails; once the task is up for retry the directory goes, and the retry must
publish the clean run's bytes.
"""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from hubspot_pipeline.config import load_config
from tests.stack.conftest import LAST_DAY, SCHEDULED_DATES

PERSONALIZE_DAG = "personalize_training_export"
HOOK_DAG = "hook_metrics_export"
CONFIG = load_config()
RETRY_DATE = LAST_DAY - timedelta(days=2)
assert RETRY_DATE not in SCHEDULED_DATES
RETRY_DELAY = timedelta(minutes=1)  # the DAGs' default_args
GROUP = CONFIG.personalize.dataset_group
BUCKETS = {PERSONALIZE_DAG: CONFIG.personalize.bucket, HOOK_DAG: CONFIG.hook.bucket}
CONFS = {
    PERSONALIZE_DAG: {"export_date": RETRY_DATE.isoformat()},
    HOOK_DAG: {"metric_date": RETRY_DATE.isoformat()},
}
# an object each publish task writes after its data files
BLOCKED = {
    PERSONALIZE_DAG: f"runs/{GROUP}/{RETRY_DATE}/report.md",
    HOOK_DAG: f"{CONFIG.hook.runs_prefix}/{RETRY_DATE}_{RETRY_DATE}/report.md",
}


def published(stack, dag_id: str) -> dict[str, bytes]:
    """What the run of ``RETRY_DATE`` publishes: the data files and that date's run folder."""
    files = stack.files(BUCKETS[dag_id])
    if dag_id == PERSONALIZE_DAG:
        keep = (f"train/{GROUP}/", f"runs/{GROUP}/{RETRY_DATE}/")
        return {key: value for key, value in files.items() if key.startswith(keep)}
    keep = (f"hook_export_{RETRY_DATE:%Y%m%d}.", f"{CONFIG.hook.runs_prefix}/{RETRY_DATE}_{RETRY_DATE}/")
    return {key: value for key, value in files.items() if any(part in key for part in keep)}


def block(path: Path) -> None:
    """Take ``path`` with a non-empty directory: writing the object there fails until it goes."""
    if path.is_file():
        path.unlink()
    (path / "blocked").mkdir(parents=True)


@pytest.fixture(scope="module")
def retried(airflow_stack) -> dict:
    stack, result = airflow_stack, {"clean": {}, "retried": {}, "runs": {}, "tries": {}}
    began = time.monotonic()
    clean = {dag_id: stack.trigger(dag_id, conf) for dag_id, conf in CONFS.items()}
    for dag_id, run_id in clean.items():
        assert stack.wait_for_run(dag_id, run_id) == "success", stack.diagnostics(dag_id, run_id)
        result["clean"][dag_id] = published(stack, dag_id)

    blocked = {dag_id: stack.objects / BUCKETS[dag_id] / key for dag_id, key in BLOCKED.items()}
    for path in blocked.values():
        block(path)
    faulty = {dag_id: stack.trigger(dag_id, conf) for dag_id, conf in CONFS.items()}
    waiting = set(faulty)
    deadline = time.monotonic() + 300
    while waiting and time.monotonic() < deadline:  # the first try fails: unblock for the retry
        for dag_id in sorted(waiting):
            state = stack.api("GET", f"/dags/{dag_id}/dagRuns/{faulty[dag_id]}")["state"]
            assert state not in ("success", "failed"), f"{dag_id}: {state} before any retry"
            if "publish" in stack.tasks_in(dag_id, faulty[dag_id], "up_for_retry"):
                shutil.rmtree(blocked[dag_id])
                waiting.discard(dag_id)
        time.sleep(1)
    assert not waiting, f"no retry of publish in {sorted(waiting)}"
    for dag_id, run_id in faulty.items():
        state = stack.wait_for_run(dag_id, run_id, retries_fail=False)
        assert state == "success", stack.diagnostics(dag_id, run_id)
        result["retried"][dag_id] = published(stack, dag_id)
        result["runs"][dag_id] = stack.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
        tries = stack.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/publish/tries")
        result["tries"][dag_id] = tries["task_instances"]
    print(f"retries: {time.monotonic() - began:.0f} s")
    return result


@pytest.mark.parametrize("dag_id", [PERSONALIZE_DAG, HOOK_DAG])
def test_a_publish_that_failed_once_is_retried_by_the_scheduler_with_the_clean_files(retried, dag_id):
    tries = sorted(retried["tries"][dag_id], key=lambda ti: ti["try_number"])
    assert [(ti["try_number"], ti["state"]) for ti in tries] == [(1, "failed"), (2, "success")]
    first_end = datetime.fromisoformat(tries[0]["end_date"])
    retry_start = datetime.fromisoformat(tries[1]["start_date"])
    assert retry_start - first_end >= RETRY_DELAY  # after the backoff, not at once
    assert retried["runs"][dag_id]["state"] == "success"
    clean = retried["clean"][dag_id]
    assert any(key.endswith("manifest.json") for key in clean) and len(clean) >= 3, sorted(clean)
    assert retried["retried"][dag_id] == clean
