"""The security tests' stack, run once per session: a generated dirty share with planted personal data,
moto's S3 server recording every request it gets, and both DAGs run through Airflow on S3 with connections
whose secrets are random strings, once with the default configuration (SSE-S3, Hook's canned ACL) and once
with a KMS key and no ACL."""

from __future__ import annotations

import itertools
import json
import os
import secrets
import string
import time
import urllib.request
import uuid
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from hubspot_pipeline.local.generator import DEFAULT_END_DATE, generate_share
from hubspot_pipeline.local.share_schema import database_file
from tests.conftest import ROOT, s3_client
from tests.security.scan import bucket_objects, object_versions, recorded_requests

EXPORT_DATE = DEFAULT_END_DATE.isoformat()  # the generated share's last event day
KMS_KEY_ID = f"arn:aws:kms:eu-west-1:123456789012:key/{uuid.uuid4()}"
CANARIES = 20  # contacts whose personal data is replaced by distinctive values
# moto's server (``moto_server`` of tests/conftest.py, started after every conftest is imported) records
# the requests it gets into this file while recording is switched on
RECORDING = Path(os.environ["AIRFLOW_HOME"]) / "moto-requests.jsonl"
os.environ["MOTO_RECORDER_FILEPATH"] = str(RECORDING)
_LOGICAL_DATES = (datetime(2031, 1, 1, tzinfo=UTC) + timedelta(hours=n) for n in itertools.count())


def _access_key_id() -> str:
    return "AKIA" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16))


def _secret() -> str:
    return "sec-" + secrets.token_urlsafe(30)


@dataclass
class RunOutputs:
    """What one configuration's two DAG runs gave: their states and durations, every object of the
    published buckets with its ``head_object`` answer, every object ever staged, and every request moto's
    server received."""

    states: dict[str, str]
    seconds: dict[str, float]
    objects: dict[str, bytes]
    staged: dict[str, bytes]
    heads: dict[str, dict]
    requests: list[dict]


@dataclass
class SecuredRuns:
    """The secrets set in the connections and the identity hash key (label → value), the share's personal
    data (label → value) and its e-mail addresses as stored, the buckets and the outputs of the default
    and the KMS runs."""

    secrets: dict[str, str]
    pii: dict[str, str]
    emails: dict[str, str]
    buckets: dict[str, str]
    default: RunOutputs
    kms: RunOutputs


def seed_share(share_dir: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Generate a small dirty share, replace the first :data:`CANARIES` contacts' e-mail, names and phone by
    distinctive values, and return every contact's personal data (label → value) and e-mail as stored."""
    generate_share(share_dir, contacts=400, products=80, days=30, events_per_day=150, dirty_share=0.03)
    with duckdb.connect(str(database_file(share_dir))) as connection:
        table = "V2_DAILY.OBJECTS_CONTACTS"
        connection.execute(
            f"""UPDATE {table} SET PROPERTY_EMAIL = 'canary.' || OBJECTID || '@pii-canary-corp.com',
                PROPERTY_FIRSTNAME = 'Canaryfirst' || OBJECTID, PROPERTY_LASTNAME = 'Canarylast' || OBJECTID,
                PROPERTY_PHONE = '+44 20 7946 ' || RIGHT(OBJECTID::VARCHAR, 4)
            WHERE OBJECTID IN (SELECT OBJECTID FROM {table} ORDER BY OBJECTID LIMIT {CANARIES})"""  # noqa: S608
        )
        rows = connection.execute(
            "SELECT OBJECTID, PROPERTY_EMAIL, PROPERTY_FIRSTNAME, PROPERTY_LASTNAME, PROPERTY_PHONE"
            f" FROM {table}"  # noqa: S608
        ).fetchall()
    pii, emails = {}, {}
    for contact, email, first, last, phone in rows:
        if email:
            emails[f"e-mail of contact {contact}"] = email
        if email and "@" in email:
            pii[f"e-mail of contact {contact}"] = email.strip()
        if phone:
            pii[f"phone of contact {contact}"] = phone
        if first and last:
            pii[f"name of contact {contact}"] = f"{first} {last}"
        if str(first).startswith("Canaryfirst"):
            pii[f"first name of contact {contact}"] = first
            pii[f"last name of contact {contact}"] = last
    return pii, emails


def _aws_connection(endpoint_url: str) -> dict:
    return {
        "conn_type": "aws",
        "login": _access_key_id(),
        "password": _secret(),
        "extra": {"region_name": "eu-west-1", "endpoint_url": endpoint_url},
    }


def _moto_api(endpoint_url: str, path: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{endpoint_url}/moto-api/{path}", method="POST")).close()


def run_both_dags(
    dags: dict, client, buckets: dict[str, str], recording: Path, log_folder: Path
) -> RunOutputs:
    """Run the Personalize and the Hook DAG once each (``dag.test()``), then collect the published
    objects, their ``head_object`` answers and the requests moto recorded."""
    conf = {
        "personalize_training_export": {
            "export_date": EXPORT_DATE,
            "datasets": ["interactions", "items", "users"],
            "dry_run": False,
        },
        "hook_metrics_export": {
            "metric_date": EXPORT_DATE,
            "start_date": None,
            "end_date": None,
            "file_format": None,
            "dry_run": False,
        },
    }
    states, seconds = {}, {}
    for dag_id, dag in dags.items():
        started = time.monotonic()
        # dag.test() logs the tasks to the console: keep it as the run's log file, for the scans
        with (log_folder / f"{dag_id}.log").open("a") as log, redirect_stdout(log), redirect_stderr(log):
            states[dag_id] = str(dag.test(logical_date=next(_LOGICAL_DATES), run_conf=conf[dag_id]).state)
        seconds[dag_id] = round(time.monotonic() - started, 1)
    objects, heads = {}, {}
    for bucket in (buckets["personalize"], buckets["hook"]):
        for uri, body in bucket_objects(client, bucket):
            objects[uri] = body
            heads[uri] = client.head_object(Bucket=bucket, Key=uri.removeprefix(f"s3://{bucket}/"))
    staged = dict(object_versions(client, buckets["staging"]))
    return RunOutputs(states, seconds, objects, staged, heads, recorded_requests(recording))


@pytest.fixture(scope="session")
def secured_runs(airflow_db, moto_server, tmp_path_factory) -> SecuredRuns:
    from airflow.dag_processing.dagbag import DagBag

    from hubspot_pipeline.config import load_config
    from hubspot_pipeline.local.emulator import running_emulator
    from hubspot_pipeline.local.quickstart import snowflake_connection

    config = load_config()
    work = tmp_path_factory.mktemp("security")
    share_dir = work / "share"
    pii, emails = seed_share(share_dir)
    hash_key = _secret()
    endpoint_url = moto_server["endpoint_url"]
    personalize_s3, hook_s3 = _aws_connection(endpoint_url), _aws_connection(endpoint_url)
    buckets = {
        "personalize": config.personalize.bucket,
        "hook": config.hook.bucket,
        "staging": config.storage.staging_bucket,
    }
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    dags = {dag_id: bag.get_dag(dag_id) for dag_id in ("personalize_training_export", "hook_metrics_export")}
    _moto_api(endpoint_url, "recorder/start-recording")
    try:
        with running_emulator(share_dir) as emulator, pytest.MonkeyPatch.context() as patch:
            snowflake = json.loads(snowflake_connection(emulator, config.share))
            snowflake["password"] = _secret()
            patch.setenv("AIRFLOW_CONN_HUBSPOT_SNOWFLAKE", json.dumps(snowflake))
            patch.setenv("AIRFLOW_CONN_PERSONALIZE_S3", json.dumps(personalize_s3))
            patch.setenv("AIRFLOW_CONN_HOOK_S3", json.dumps(hook_s3))
            patch.setenv(f"AIRFLOW_VAR_{config.identity.hash_key_variable.upper()}", hash_key)
            outputs = {}
            overrides = {
                "default": {"storage": {"backend": "s3"}},
                "kms": {
                    "storage": {
                        "backend": "s3",
                        "server_side_encryption": "aws:kms",
                        "kms_key_id": KMS_KEY_ID,
                    },
                    "hook": {"acl": None},
                },
            }
            for name, override in overrides.items():
                _moto_api(endpoint_url, "reset")
                _moto_api(endpoint_url, "recorder/reset-recording")
                client = s3_client(personalize_s3, *buckets.values())
                # versioning keeps the staged objects each run deletes when it ends, for the scans
                versioning = {"Status": "Enabled"}
                client.put_bucket_versioning(Bucket=buckets["staging"], VersioningConfiguration=versioning)
                patch.setenv("AIRFLOW_VAR_HUBSPOT_PIPELINE_CONFIG", json.dumps(override))
                outputs[name] = run_both_dags(dags, client, buckets, RECORDING, airflow_db / "logs")
    finally:
        _moto_api(endpoint_url, "recorder/stop-recording")
    connection_secrets = {
        "Snowflake password": snowflake["password"],
        "personalize_s3 secret key": personalize_s3["password"],
        "hook_s3 secret key": hook_s3["password"],
        "personalize_s3 access key id": personalize_s3["login"],
        "hook_s3 access key id": hook_s3["login"],
        "identity hash key": hash_key,
    }
    return SecuredRuns(connection_secrets, pii, emails, buckets, outputs["default"], outputs["kms"])
