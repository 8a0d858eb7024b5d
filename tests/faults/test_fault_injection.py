"""Both exports under injected faults complete through their retries, publish exactly the objects of a
clean run, and never show a partial object under a final key nor the trigger before the data.

Faults, through the fault proxy: on a share of S3 requests 503 SlowDown, 500 InternalError, and connection
resets before and after moto handled the request (botocore's standard retry mode absorbs these); one
published file's PUT refused more times than botocore tries (the publish task fails and Airflow retries
it); one Snowflake query request failing once (500 or a reset: the connector retries it itself).
``dag.test()`` does run Airflow's retries (it waits out the retry delay), so the DAGs keep their two
retries with exponential backoff, with the first delay shortened to a second."""

from __future__ import annotations

import pytest

from tests.faults.harness import (
    EXPORT_DATE,
    HOOK_BUCKET,
    HOOK_DAG,
    HOOK_DATES,
    PERSONALIZE_BUCKET,
    PERSONALIZE_DAG,
    STAGING_BUCKET,
    TRAIN,
    ListingPoller,
    bucket_objects,
    check_like_a_clean_run,
    export_conf,
    run_in_process,
    with_quick_retries,
)

QUERY_REQUEST = "/queries/v1/query-request"
BOTOCORE_ATTEMPTS = 5  # harness.S3_RETRIES
# a published file (path-style URL: bucket, key) whose PUT fails more often than botocore tries: the
# publish task fails once
REFUSED_FILE = {
    PERSONALIZE_DAG: f"/{PERSONALIZE_BUCKET}/{TRAIN}/users.csv",
    HOOK_DAG: f"/{HOOK_BUCKET}/hook_export_{HOOK_DATES[-1]:%Y%m%d}.csv",
}


def s3_faults(share: float) -> list[dict]:
    """Throttling, 5xx answers and resets on ``share`` of the S3 requests, in the proportions S3 shows."""
    return [
        {"action": "slowdown", "share": share * 0.4},
        {"action": "internal_error", "share": share * 0.2},
        {"action": "reset", "share": share * 0.2},
        {"action": "reset_after", "share": share * 0.2},
    ]


def slow_data_files(dag_id: str) -> dict:
    """Half a second more for every upload of a data file (a ``delay``, not a fault)."""
    path = "/train/" if dag_id == PERSONALIZE_DAG else "/hook_export_"
    return {"action": "delay", "seconds": 0.5, "method": "PUT", "path_contains": path}


def refused_publish(dag_id: str) -> dict:
    path = REFUSED_FILE[dag_id]
    return {"action": "slowdown", "times": BOTOCORE_ATTEMPTS + 2, "method": "PUT", "path_contains": path}


def run_with_faults(stack, dags, dag_id: str, s3_rules: list[dict], snowflake_rules: list[dict]):
    """Run the export from an empty S3 with the faults set, a poller watching its bucket; return the
    tries per task, the faults injected (S3, Snowflake), the published objects and the poller."""
    bucket, conf = export_conf(dag_id)
    stack.reset_buckets()
    before = stack.s3_proxy.stats(), stack.snowflake_proxy.stats()
    # each data file's upload takes a while, so the poller lists the bucket mid-publish however loaded the
    # machine is (check_like_a_clean_run asserts it did)
    stack.s3_proxy.set_rules(*(slow_data_files(dag_id), *s3_rules))
    stack.snowflake_proxy.set_rules(*snowflake_rules)
    with ListingPoller(stack.client, bucket) as poller:
        dag_run, tries = run_in_process(with_quick_retries(dags[dag_id]), EXPORT_DATE, conf)
    stack.clear_faults()
    poller.poll()
    injected = [
        {name: count - earlier.get(name, 0) for name, count in proxy.stats().items()}
        for proxy, earlier in zip((stack.s3_proxy, stack.snowflake_proxy), before, strict=True)
    ]
    print(f"{dag_id}: state {dag_run.state}, tries {tries}, S3 {injected[0]}, Snowflake {injected[1]}")
    assert str(dag_run.state) == "success", tries
    return tries, injected, bucket_objects(stack.client, bucket), poller


def faults_injected(injected: dict[str, int]) -> int:
    return sum(count for name, count in injected.items() if name not in ("forwarded", "delay"))


@pytest.mark.parametrize(
    ("dag_id", "query_fault"),
    [(PERSONALIZE_DAG, "internal_error"), (HOOK_DAG, "reset")],
)
def test_faulty_s3_and_snowflake_give_the_clean_run_objects(stack, dags, clean, dag_id, query_fault):
    clean_objects = clean(dag_id)
    s3_rules = [refused_publish(dag_id), *s3_faults(0.15)]
    query_once = {"action": query_fault, "times": 1, "path_contains": QUERY_REQUEST}
    tries, (s3, snowflake), published, poller = run_with_faults(stack, dags, dag_id, s3_rules, [query_once])
    assert tries["publish"] == 2  # the refused file failed the first try; Airflow's retry published
    assert snowflake.get(query_fault) == 1
    assert faults_injected(s3) >= BOTOCORE_ATTEMPTS + 2 + 5, s3
    check_like_a_clean_run(dag_id, published, clean_objects, poller)
    assert stack.client.list_objects_v2(Bucket=STAGING_BUCKET).get("KeyCount", 0) == 0  # staging cleaned


@pytest.mark.parametrize("dag_id", [PERSONALIZE_DAG, HOOK_DAG])
@pytest.mark.parametrize("attempt", range(2))
def test_soak_a_third_of_s3_requests_failing(stack, dags, clean, dag_id, attempt):
    """The long variant: two runs per export with a third of the S3 requests failing, one per Snowflake
    fault kind, the refused publish in the second."""
    clean_objects = clean(dag_id)
    s3_rules = [refused_publish(dag_id)] * (attempt % 2) + s3_faults(0.33)
    query_fault = ["internal_error", "reset"][attempt % 2]
    query_once = {"action": query_fault, "times": 1, "path_contains": QUERY_REQUEST}
    tries, (s3, snowflake), published, poller = run_with_faults(stack, dags, dag_id, s3_rules, [query_once])
    assert snowflake.get(query_fault) == 1 and faults_injected(s3) >= 10, s3
    check_like_a_clean_run(dag_id, published, clean_objects, poller)
