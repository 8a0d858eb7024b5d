"""Injection: every configurable name that reaches SQL, an S3 key, a request header or a connection lookup
is validated when the configuration loads (the error names the setting); free-text values only ever reach
SQL as bound parameters, and the SQL templates are rendered with quoted identifiers only."""

from __future__ import annotations

import re
from datetime import date

import pytest
import yaml
from jinja2 import Environment, meta

from hubspot_pipeline.config import ConfigError, deep_merge, load_config, sql_dir
from hubspot_pipeline.local.emulator import running_emulator
from hubspot_pipeline.local.generator import generate_share
from hubspot_pipeline.local.quickstart import snowflake_connection
from hubspot_pipeline.personalize.unload import unload_statement
from hubspot_pipeline.share.session import render_sql
from tests.conftest import query_share

SQL_DIR = sql_dir()

INJECTIONS = {
    "sql": 'x"; DROP TABLE y; --',
    "dotted": "a.b",
    "quote": "it's",
    "double quote": 'say "hi"',
    "space": "two words",
    "path traversal": "../escape",
    "newline": "line\nbreak",
    "look-alike": "ＨＵＢ_ＤＢ",  # full-width letters  # noqa: RUF001
    "dotted capital I": "HUB_\u0130",
    "empty": "",
    "overlong": "x" * 3000,  # longer than any name AWS, Snowflake or Airflow accepts
}

# setting → the injection kinds it legitimately accepts (and why)
SETTINGS = {
    "share.database": (),
    "share.schema": (),
    "share.event_table": (),
    "identity.anonymous_ids": (),
    "personalize.bucket": ("dotted",),  # bucket names may hold dots
    "personalize.dataset_group": (),
    "storage.staging_bucket": ("dotted",),
    "storage.staging_prefix": ("dotted",),  # a key segment may hold dots (never a leading one)
    "storage.server_side_encryption": (),
    "storage.kms_key_id": ("dotted", "path traversal"),  # an alias/ARN header value, never a key
    "hook.bucket": ("dotted",),
    "hook.key_prefix": ("dotted", "empty"),  # "": the bucket's root
    "hook.runs_prefix": ("dotted",),
    "hook.region": (),
    "hook.acl": (),
    "connections.snowflake": ("dotted",),  # Airflow connection ids may hold dots
    "connections.personalize_s3": ("dotted",),
    "connections.hook_s3": ("dotted",),
    "personalize.unload.stage": (),  # DATABASE.SCHEMA.STAGE: three identifiers, "a.b" is two
    "personalize.unload.workspace": ("dotted",),  # DATABASE.SCHEMA
}
CASES = [
    pytest.param(setting, value, id=f"{setting}-{kind}")
    for setting, accepted in SETTINGS.items()
    for kind, value in INJECTIONS.items()
    if kind not in accepted
]


def _override(setting: str, value) -> dict:
    """The override mapping setting ``setting`` (dotted path) to ``value``."""
    if setting == "identity.anonymous_ids":
        value = [value]
    override: dict = {}
    for part in reversed(setting.split(".")):
        override = {part: override or value}
    if setting == "storage.kms_key_id":
        override = deep_merge(override, {"storage": {"server_side_encryption": "aws:kms"}})
    return override


@pytest.mark.parametrize(("setting", "value"), CASES)
def test_an_injection_string_in_a_configurable_name_is_rejected_naming_the_setting(setting, value):
    with pytest.raises(ConfigError, match=re.escape(setting)):
        load_config(override=_override(setting, value))


@pytest.mark.parametrize(
    "setting", [setting for setting, accepted in SETTINGS.items() if "dotted" in accepted]
)
def test_the_legitimately_dotted_names_still_load(setting):
    load_config(override=_override(setting, "a.b"))


@pytest.mark.parametrize("field", ["account_id_column", "name"])
def test_hook_column_names_from_the_metrics_file_are_rejected(field, tmp_path):
    definitions = yaml.safe_load((SQL_DIR.parent / "config" / "hook_metrics.yaml").read_text())
    (definitions if field == "account_id_column" else definitions["metrics"][0])[field] = 'id"; --'
    path = tmp_path / "metrics.yaml"
    path.write_text(yaml.safe_dump(definitions))
    with pytest.raises(ConfigError, match=re.escape(repr('id"; --'))):
        load_config(override={"hook": {"metrics_file": str(path)}})


# ------------------------------------------------------------------------------------- SQL templates

# the share's database (quoted), the column reader (hubspot_pipeline.share.columns: quoted names, its own
# constant expressions) and the queries' structure
TEMPLATE_VARIABLES = {"database", "read", "event_sets", "filter_types", "line_items"}
# the warehouse-unload mode's: table names, the row rules' structure, CSV columns, the unload's location
TEMPLATE_VARIABLES |= {"result_table", "event_types", "user_map", "deal_candidates", "rules", "columns"}
TEMPLATE_VARIABLES |= {"table", "stage", "path", "query", "max_file_size", "paged"}
# the only string literals in SQL: constants of the unload queries (outcomes, CSV punctuation, tally
# names, identity-log statuses), never a configured value
SQL_CONSTANTS = {
    "",
    '"',
    '""',
    ",",
    " ",
    "\\n",
    "written",
    "skipped",
    "quarantined",
    "skip",
    "error",
    "success",
}
SQL_CONSTANTS |= {"event:", "incoming.event.", "EVENT_TYPE", "USER_ID", "REPEATED_KEYS"}
FREE_TEXT = "Zq9'); DROP TABLE y; --"


def _config_with_markers():
    """The configuration with distinctive identifiers and free-text values carrying an injection string."""
    return load_config(
        override={
            "share": {"database": "DbMarker", "schema": "SchemaMarker", "event_table": "EventMarker"},
            "identity": {"anonymous_ids": ["AliasMarker"]},
            "properties": {"products": {"external_id": "PropMarker"}, "events": {"item_id": "PropMarker"}},
            "personalize": {
                "unload": {
                    "stage": "DbMarker.SchemaMarker.StageMarker",
                    "workspace": "WsMarker.WsSchemaMarker",
                },
                "event_types": {f"{FREE_TEXT}View": "View", "Purchase": "Purchase"},
                "deals": {"pipelines": [f"{FREE_TEXT}pipe"], "closed_won_stages": [f"{FREE_TEXT}stage"]},
            },
        }
    )


def _rendered_templates(config) -> dict[str, str]:
    """Every SQL file under include/sql, rendered the way the pipeline renders it."""
    from hubspot_pipeline.hook.run import HookRun
    from hubspot_pipeline.hook.tasks import _event_query

    run = HookRun(config, date(2024, 1, 1), date(2024, 1, 2), "key")
    variables, _ = _event_query(run)
    unload = _unload_variables(config)
    shared = {"share/deals.sql": {"line_items": True}}  # as Personalize reads it: every placeholder
    shared["preflight/pipeline_rows.sql"] = {
        "table": "pipeline_stages",
        "columns": ['"PIPELINEID"', '"LABEL"'],
    }
    rendered = {}
    for path in sorted(SQL_DIR.rglob("*.sql")):
        name = path.relative_to(SQL_DIR).as_posix()
        if path.name.startswith("_"):
            continue  # macros, imported by the queries
        if name.startswith("hook/"):
            rendered[name] = render_sql(name, run.config.share, **variables)
        elif name == "personalize/unload/copy_into.sql":
            lines = render_sql("personalize/unload/interactions_lines.sql", config.share, **unload[name])
            rendered[name] = unload_statement(config.share, config.personalize.unload, "train/x.csv", lines)
        else:
            rendered[name] = render_sql(
                name,
                config.share,
                config.identity.anonymous_id_columns,
                **unload.get(name, shared.get(name, {})),
            )
    return rendered


def _unload_variables(config) -> dict[str, dict]:
    """The structural variables the warehouse-unload mode renders its templates with, as it makes them."""
    from hubspot_pipeline.personalize.datasets import INTERACTIONS
    from hubspot_pipeline.personalize.rules import row_rules_of
    from hubspot_pipeline.personalize.unload import UnloadTables, rule_variables, unload_targets

    tables = UnloadTables.for_run(config.personalize.unload, "2024-01-01/run")
    rules = row_rules_of(
        INTERACTIONS, {"EVENT_TYPE": ["View"]}, {"TIMESTAMP": (0, 1)}, known_values={"ITEM_ID": {"a"}}
    )
    result = {"result_table": tables.result}
    variables = {
        "personalize/unload/interactions_table.sql": {
            **result,
            "event_types": tables.event_types,
            "user_map": tables.user_map,
            "deal_candidates": tables.deal_candidates,
            "rules": rule_variables(rules, tables)[0],
        }
    }
    for target in unload_targets(("data", 1), ("quarantine", 1), ("identity", 1)):
        variables[target.template] = {**result, "columns": target.columns, "paged": True}
    variables["personalize/unload/copy_into.sql"] = variables["personalize/unload/interactions_lines.sql"]
    for name in ("outcomes", "tallies", "identity_counts", "drop_table"):
        variables[f"personalize/unload/{name}.sql"] = result
    columns = [('"NAME"', "VARCHAR")]
    for name in ("create_temporary_table", "insert_rows"):
        variables[f"warehouse/{name}.sql"] = {"table": tables.user_map, "columns": columns}
    return variables


def _without_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


def test_sql_templates_use_only_identifier_and_structure_variables():
    environment = Environment()
    for path in sorted(SQL_DIR.rglob("*.sql")):
        variables = meta.find_undeclared_variables(environment.parse(path.read_text()))
        assert variables <= TEMPLATE_VARIABLES, path


def test_rendered_sql_holds_quoted_identifiers_and_placeholders_only():
    rendered = _rendered_templates(_config_with_markers())
    macros = list(SQL_DIR.rglob("_*.sql"))
    assert len(rendered) == len(list(SQL_DIR.rglob("*.sql"))) - len(macros) >= 21
    for name, sql in rendered.items():
        code = _without_comments(sql)
        assert "Zq9" not in sql, name  # no free-text value, not even in a comment
        literals = set(re.findall(r"'((?:[^']|'')*)'", code))
        assert literals <= SQL_CONSTANTS, name  # every value is a placeholder
        named = "WSMARKER" if name.startswith(("personalize/unload/", "warehouse/")) else "DBMARKER"
        assert named in code or name.startswith("hook/event_"), name  # the share or workspace is named
        unquoted = re.sub(r'"[A-Z0-9_]+"', "", code).upper()  # names appear only as quoted identifiers
        assert not re.search(
            "DBMARKER|SCHEMAMARKER|EVENTMARKER|ALIASMARKER|PROPMARKER|WSMARKER|STAGEMARKER", unquoted
        ), name
        assert re.findall(r"%\(([^)]*)\)s", code) == re.findall(r"%\((\w+)\)s", code), name
    placeholders = {name: set(re.findall(r"%\((\w+)\)s", sql)) for name, sql in rendered.items()}
    assert placeholders["share/deals.sql"] == {"pipelines", "stages"}
    assert placeholders["hook/event_activity.sql"] >= {"day_start", "day_end", "event_set_1"}


def test_hook_event_types_reach_the_queries_as_parameters(tmp_path):
    from hubspot_pipeline.hook.run import HookRun
    from hubspot_pipeline.hook.tasks import _event_query

    metrics = yaml.safe_load((SQL_DIR.parent / "config" / "hook_metrics.yaml").read_text())
    metrics["metrics"][1]["event_types"] = [FREE_TEXT]
    path = tmp_path / "metrics.yaml"
    path.write_text(yaml.safe_dump(metrics))
    config = load_config(override={"hook": {"metrics_file": str(path)}})
    run = HookRun(config, date(2024, 1, 1), date(2024, 1, 2), "key")
    variables, parameters = _event_query(run)
    assert FREE_TEXT not in render_sql("hook/event_activity.sql", run.config.share, **variables)
    assert any(FREE_TEXT in values for values in parameters.values())


@pytest.fixture(scope="module")
def small_share(tmp_path_factory):
    share_dir = tmp_path_factory.mktemp("injection-share")
    generate_share(share_dir, contacts=60, companies=10, products=20, days=5, events_per_day=20)
    with running_emulator(share_dir) as emulator:
        yield emulator


def test_values_are_bound_so_an_injection_string_matches_nothing(small_share, monkeypatch):
    config = load_config()
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_SNOWFLAKE", snowflake_connection(small_share, config.share))
    deals = config.personalize.deals
    stages = (*deals.add_to_cart_stages, *deals.closed_won_stages)

    def deal_rows(pipelines: tuple[str, ...]) -> int:
        parameters = {"pipelines": pipelines, "stages": stages}
        template = "share/deals.sql"
        return len(query_share(template, config.share, config.snowflake_conn_id, parameters, line_items=True))

    assert deal_rows(deals.pipelines) > 0
    # pasted into the SQL, this would read: IN ('x') OR ('1'='1'), every deal
    assert deal_rows(("x') OR ('1'='1",)) == 0
    assert deal_rows(("ecommerce'; DROP TABLE OBJECTS_DEALS; --",)) == 0
    assert deal_rows(deals.pipelines) > 0  # the table is still there
