"""A run killed with SIGKILL in the middle of publishing (``airflow dags test`` in its own process group,
killed as soon as the first data file is visible) leaves only complete objects and no
trigger; the next run of the same date publishes exactly the objects of a clean run."""

from __future__ import annotations

import threading

import pytest

from tests.faults.harness import (
    EXPORT_DATE,
    HOOK_DAG,
    PERSONALIZE_DAG,
    ListingPoller,
    bucket_objects,
    check_like_a_clean_run,
    export_conf,
    is_data_docs,
    is_data_file,
    kill_group,
    start_dag_test,
    trigger_key,
)

PUBLISH_DELAY = 0.5  # seconds each PUT to the published bucket waits in the proxy: a window to kill in


@pytest.mark.parametrize("dag_id", [PERSONALIZE_DAG, HOOK_DAG])
def test_sigkill_mid_publish_then_rerun(stack, clean, dag_id, tmp_path):
    clean_objects = clean(dag_id)
    trigger, _ = trigger_key(dag_id, clean_objects)
    bucket, conf = export_conf(dag_id)
    stack.reset_buckets()
    stack.s3_proxy.set_rules(
        {"action": "delay", "method": "PUT", "path_contains": f"/{bucket}/", "seconds": PUBLISH_DELAY}
    )
    publishing = threading.Event()

    def kill_when_publishing(keys: frozenset[str]) -> None:
        if any(is_data_file(dag_id, key) for key in keys):
            publishing.set()

    run = start_dag_test(dag_id, EXPORT_DATE, conf, tmp_path / "killed.log")
    with ListingPoller(stack.client, bucket) as poller:
        poller.on_listing = kill_when_publishing
        assert publishing.wait(timeout=600), (tmp_path / "killed.log").read_text()[-3000:]
        kill_group(run)
    stack.clear_faults()
    left = bucket_objects(stack.client, bucket)
    print(f"{dag_id}: killed with {sorted(left)} published")
    assert trigger not in left
    assert any(is_data_file(dag_id, key) for key in left)
    assert len(left) < len(clean_objects)  # killed halfway, not after the end
    # what the killed run left is complete: each object has its clean run's bytes
    assert {key: data for key, data in left.items() if not is_data_docs(key)} == {
        key: clean_objects[key] for key in left if not is_data_docs(key)
    }

    with ListingPoller(stack.client, bucket) as poller:
        rerun = start_dag_test(dag_id, EXPORT_DATE, conf, tmp_path / "rerun.log")
        assert rerun.wait(timeout=900) == 0, (tmp_path / "rerun.log").read_text()[-3000:]
    poller.poll()
    check_like_a_clean_run(dag_id, bucket_objects(stack.client, bucket), clean_objects, poller)
