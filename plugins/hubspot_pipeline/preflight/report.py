"""The preflight report: Markdown-ish text for a terminal or a task log."""

from __future__ import annotations

from hubspot_pipeline.config import PipelineConfig
from hubspot_pipeline.config.properties import PROPERTY_OBJECTS
from hubspot_pipeline.preflight.problems import minimum_checks, recommender_checks


def bullet_lines(items: list[str]) -> list[str]:
    return [f"- {each}" for each in items] or ["- none"]


def table_lines(header: tuple[str, ...], rows: list[tuple]) -> list[str]:
    """A Markdown table; empty cells for None."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join("" if cell is None else str(cell) for cell in row) + " |" for row in rows]
    return lines + [""]


def property_lines(share: dict) -> list[str]:
    """Per object, the configured properties with their columns and types, missing required ones first."""
    lines = ["## Properties", "", "Configured (`properties.<object>.<field>`) vs what the share has.", ""]
    for obj in PROPERTY_OBJECTS:
        findings = [each for each in share["properties"] if each["object"] == obj]
        findings.sort(key=lambda each: (each["type"] is not None, not each["required"]))
        lines += [f"### {obj} ({findings[0]['table']})", ""]
        lines += table_lines(
            ("field", "required", "configured column", "type", "candidates in the share"),
            [
                (
                    each["field"],
                    "yes" if each["required"] else "no",
                    each["column"] or "null",
                    each["type"] or ("**missing**" if each["required"] else "missing"),
                    ", ".join(f"{c['column']} ({c['type']})" for c in each["candidates"]),
                )
                for each in findings
            ],
        )
    lines += ["Anonymous ids (`identity.anonymous_ids`, optional):", ""]
    lines += bullet_lines(
        [f"{each['column']}: {each['type'] or 'missing'}" for each in share["anonymous_ids"]]
    )
    return lines + [""]


def pipeline_lines(pipelines: list[dict] | None) -> list[str]:
    lines = ["## Deal pipelines and stages", ""]
    if not pipelines:
        return lines + ["None read (see the tables and the notes).", ""]
    lines += [
        "Configured: `personalize.deals` (pipelines, add_to_cart_stages, closed_won_stages). The last column "
        "is the role the stage's label suggests.",
        "",
    ]
    for pipeline in pipelines:
        marker = " — **configured**" if pipeline["configured"] else ""
        lines += [f"### `{pipeline['id']}` {pipeline['label'] or ''}{marker}", ""]
        lines += table_lines(
            ("stage id", "label", "closed", "configured as", "label suggests"),
            [
                (f"`{s['id']}`", s["label"], s["closed"], s["configured_as"], s["label_suggests"])
                for s in pipeline["stages"]
            ],
        )
    return lines


def event_type_lines(event_types: list[dict]) -> list[str]:
    lines = ["## Event types", "", "In the export window of a run today (`personalize.event_types`):", ""]
    return lines + table_lines(
        ("HubSpot event type", "events", "maps to"),
        [
            (
                each["event_type"] or "(none)",
                each["events"],
                (each["maps_to"] or "null (skipped)") if each["mapped"] else "**unmapped** (quarantined)",
            )
            for each in event_types
        ],
    )


def estimate_lines(config: PipelineConfig, estimate: dict | None) -> list[str]:
    lines = ["## Personalize's minimums and recommenders", ""]
    if estimate is None:
        return lines + ["Not estimated (see the notes).", ""]
    lines += [
        "An **estimate before validation**: events of mapped types in the export window plus the line items "
        f"of the configured deals ({estimate['deal_line_items']}), counted per contact rather than per "
        "resolved user; the run's validation (quarantine, deduplication) can only lower it.",
        "",
        "Interactions by type: "
        + (", ".join(f"{name} {count}" for name, count in estimate["by_event_type"].items()) or "none"),
        "",
    ]
    lines += table_lines(
        ("minimum", "needs", "estimate", "met"),
        [
            (each["minimum"], each["needs"], each["estimate"], "yes" if each["met"] else "**no**")
            for each in minimum_checks(config, estimate)
        ],
    )
    return lines + table_lines(
        ("recommender", "needs", "met"),
        [
            (
                each["recommender"],
                ", ".join(f"≥ {count} {kind}" for kind, count in each["needs"].items()),
                "yes" if each["met"] else "**no**",
            )
            for each in recommender_checks(config, estimate)
        ],
    )


def bucket_lines(buckets: list[dict]) -> list[str]:
    lines = ["## Buckets", "", "One probe object written and deleted in each:", ""]
    return lines + table_lines(
        ("bucket", "probe", "encryption", "ACL", "result"),
        [
            (
                each["bucket"],
                f"`{each['uri']}`",
                each["encryption"],
                each["acl"],
                "written and deleted"
                if each["deleted"]
                else ("written, not deleted: " if each["written"] else "**not written**: ")
                + str(each["error"]),
            )
            for each in buckets
        ],
    )


def report_text(
    config: PipelineConfig,
    share: dict,
    buckets: list[dict],
    blocking: list[str],
    warnings: list[str],
    suggestion_yaml: str,
) -> str:
    """The whole report: the verdict first, then each section, then the suggested override."""
    lines = [f"# Preflight of {config.share.database}.{config.share.schema}", ""]
    if blocking:
        lines += [f"**{len(blocking)} blocking problem(s)**: a run would fail.", ""] + bullet_lines(blocking)
    else:
        lines += ["**No blocking problems**: both exports can run with this configuration."]
    lines += ["", f"Warnings ({len(warnings)}):", ""] + bullet_lines(warnings) + [""]
    if "error" not in share:
        lines += ["## Share tables", ""]
        lines += table_lines(
            ("key", "table", "present"),
            [
                (each["key"], each["table"], "yes" if each["present"] else "**no**")
                for each in share["tables"]
            ],
        )
        lines += property_lines(share)
        lines += pipeline_lines(share.get("pipelines"))
        lines += event_type_lines(share.get("event_types", []))
        lines += estimate_lines(config, share.get("estimate"))
    lines += bucket_lines(buckets)
    lines += [
        "## Suggested override",
        "",
        "For this portal (a deploy-time file over `include/config/pipeline.yaml`, or `--yaml PATH`):",
        "",
        "```yaml",
        suggestion_yaml.rstrip("\n"),
        "```",
        "",
    ]
    return "\n".join(lines)
