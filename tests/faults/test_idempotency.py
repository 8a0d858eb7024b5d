"""Reruns over published data (a date again, the Hook bulk range again and one of its dates as a daily
run) rewrite byte-identical objects without duplicate rows; two overlapping runs of the same date (two
``airflow dags test`` processes, which bypass ``max_active_runs``) both succeed, publishing at the same
time, and leave complete objects identical to a clean run's, and no reader ever sees anything else."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from tests.faults.harness import (
    EXPORT_DATE,
    HOOK_DAG,
    HOOK_DATES,
    PERSONALIZE_DAG,
    TRAIN,
    ListingPoller,
    bucket_objects,
    check_like_a_clean_run,
    export_conf,
    hook_conf,
    is_data_docs,
    is_data_file,
    run_in_process,
    start_dag_test,
    task_intervals,
    unique_logical_date,
    without_data_docs,
)

TRIGGER_DELAY = 8.0  # seconds the trigger's PUT waits: longer than the two runs' start skew before publish
UNIQUE_KEYS = {
    f"{TRAIN}/interactions.csv": ["USER_ID", "ITEM_ID", "TIMESTAMP", "EVENT_TYPE"],
    f"{TRAIN}/items.csv": ["ITEM_ID"],
    f"{TRAIN}/users.csv": ["USER_ID"],
}


def duplicate_rows(dag_id: str, objects: dict[str, bytes]) -> dict[str, int]:
    """Per published data file, the rows repeating another row's key (Personalize: the dataset's key;
    Hook: account and date)."""
    found = {}
    for key, data in objects.items():
        if not is_data_file(dag_id, key):
            continue
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
        assert len(frame) > 0, key
        columns = UNIQUE_KEYS[key] if dag_id == PERSONALIZE_DAG else ["account_id", "metric_date"]
        found[key] = int(frame.duplicated(subset=columns).sum())
    return found


def data_files(dag_id: str, objects: dict[str, bytes]) -> dict[str, bytes]:
    return {key: data for key, data in objects.items() if is_data_file(dag_id, key)}


@pytest.mark.parametrize("dag_id", [PERSONALIZE_DAG, HOOK_DAG])
def test_a_rerun_rewrites_the_same_bytes_without_duplicates(stack, dags, clean, dag_id):
    clean_objects = clean(dag_id)  # published, in the bucket
    assert set(duplicate_rows(dag_id, clean_objects).values()) == {0}
    bucket, conf = export_conf(dag_id)
    with ListingPoller(stack.client, bucket) as poller:
        dag_run, _ = run_in_process(dags[dag_id], EXPORT_DATE, conf)
        assert str(dag_run.state) == "success"
        if dag_id == HOOK_DAG:  # one date of the backfilled range again, as a daily run
            dag_run, _ = run_in_process(dags[dag_id], HOOK_DATES[1], hook_conf(HOOK_DATES[1]))
            assert str(dag_run.state) == "success"
    poller.poll()
    published = bucket_objects(stack.client, bucket)
    assert without_data_docs({key: published[key] for key in clean_objects}) == without_data_docs(
        clean_objects
    )
    assert data_files(dag_id, published) == data_files(dag_id, clean_objects)
    assert poller.partial_objects(published, skip=is_data_docs) == []
    new_keys = sorted(set(published) - set(clean_objects))
    if dag_id == HOOK_DAG:  # only the daily run's own run folder
        assert {key.split("/")[1] for key in new_keys} == {f"{HOOK_DATES[1]}_{HOOK_DATES[1]}"}, new_keys
    else:
        assert new_keys == []


@pytest.mark.parametrize("dag_id", [PERSONALIZE_DAG, HOOK_DAG])
def test_two_overlapping_runs_of_the_same_date(stack, clean, dag_id, tmp_path):
    clean_objects = clean(dag_id)
    bucket, conf = export_conf(dag_id)
    stack.reset_buckets()
    # each PUT to the published bucket waits a little, and the trigger (written last) waits long enough
    # that the second run starts publishing while the first still is
    trigger = "/config.json" if dag_id == PERSONALIZE_DAG else "/manifest.json"
    stack.s3_proxy.set_rules(
        {"action": "delay", "method": "PUT", "path_contains": f"/{bucket}/", "seconds": 0.3},
        {"action": "delay", "method": "PUT", "path_contains": trigger, "seconds": TRIGGER_DELAY},
    )
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    dates = [unique_logical_date(EXPORT_DATE) for _ in logs]
    with ListingPoller(stack.client, bucket) as poller:
        runs = [
            start_dag_test(dag_id, EXPORT_DATE, conf, log, day) for log, day in zip(logs, dates, strict=True)
        ]
        codes = [run.wait(timeout=900) for run in runs]
    stack.clear_faults()
    poller.poll()
    publishes = task_intervals(dag_id, "publish", dates)
    print(f"{dag_id}: overlapping runs exited with {codes}; publish (state, start, end): {publishes}")
    assert codes == [0, 0], [log.read_text()[-3000:] for log in logs]
    assert [publishes[day][0] for day in dates] == ["success", "success"], publishes
    (_, first_start, first_end), (_, second_start, second_end) = (publishes[day] for day in dates)
    assert max(first_start, second_start) < min(first_end, second_end), "the two publishes did not overlap"
    published = bucket_objects(stack.client, bucket)
    check_like_a_clean_run(dag_id, published, clean_objects, poller)
    assert set(duplicate_rows(dag_id, published).values()) == {0}
