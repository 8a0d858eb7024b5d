"""The Personalize run's report (``runs/<dataset_group>/<date>/report.md``)."""

from __future__ import annotations

from hubspot_pipeline.quality import report


def run_report(manifest: dict, expectations: dict, *, dry_run: bool = False) -> str:
    """A short human-readable report of the run (Markdown): rows per dataset with the top reasons,
    the optional fields read empty because the share lacks them, any recommender left out of config.json
    and why, identity counts, Great Expectations results, and
    the published keys with checksums."""
    identity = manifest.get("identity", {})
    lines = [
        f"# Personalize export {manifest['export_date']} ({manifest['dataset_group']})",
        "",
        published_line(manifest, dry_run),
        "",
        *report.ledger_lines(manifest["ledgers"]),
        "",
        *_left_out_lines(manifest.get("recommenders_left_out", {})),
        *report.empty_field_lines(manifest.get("empty_fields", {})),
        f"Identity (`incoming.*`; {identity.get('merged_contacts', 0)} contacts merged):",
        "",
        *[f"- `{name}`: {count}" for name, count in sorted(identity.items()) if name.startswith("incoming.")],
        *report.expectation_lines(expectations, manifest["data_docs_key"]),
        *report.file_lines(
            [(entry["key"], entry["rows"], entry["sha256"]) for entry in manifest["files"].values()]
        ),
    ]
    return "\n".join(lines) + "\n"


def published_line(manifest: dict, dry_run: bool) -> str:
    """Whether the run was published live, and if not why (a dry run, or an older date than the live one)."""
    if (reason := manifest.get("not_live")) and not dry_run:
        return f"**Datasets written under the run's folder only, {reason}.** `config.json` was not written."
    return report.published_line(dry_run, "config.json")


def _left_out_lines(left_out: dict[str, str]) -> list[str]:
    """The recommenders config.json leaves out because they cannot train, with why (none: no lines)."""
    if not left_out:
        return []
    lines = ["Recommenders left out of config.json (they cannot train on these interactions):", ""]
    return lines + [f"- `{name}`: {reason}" for name, reason in left_out.items()] + [""]
