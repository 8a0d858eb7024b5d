"""Scanners for credentials and personal data in what the pipeline leaves behind: files (logs, the
repository), XCom values in the Airflow metadata DB, objects in S3 buckets (every version of a versioned
bucket's objects: staging objects deleted at the end of a run too), and the requests moto's server recorded.

A finding names where and what was found, never the secret itself (test failures are printed)."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import sqlite3
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus, urlparse

import pandas as pd

KEY_PATTERNS = {
    "AWS access key id": re.compile(rb"(?<![0-9A-Z])(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Z])"),
    "AWS secret access key": re.compile(
        rb"aws_secret_access_key[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])", re.IGNORECASE
    ),
    "private key": re.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
    "Snowflake password in a URI": re.compile(
        rb"snowflake://[^\s\"'<>]*?(?:[?&]password=[^&\s\"'<>]+|:[^\s\"'<>/@:]+@)", re.IGNORECASE
    ),
}


@dataclass(frozen=True)
class Finding:
    """Something that must not be there: ``what`` (a pattern's or a value's label) found in ``where``."""

    where: str
    what: str


Blob = tuple[str, bytes]


def encoded_forms(value: str) -> set[bytes]:
    """``value`` as it may appear in a file: raw, JSON-escaped, URL-encoded, HTML-escaped, lower-cased."""
    forms = {
        value,
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        quote(value, safe=""),
        quote_plus(value),
        value.replace("&", "&amp;").replace("'", "&#x27;").replace('"', "&quot;"),
    }
    return {form.lower().encode("utf-8") for form in forms if form}


UNKEYED_PREFIX = 12  # hex digits: the old log published 16; a full digest or any prefix this long has them


def unkeyed_sha256_prefixes(emails: dict[str, str]) -> dict[str, str]:
    """label → the first :data:`UNKEYED_PREFIX` hex digits of the unkeyed SHA-256 of each e-mail, as stored
    and normalised (trimmed, lower-cased): what a dictionary of addresses reverses."""
    prefixes = {}
    for label, email in emails.items():
        for form, value in (("as stored", email), ("normalised", email.strip().lower())):
            digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:UNKEYED_PREFIX]
            prefixes[f"unkeyed SHA-256 of the {label} ({form})"] = digest
    return prefixes


def find_in_blobs(blobs: Iterable[Blob], values: dict[str, str], patterns: bool = True) -> list[Finding]:
    """Findings of ``values`` (label → value; any encoded form, case-insensitive) and, if ``patterns``, of
    :data:`KEY_PATTERNS` in each ``(where, content)`` blob."""
    needles = {label: encoded_forms(value) for label, value in values.items()}
    findings = []
    for where, content in blobs:
        lowered = content.lower()
        for label, forms in needles.items():
            if any(form in lowered for form in forms):
                findings.append(Finding(where, label))
        for name, pattern in KEY_PATTERNS.items() if patterns else ():
            if pattern.search(content):
                findings.append(Finding(where, name))
    return findings


def files_under(root: Path) -> Iterator[Blob]:
    """Every file below ``root``."""
    for path in sorted(root.rglob("*")):
        if path.is_file():
            yield str(path), path.read_bytes()


def repository_files(root: Path) -> Iterator[Blob]:
    """Every text file git tracks in the repository at ``root`` (binary files have a NUL byte)."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=root, check=True, capture_output=True).stdout
    for name in listed.decode().split("\0"):
        path = root / name
        if name and path.is_file() and b"\0" not in (content := path.read_bytes()):
            yield name, content


def xcom_values(database: Path) -> Iterator[Blob]:
    """Every XCom value in the Airflow metadata DB (SQLite)."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT dag_id, run_id, task_id, key, value FROM xcom").fetchall()
    for dag_id, run_id, task_id, key, value in rows:
        content = value if isinstance(value, bytes) else str(value).encode()
        yield f"xcom {dag_id}/{run_id}/{task_id}/{key}", content


def bucket_objects(client, bucket: str) -> Iterator[Blob]:
    """Every object in ``bucket``."""
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for entry in page.get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
            yield f"s3://{bucket}/{entry['Key']}", body


def object_versions(client, bucket: str) -> Iterator[Blob]:
    """Every version of every object ever written to ``bucket`` (versioned), deleted ones included;
    Parquet objects also as CSV text, since their bytes are compressed."""
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for version in page.get("Versions", []):
            key = version["Key"]
            body = client.get_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])["Body"].read()
            yield f"s3://{bucket}/{key}?versionId={version['VersionId']}", body
            if key.endswith(".parquet"):
                yield f"s3://{bucket}/{key} as CSV", pd.read_parquet(io.BytesIO(body)).to_csv().encode()


def recorded_requests(recording: Path) -> list[dict]:
    """The requests moto's server recorded (``MOTO_RECORDER_FILEPATH``), bodies decoded to bytes (moto
    records no body for S3 object writes)."""
    requests = []
    for line in recording.read_text().splitlines():
        entry = json.loads(line)
        body = entry.get("body") or ""
        entry["body"] = base64.b64decode(body) if entry.get("body_encoded") else body.encode()
        requests.append(entry)
    return requests


def header(request: dict, name: str) -> str | None:
    """A recorded request's header, looked up case-insensitively."""
    return next((value for key, value in request["headers"].items() if key.lower() == name.lower()), None)


def object_writes(requests: Iterable[dict], bucket: str) -> list[dict]:
    """The recorded requests that create an object in ``bucket``: PutObject (not an upload's part or the
    bucket's creation) and CreateMultipartUpload."""
    writes = []
    for request in requests:
        url = urlparse(request["url"])
        path, query = url.path, url.query
        key = path.removeprefix(f"/{bucket}/") if path.startswith(f"/{bucket}/") else ""
        is_put = request["method"] == "PUT" and key and "partNumber=" not in query
        if is_put or (request["method"] == "POST" and key and query.startswith("uploads")):
            writes.append(request)
    return writes
