"""What the share holds, read through the Snowflake connection as the exports read it: the tables and
property columns (from ``INFORMATION_SCHEMA``), the deal pipelines and stages, the event types with their
counts, and an estimate of the interactions Personalize would get.

Everything returned is plain JSON (lists and dicts), so the DAG's tasks can hand it over as XCom.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections import Counter
from datetime import UTC, datetime

from hubspot_pipeline.config import PipelineConfig
from hubspot_pipeline.config.properties import PROPERTY_FIELDS, SHARE_TABLES
from hubspot_pipeline.formatting import clean_text
from hubspot_pipeline.personalize.transform import ExportWindow
from hubspot_pipeline.share.columns import ColumnReader, MissingColumn, ShareColumns, quoted
from hubspot_pipeline.share.session import ShareSchemaError, ShareSession, render_query, share_session

# other names portals give a property, beside the configured one and the field's own name
KNOWN_ALTERNATIVES = {("products", "external_id"): ("hs_sku", "sku")}
CANDIDATE_SCORE = 0.75  # name similarity (difflib's ratio, ``hs_`` prefixes ignored) to list a candidate
CLEAR_SCORE = 0.9  # ... to suggest it, when no other candidate is as alike (:func:`clear_candidate`)

PIPELINE_COLUMNS = {
    "pipelines": ("PIPELINEID", "LABEL", "DISPLAYORDER"),
    "pipeline_stages": ("PIPELINEID", "STAGEID", "LABEL", "DISPLAYORDER", "ISCLOSED"),
}
# label words picking a stage's role (closed-won first: "Checkout Completed" is a purchase)
STAGE_LABEL_WORDS = {
    "closed_won": frozenset({"completed", "complete", "paid", "won"}),
    "add_to_cart": frozenset({"checkout", "cart", "pending"}),
}
STAGE_ROLES = {"add_to_cart": "add_to_cart_stages", "closed_won": "closed_won_stages"}  # → deals key


def inspect_share(config: PipelineConfig) -> dict:
    """Everything preflight reads from the share, through ``config.snowflake_conn_id``."""
    with share_session(config.share, config.snowflake_conn_id) as session:
        columns = session.columns
        findings = {
            "share": f"{config.share.database}.{config.share.schema}",
            "tables": table_findings(config, columns),
            "missing": [dataclasses.asdict(each) for each in schema_gaps(config, columns)],
            "properties": property_findings(config, columns),
            "anonymous_ids": anonymous_id_findings(config, columns),
            "event_tables": event_tables(config, columns),
            "notes": [],
        }
        findings["pipelines"] = read_or_note(findings, "deal pipelines", lambda: pipelines(session, config))
        event_types = read_or_note(findings, "event types", lambda: events_per_type(session, config))
        findings["event_types"] = event_types or []
        findings["estimate"] = (  # without the events, an estimate would only mislead
            None
            if event_types is None
            else read_or_note(
                findings, "the interaction estimate", lambda: estimate(session, config, event_types)
            )
        )
    return findings


def read_or_note(findings: dict, what: str, read):
    """``read()``, or None with a note when the share lacks what it needs (reported as missing already)."""
    try:
        return read()
    except ShareSchemaError:
        findings["notes"].append(f"{what} not read: the share lacks a table or column it needs (above)")
        return None


def schema_gaps(config: PipelineConfig, columns: ShareColumns) -> list[MissingColumn]:
    """Every table, system column and property the exports read that the share lacks (as the exports'
    :class:`ColumnReader` notes them), optional ones included."""
    reader = ColumnReader(config.share, columns, anonymous_id_columns=config.identity.anonymous_id_columns)
    for table, spec in SHARE_TABLES.items():
        if spec.read_by_exports:  # PIPELINES is preflight's alone, read with whatever columns it has
            reader.table(table)
    for obj, field in PROPERTY_FIELDS:
        reader.text(obj, field)
    reader.anonymous_ids()
    return list(reader.missing.values())


def table_findings(config: PipelineConfig, columns: ShareColumns) -> list[dict]:
    """Each of ``SHARE_TABLES``: its name in this share and whether it is there."""
    reader = ColumnReader(config.share, columns)
    return [
        {"key": key, "table": reader.table_name(key), "present": columns.has_table(reader.table_name(key))}
        for key in SHARE_TABLES
    ]


def property_findings(config: PipelineConfig, columns: ShareColumns) -> list[dict]:
    """Each configured property (``PROPERTY_FIELDS`` order): its column and type, or the share's candidate
    columns when the share lacks it or it is configured as null."""
    reader = ColumnReader(config.share, columns)
    found = []
    for (obj, field), spec in PROPERTY_FIELDS.items():
        table = reader.table_name(obj)
        column = config.share.properties[(obj, field)]
        data_type = columns.type_of(table, column) if column else None
        used = {config.share.properties[key] for key in PROPERTY_FIELDS if key[0] == obj} - {column}
        found.append(
            {
                "key": spec.key,
                "object": obj,
                "field": field,
                "required": spec.required,
                "used_for": spec.used_for,
                "table": table,
                "table_present": columns.has_table(table),
                "column": column,
                "type": data_type,
                "candidates": []
                if data_type
                else candidate_columns(columns.tables.get(table, {}), used, obj, field, column),
            }
        )
    return found


def candidate_columns(
    table_columns: dict[str, str], used: set, obj: str, field: str, configured: str | None
) -> list[dict]:
    """The table's property columns whose names are like the property's, best first: each scored by its
    likeness (``normal_name``, difflib's ratio) to the configured name, else the field's name, else one of
    ``KNOWN_ALTERNATIVES`` (``rank``: which of those it is most like, in that order), with its type."""
    names = [
        normal_name(name) for name in (configured, field, *KNOWN_ALTERNATIVES.get((obj, field), ())) if name
    ]
    found = []
    for column, data_type in table_columns.items():
        if not column.startswith("PROPERTY_") or column in used:
            continue
        ratios = [difflib.SequenceMatcher(None, normal_name(column), name).ratio() for name in names]
        score = max(ratios)
        if score >= CANDIDATE_SCORE:
            found.append(
                {"column": column, "type": data_type, "score": round(score, 3), "rank": ratios.index(score)}
            )
    return sorted(found, key=lambda each: (-each["score"], each["rank"], each["column"]))[:5]


def normal_name(name: str) -> str:
    """A property name compared by its meaning: lower-case, without ``PROPERTY_`` and HubSpot's ``hs_``."""
    return name.lower().removeprefix("property_").removeprefix("hs_")


def clear_candidate(candidates: list[dict]) -> dict | None:
    """The best candidate when it is clearly the property: scoring at least ``CLEAR_SCORE``, and no other as
    alike to the same name (``PROPERTY_SKU`` and ``PROPERTY_HS_SKU`` both: none is clear)."""
    if not candidates or candidates[0]["score"] < CLEAR_SCORE:
        return None
    best = candidates[0]
    if len(candidates) > 1 and (candidates[1]["score"], candidates[1]["rank"]) == (
        best["score"],
        best["rank"],
    ):
        return None
    return best


def event_tables(config: PipelineConfig, columns: ShareColumns) -> list[dict]:
    """The share's custom event tables (``EVENTS_*``), each with whether it has the event type column."""
    event_type = config.share.properties[("events", "event_type")]
    return [
        {"table": name, "has_event_type": event_type in table_columns}
        for name, table_columns in sorted(columns.tables.items())
        if name.startswith("EVENTS_")
    ]


def anonymous_id_findings(config: PipelineConfig, columns: ShareColumns) -> list[dict]:
    """Each ``identity.anonymous_ids`` property: whether ``OBJECTS_CONTACTS`` has it, and its type."""
    table = SHARE_TABLES["contacts"].name
    return [
        {"name": name, "column": column, "type": columns.type_of(table, column)}
        for name, column in config.identity.anonymous_id_columns.items()
    ]


def pipeline_rows(session: ShareSession, table: str) -> list[dict]:
    """The rows of ``PIPELINES`` or ``PIPELINE_STAGES`` with the columns of ``PIPELINE_COLUMNS`` the share
    has (as text); none without the table or its id column."""
    name = SHARE_TABLES[table].name
    present = [column for column in PIPELINE_COLUMNS[table] if session.columns.type_of(name, column)]
    if "PIPELINEID" not in present:
        return []
    sql = render_query(
        "preflight/pipeline_rows.sql",
        session.share,
        share_columns=session.columns,
        table=table,
        columns=[quoted(column) for column in present],
    )[0]
    rows = session.execute_sql(sql, None, "preflight/pipeline_rows.sql")
    return [dict(zip(present, row, strict=True)) for row in rows]


def display_order(row: dict) -> tuple:
    """Sort key: the row's ``DISPLAYORDER`` when it has a number there, else after those."""
    try:
        return (0, float(row.get("DISPLAYORDER") or ""))
    except ValueError:
        return (1, 0.0)


def stage_role_by_label(label: str | None) -> str | None:
    """``add_to_cart`` or ``closed_won`` when the stage's label has one of ``STAGE_LABEL_WORDS``."""
    words = set(re.findall(r"[a-z]+", (label or "").lower()))
    return next((role for role, hints in STAGE_LABEL_WORDS.items() if words & hints), None)


def pipelines(session: ShareSession, config: PipelineConfig) -> list[dict]:
    """Every deal pipeline (``PIPELINES``, and any only ``PIPELINE_STAGES`` names) with its stages, each
    marked as configured (``personalize.deals``) and with the role its label suggests."""
    deals = config.personalize.deals
    configured_roles = {
        **dict.fromkeys(deals.add_to_cart_stages, "add_to_cart"),
        **dict.fromkeys(deals.closed_won_stages, "closed_won"),
    }
    listed = sorted(pipeline_rows(session, "pipelines"), key=display_order)
    stages = sorted(pipeline_rows(session, "pipeline_stages"), key=display_order)
    labels = {row["PIPELINEID"]: row.get("LABEL") for row in listed}
    for row in stages:
        labels.setdefault(row["PIPELINEID"], None)
    return [
        {
            "id": pipeline_id,
            "label": label,
            "configured": pipeline_id in deals.pipelines,
            "stages": [
                {
                    "id": row.get("STAGEID"),
                    "label": row.get("LABEL"),
                    "closed": row.get("ISCLOSED"),
                    "configured_as": configured_roles.get(row.get("STAGEID")),
                    "label_suggests": stage_role_by_label(row.get("LABEL")),
                }
                for row in stages
                if row["PIPELINEID"] == pipeline_id
            ],
        }
        for pipeline_id, label in labels.items()
    ]


def export_window(config: PipelineConfig) -> dict:
    """The bound window of a run exporting today (UTC): the personalize export's event queries'."""
    return ExportWindow.for_date(datetime.now(UTC).date(), config.personalize).query_parameters()


def events_per_type(session: ShareSession, config: PipelineConfig) -> list[dict]:
    """The event table's HubSpot event types (trimmed, as the export maps them) with their counts in the
    export window, most frequent first, each with what ``personalize.event_types`` maps it to."""
    days = session("personalize/event_days.sql", export_window(config))
    types = clean_text(days["EVENT_TYPE"]).fillna("").to_numpy()
    counts = days.groupby(types)["EVENTS"].sum()
    mapping = config.personalize.event_types
    return [
        {
            "event_type": name,
            "events": int(events),
            "mapped": name in mapping,
            "maps_to": mapping.get(name),
        }
        for name, events in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def estimate(session: ShareSession, config: PipelineConfig, event_types: list[dict]) -> dict:
    """Interactions per Personalize event type and users with two, as the share would give them: mapped
    events, plus the line items of the configured deals (an ``AddToCart`` and a ``Purchase`` each, as the
    export makes them). Before validation, by contact rather than resolved user: an estimate."""
    deals = config.personalize.deals
    by_type: Counter = Counter()
    for row in event_types:
        if row["maps_to"]:
            by_type[row["maps_to"]] += row["events"]
    per_contact: Counter = Counter()
    mapped_types = tuple(row["event_type"] for row in event_types if row["maps_to"])
    if mapped_types:
        contacts = session(
            "preflight/event_contacts.sql", {**export_window(config), "event_types": mapped_types}
        )
        per_contact.update(dict(zip(contacts["CONTACT_ID"], contacts["EVENTS"].astype(int), strict=True)))
    line_items = session(
        "share/deals.sql",
        {"pipelines": deals.pipelines, "stages": deals.add_to_cart_stages + deals.closed_won_stages},
        line_items=True,
    )
    line_items = line_items[line_items["LINE_ITEM_ID"].notna()]
    won = line_items["DEAL_STAGE"].isin(deals.closed_won_stages)
    carts = line_items["DEAL_STAGE"].isin(deals.add_to_cart_stages)
    if deals.closed_won_implies_add_to_cart:
        carts = carts | won
    by_type[deals.purchase_event_type] += int(won.sum())
    by_type[deals.add_to_cart_event_type] += int(carts.sum())
    per_contact.update(Counter(line_items.loc[won, "CONTACT_ID"].dropna()))
    per_contact.update(Counter(line_items.loc[carts, "CONTACT_ID"].dropna()))
    return {
        "interactions": sum(by_type.values()),
        "by_event_type": dict(sorted(by_type.items())),
        "users_with_two_interactions": sum(1 for count in per_contact.values() if count >= 2),
        "deal_line_items": len(line_items),
    }
