"""Shared fixtures: an isolated Airflow home with a migrated metadata DB, a real S3 API (moto's server on
127.0.0.1) and the pipeline configuration pointed at temporary folders.

Airflow reads its configuration when first imported, so the environment is set here, at import time,
before any test module imports Airflow.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from hubspot_pipeline.local.tutorial import TUTORIAL_SAMPLE_DIR

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = TUTORIAL_SAMPLE_DIR  # in the package: plugins/hubspot_pipeline/local/tutorial_sample/

_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="airflow-home-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(_AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}",
        "GX_ANALYTICS_ENABLED": "False",
        # the identity log's hash key, random for the session (never written to the repository)
        "AIRFLOW_VAR_HUBSPOT_PIPELINE_IDENTITY_HASH_KEY": secrets.token_hex(32),
    }
)
os.environ.pop("HUBSPOT_PIPELINE_CONFIG", None)
os.environ.pop("AIRFLOW_VAR_HUBSPOT_PIPELINE_CONFIG", None)


# scripts/test.sh runs the suite on two pytest-xdist workers. A module's tests stay on one worker (its
# module fixtures are built once), and so do the folders whose tests share one expensive session fixture:
# Airflow's services on PostgreSQL, the corpus share, the fault stack. (pytest-xdist's own loadgroup
# marks do not group on pytest 9: the scheduler is ours.)
SHARED_FIXTURE_FOLDERS = ("stack", "corpus", "faults")


def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtureScheduling(LoadScopeScheduling):
        """Work units: a module, or a whole folder of ``SHARED_FIXTURE_FOLDERS``."""

        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            parts = path.split("/")
            return "/".join(parts[:2]) if len(parts) > 2 and parts[1] in SHARED_FIXTURE_FOLDERS else path

    return SharedFixtureScheduling(config, log)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 20.0) -> None:
    """Wait until ``port`` accepts connections, failing early if ``process`` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening on {port}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout} s")


def stop_process(process: subprocess.Popen) -> None:
    """Stop a server we started, by its pid: SIGTERM, then SIGKILL after 10 s."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated Airflow metadata DB (SQLite) in a temporary AIRFLOW_HOME."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
    )
    yield _AIRFLOW_HOME
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def moto_server():
    """moto's S3 server on 127.0.0.1, started for the session and stopped by its pid."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield {"endpoint_url": f"http://127.0.0.1:{port}", "pid": process.pid}
    finally:
        stop_process(process)


@pytest.fixture
def s3_connection(moto_server, monkeypatch):
    """The ``personalize_s3`` Airflow connection pointed at a freshly reset moto server."""
    import urllib.request

    urllib.request.urlopen(
        urllib.request.Request(f"{moto_server['endpoint_url']}/moto-api/reset", method="POST")
    ).close()
    connection = {
        "conn_type": "aws",
        "login": "moto-access-key",
        "password": "moto-secret-key",
        "extra": {"region_name": "eu-west-1", "endpoint_url": moto_server["endpoint_url"]},
    }
    monkeypatch.setenv("AIRFLOW_CONN_PERSONALIZE_S3", json.dumps(connection))
    return connection


@pytest.fixture
def hook_s3_connection(s3_connection, monkeypatch):
    """The ``hook_s3`` Airflow connection (Hook's own key pair) on the same moto server as
    ``personalize_s3``, which stays the connection of the pipeline's staging bucket."""
    connection = {**s3_connection, "login": "hook-access-key", "password": "hook-secret-key"}
    monkeypatch.setenv("AIRFLOW_CONN_HOOK_S3", json.dumps(connection))
    return connection


@pytest.fixture
def pipeline_override(tmp_path, monkeypatch):
    """Point the pipeline's configuration (through the Airflow Variable) at a temporary object folder;
    returns a function to merge further overrides."""
    override: dict = {"storage": {"local_root": str(tmp_path / "objects")}}

    def apply(extra: dict | None = None) -> dict:
        from hubspot_pipeline.config import deep_merge

        nonlocal override
        override = deep_merge(override, extra or {})
        monkeypatch.setenv("AIRFLOW_VAR_HUBSPOT_PIPELINE_CONFIG", json.dumps(override))
        return override

    apply()
    return apply


def asset_events(dag_run) -> dict[str, dict]:
    """The Asset events a ``dag.test()`` run emitted, as the Airflow DB records them: Asset name -> extra."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(AssetModel.name, AssetEvent.extra)
            .join(AssetEvent, AssetEvent.asset_id == AssetModel.id)
            .where(AssetEvent.source_dag_id == dag_run.dag_id, AssetEvent.source_run_id == dag_run.run_id)
        )
        return dict(rows.all())


def s3_client(connection: dict, *buckets: str):
    """A boto3 S3 client with ``connection``'s credentials on moto's server, creating ``buckets``."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=connection["extra"]["endpoint_url"],
        region_name="eu-west-1",
        aws_access_key_id=connection["login"],
        aws_secret_access_key=connection["password"],
    )
    for bucket in buckets:
        client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    return client


def query_share(template_name: str, share, conn_id: str, parameters: dict, aliases=None, **variables):
    """The result of one ``include/sql`` query, run as a task runs it (a session of its own)."""
    from hubspot_pipeline.share.session import share_session

    with share_session(share, conn_id) as query:
        return query(template_name, parameters, aliases, **variables)


def sql_frame(conn_id: str, sql: str, parameters: dict | None = None):
    """The result of the test's own SQL on the share, as a DataFrame (checks counted independently of
    the pipeline's queries)."""
    from contextlib import closing

    from hubspot_pipeline.share.session import ShareHook

    connection = ShareHook(snowflake_conn_id=conn_id).get_conn()
    with closing(connection), closing(connection.cursor()) as cursor:
        cursor.execute(sql, parameters)
        return cursor.fetch_pandas_all()
