"""No personal data of the share (e-mails, full names, phone numbers, and the planted canary contacts'
first and last names) in anything the DAGs publish: Personalize's train/ and runs/ (quarantine files,
identity log, manifest, report, Data Docs) and Hook's files and run reports, nor in the task logs; and no
unkeyed SHA-256 of an e-mail (reversible with a list of addresses) in what is published, staged or logged:
the identity log's hashes are keyed (HMAC-SHA-256)."""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path
from urllib.parse import quote

from tests.security.scan import files_under, find_in_blobs, unkeyed_sha256_prefixes


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


def test_no_unkeyed_hash_of_an_email_anywhere(secured_runs):
    unkeyed = unkeyed_sha256_prefixes(secured_runs.emails)
    logs = list(files_under(Path(os.environ["AIRFLOW_HOME"]) / "logs"))
    for outputs in (secured_runs.default, secured_runs.kms):
        blobs = [*outputs.objects.items(), *outputs.staged.items(), *logs]
        assert find_in_blobs(blobs, unkeyed, patterns=False) == []


def test_the_identity_log_holds_keyed_hashes_and_a_planted_unkeyed_one_is_found(secured_runs):
    """The scan above looks where the hashes are: the log holds the HMACs of the canaries' e-mails, and an
    unkeyed SHA-256 prefix written into it is found."""
    key = secured_runs.secrets["identity hash key"].encode()
    canaries = {label: email for label, email in secured_runs.emails.items() if "canary" in email}
    log_uri, log = next(
        (uri, body) for uri, body in secured_runs.default.objects.items() if uri.endswith("/identity_log.csv")
    )
    keyed = {
        email: hmac.new(key, email.strip().lower().encode(), hashlib.sha256).hexdigest()[:16]
        for email in canaries.values()
    }
    assert len(canaries) >= 10 and all(digest.encode() in log for digest in keyed.values())
    label, email = next(iter(canaries.items()))
    planted = log + f"\n{hashlib.sha256(email.encode()).hexdigest()[:16]}\n".encode()
    findings = find_in_blobs([(log_uri, planted)], unkeyed_sha256_prefixes(canaries), patterns=False)
    assert {finding.what for finding in findings} == {
        f"unkeyed SHA-256 of the {label} (normalised)",
        f"unkeyed SHA-256 of the {label} (as stored)",
    }
