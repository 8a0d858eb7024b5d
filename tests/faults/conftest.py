"""Fixtures of the fault tests: one small generated share served by the emulator, the fault proxy in front
of it and in front of moto's S3 server, and the pipeline's connections pointed through both proxies."""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass

import pytest
from airflow.dag_processing.dagbag import DagBag

from hubspot_pipeline.local.emulator import RunningEmulator, running_emulator
from hubspot_pipeline.local.generator import generate_share
from tests.conftest import ROOT, s3_client
from tests.faults.harness import (
    EXPORT_DATE,
    HOOK_BUCKET,
    HOOK_DAG,
    PERSONALIZE_BUCKET,
    PERSONALIZE_DAG,
    STAGING_BUCKET,
    FaultProxy,
    aws_connection,
    bucket_objects,
    export_conf,
    run_in_process,
    snowflake_through,
)


@dataclass
class FaultyStack:
    """The running pieces a fault test drives: the proxies, and an S3 client straight to moto (never
    through the proxy) to look at the buckets."""

    s3_proxy: FaultProxy
    snowflake_proxy: FaultProxy
    emulator: RunningEmulator
    client: object
    moto_url: str

    def reset_buckets(self) -> None:
        """Empty S3 (moto's reset) and create the three buckets again."""
        request = urllib.request.Request(f"{self.moto_url}/moto-api/reset", method="POST")
        urllib.request.urlopen(request).close()
        for bucket in (PERSONALIZE_BUCKET, HOOK_BUCKET, STAGING_BUCKET):
            self.client.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
            )

    def clear_faults(self) -> None:
        self.s3_proxy.set_rules()
        self.snowflake_proxy.set_rules()


@pytest.fixture(scope="package")
def share_emulator(tmp_path_factory):
    """A generated share of 500 contacts (dirty values included), enough for both exports' minimums."""
    share_dir = tmp_path_factory.mktemp("faults-share")
    generate_share(share_dir, contacts=500, companies=60, products=120, days=30, events_per_day=80)
    with running_emulator(share_dir) as emulator:
        yield emulator


@pytest.fixture(scope="package")
def s3_proxy(moto_server):
    proxy = FaultProxy(moto_server["endpoint_url"], seed=1)
    yield proxy
    proxy.stop()


@pytest.fixture(scope="package")
def snowflake_proxy(share_emulator):
    proxy = FaultProxy(f"http://{share_emulator.host}:{share_emulator.port}", seed=2)
    yield proxy
    proxy.stop()


@pytest.fixture(scope="package")
def dags(airflow_db):
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    return {dag_id: bag.get_dag(dag_id) for dag_id in (PERSONALIZE_DAG, HOOK_DAG)}


@pytest.fixture
def stack(
    s3_connection,
    hook_s3_connection,
    s3_proxy,
    snowflake_proxy,
    share_emulator,
    pipeline_override,
    monkeypatch,
) -> FaultyStack:
    """Both exports writing to (a freshly reset) moto through the S3 proxy and reading the share through the
    Snowflake proxy, with no fault set yet."""
    pipeline_override({"storage": {"backend": "s3"}})
    monkeypatch.setenv("AIRFLOW_CONN_PERSONALIZE_S3", aws_connection(s3_connection, s3_proxy))
    monkeypatch.setenv("AIRFLOW_CONN_HOOK_S3", aws_connection(hook_s3_connection, s3_proxy))
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_SNOWFLAKE", snowflake_through(share_emulator, snowflake_proxy))
    client = s3_client(s3_connection, PERSONALIZE_BUCKET, HOOK_BUCKET, STAGING_BUCKET)
    stack = FaultyStack(
        s3_proxy, snowflake_proxy, share_emulator, client, s3_connection["extra"]["endpoint_url"]
    )
    stack.clear_faults()
    yield stack
    stack.clear_faults()


@pytest.fixture(scope="package")
def clean_objects_cache() -> dict[str, dict[str, bytes]]:
    return {}


@pytest.fixture
def clean(stack, dags, clean_objects_cache):
    """``clean(dag_id)``: empty S3, then the objects of a clean run (no faults) of the export, left in its
    bucket (the run is made once per session; later calls put its objects back)."""

    def objects(dag_id: str) -> dict[str, bytes]:
        bucket, conf = export_conf(dag_id)
        stack.reset_buckets()
        if dag_id not in clean_objects_cache:
            dag_run, _ = run_in_process(dags[dag_id], EXPORT_DATE, conf)
            assert str(dag_run.state) == "success"
            clean_objects_cache[dag_id] = bucket_objects(stack.client, bucket)
        for key, data in clean_objects_cache[dag_id].items():
            stack.client.put_object(Bucket=bucket, Key=key, Body=data)
        return clean_objects_cache[dag_id]

    return objects
