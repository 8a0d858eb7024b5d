"""No personal data of the share (e-mails, full names, phone numbers, and the planted canary contacts'
first and last names) in anything the DAGs publish: Personalize's train/ and runs/ (quarantine files,
identity log, manifest, report, Data Docs) and Hook's files and run reports, nor in the task logs."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from tests.security.scan import files_under, find_in_blobs


def test_no_personal_data_in_any_published_object(secured_runs):
    for outputs in (secured_runs.default, secured_runs.kms):
        prefixes = {uri.split("/")[3] for uri in outputs.objects}
        assert {"train", "runs", "_runs"} <= prefixes
        assert any("/quarantine/" in uri for uri in outputs.objects)
        assert find_in_blobs(outputs.objects.items(), secured_runs.pii, patterns=False) == []


def test_no_personal_data_in_the_task_logs(secured_runs):
    logs = list(files_under(Path(os.environ["AIRFLOW_HOME"]) / "logs"))
    assert logs
    assert find_in_blobs(logs, secured_runs.pii, patterns=False) == []


def test_the_personal_data_did_enter_the_pipeline(secured_runs):
    """The scan above is not vacuous: the extracts staged during the run hold the canary e-mails."""
    staged = secured_runs.default.staged.items()
    canaries = {label: value for label, value in secured_runs.pii.items() if "canary" in value.lower()}
    found = {finding.what for finding in find_in_blobs(staged, canaries, patterns=False)}
    assert len(found) >= 10


def test_personal_data_planted_in_a_published_object_is_found(secured_runs):
    objects = dict(secured_runs.default.objects)
    quarantine = next(uri for uri in objects if "/quarantine/" in uri)
    label, email = next((label, value) for label, value in secured_runs.pii.items() if "@" in value)
    name_label, name = next((label, value) for label, value in secured_runs.pii.items() if "name of" in label)
    objects[quarantine] += f'\n"{quote(email)}",{name.upper()}\n'.encode()
    findings = find_in_blobs(objects.items(), secured_runs.pii, patterns=False)
    assert {finding.what for finding in findings} >= {label, name_label}
    assert {finding.where for finding in findings} == {quarantine}
