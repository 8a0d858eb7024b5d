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
    catalogue_counts,
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
DATASETS = ("items", "users", "interactions", "hook:contacts", "hook:deals", "hook:events")
WINDOW_END = datetime.combine(EXPORT_DATE + timedelta(days=1), datetime.min.time())
# ledger reasons that the generated rows of the CI share count too (so a kind's count of them is only a
# lower bound): the cart-level skip is compared with SQL instead; Hook's contacts, deals and events
# without an account leave no per-record trace in what Hook publishes
CART_LEVEL = "cart-level event without an item (event_types_without_items)"
GENERATED_TOO = {
    ("Personalize", "interactions", "skipped", CART_LEVEL),
    ("Personalize", "users", "skipped", "merged into another contact of the same user"),
    ("Hook", "contacts", "skipped", "no account resolved for the contact"),
    ("Hook", "deals", "skipped", "no company and no contact with an account"),
    ("Hook", "events", "skipped", "contact has no account"),
}


def share_counts(db_file: Path) -> dict[str, int]:
    """Counted from the share with SQL, not by the pipeline: the rows each dataset and Hook ledger reads,
    and the rows of the skip reasons that SQL can find (``skip:<dataset>:<reason>``).

    Interactions read are the events up to the end of the export date plus, per deal of the configured
    pipeline in the add-to-cart (one) or closed-won stage (two interactions), one row per line item
    association, or one if it has none; such a row without an existing line item is skipped."""
    events, deals = table(DEFAULT_EVENT_TABLE), table("OBJECTS_DEALS")
    links, line_items = table("ASSOCIATIONS_LINE_ITEMS_TO_DEALS"), table("OBJECTS_LINE_ITEMS")
    deal_rows = f"""
        SELECT COALESCE(SUM(IF(d.PROPERTY_DEALSTAGE = $won, 2, 1) * {{rows}}), 0) FROM {deals} d
        WHERE d.PROPERTY_PIPELINE = $pipeline AND d.PROPERTY_DEALSTAGE IN ($cart, $won)"""
    link_count = f"(SELECT COUNT(*) FROM {links} a WHERE a.DEAL_OBJECTID = d.OBJECTID)"
    dangling = (
        f"(SELECT COUNT(*) FROM {links} a LEFT JOIN {line_items} l ON l.OBJECTID = a.LINE_ITEM_OBJECTID "
        "WHERE a.DEAL_OBJECTID = d.OBJECTID AND l.OBJECTID IS NULL)"
    )
    in_window = f"FROM {events} WHERE (OCCURREDAT < $end OR OCCURREDAT IS NULL)"
    queries = {
        "items": f"SELECT COUNT(*) FROM {table('OBJECTS_PRODUCTS')}",
        "users": f"SELECT COUNT(*) FROM {table('OBJECTS_CONTACTS')}",
        "interactions": f"SELECT (SELECT COUNT(*) {in_window}) + ("
        + deal_rows.format(rows=f"GREATEST(1, {link_count})")
        + ")",
        "hook:contacts": f"SELECT COUNT(*) FROM {table('OBJECTS_CONTACTS')}",
        "hook:deals": f"SELECT COUNT(*) FROM {deals}",
        "hook:events": f"SELECT COUNT(*) FROM {events} WHERE OCCURREDAT >= $start AND OCCURREDAT < $end",
        "skip:interactions:deal has no line items": deal_rows.format(
            rows=f"IF({link_count} = 0, 1, {dangling})"
        ),
        "skip:interactions:duplicate event id": f"SELECT COUNT(ID) - COUNT(DISTINCT TRIM(ID)) {in_window}",
        "skip:interactions:cart-level event without an item (event_types_without_items)": (
            f"SELECT COUNT(*) {in_window} AND TRIM(PROPERTY_EVENT_TYPE) IN ('ViewCart', 'StartCheckout') "
            "AND COALESCE(TRIM(PROPERTY_ITEM_ID), '') = ''"
        ),
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


def run_corpus(share_dir: Path, objects: Path, **share) -> tuple[Outcome, dict[str, int]]:
    """Build the corpus share (``share``: :func:`build_corpus_share`'s options), count its rows with SQL,
    run both DAGs on it once and collect what they published."""
    build_corpus_share(share_dir, **share)
    counted_in = share_counts(database_file(share_dir))
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


@pytest.fixture(scope="module")
def corpus_run(airflow_db, tmp_path_factory):
    return run_corpus(tmp_path_factory.mktemp("corpus-share"), tmp_path_factory.mktemp("corpus-objects"))


def kind_problems(outcome: Outcome, kind: BadKind) -> list[str]:
    return [problem for check in kind.checks for problem in check(outcome)]


def accounting(outcome: Outcome, counted_in: dict[str, int], dataset: str) -> dict[str, int]:
    """Rows in counted with SQL, rows the ledger says it read, and its written + quarantined + skipped
    (quarantined rows counted in the quarantine file, written rows in the published file)."""
    if dataset.startswith("hook:"):
        ledger = outcome.hook_ledgers[dataset.removeprefix("hook:")]
        written_rows, quarantined_rows = ledger["written"], sum(ledger["quarantined"].values())
    else:
        ledger = outcome.ledgers[dataset]
        frame = outcome.quarantine.get(dataset)
        written_rows, quarantined_rows = len(outcome.published[dataset]), 0 if frame is None else len(frame)
    return {
        "in (SQL)": counted_in[dataset],
        "read (ledger)": ledger["read"],
        "written + quarantined + skipped": written_rows + quarantined_rows + sum(ledger["skipped"].values()),
    }


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
    assert kind_problems(outcome, kind) == [], f"{kind.name} ({kind.how}) should be {kind.treatment}"


def test_every_other_count_the_kinds_check_is_exactly_their_records(corpus_run):
    """The ledger counts a kind checks are exactly the rows the catalogue's kinds declare, so a count
    that a kind shares with others still fails when one of them loses its record or its treatment."""
    outcome, _ = corpus_run
    declared = {key: rows for key, rows in catalogue_counts().items() if key not in GENERATED_TOO}
    ledgers = {"Personalize": outcome.ledgers, "Hook": outcome.hook_ledgers}
    found = {key: ledgers[key[0]][key[1]][key[2]].get(key[3], 0) for key in declared}
    assert found == declared


@pytest.mark.parametrize("dataset", DATASETS)
def test_rows_in_equal_rows_out_plus_quarantined_plus_skipped(corpus_run, dataset: str):
    outcome, counted_in = corpus_run
    counts = accounting(outcome, counted_in, dataset)
    assert len(set(counts.values())) == 1, counts


@pytest.mark.parametrize(
    "reason",
    [
        "deal has no line items",
        "duplicate event id",
        CART_LEVEL,
    ],
)
def test_skip_counts_equal_the_rows_sql_finds_in_the_share(corpus_run, reason: str):
    outcome, counted_in = corpus_run
    assert (
        outcome.ledgers["interactions"]["skipped"].get(reason, 0) == counted_in[f"skip:interactions:{reason}"]
    )


def test_invalid_utf8_cannot_enter_a_share():
    """Why the corpus has U+FFFD rather than invalid bytes: a VARCHAR refuses them (as Snowflake's does)."""
    with duckdb.connect() as connection:
        connection.execute("CREATE TABLE t (v VARCHAR)")
        with pytest.raises(duckdb.Error, match="invalid UTF8"):
            connection.execute("INSERT INTO t SELECT decode('\\xFF\\xFE'::BLOB)")
        connection.execute("INSERT INTO t VALUES (?)", [b"caf\xe9"])  # bytes arrive as escaped text
        assert connection.execute("SELECT v FROM t").fetchall() == [("caf\\xE9",)]


def test_the_corpus_in_a_large_share_with_the_generators_dirty_values(airflow_db, tmp_path):
    """The soak version: every kind and the accounting in a share ~30 times the small one, 3 % of whose
    generated rows are dirty too."""
    outcome, counted_in = run_corpus(
        tmp_path / "share", tmp_path / "objects", contacts=5_000, companies=500, products=500,
        days=90, events_per_day=1_000, dirty_share=0.03,
    )  # fmt: skip
    assert [f"{kind.name}: {problem}" for kind in CATALOGUE for problem in kind_problems(outcome, kind)] == []
    counts = {dataset: accounting(outcome, counted_in, dataset) for dataset in DATASETS}
    assert [dataset for dataset, each in counts.items() if len(set(each.values())) != 1] == [], counts
