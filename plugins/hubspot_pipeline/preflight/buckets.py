"""Whether each bucket the DAGs write is reachable and writable through its Airflow connection, with the
configured server-side encryption (and, for Hook's bucket, its ACL): one probe object written and deleted
in each, under a prefix no one ingests (Personalize: ``runs/<dataset_group>/``, never ``train/``, where any
JSON starts the MLOps stack; Hook: ``hook.runs_prefix``; staging: ``storage.staging_prefix``).

The stores are opened as the export tasks open them (:class:`ExportRun`, :class:`HookRun`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from hubspot_pipeline.config import PipelineConfig
from hubspot_pipeline.hook.run import HookRun
from hubspot_pipeline.personalize.run import ExportRun
from hubspot_pipeline.storage import ObjectStore

PROBE_FOLDER = "preflight"
PROBE_RUN_KEY = "preflight"


def probe_targets(config: PipelineConfig) -> list[tuple[str, ObjectStore, str, str | None]]:
    """``(name, store, probe prefix, ACL)`` of each bucket: Personalize's, staging, and Hook's."""
    today = datetime.now(UTC).date()
    export = ExportRun(config, today, PROBE_RUN_KEY)
    storage = config.storage
    targets = [
        ("personalize", export.personalize, f"runs/{config.personalize.dataset_group}/{PROBE_FOLDER}", None),
        ("staging", export.staging, f"{storage.staging_prefix}/{PROBE_FOLDER}", None),
    ]
    if config.hook is not None:
        hook = HookRun(config, today, today, PROBE_RUN_KEY)
        acl = config.hook.acl if storage.backend == "s3" else None  # a local folder takes no ACL
        targets.append(("hook", hook.bucket, f"{config.hook.runs_prefix}/{PROBE_FOLDER}", acl))
    return targets


def encryption_of(config: PipelineConfig) -> str:
    """The server-side encryption S3 writes ask for, as the report names it."""
    storage = config.storage
    if storage.backend == "local":
        return "none (storage.backend: local, a folder)"
    return storage.server_side_encryption + (f" ({storage.kms_key_id})" if storage.kms_key_id else "")


def probe_buckets(config: PipelineConfig) -> list[dict]:
    """Write and delete one small object in each bucket; what happened, per bucket."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    results = []
    for name, store, prefix, acl in probe_targets(config):
        key = f"{prefix}/probe-{stamp}-{uuid.uuid4().hex[:8]}.txt"
        if key.startswith("train/"):
            raise ValueError(f"a probe must never be written under train/: {key}")
        result = {
            "bucket": name,
            "uri": store.uri(key),
            "key": key,
            "encryption": encryption_of(config),
            "acl": acl,
            "written": False,
            "deleted": False,
            "error": None,
        }
        results.append(result)
        try:  # any failure is the finding: the error is reported, never raised
            store.put_bytes(key, b"hubspot_pipeline preflight probe; safe to delete\n", "text/plain")
            result["written"] = True
            store.delete(key)
            result["deleted"] = True
        except Exception as error:
            result["error"] = f"{type(error).__name__}: {error}"
    return results
