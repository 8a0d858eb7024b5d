"""Human-readable run reports (Markdown), written beside each run's outputs and into the task log."""

from __future__ import annotations


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


def expectation_lines(expectations: dict[str, list[dict]], data_docs_key: str) -> list[str]:
    """One line per validated scope: how many expectations ran and how many found failing rows."""
    lines = ["", "Great Expectations:", ""]
    for scope, summaries in expectations.items():
        failed = [summary for summary in summaries if not summary["success"]]
        lines.append(f"- {scope}: {len(summaries)} expectations, {len(failed)} with failing rows")
    lines.append(f"- Data Docs: [{data_docs_key}](data_docs/index.html)")
    return lines


def file_lines(files: list[tuple[str, int | None, str]]) -> list[str]:
    """A table of the published keys with their row counts and sha256."""
    lines = ["", "| key | rows | sha256 |", "|---|---:|---|"]
    lines += [f"| `{key}` | {'' if rows is None else rows} | `{sha256}` |" for key, rows, sha256 in files]
    return lines


def published_line(dry_run: bool, last_object: str) -> str:
    return (
        "**Dry run: nothing was published.**" if dry_run else f"Published; `{last_object}` was written last."
    )
