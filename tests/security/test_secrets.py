"""No credentials anywhere the pipeline writes: task logs, XComs, published objects, staging objects, and
none in the repository."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import quote

from tests.conftest import ROOT
from tests.security.scan import Finding, files_under, find_in_blobs, repository_files, xcom_values


def test_both_dags_succeeded_in_both_configurations(secured_runs):
    for outputs in (secured_runs.default, secured_runs.kms):
        assert outputs.states == {"personalize_training_export": "success", "hook_metrics_export": "success"}


def test_no_secret_in_task_logs(secured_runs):
    logs = Path(os.environ["AIRFLOW_HOME"]) / "logs"
    files = list(files_under(logs))
    assert files, f"no task log under {logs}"
    assert find_in_blobs(files, secured_runs.secrets) == []


def test_no_secret_in_xcoms(secured_runs):
    values = list(xcom_values(Path(os.environ["AIRFLOW_HOME"]) / "airflow.db"))
    assert values
    assert find_in_blobs(values, secured_runs.secrets) == []


def test_no_secret_in_published_or_staged_objects(secured_runs):
    for outputs in (secured_runs.default, secured_runs.kms):
        assert any(where.endswith(".parquet as CSV") for where in outputs.staged)
        assert find_in_blobs([*outputs.objects.items(), *outputs.staged.items()], secured_runs.secrets) == []


def test_no_key_like_string_in_the_repository():
    assert find_in_blobs(repository_files(ROOT), {}) == []


# --------------------------------------------------------------------------- the scans can fail
# (samples are assembled at run time, so this file never holds a key-like string itself)
KEY_LIKE = {
    "AWS access key id": "id=" + "AKIA" + "Q7" * 8,
    "AWS secret access key": "aws_secret_access_key = " + "aB3/+x9Z" * 5,
    "private key": "-----BEGIN " + "OPENSSH PRIVATE KEY-----\nb3Blbn...",
    "Snowflake password in a URI": "snowflake://" + "loader:hunter2@acme-xy12345/HUB_DB",
}
HARMLESS = [
    '"login": "AKIA...", "password": "..."',  # the README's placeholder
    'aws_access_key_id="local", aws_secret_access_key="local"',
    "snowflake://" + "loader@acme-xy12345/HUB_DB?warehouse=WH",
]


def test_each_key_pattern_is_found_and_placeholders_are_not():
    for name, sample in KEY_LIKE.items():
        assert find_in_blobs([("sample", sample.encode())], {}) == [Finding("sample", name)]
    assert find_in_blobs([(text, text.encode()) for text in HARMLESS], {}) == []


def test_a_secret_planted_in_a_copy_of_the_logs_is_found(secured_runs, tmp_path):
    copy = shutil.copytree(Path(os.environ["AIRFLOW_HOME"]) / "logs", tmp_path / "logs")
    log = next(path for path in sorted(copy.rglob("*")) if path.is_file())
    log.write_text(log.read_text() + f"\nconnecting with {secured_runs.secrets['hook_s3 secret key']}\n")
    assert find_in_blobs(files_under(copy), secured_runs.secrets) == [Finding(str(log), "hook_s3 secret key")]


def test_a_secret_planted_in_a_copy_of_the_xcoms_is_found(secured_runs, tmp_path):
    database = tmp_path / "airflow.db"
    with (
        sqlite3.connect(Path(os.environ["AIRFLOW_HOME"]) / "airflow.db") as source,
        sqlite3.connect(database) as copy,
    ):
        source.backup(copy)  # the live DB may be in WAL mode: a file copy could miss rows
    with sqlite3.connect(database) as connection:
        planted = json.dumps({"uri": f"snowflake://loader:{secured_runs.secrets['Snowflake password']}@x"})
        first_row = "SELECT MIN(rowid) FROM xcom"
        connection.execute(f"UPDATE xcom SET value = ? WHERE rowid = ({first_row})", (planted,))  # noqa: S608
    findings = {finding.what for finding in find_in_blobs(xcom_values(database), secured_runs.secrets)}
    assert findings == {"Snowflake password", "Snowflake password in a URI"}


def test_a_secret_planted_in_a_published_or_staged_object_is_found_in_any_encoding(secured_runs):
    secret = secured_runs.secrets["personalize_s3 secret key"] + "/+="  # characters that get escaped
    objects = dict(secured_runs.default.objects)
    report = next(uri for uri in objects if uri.endswith("report.md"))
    for encoded in (secret, quote(secret, safe=""), json.dumps(secret), secret.upper()):
        objects[report] = b"see " + encoded.encode()
        assert find_in_blobs(objects.items(), {"planted": secret}) == [Finding(report, "planted")]


def test_a_key_planted_in_a_copy_of_the_repository_is_found(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    (clone / "deploy.env").write_text("AWS_ACCESS_KEY_ID=" + "ASIA" + "Z3" * 8 + "\n")
    subprocess.run(["git", "add", "deploy.env"], cwd=clone, check=True)
    assert find_in_blobs(repository_files(clone), {}) == [Finding("deploy.env", "AWS access key id")]
