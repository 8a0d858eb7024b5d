"""The warehouse-unload mode's pieces that run without a warehouse: its settings, its table names, the
``COPY INTO`` it generates (parsed as Snowflake SQL) and the counts it derives from the warehouse's
aggregates. The mode end to end, against the streamed export, is in ``test_personalize_dag.py``."""

from __future__ import annotations

import re

import pandas as pd
import pytest
import sqlglot
from sqlglot import exp

from hubspot_pipeline.config import ConfigError, load_config
from hubspot_pipeline.personalize.datasets import INTERACTIONS
from hubspot_pipeline.personalize.rules import row_rules_of
from hubspot_pipeline.personalize.transform import VALUE_NOT_A_NUMBER, repeated_key_reason
from hubspot_pipeline.personalize.unload import (
    UnloadTables,
    account_outcomes,
    event_type_table,
    rule_summaries,
    unload_statement,
    unload_targets,
)
from hubspot_pipeline.quality.ledger import DatasetLedger
from hubspot_pipeline.share.session import render_sql

UNLOAD = {"enabled": True, "stage": "analytics.personalize.export_stage", "workspace": "analytics.scratch"}


def _config(**unload):
    return load_config(override={"personalize": {"unload": {**UNLOAD, **unload}}})


def test_the_unload_is_one_copy_into_the_stage_with_no_credentials_and_the_lines_as_they_are():
    config = _config()
    tables = UnloadTables.for_run(config.personalize.unload, "2024-06-30/manual__1")
    target = unload_targets(("train/hubspot-ecommerce/interactions.csv", 10), None, ("runs/x.csv", 10))[0]
    template, key, columns = target.template, target.key, target.columns
    lines = render_sql(template, config.share, result_table=tables.result, columns=columns, paged=False)
    statement = unload_statement(config.share, config.personalize.unload, key, lines)

    copy = sqlglot.parse_one(statement, read="snowflake")
    assert isinstance(copy, exp.Copy) and copy.args["kind"] is True  # COPY INTO <location>, an unload
    stage = '@"ANALYTICS"."PERSONALIZE"."EXPORT_STAGE"/train/hubspot-ecommerce/interactions.csv'
    assert copy.this.sql(dialect="snowflake") == stage
    assert not copy.args["credentials"].args  # the stage's storage integration holds them
    assert not re.search(r"AWS_KEY_ID|AWS_SECRET|AWS_TOKEN|CREDENTIALS|STORAGE_INTEGRATION", statement)
    (query,) = copy.args["files"]
    assert query.this == sqlglot.parse_one(lines, read="snowflake")  # exactly the validated lines query
    options = {param.this.name.upper(): param for param in copy.args["params"]}
    assert {name: options[name].expression.sql() for name in ("HEADER", "SINGLE", "OVERWRITE")} == {
        "HEADER": "TRUE",
        "SINGLE": "TRUE",
        "OVERWRITE": "TRUE",
    }
    assert options["MAX_FILE_SIZE"].expression.sql() == str(5 * 1024**3)
    file_format = {
        option.this.name.upper(): option.args["value"].sql(dialect="snowflake")
        for option in options["FILE_FORMAT"].expressions
    }
    assert file_format == {
        "TYPE": "CSV",
        "COMPRESSION": "NONE",
        "FIELD_DELIMITER": "NONE",
        "RECORD_DELIMITER": "'\\n'",
        "FIELD_OPTIONALLY_ENCLOSED_BY": "NONE",
        "ESCAPE": "NONE",
        "ESCAPE_UNENCLOSED_FIELD": "NONE",
    }
    header = query.this.expressions[0].alias
    assert header == ",".join(INTERACTIONS.column_names)  # the header line


def test_without_a_stage_there_is_no_statement_to_generate():
    config = load_config(override={"personalize": {"unload": {"enabled": True}}})
    with pytest.raises(ValueError, match="no stage"):
        unload_statement(config.share, config.personalize.unload, "train/x.csv", "SELECT 1")


@pytest.mark.parametrize(
    ("unload", "message"),
    [
        ({"stage": "ONE.TWO"}, "personalize.unload.stage"),
        ({"stage": 'A.B."C"'}, "personalize.unload.stage"),
        ({"workspace": None}, "personalize.unload.workspace is required with a stage"),
        ({"workspace": "A.B.C"}, "personalize.unload.workspace"),
        ({"max_file_size": 6 * 1024**3}, "at most 5 GB"),
        ({"max_file_size": 0}, "personalize.unload.max_file_size"),
        ({"enabled": "yes"}, "personalize.unload.enabled"),
    ],
)
def test_unload_settings_are_checked_when_the_configuration_loads(unload, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        _config(**unload)


def test_the_tables_live_in_the_workspace_and_the_result_table_is_the_runs_own():
    unload = _config().personalize.unload
    first, again = (UnloadTables.for_run(unload, "2024-06-30/manual__1") for _ in range(2))
    other = UnloadTables.for_run(unload, "2024-06-30/manual__2")
    assert first == again and first.result != other.result
    assert first.result.startswith('"ANALYTICS"."SCRATCH"."PERSONALIZE_INTERACTIONS_')
    local = UnloadTables.for_run(load_config().personalize.unload, "2024-06-30/manual__1")
    assert local.user_map == '"PERSONALIZE_USER_MAP"'  # no workspace: the connection's schema


def test_the_event_type_mapping_reaches_the_warehouse_as_rows():
    personalize = load_config(
        override={
            "personalize": {
                "event_types": {"Viewed": "View", "Internal": None, "Bought": "Purchase"},
                "event_types_without_items": ["Checkout"],
            }
        }
    ).personalize
    table = event_type_table(personalize).set_index("SOURCE_TYPE")
    assert table.loc["Viewed"].tolist() == ["View", True, False]
    assert table.loc["Internal"].tolist()[1:] == [False, False] and pd.isna(
        table.loc["Internal", "TARGET_TYPE"]
    )
    assert table.loc["Checkout"].tolist()[1:] == [True, True] and pd.isna(
        table.loc["Checkout", "TARGET_TYPE"]
    )


def test_outcome_counts_fill_the_ledger_and_each_joined_reason_counts_for_its_rule():
    rules = row_rules_of(INTERACTIONS, {"EVENT_TYPE": ["View"]}, {"TIMESTAMP": (0, 10)})
    outcomes = pd.DataFrame(
        [
            (True, "written", None, None, 88),
            (True, "written", None, VALUE_NOT_A_NUMBER, 2),
            (True, "written", None, "EVENT_VALUE: below 0, left empty", 4),
            (True, "skipped", "duplicate event id", None, 5),
            (True, "skipped", repeated_key_reason(INTERACTIONS), None, 1),
            (True, "quarantined", "USER_ID: missing; TIMESTAMP: out of range", None, 2),
            (True, "quarantined", "USER_ID: missing; TIMESTAMP: out of range", VALUE_NOT_A_NUMBER, 1),
            (False, "quarantined", "TIMESTAMP: out of range", None, 4),
            (False, "written", None, None, 10),
        ],
        columns=["IS_EVENT", "OUTCOME", "REASON", "CORRECTION", "ROW_COUNT"],
    )
    ledger = DatasetLedger(read=14)  # the deal interactions, counted when they were built
    account_outcomes(outcomes, ledger)
    assert (ledger.read, ledger.written, ledger.skipped_total, ledger.quarantined_total) == (117, 104, 6, 7)
    # the corrected rows are written
    assert ledger.corrected == {VALUE_NOT_A_NUMBER: 3, "EVENT_VALUE: below 0, left empty": 4}
    ledger.check("interactions")

    summaries = {
        (summary.column, summary.expectation_type): summary for summary in rule_summaries(outcomes, rules)
    }
    out_of_range = summaries[("TIMESTAMP", "warehouse_rule_out_of_range")]
    assert (out_of_range.unexpected_count, out_of_range.element_count, out_of_range.success) == (
        7,
        112,
        False,
    )
    assert summaries[("USER_ID", "warehouse_rule_missing")].unexpected_count == 3
    assert summaries[("EVENT_TYPE", "warehouse_rule_not_allowed")].success
