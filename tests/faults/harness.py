"""What the fault tests share: the fault proxy as a process, Airflow connections through it, a poller that
watches a bucket's listing while a DAG runs, DAG runs in-process (``dag.test()``) and as ``airflow dags
test`` subprocesses, and the comparisons of published objects."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from itertools import count

from hubspot_pipeline.config import load_config
from hubspot_pipeline.local.emulator import RunningEmulator
from hubspot_pipeline.local.generator import DEFAULT_END_DATE
from hubspot_pipeline.local.quickstart import snowflake_connection
from tests.conftest import ROOT, free_port, stop_process, wait_for_port

CONFIG = load_config()
PERSONALIZE_DAG = "personalize_training_export"
HOOK_DAG = "hook_metrics_export"
PERSONALIZE_BUCKET = CONFIG.personalize.bucket
HOOK_BUCKET = CONFIG.hook.bucket
STAGING_BUCKET = CONFIG.storage.staging_bucket
GROUP = CONFIG.personalize.dataset_group
TRAIN = f"train/{GROUP}"
DATA_FILES = [f"{TRAIN}/{name}.csv" for name in ("interactions", "items", "users")]
CONFIG_KEY = f"{TRAIN}/config.json"
EXPORT_DATE = DEFAULT_END_DATE  # the generated share's last day
HOOK_DATES = [EXPORT_DATE - timedelta(days=offset) for offset in (2, 1, 0)]
S3_RETRIES = {"retries": {"mode": "standard", "max_attempts": 5}}
_LOGICAL_SECONDS = count(1)


class FaultProxy:
    """A running ``fault_proxy`` process in front of ``upstream``; stopped by its pid."""

    def __init__(self, upstream: str, seed: int = 0):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "tests.faults.fault_proxy", "--upstream", upstream]
        command += ["--port", str(self.port), "--seed", str(seed)]
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port(self.port, self.process)

    def set_rules(self, *rules: dict) -> None:
        request = urllib.request.Request(
            f"{self.url}/__faults__/rules", data=json.dumps(list(rules)).encode(), method="PUT"
        )
        urllib.request.urlopen(request).close()

    def stats(self) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.url}/__faults__/stats") as response:
            return json.loads(response.read())

    def stop(self) -> None:
        stop_process(self.process)


def aws_connection(base: dict, proxy: FaultProxy) -> str:
    """An AWS connection like ``base`` whose requests go through ``proxy``, with botocore's standard retry
    mode (throttling and 5xx answers and connection errors are retried, with backoff)."""
    extra = {**base["extra"], "endpoint_url": proxy.url, "config_kwargs": S3_RETRIES}
    return json.dumps({**base, "extra": extra})


def snowflake_through(emulator: RunningEmulator, proxy: FaultProxy) -> str:
    """The ``hubspot_snowflake`` connection reaching the emulator through ``proxy``."""
    return snowflake_connection(dataclasses.replace(emulator, port=proxy.port), CONFIG.share)


# ------------------------------------------------------------------------------------------- objects


def bucket_objects(client, bucket: str, skip: Callable[[str], bool] = lambda key: False) -> dict[str, bytes]:
    """Every object of ``bucket`` (key → bytes), straight from the S3 server."""
    keys = [
        item["Key"]
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for item in page.get("Contents", [])
    ]
    return {
        key: client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in sorted(keys) if not skip(key)
    }


def without_data_docs(objects: dict[str, bytes]) -> dict[str, bytes]:
    """The objects but the Great Expectations Data Docs pages, which record when the validation ran (the
    only published bytes that differ between two runs of the same data)."""
    return {key: data for key, data in objects.items() if "/data_docs/" not in key}


class ListingPoller:
    """Lists a bucket over and over in a thread while a DAG runs and reads every new version of every
    object, keeping what was seen: each listing (the set of keys) and each object's versions, by sha256."""

    def __init__(self, client, bucket: str, interval: float = 0.05):
        self.client, self.bucket, self.interval = client, bucket, interval
        self.listings: list[frozenset[str]] = []
        self.versions: dict[str, dict[str, bytes]] = {}  # key → {sha256: bytes}
        self.on_listing: Callable[[frozenset[str]], None] | None = None
        self._etags: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ListingPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll()
            time.sleep(self.interval)

    def poll(self) -> None:
        listing = self.client.list_objects_v2(Bucket=self.bucket).get("Contents", [])
        keys = frozenset(item["Key"] for item in listing)
        self.listings.append(keys)
        for item in listing:
            if self._etags.get(item["Key"]) == item["ETag"]:
                continue
            try:
                data = self.client.get_object(Bucket=self.bucket, Key=item["Key"])["Body"].read()
            except self.client.exceptions.NoSuchKey:
                continue  # deleted between the listing and the read
            self._etags[item["Key"]] = item["ETag"]
            self.versions.setdefault(item["Key"], {})[hashlib.sha256(data).hexdigest()] = data
        if self.on_listing:
            self.on_listing(keys)

    def partial_objects(self, final: dict[str, bytes], skip: Callable[[str], bool]) -> list[str]:
        """Keys (not ``skip``ped) of which a version other than the final one was ever visible."""
        return sorted(
            key
            for key, versions in self.versions.items()
            if not skip(key) and any(data != final.get(key) for data in versions.values())
        )

    def seen_before(self, key: str, others: list[str]) -> list[str]:
        """Of ``others``, those missing from a listing that already showed ``key``."""
        return sorted(
            {other for keys in self.listings if key in keys for other in others if other not in keys}
        )

    def publishing_listings(self, keys: list[str]) -> int:
        """How many listings showed some but not all of ``keys``: taken while they were being published."""
        return sum(1 for listing in self.listings if 0 < len(listing.intersection(keys)) < len(keys))


# ------------------------------------------------------------------------------------------- DAG runs


def unique_logical_date(day: date) -> datetime:
    """A logical date on ``day`` that no other run of this session used (one DAG run per logical date)."""
    return datetime(day.year, day.month, day.day, 3, tzinfo=UTC) + timedelta(seconds=next(_LOGICAL_SECONDS))


def personalize_conf(export_date: date) -> dict:
    return {
        "export_date": export_date.isoformat(),
        "datasets": ["interactions", "items", "users"],
        "dry_run": False,
    }


def hook_conf(first: date, last: date | None = None) -> dict:
    """A daily run of ``first``, or a bulk run ``first``..``last``; every param given (``dag.test()``
    keeps a previous run's params on the DAG object)."""
    dates = {"metric_date": first.isoformat(), "start_date": None, "end_date": None}
    if last is not None:
        dates = {"metric_date": None, "start_date": first.isoformat(), "end_date": last.isoformat()}
    return {**dates, "file_format": None, "dry_run": False}


def with_quick_retries(dag, seconds: int = 1):
    """``dag`` with the configured retries (count and exponential backoff kept) but a first retry delay of
    ``seconds`` instead of a minute, so ``dag.test()``, which waits out the delay, retries within a test."""
    for task in dag.tasks:
        assert task.retries == 2 and task.retry_exponential_backoff, task.task_id
        task.retry_delay = timedelta(seconds=seconds)
    return dag


def task_intervals(dag_id: str, task_id: str, logical_dates: list[datetime]) -> dict[datetime, tuple]:
    """Per run of ``dag_id`` (by logical date), ``task_id``'s ``(state, start, end)`` as Airflow recorded it
    in the metadata DB (its last try)."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    query = (
        select(DagRun.logical_date, TaskInstance.state, TaskInstance.start_date, TaskInstance.end_date)
        .join(TaskInstance, (TaskInstance.dag_id == DagRun.dag_id) & (TaskInstance.run_id == DagRun.run_id))
        .where(
            DagRun.dag_id == dag_id, TaskInstance.task_id == task_id, DagRun.logical_date.in_(logical_dates)
        )
    )
    with create_session() as session:
        return {
            logical_date: (str(state), start, end)
            for logical_date, state, start, end in session.execute(query)
        }


def run_in_process(dag, day: date, conf: dict):
    """One run through ``dag.test()``; returns the DagRun and each task's number of tries."""
    dag_run = dag.test(logical_date=unique_logical_date(day), run_conf=conf)
    tries = {ti.task_id: ti.try_number for ti in dag_run.get_task_instances()}
    return dag_run, tries


def start_dag_test(
    dag_id: str, day: date, conf: dict, log_path, logical_date: datetime | None = None
) -> subprocess.Popen:
    """``airflow dags test`` in its own process group (to kill it and every child with it), for
    ``logical_date`` (default: a new one on ``day``)."""
    logical_date = logical_date or unique_logical_date(day)
    command = [sys.executable, "-m", "airflow", "dags", "test", dag_id, logical_date.isoformat()]
    command += ["--conf", json.dumps(conf)]
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the process group of a process we started (its own session, see :func:`start_dag_test`)."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def export_conf(dag_id: str) -> tuple[str, dict]:
    """The bucket an export publishes to, and the conf of the run every fault test makes: Personalize for
    ``EXPORT_DATE``, Hook in bulk mode for ``HOOK_DATES``."""
    if dag_id == PERSONALIZE_DAG:
        return PERSONALIZE_BUCKET, personalize_conf(EXPORT_DATE)
    return HOOK_BUCKET, hook_conf(HOOK_DATES[0], HOOK_DATES[-1])


def is_data_docs(key: str) -> bool:
    return "/data_docs/" in key


def trigger_key(dag_id: str, keys) -> tuple[str, list[str]]:
    """The object an export publishes last (what downstream reacts to: Personalize's ``config.json``, the
    Hook run's manifest) and the other objects, which must all be visible before it."""
    if dag_id == PERSONALIZE_DAG:
        return CONFIG_KEY, [key for key in keys if key != CONFIG_KEY]
    manifest = next(key for key in keys if key.endswith("/manifest.json"))
    return manifest, [key for key in keys if key != manifest]


def is_data_file(dag_id: str, key: str) -> bool:
    return (
        key in DATA_FILES if dag_id == PERSONALIZE_DAG else key.rsplit("/", 1)[-1].startswith("hook_export_")
    )


def check_like_a_clean_run(dag_id: str, published: dict[str, bytes], clean: dict[str, bytes], poller) -> None:
    """``published`` has the keys and (Data Docs pages aside) the bytes of the clean run; the poller never
    saw another version of an object, nor the trigger before everything else. The poller must also have
    watched the publishing: read every published object, and listed the bucket at least once while some
    but not all data files were there."""
    assert sorted(published) == sorted(clean)  # the same keys, Data Docs pages included
    assert sorted(key for key in without_data_docs(clean) if published[key] != clean[key]) == []
    assert sorted(set(published) - set(poller.versions)) == []
    partial = poller.partial_objects(published, skip=is_data_docs)
    assert partial == [], f"other versions than the final one were visible: {partial}"
    trigger, before = trigger_key(dag_id, published)
    early = poller.seen_before(trigger, before)
    assert early == [], f"{trigger} was listed before {early}"
    data_files = [key for key in before if is_data_file(dag_id, key)]
    assert data_files
    mid_publish = poller.publishing_listings(data_files)
    print(f"poller: {len(poller.listings)} listings, {mid_publish} with some but not all data files")
    assert mid_publish >= 1, f"{len(poller.listings)} listings, none mid-publish"
