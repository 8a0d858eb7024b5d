"""Every kind of the bad-input corpus through both DAGs (``dag.test()`` against the fakesnow emulator): each
kind's records end as the catalogue says, and rows in (counted here with SQL on the share) = rows out +
quarantined + skipped for every dataset of both exports. One run of each DAG serves the whole module."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from hubspot_pipeline.local.share_schema import DEFAULT_EVENT_TABLE, database_file
from tests.corpus.catalogue import (
    CART_STAGE,
    CATALOGUE,
    ECOMMERCE,
    EXPORT_DATE,
    WON_STAGE,
    BadKind,
    Outcome,
    build_corpus_share,
    table,
)
from tests.corpus.dag_runs import CONFIG, HOOK, PERSONALIZE, both_dags, run_dag, serving

GROUP = CONFIG.personalize.dataset_group
TABLES = (
    "OBJECTS_CONTACTS",
    "OBJECTS_COMPANIES",
    "OBJECTS_PRODUCTS",
    "OBJECTS_DEALS",
    "OBJECTS_LINE_ITEMS",
    "ASSOCIATIONS",
    "EVENTS",
)
WINDOW_END = datetime.combine(EXPORT_DATE + timedelta(days=1), datetime.min.time())


def rows_in(db_file: Path) -> dict[str, int]:
    """Rows each dataset and Hook ledger reads, counted from the share with SQL (not by the pipeline):
    interactions are the events up to the end of the export date plus, per deal of the configured
    pipeline in the add-to-cart (one) or closed-won stage (two interactions), one row per line item
    association, or one if it has none."""
    events, deals = table(DEFAULT_EVENT_TABLE), table("OBJECTS_DEALS")
    queries = {
        "items": f"SELECT COUNT(*) FROM {table('OBJECTS_PRODUCTS')}",
        "users": f"SELECT COUNT(*) FROM {table('OBJECTS_CONTACTS')}",
        "interactions": f"""
            SELECT (SELECT COUNT(*) FROM {events} WHERE OCCURREDAT < $end) + (
                SELECT COALESCE(SUM(IF(d.PROPERTY_DEALSTAGE = $won, 2, 1) * GREATEST(1, (
                    SELECT COUNT(*) FROM {table("ASSOCIATIONS_LINE_ITEMS_TO_DEALS")} a
                    WHERE a.DEAL_OBJECTID = d.OBJECTID))), 0)
                FROM {deals} d
                WHERE d.PROPERTY_PIPELINE = $pipeline AND d.PROPERTY_DEALSTAGE IN ($cart, $won))""",
        "hook:contacts": f"SELECT COUNT(*) FROM {table('OBJECTS_CONTACTS')}",
        "hook:deals": f"SELECT COUNT(*) FROM {deals}",
        "hook:events": f"SELECT COUNT(*) FROM {events} WHERE OCCURREDAT >= $start AND OCCURREDAT < $end",
    }  # noqa: S608 (test SQL, identifiers only)
    parameters = {
        "end": WINDOW_END,
        "start": WINDOW_END - timedelta(days=1),
        "won": WON_STAGE,
        "cart": CART_STAGE,
        "pipeline": ECOMMERCE,
    }
    with duckdb.connect(str(db_file), read_only=True) as connection:
        return {
            name: connection.execute(
                sql, {key: parameters[key] for key in parameters if f"${key}" in sql}
            ).fetchone()[0]
            for name, sql in queries.items()
        }


def _text_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def corpus_run(airflow_db, tmp_path_factory):
    """Build the corpus share, run both DAGs on it once and collect what they published."""
    share_dir, objects = tmp_path_factory.mktemp("corpus-share"), tmp_path_factory.mktemp("corpus-objects")
    build_corpus_share(share_dir)
    counted_in = rows_in(database_file(share_dir))
    dags = both_dags()
    logical_date = datetime(EXPORT_DATE.year, EXPORT_DATE.month, EXPORT_DATE.day, 3, tzinfo=UTC)
    with serving(share_dir, objects):
        personalize = run_dag(dags[PERSONALIZE], logical_date)
        hook = run_dag(dags[HOOK], logical_date)
    assert (str(personalize.state), str(hook.state)) == ("success", "success")
    bucket, hook_bucket = objects / CONFIG.personalize.bucket, objects / CONFIG.hook.bucket
    run_folder = bucket / "runs" / GROUP / EXPORT_DATE.isoformat()
    hook_run = hook_bucket / CONFIG.hook.runs_prefix / f"{EXPORT_DATE}_{EXPORT_DATE}"
    outcome = Outcome(
        published={
            name: _text_csv(bucket / "train" / GROUP / f"{name}.csv")
            for name in ("items", "users", "interactions")
        },
        quarantine={path.stem: _text_csv(path) for path in (run_folder / "quarantine").glob("*.csv")},
        ledgers=json.loads((run_folder / "manifest.json").read_text())["ledgers"],
        identity_log=_text_csv(run_folder / "identity_log.csv"),
        hook_rows=_text_csv(hook_bucket / f"hook_export_{EXPORT_DATE:%Y%m%d}.csv"),
        hook_ledgers=json.loads((hook_run / "manifest.json").read_text())["ledgers"],
    )
    return outcome, counted_in


def test_the_catalogue_has_40_named_kinds_across_every_source_table():
    names = Counter(kind.name for kind in CATALOGUE)
    assert len(names) >= 40 and max(names.values()) == 1
    assert {kind.table for kind in CATALOGUE} == set(TABLES)
    for kind in CATALOGUE:
        assert kind.treatment.split(":")[0].split(" ")[0] in ("corrected", "quarantined", "skipped"), (
            kind.name
        )
        assert kind.statements and kind.checks, kind.name


@pytest.mark.parametrize("kind", CATALOGUE, ids=lambda kind: kind.name)
def test_each_bad_kind_is_treated_as_the_catalogue_says(corpus_run, kind: BadKind):
    outcome, _ = corpus_run
    problems = [problem for check in kind.checks for problem in check(outcome)]
    assert problems == [], f"{kind.name} ({kind.how}) should be {kind.treatment}"


@pytest.mark.parametrize(
    "dataset", ["items", "users", "interactions", "hook:contacts", "hook:deals", "hook:events"]
)
def test_rows_in_equal_rows_out_plus_quarantined_plus_skipped(corpus_run, dataset: str):
    outcome, counted_in = corpus_run
    if dataset.startswith("hook:"):
        ledger = outcome.hook_ledgers[dataset.removeprefix("hook:")]
        quarantined_rows = 0
    else:
        ledger = outcome.ledgers[dataset]
        frame = outcome.quarantine.get(dataset)
        quarantined_rows = 0 if frame is None else len(frame)
        assert ledger["written"] == len(outcome.published[dataset])
        assert sum(ledger["quarantined"].values()) == quarantined_rows
    skipped = sum(ledger["skipped"].values())
    assert (ledger["read"], counted_in[dataset]) == (
        counted_in[dataset],
        ledger["written"] + quarantined_rows + skipped,
    )


def test_invalid_utf8_cannot_enter_a_share():
    """Why the corpus has U+FFFD rather than invalid bytes: a VARCHAR refuses them (as Snowflake's does)."""
    with duckdb.connect() as connection:
        connection.execute("CREATE TABLE t (v VARCHAR)")
        with pytest.raises(duckdb.Error, match="invalid UTF8"):
            connection.execute("INSERT INTO t SELECT decode('\\xFF\\xFE'::BLOB)")
        connection.execute("INSERT INTO t VALUES (?)", [b"caf\xe9"])  # bytes arrive as escaped text
        assert connection.execute("SELECT v FROM t").fetchall() == [("caf\\xE9",)]
