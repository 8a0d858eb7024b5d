"""The date a Personalize run exports (``personalize.run.export_date_for``): the ``export_date`` param,
else the first day of the run's data interval (scheduled and backfill runs), else yesterday. The stack
tests (tests/stack/test_scheduled_runs.py, test_backfills_and_retries.py) run the same through the real
scheduler."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from hubspot_pipeline.personalize.run import export_date_for

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def test_the_param_wins_over_the_data_interval():
    interval_start = datetime(2024, 6, 29, 3, tzinfo=UTC)
    assert export_date_for("2024-01-15", interval_start, NOW) == date(2024, 1, 15)


def test_a_scheduled_or_backfill_run_exports_the_first_day_of_its_data_interval():
    assert export_date_for(None, datetime(2024, 6, 29, 3, tzinfo=UTC), NOW) == date(2024, 6, 29)
    assert export_date_for("", datetime(2024, 6, 29, 3, tzinfo=UTC), NOW) == date(2024, 6, 29)
    # the interval's day in UTC, whatever zone the datetime comes in
    late = datetime(2024, 6, 29, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert export_date_for(None, late, NOW) == date(2024, 6, 30)


def test_a_manual_run_without_a_date_exports_yesterday_in_utc():
    assert export_date_for(None, None, NOW) == date(2026, 11, 30)
    assert export_date_for(
        None, None, datetime(2026, 12, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    ) == date(2026, 11, 29)
