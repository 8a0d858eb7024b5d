"""The previous period a run's first date is checked against (cumulative metrics never decrease), as plain
functions: which date it is for a cron, and what the check says when its file cannot be read or compared.
test_weekly.py runs the same through Airflow."""

from __future__ import annotations

from datetime import date

import pytest
from botocore.exceptions import ClientError

from hubspot_pipeline.config import load_config
from hubspot_pipeline.hook.checks import previous_published, read_failure
from hubspot_pipeline.hook.run import HookRun, previous_period
from hubspot_pipeline.hook.tasks import previous_period_lines

MONDAY = date(2024, 1, 8)


@pytest.mark.parametrize(
    ("schedule", "day", "previous"),
    [
        ("0 4 * * *", MONDAY, date(2024, 1, 7)),  # daily: the day before, as before weekly schedules
        ("0 0 * * *", MONDAY, date(2024, 1, 7)),  # a fire time at midnight is the day's own, not before it
        ("0 */6 * * *", MONDAY, date(2024, 1, 7)),  # several runs a day: still the day before
        ("0 4 * * 1", MONDAY, date(2024, 1, 1)),  # weekly: a week before
        ("0 0 * * 1", MONDAY, date(2024, 1, 1)),
        ("0 4 * * 1,4", date(2024, 1, 11), MONDAY),  # twice a week: the run before, Thursday → Monday
        ("0 4 * * 1,4", MONDAY, date(2024, 1, 4)),  # Monday → Thursday
        ("0 4 * * 1", date(2024, 1, 10), MONDAY),  # a manual Wednesday: the last scheduled date before it
        ("0 4 1 * *", date(2024, 3, 1), date(2024, 2, 1)),  # monthly
    ],
)
def test_the_previous_period_is_the_date_the_schedules_last_run_before_exported(schedule, day, previous):
    assert previous_period(schedule, day) == previous


def _run(tmp_path, schedule: str, start: date, end: date | None = None, **hook) -> HookRun:
    override = {"storage": {"local_root": str(tmp_path)}, "hook": {"schedule": schedule, **hook}}
    return HookRun(load_config(override=override), start, end or start, "test-run")


def _columns(run: HookRun) -> list[str]:
    return run.definitions.columns


def test_a_bulk_range_on_a_weekly_schedule_checks_its_first_date_against_the_previous_week(tmp_path):
    run = _run(tmp_path, "0 4 * * 1", MONDAY, date(2024, 1, 31))
    assert run.previous_date == date(2024, 1, 1)
    assert _run(tmp_path, "0 4 * * *", MONDAY, date(2024, 1, 31)).previous_date == date(2024, 1, 7)


def test_the_check_compares_with_the_previous_file_or_says_why_not(tmp_path):
    run = _run(tmp_path, "0 4 * * 1", MONDAY)
    key = "hook_export_20240101.csv"
    data, check = previous_published(run)
    assert data is None
    assert check["status"] == "skipped" and check["reason"] == "absent"
    assert (check["key"], check["date"]) == (key, "2024-01-01")

    folder = tmp_path / run.hook.bucket
    folder.mkdir()
    content = (",".join(_columns(run)) + "\n").encode()
    (folder / key).write_bytes(content)
    assert previous_published(run) == (content, {"status": "compared", "date": "2024-01-01", "key": key})

    # a file without a cumulative metric (a metric added since) cannot be compared: said, not ignored
    columns = [name for name in _columns(run) if name != "total_events"]
    (folder / key).write_bytes((",".join(columns) + "\n").encode())
    data, check = previous_published(run)
    assert data is None and check["status"] == "skipped" and check["reason"] == "columns"
    assert check["detail"] == "the file has no column total_events"


def _client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "GetObject")


@pytest.mark.parametrize(
    ("error", "reason", "said"),
    [
        (FileNotFoundError("hook_export_20240101.csv"), "absent", "no such file"),
        (_client_error("NoSuchKey"), "absent", "no such file"),
        (_client_error("404"), "absent", "no such file"),
        (_client_error("AccessDenied"), "AccessDenied", "hook_s3 may not read"),
        (_client_error("403"), "AccessDenied", "hook_s3 may not read"),
        (_client_error("NoSuchBucket"), "error", "NoSuchBucket"),
        (ConnectionResetError("reset by peer"), "error", "ConnectionResetError: reset by peer"),
    ],
)
def test_a_file_that_cannot_be_read_is_told_apart(error, reason, said):
    got, sentence = read_failure(error, "hook_s3")
    assert got == reason and said in sentence


def test_the_report_says_plainly_what_the_check_did():
    compared = {"status": "compared", "date": "2024-01-01", "key": "hook_export_20240101.csv"}
    assert previous_period_lines("2024-01-08", compared) == [
        "- Cumulative metrics of 2024-01-08 compared with `hook_export_20240101.csv` (the previous period, "
        "2024-01-01): none decreased."
    ]
    skipped = {**compared, "status": "skipped", "reason": "AccessDenied", "detail": "hook_s3 may not read it"}
    text = "\n".join(previous_period_lines("2024-01-08", skipped))
    assert text.startswith("\n**Skipped: the never-decreases check of 2024-01-08 against `hook_export_2024")
    assert "(AccessDenied): hook_s3 may not read it." in text and "not compared with any earlier file" in text
