"""The Personalize export's warehouse-unload mode (``personalize.unload``): for exports too large for one
worker, Snowflake builds the interactions itself and unloads them.

``validate`` hands the warehouse what only the worker knows (the resolved users, the published items,
the deal interactions and the event type mapping, as temporary tables), has it build one transient table
holding every candidate interaction with its outcome and reason (``unload/interactions_table.sql``, the
streamed export's rules in SQL), and checks that table's aggregates: every row accounted for, no repeated
key, Personalize's minimums (Great Expectations, on the tallies). ``publish`` then has Snowflake write
``interactions.csv``, its quarantine file and the events' identity log with ``COPY INTO`` the external
stage (:func:`unload_statement`), byte for byte the streamed export's files, and drops the table.

Without a stage (the local emulator cannot unload) the worker runs the same one-column queries and writes
their lines to the same keys: everything but the ``COPY INTO`` itself runs locally.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import pandas as pd

from hubspot_pipeline.config import PersonalizeConfig, ShareConfig, UnloadConfig
from hubspot_pipeline.config.properties import PERSONALIZE
from hubspot_pipeline.formatting import (
    CONTROL_CHARACTERS_EXCEPT_NUL,
    UNICODE_SPACES,
)
from hubspot_pipeline.identity.log import (
    EVENT,
    EVENT_WITHOUT_CONTACT,
    LOG_COLUMNS,
    REPOINTED_FROM,
    STATUSES,
    SUCCESS,
    UNKNOWN_CONTACT,
)
from hubspot_pipeline.identity.users import UserResolution
from hubspot_pipeline.personalize.chunks import ChunkPlan
from hubspot_pipeline.personalize.datasets import INTERACTIONS, Dataset
from hubspot_pipeline.personalize.files import json_bytes
from hubspot_pipeline.personalize.run import ExportRun
from hubspot_pipeline.personalize.transform import (
    CART_LEVEL_WITHOUT_ITEM,
    NOT_EXPORTED,
    REPEATED_EVENT_ID,
    VALUE_NOT_A_NUMBER,
    ExportWindow,
    repeated_key_reason,
)
from hubspot_pipeline.quality.ledger import AccountingError, DatasetLedger
from hubspot_pipeline.quality.validation import QUARANTINE_REASON
from hubspot_pipeline.share.session import ShareSession, quote_identifier, render_sql, share_session
from hubspot_pipeline.storage import ObjectStore

if TYPE_CHECKING:
    from hubspot_pipeline.personalize.rules import InteractionTallies, RowRule

log = logging.getLogger(__name__)

IDENTITY_VALUES = {"log": "IDENTITY_LOG", "record": "SOURCE_ID", "contact_id": "CONTACT_ID"}
IDENTITY_VALUES |= {"user_id": "USER_ID", "reason": "IDENTITY_REASON"}


@dataclass(frozen=True)
class UnloadTables:
    """The quoted names of one run's tables: its transient result table (kept from validate to publish)
    and the temporary tables the worker fills for the query that builds it."""

    result: str
    event_types: str
    user_map: str
    deal_candidates: str
    known_items: str

    @classmethod
    def for_run(cls, config: UnloadConfig, run_key: str) -> UnloadTables:
        """Names in the configured workspace (else the connection's schema); the result table's name is
        unique to the run."""
        prefix = "".join(f"{quote_identifier(name)}." for name in config.workspace or ())
        run_hash = hashlib.sha256(run_key.encode("utf-8")).hexdigest()[:16].upper()
        names = {
            "result": f"PERSONALIZE_INTERACTIONS_{run_hash}",
            "event_types": "PERSONALIZE_EVENT_TYPES",
            "user_map": "PERSONALIZE_USER_MAP",
            "deal_candidates": "PERSONALIZE_DEAL_CANDIDATES",
            "known_items": "PERSONALIZE_KNOWN_ITEMS",
        }
        return cls(**{field: prefix + quote_identifier(name) for field, name in names.items()})


def event_type_table(config: PersonalizeConfig) -> pd.DataFrame:
    """The event type mapping as rows: each HubSpot type named in the configuration, its Personalize type
    (null: unmapped or not exported), whether it is exported and whether it is cart-level."""
    sources = list(dict.fromkeys([*config.event_types, *config.event_types_without_items]))
    return pd.DataFrame(
        {
            "SOURCE_TYPE": pd.Series(sources, dtype="string"),
            "TARGET_TYPE": pd.Series([config.event_types.get(name) for name in sources], dtype="string"),
            "EXPORTED": [
                not (name in config.event_types and config.event_types[name] is None) for name in sources
            ],
            "WITHOUT_ITEM": [name in config.event_types_without_items for name in sources],
        }
    )


def user_map_table(users: UserResolution) -> pd.DataFrame:
    """Every resolved contact with its user and its user's recipient contact."""
    return users.members[["CONTACT_ID", "USER_ID", "RECIPIENT_ID"]].reset_index(drop=True)


_RULE_ARGUMENTS = {"max_value": "max", "min_value": "min", "value_set": "values"}


def rule_variables(rules: list[RowRule], tables: UnloadTables) -> tuple[list[dict], dict]:
    """The row rules as the result table's template wants them (quoted columns, a key per rule) and their
    bound values: limits, allowed values and reasons (``"; "``-prefixed, joined by the query)."""
    structure, parameters = [], {}
    for index, rule in enumerate(rules):
        key = f"rule_{index}"
        if rule.check == "unknown" and rule.column != "ITEM_ID":
            raise ValueError(f"only ITEM_ID has known values in the warehouse, not {rule.column}")
        column = quote_identifier(rule.column)
        structure.append({"column": column, "check": rule.check, "key": key, "table": tables.known_items})
        parameters[f"{key}_reason"] = "; " + rule.reason
        if rule.arguments.get("value_set") == []:  # NOT IN () does not compile
            raise ValueError(f"{rule.column} allows no value: every row would be quarantined")
        for name, value in rule.arguments.items():
            parameters[f"{key}_{_RULE_ARGUMENTS[name]}"] = value
    return structure, parameters


def build_result_table(
    session: ShareSession,
    tables: UnloadTables,
    config: PersonalizeConfig,
    window: ExportWindow,
    rules: list[RowRule],
    inputs: dict[str, pd.DataFrame],
) -> None:
    """Load ``inputs`` (``user_map``, ``deal_candidates``, ``known_items``) and the event type mapping
    into temporary tables, then create the run's result table from the share's events."""
    from hubspot_pipeline.personalize.rules import correction_reason, optional_value_rules

    (value_rule,) = optional_value_rules(INTERACTIONS)  # EVENT_VALUE's minimum, the query's only one
    session.create_table(tables.event_types, event_type_table(config))
    for name, frame in inputs.items():
        session.create_table(getattr(tables, name), frame)
    structure, rule_parameters = rule_variables(rules, tables)
    window_parameters = window.query_parameters()
    parameters = {
        "window_start": window_parameters["window_start"],
        "window_end": window_parameters["window_end"],
        "control_characters": CONTROL_CHARACTERS_EXCEPT_NUL,
        "whitespace": UNICODE_SPACES,
        "largest_float": sys.float_info.max,
        "value_not_a_number": VALUE_NOT_A_NUMBER,
        "value_min": value_rule.arguments["min_value"],
        "value_below": correction_reason(value_rule, INTERACTIONS),
        "not_exported": NOT_EXPORTED,
        "cart_level": CART_LEVEL_WITHOUT_ITEM,
        "repeated_event": REPEATED_EVENT_ID,
        "repeated_key": repeated_key_reason(INTERACTIONS),
        "event_without_contact": EVENT_WITHOUT_CONTACT,
        "unknown_contact": UNKNOWN_CONTACT,
        "repointed_from": REPOINTED_FROM,
        **rule_parameters,
    }
    session.execute(
        "personalize/unload/interactions_table.sql",
        parameters,
        result_table=tables.result,
        event_types=tables.event_types,
        user_map=tables.user_map,
        deal_candidates=tables.deal_candidates,
        rules=structure,
    )


def account_outcomes(outcomes: pd.DataFrame, ledger: DatasetLedger) -> None:
    """Add the result table's outcome counts to the interactions ledger: the events read, their values
    corrected, and every row's outcome (the deal interactions were read, and their skips and corrections
    counted, when they were built)."""
    ledger.read += int(outcomes.loc[outcomes["IS_EVENT"].astype(bool), "ROW_COUNT"].sum())
    for row in outcomes.itertuples(index=False):
        if pd.notna(row.CORRECTION):
            ledger.correct(row.CORRECTION, int(row.ROW_COUNT))
        if row.OUTCOME == "written":
            ledger.written += int(row.ROW_COUNT)
        elif row.OUTCOME == "skipped":
            ledger.skip(row.REASON, int(row.ROW_COUNT))
        else:
            ledger.quarantined[row.REASON] += int(row.ROW_COUNT)


def rule_summaries(outcomes: pd.DataFrame, rules: list[RowRule], dataset: Dataset = INTERACTIONS) -> list:
    """One summary per row rule, counted from the quarantine reasons (a row's reasons are joined by
    ``"; "``): the rows it was checked on and the rows that failed it."""
    from hubspot_pipeline.personalize.rules import rule_summary

    checked = (outcomes["OUTCOME"] != "skipped") | (outcomes["REASON"] == repeated_key_reason(dataset))
    checked_rows = int(outcomes.loc[checked, "ROW_COUNT"].sum())
    quarantined = outcomes[outcomes["OUTCOME"] == "quarantined"]
    failures = Counter()
    for reason, count in zip(quarantined["REASON"], quarantined["ROW_COUNT"], strict=True):
        for part in str(reason).split("; "):
            failures[part] += int(count)
    return [
        rule_summary(
            dataset,
            f"warehouse_rule_{rule.check}",
            rule.column,
            rule.reason,
            failures[rule.reason],
            checked_rows,
        )
        for rule in rules
    ]


def validate_interactions(
    run: ExportRun, ledger: DatasetLedger, rule_options: dict
) -> tuple[list, list, InteractionTallies]:
    """Build the run's result table in the warehouse and validate its aggregates: count every row into
    ``ledger``, summarise the row rules (``rule_options``: :func:`row_rules_of`
    keyword arguments), check no unique key repeats and Personalize's minimums on the tallies (GX). Stages
    the events' identity counts. Returns the row-rule and publishable summaries, and the tallies."""
    from hubspot_pipeline.personalize.rules import (
        InteractionTallies,
        check_interaction_minimums,
        row_rules_of,
    )
    from hubspot_pipeline.quality.validation import ExpectationSummary

    personalize, tables = (
        run.config.personalize,
        UnloadTables.for_run(run.config.personalize.unload, run.run_key),
    )
    rules = row_rules_of(INTERACTIONS, **rule_options)
    deals = run.staging.get_frame(run.staging_key("candidates/deal_interactions.parquet"))
    inputs = {
        "user_map": run.staging.get_frame(run.staging_key("candidates/user_ids.parquet")).astype("string"),
        # typed even when empty, so the union with the events keeps number columns numbers
        "deal_candidates": deals.rename(columns=lambda name: name.removeprefix("_")).astype(
            {"TIMESTAMP": "Int64", "EVENT_VALUE": "Float64"}
        ),
        "known_items": pd.DataFrame(
            {"VALUE": sorted(rule_options.get("known_values", {}).get("ITEM_ID", ()))}
        ),
    }
    with share_session(run.config.share, run.config.snowflake_conn_id, PERSONALIZE) as session:
        build_result_table(session, tables, personalize, run.window, rules, inputs)
        result = {"result_table": tables.result}
        outcomes = session("personalize/unload/outcomes.sql", {}, **result)
        tally_rows = session("personalize/unload/tallies.sql", {}, **result)
        identity = session("personalize/unload/identity_counts.sql", {}, **result)
    account_outcomes(outcomes, ledger)
    run.staging.put_bytes(
        run.staging_key("identity/events_summary.json"),
        json_bytes(identity_part(identity)),
        "application/json",
    )
    tallies = InteractionTallies(*(_tally(tally_rows, name) for name in ("EVENT_TYPE", "USER_ID")))
    repeated = int(_tally(tally_rows, "REPEATED_KEYS").sum())
    key = ", ".join(INTERACTIONS.unique_key)
    unique = ExpectationSummary(
        dataset=INTERACTIONS.name,
        expectation_type="warehouse_unique_key",
        column=key,
        success=not repeated,
        element_count=ledger.written,
        unexpected_count=repeated,
        problem=f"{INTERACTIONS.name}: {repeated} written ({key}) values repeat" if repeated else None,
    )
    minimums = check_interaction_minimums(
        tallies,
        min_interactions=personalize.min_interactions,
        min_users_with_two=personalize.min_users_with_two_interactions,
        required_event_types=personalize.required_event_types,
    )
    log.info("warehouse built %s: %s", tables.result, json.dumps(ledger.to_dict(), sort_keys=True))
    return rule_summaries(outcomes, rules), [unique, *minimums], tallies


def _tally(tally_rows: pd.DataFrame, name: str) -> pd.Series:
    rows = tally_rows[tally_rows["TALLY"] == name]
    return pd.Series(rows["ROW_COUNT"].astype("int64").to_numpy(), index=rows["VALUE"].to_numpy())


def identity_part(identity: pd.DataFrame) -> dict:
    """The events' ``incoming.event.*`` counts and reasons, as :func:`merge_incoming` adds them up."""
    counts = identity.groupby("IDENTITY_LOG")["ROW_COUNT"].sum()
    part: dict = {"records_in": {EVENT: int(identity["ROW_COUNT"].sum())}, "reasons": {}}
    for status in STATUSES:
        part[f"incoming.{EVENT}.{status}"] = int(counts.get(f"incoming.{EVENT}.{status}", 0))
    for row in identity.itertuples(index=False):
        if f"incoming.{EVENT}.{SUCCESS}" != row.IDENTITY_LOG:
            reasons = part["reasons"].setdefault(row.IDENTITY_LOG, {})
            reason = "(no reason)" if pd.isna(row.IDENTITY_REASON) else row.IDENTITY_REASON
            reasons[reason] = reasons.get(reason, 0) + int(row.ROW_COUNT)
    return part


class UnloadTarget(NamedTuple):
    """One file publish unloads: the lines query, the object key, the CSV columns ((value in the result
    table, header, kind), in the streamed export's column order) and the rows validation counted for it."""

    template: str
    key: str
    columns: list[tuple[str, str, str]]
    rows: int


def unload_targets(
    data: tuple[str, int] | None, quarantine: tuple[str, int] | None, identity: tuple[str, int]
) -> list[UnloadTarget]:
    """What publish unloads, in order, each given as (key, rows): the interactions and their quarantine
    file (when published) and the events' identity log."""
    data_columns = [
        (quote_identifier(column.name), column.name, _kind(column.avro_type))
        for column in INTERACTIONS.columns
    ]
    targets = []
    if data:
        targets.append(
            UnloadTarget("personalize/unload/interactions_lines.sql", data[0], data_columns, data[1])
        )
    if quarantine:
        context = [
            (quote_identifier(name), f"_{name}", "text")
            for name in ("SOURCE_ID", "CONTACT_ID", "RAW_EVENT_TYPE")
        ]
        columns = context + data_columns + [("REASON", QUARANTINE_REASON, "text")]
        targets.append(
            UnloadTarget("personalize/unload/quarantine_lines.sql", quarantine[0], columns, quarantine[1])
        )
    identity_columns = [(IDENTITY_VALUES.get(name, "NULL"), name, "text") for name in LOG_COLUMNS]
    targets.append(
        UnloadTarget(
            "personalize/unload/identity_event_lines.sql", identity[0], identity_columns, identity[1]
        )
    )
    return targets


def _kind(column_type: str) -> str:
    return {"long": "integer", "int": "integer", "float": "float"}.get(column_type, "text")


def unload_statement(share: ShareConfig, config: UnloadConfig, path: str, query: str) -> str:
    """The ``COPY INTO`` writing ``query``'s lines (a rendered one-column query) to ``path`` on the
    configured stage: one file, exactly the lines (no delimiter, quotes or escapes added), header first."""
    stage = ".".join(quote_identifier(name) for name in config.stage or ())
    if not stage:
        raise ValueError("personalize.unload.stage is not set: there is no stage to unload to")
    return render_sql(
        "personalize/unload/copy_into.sql",
        share,
        stage=stage,
        path=path,
        query=query.strip(),
        max_file_size=config.max_file_size,
    )


def unload(
    run: ExportRun, store: ObjectStore, targets: list[UnloadTarget], work: Path
) -> dict[str, str | None]:
    """Write each target's lines to its key, in order, check the rows written are the rows validated
    (else :class:`AccountingError`, before the manifest and ``config.json``), and drop the run's result
    table; return each key's sha256 when known. With a stage Snowflake writes the files (``COPY INTO``,
    which does not report a checksum); without, the worker runs the same queries and uploads their lines
    (the local stand-in)."""
    share, config = run.config.share, run.config.personalize.unload
    tables = UnloadTables.for_run(config, run.run_key)
    plan = run.load_plan()
    written: dict[str, int] = {}
    checksums: dict[str, str | None] = {}
    with share_session(share, run.config.snowflake_conn_id, PERSONALIZE) as session:
        for target in targets:
            variables = {
                "result_table": tables.result,
                "columns": target.columns,
                "paged": config.stage is None,
            }
            if config.stage is None:
                path = work / target.key.replace("/", "__")
                with path.open("wb") as output:
                    pages_of_rows = pages(plan, target.rows)
                    written[target.key] = session.write_lines(
                        target.template, output, pages_of_rows, **variables
                    )
                with path.open("rb") as data:
                    checksums[target.key] = hashlib.file_digest(data, "sha256").hexdigest()
                store.put_file(target.key, path, "text/csv")
            else:
                query = render_sql(target.template, share, **variables)
                answer = session.execute_sql(unload_statement(share, config, target.key, query))
                written[target.key], checksums[target.key] = (int(answer[0][0]) if answer else 0), None
                if not written[target.key]:  # an unload of no rows writes no file: the header alone
                    header = ",".join(name for _, name, _ in target.columns) + "\n"
                    store.put_bytes(target.key, header.encode("utf-8"), "text/csv")
            log.info("unloaded %s rows to %s", written[target.key], store.uri(target.key))
        session.execute("personalize/unload/drop_table.sql", None, result_table=tables.result)
    if wrong := {
        target.key: (written[target.key], target.rows)
        for target in targets
        if written[target.key] != target.rows
    }:
        raise AccountingError(f"the warehouse unloaded other row counts than it validated: {wrong}")
    return checksums


def pages(plan: ChunkPlan, rows: int) -> list[dict]:
    """The stand-in's pages of an unload query writing ``rows`` rows: consecutive chunks' time ranges
    (epoch seconds; the first and last open-ended), about ``plan.chunk_rows`` rows each, rows without a
    time on the last page. A small file is one page: each page scans the whole result table."""
    step = max(1, round(plan.count * plan.chunk_rows / max(rows, 1)))
    boundaries = list(plan.boundaries[step - 1 :: step])
    starts, ends = [None, *boundaries], [*boundaries, None]
    return [
        {"page_start": start, "page_end": end, "undated": end is None}
        for start, end in zip(starts, ends, strict=True)
    ]


def drop_result_table(run: ExportRun) -> None:
    """Drop the run's result table (validation failed: nothing will unload it)."""
    tables = UnloadTables.for_run(run.config.personalize.unload, run.run_key)
    with share_session(run.config.share, run.config.snowflake_conn_id, PERSONALIZE) as session:
        session.execute("personalize/unload/drop_table.sql", None, result_table=tables.result)


def unload_from_warehouse(
    run: ExportRun,
    store: ObjectStore,
    interactions: dict | None,
    quarantined: int,
    event_log: dict,
    work: Path,
) -> None:
    """Have the warehouse write the interactions file and its quarantine file (when published) and the
    events' identity log, then check it wrote every row validated (else fail before the manifest and
    ``config.json``). A dry run only drops the warehouse's table. Sets ``interactions["sha256"]`` when
    the worker wrote the file (no stage), else leaves it null."""
    if run.dry_run:
        drop_result_table(run)
        return
    data = quarantine = None
    if interactions is not None:
        data = (interactions["key"], interactions["rows"])
        if "quarantine_key" in interactions:
            quarantine = (interactions["quarantine_key"], quarantined)
    checksums = unload(
        run, store, unload_targets(data, quarantine, (event_log["key"], event_log["rows"])), work
    )
    if interactions is not None:  # the worker's stand-in knows the file's checksum, Snowflake does not say
        interactions["sha256"] = checksums[interactions["key"]]
