"""Human-readable run reports (Markdown), written beside each run's outputs and into the task log."""

from __future__ import annotations

from collections.abc import Generator
from contextlib import contextmanager

from hubspot_pipeline.storage import ObjectStore

StoredObject = tuple[str, bytes, str]  # key, content, content type


def top_reasons(counts: dict[str, int], limit: int = 5) -> str:
    """The most frequent reasons, ``count × reason``, most frequent first."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return "; ".join(f"{count} × {reason}" for reason, count in ranked) or "–"


def ledger_lines(ledgers: dict[str, dict]) -> list[str]:
    """A table of rows read / published / skipped / quarantined per ledger, then skips and corrections."""
    lines = [
        "| rows of | read | published | skipped | quarantined | top quarantine reasons |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, ledger in ledgers.items():
        skipped, quarantined = sum(ledger["skipped"].values()), sum(ledger["quarantined"].values())
        lines.append(
            f"| {name} | {ledger['read']} | {ledger['written']} | {skipped} | {quarantined} "
            f"| {top_reasons(ledger['quarantined'])} |"
        )
    lines += ["", "Skipped and corrected:", ""]
    for name, ledger in ledgers.items():
        for outcome in ("skipped", "corrected"):
            if ledger.get(outcome):
                lines.append(f"- {name} {outcome}: {top_reasons(ledger[outcome], limit=10)}")
    return lines


def empty_field_lines(empty_fields: dict[str, str]) -> list[str]:
    """The optional fields read as NULL because the share lacks them (none: no lines)."""
    if not empty_fields:
        return []
    lines = ["Fields left empty (optional properties this share does not have):", ""]
    return lines + [f"- `{key}`: {reason}" for key, reason in empty_fields.items()] + [""]


def expectation_lines(expectations: dict[str, list[dict]], data_docs_key: str) -> list[str]:
    """One line per validated scope: how many expectations ran and how many found failing rows."""
    lines = ["", "Great Expectations:", ""]
    for scope, summaries in expectations.items():
        failed = [summary for summary in summaries if not summary["success"]]
        lines.append(f"- {scope}: {len(summaries)} expectations, {len(failed)} with failing rows")
    lines.append(f"- Data Docs: [{data_docs_key}](data_docs/index.html)")
    return lines


def file_lines(files: list[tuple[str, int | None, str]]) -> list[str]:
    """A table of the published keys with their row counts and sha256 (none for a file Snowflake
    unloaded: it does not report one)."""
    lines = ["", "| key | rows | sha256 |", "|---|---:|---|"]
    lines += [
        f"| `{key}` | {'' if rows is None else rows} | "
        + (f"`{sha256}`" if sha256 else "written by Snowflake (COPY INTO)")
        + " |"
        for key, rows, sha256 in files
    ]
    return lines


def published_line(dry_run: bool, last_object: str) -> str:
    return (
        "**Dry run: nothing was published.**" if dry_run else f"Published; `{last_object}` was written last."
    )


@contextmanager
def staging_data_docs(staging: ObjectStore, prefix: str, title: str) -> Generator[None]:
    """Collect Great Expectations Data Docs of the validations run inside the block and stage them, with
    an index, as ``<prefix><suite>.html``, also when validation fails (the failing pages matter most)."""
    from hubspot_pipeline.quality.validation import collecting_data_docs

    with collecting_data_docs() as data_docs:
        try:
            yield
        finally:
            for name, page in {**data_docs.pages, "index": data_docs.index(title)}.items():
                staging.put_bytes(f"{prefix}{name}.html", page.encode("utf-8"), "text/html")


def staged_data_docs(staging: ObjectStore, prefix: str, target_prefix: str) -> list[StoredObject]:
    """The staged Data Docs pages, keyed for publishing under ``target_prefix``."""
    return [
        (f"{target_prefix}{key.rsplit('/', 1)[-1]}", staging.get_bytes(key), "text/html")
        for key in staging.list_keys(prefix)
    ]


def put_objects(store: ObjectStore, objects: list[StoredObject], *, dry_run: bool) -> None:
    """Write ``objects`` in order (the last one is the trigger or the manifest); a dry run writes none."""
    if not dry_run:
        for key, data, content_type in objects:
            store.put_bytes(key, data, content_type)
