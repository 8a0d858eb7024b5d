# ruff: noqa: E501  (the floor's SQL reads better unwrapped)
"""Benchmark of the Hook export: the bulk backfill against daily runs and against a bare DuckDB query.

    python bench/bench_hook.py                     # the issue's sizes: 2 years, 5,000 accounts, 100,000
                                                   # contacts, ~10 million events (about 10 minutes)
    python bench/bench_hook.py --days 60 --contacts 5000 --companies 300 --events-per-day 2000   # quick

Steps, each in its own process so its wall time and peak RSS are its own:

1. seed a generated share (``var/bench-hook/share``; ``--reuse-share`` keeps an existing one);
2. **floor**: one DuckDB query straight on the share's DuckDB file computing every metric for every
   account and date (no warehouse protocol, no files, no validation) — what the numbers cost at least;
   the contact → account mapping is computed first by the identity stage and is not timed;
3. **bulk**: ``airflow dags test hook_metrics_export --conf '{"start_date": …, "end_date": …}'`` over the
   whole range against the fakesnow emulator (extract, resolve, build, validate, publish 730 files);
4. **daily**: ``airflow dags test`` with ``metric_date`` for the last ``--daily-runs`` dates, one run each.

Then it checks that the daily files equal the bulk files of the same dates byte for byte and that the floor's
column totals equal the bulk files', and prints a table. Peak RSS is the largest process of the step
(``getrusage(RUSAGE_CHILDREN)`` of a wrapper process); the emulator's own memory (the warehouse) is not
included.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

DAG_ID = "hook_metrics_export"


def _arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--companies", type=int, default=5_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--events-per-day", type=int, default=13_700)
    parser.add_argument("--daily-runs", type=int, default=10)
    parser.add_argument("--end-date", type=date.fromisoformat, default=date(2024, 6, 30))
    parser.add_argument("--work-dir", type=Path, default=ROOT / "var" / "bench-hook")
    parser.add_argument("--reuse-share", action="store_true")
    parser.add_argument("--phase", choices=("floor",), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ------------------------------------------------------------------------------------------ the floor

FLOOR_SQL = """
SET TimeZone = 'UTC';
CREATE OR REPLACE MACRO pday(t) AS CASE
    WHEN regexp_full_match(trim(t), '-?[0-9]{{1,18}}') THEN CAST(to_timestamp(
        CASE WHEN abs(CAST(trim(t) AS HUGEINT)) >= 100000000000 THEN CAST(trim(t) AS HUGEINT) / 1000.0
        ELSE CAST(trim(t) AS HUGEINT) END) AS DATE)
    ELSE CAST(TRY_CAST(trim(t) AS TIMESTAMPTZ) AS DATE) END;
CREATE OR REPLACE TEMP TABLE accounts AS
    SELECT CAST(OBJECTID AS VARCHAR) AS account_id, pday(PROPERTY_CREATEDATE) AS created FROM {s}.OBJECTS_COMPANIES;
CREATE OR REPLACE TEMP TABLE contact_account AS  -- the identity stage's contact -> account mapping
    SELECT CAST(CONTACT_ID AS VARCHAR) AS contact_id, CAST(ACCOUNT_ID AS VARCHAR) AS account_id
    FROM mapping_frame WHERE CAST(ACCOUNT_ID AS VARCHAR) IN (SELECT account_id FROM accounts);
CREATE OR REPLACE TEMP TABLE spine AS
    SELECT CAST(range AS DATE) AS day FROM range(DATE '{first}' - 27, DATE '{last}' + 1, INTERVAL 1 DAY);
CREATE OR REPLACE TEMP TABLE activity AS
    SELECT ca.account_id, CAST(e.OBJECTID AS VARCHAR) AS contact_id, CAST(e.OCCURREDAT AS DATE) AS day,
        count(*) AS ev, count_if(e.PROPERTY_EVENT_TYPE = 'View') AS v,
        count_if(e.PROPERTY_EVENT_TYPE = 'AddToCart') AS a, count_if(e.PROPERTY_EVENT_TYPE = 'Purchase') AS p
    FROM {s}.{events} AS e JOIN contact_account AS ca ON ca.contact_id = CAST(e.OBJECTID AS VARCHAR)
    WHERE e.OCCURREDAT < DATE '{last}' + 1
    GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE deals AS
    SELECT COALESCE(c.account_id, k.account_id) AS account_id, TRIM(d.PROPERTY_DEALSTAGE) AS stage,
        COALESCE(ps.ISCLOSED, FALSE) AS is_closed, pday(d.PROPERTY_CREATEDATE) AS created,
        pday(d.PROPERTY_CLOSEDATE) AS closed,
        COALESCE(CASE WHEN TRY_CAST(trim(d.PROPERTY_AMOUNT) AS DOUBLE) >= 0
             THEN CAST(round(TRY_CAST(trim(d.PROPERTY_AMOUNT) AS DOUBLE) * 100) AS BIGINT) END, 0) AS cents
    FROM {s}.OBJECTS_DEALS AS d
    LEFT JOIN {s}.PIPELINE_STAGES AS ps ON ps.PIPELINEID = d.PROPERTY_PIPELINE AND ps.STAGEID = d.PROPERTY_DEALSTAGE
    LEFT JOIN (SELECT DEAL_OBJECTID, CAST(MIN(COMPANY_OBJECTID) AS VARCHAR) AS account_id
               FROM {s}.ASSOCIATIONS_DEALS_TO_COMPANIES GROUP BY 1) AS dc ON dc.DEAL_OBJECTID = d.OBJECTID
    LEFT JOIN accounts AS c ON c.account_id = dc.account_id
    LEFT JOIN (SELECT DEAL_OBJECTID, CAST(MIN(CONTACT_OBJECTID) AS VARCHAR) AS contact_id
               FROM {s}.ASSOCIATIONS_DEALS_TO_CONTACTS GROUP BY 1) AS dk ON dk.DEAL_OBJECTID = d.OBJECTID
    LEFT JOIN contact_account AS k ON k.contact_id = dk.contact_id
    WHERE COALESCE(c.account_id, k.account_id) IS NOT NULL;
CREATE OR REPLACE TEMP TABLE flows AS  -- per account and day: increments of the flow metrics
    SELECT account_id, day, sum(ev) AS ev, sum(v) AS v, sum(a) AS a, sum(p) AS p, 0 AS cc, 0 AS won, 0 AS won_cents
    FROM activity GROUP BY ALL
    UNION ALL
    SELECT ca.account_id, pday(c.PROPERTY_CREATEDATE), 0, 0, 0, 0, count(*), 0, 0
    FROM {s}.OBJECTS_CONTACTS AS c JOIN contact_account AS ca ON ca.contact_id = CAST(c.OBJECTID AS VARCHAR)
    WHERE pday(c.PROPERTY_CREATEDATE) IS NOT NULL GROUP BY ALL
    UNION ALL
    SELECT account_id, closed, 0, 0, 0, 0, 0, count(*), sum(cents) FROM deals
    WHERE stage IN ('closedwon', '57441673') AND closed IS NOT NULL GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE marks AS  -- +/- steps of the snapshot metrics, at the spine's first day at the earliest
    WITH runs AS (
        SELECT *, sum(CASE WHEN prev IS NULL OR day - prev > n THEN 1 ELSE 0 END)
            OVER (PARTITION BY contact_id, n ORDER BY day) AS run
        FROM (SELECT account_id, contact_id, day, n, lag(day) OVER (PARTITION BY contact_id, n ORDER BY day) AS prev
              FROM activity, (VALUES (1), (7), (28)) AS w(n))
    ), intervals AS (
        SELECT account_id, n, min(day) AS opened, max(day) + n AS closed FROM runs GROUP BY account_id, contact_id, n, run
    )
    SELECT account_id, greatest(opened, DATE '{first}' - 27) AS day, n, 1 AS users, 0 AS deals, 0 AS cents FROM intervals
    UNION ALL SELECT account_id, greatest(closed, DATE '{first}' - 27), n, -1, 0, 0 FROM intervals
    UNION ALL SELECT account_id, greatest(created, DATE '{first}' - 27), 0, 0, 1, cents FROM deals
        WHERE created IS NOT NULL AND NOT (is_closed AND closed IS NULL) AND (NOT is_closed OR closed > created)
    UNION ALL SELECT account_id, greatest(closed, DATE '{first}' - 27), 0, 0, -1, -cents FROM deals
        WHERE created IS NOT NULL AND is_closed AND closed > created;
CREATE OR REPLACE TEMP TABLE first_seen AS
    SELECT a.account_id, CASE WHEN a.created IS NULL THEN DATE '1900-01-01'
        ELSE least(a.created, f.first_day) END AS first_day
    FROM accounts AS a LEFT JOIN (
        SELECT account_id, min(day) AS first_day FROM (
            SELECT account_id, day FROM flows
            UNION ALL SELECT account_id, created FROM deals WHERE created IS NOT NULL
            UNION ALL SELECT account_id, closed FROM deals WHERE closed IS NOT NULL) GROUP BY 1
    ) AS f USING (account_id);
WITH base AS (
    SELECT account_id, sum(ev) AS ev, sum(v) AS v, sum(a) AS a, sum(p) AS p, sum(cc) AS cc, sum(won) AS won,
        sum(won_cents) AS won_cents
    FROM flows WHERE day < DATE '{first}' - 27 GROUP BY 1
), daily AS (
    SELECT account_id, day, sum(ev) AS ev, sum(v) AS v, sum(a) AS a, sum(p) AS p, sum(cc) AS cc, sum(won) AS won,
        sum(won_cents) AS won_cents
    FROM flows WHERE day >= DATE '{first}' - 27 GROUP BY 1, 2
), steps AS (
    SELECT account_id, day, sum(users) FILTER (WHERE n = 1) AS u1, sum(users) FILTER (WHERE n = 7) AS u7,
        sum(users) FILTER (WHERE n = 28) AS u28, sum(deals) AS od, sum(cents) AS oc
    FROM marks GROUP BY 1, 2
), grid AS (
    SELECT g.account_id, g.day,
        COALESCE(base.ev, 0) + sum(COALESCE(d.ev, 0)) OVER w AS total_events,
        COALESCE(base.v, 0) + sum(COALESCE(d.v, 0)) OVER w AS total_product_views,
        COALESCE(base.a, 0) + sum(COALESCE(d.a, 0)) OVER w AS total_add_to_carts,
        COALESCE(base.p, 0) + sum(COALESCE(d.p, 0)) OVER w AS total_purchases,
        COALESCE(base.cc, 0) + sum(COALESCE(d.cc, 0)) OVER w AS total_contacts_created,
        COALESCE(base.won, 0) + sum(COALESCE(d.won, 0)) OVER w AS total_deals_won,
        COALESCE(base.won_cents, 0) + sum(COALESCE(d.won_cents, 0)) OVER w AS total_revenue_won_cents,
        sum(COALESCE(d.p, 0)) OVER (PARTITION BY g.account_id ORDER BY g.day ROWS 27 PRECEDING) AS purchases_28d,
        sum(COALESCE(s.u1, 0)) OVER w AS active_users_1d,
        sum(COALESCE(s.u7, 0)) OVER w AS active_users_7d,
        sum(COALESCE(s.u28, 0)) OVER w AS active_users_28d,
        sum(COALESCE(s.od, 0)) OVER w AS open_deals,
        sum(COALESCE(s.oc, 0)) OVER w AS open_pipeline_amount_cents
    FROM (SELECT account_id, day FROM accounts, spine) AS g
    LEFT JOIN base USING (account_id)
    LEFT JOIN daily AS d ON d.account_id = g.account_id AND d.day = g.day
    LEFT JOIN steps AS s ON s.account_id = g.account_id AND s.day = g.day
    WINDOW w AS (PARTITION BY g.account_id ORDER BY g.day ROWS UNBOUNDED PRECEDING)
)
SELECT grid.* FROM grid JOIN first_seen USING (account_id)
WHERE grid.day >= DATE '{first}' AND grid.day >= first_seen.first_day
"""


def _identity_mapping(connection, schema: str, config):
    """Each contact's account as the DAG resolves it (``hook.tasks.contact_accounts``), from the same
    identifier columns share/contacts.sql and share/companies.sql read."""
    from hubspot_pipeline.hook.tasks import contact_accounts

    aliases = "".join(
        f", CAST(PROPERTY_{name} AS VARCHAR) AS {name}" for name in config.identity.anonymous_ids
    )
    contacts = connection.sql(
        f"SELECT CAST(OBJECTID AS VARCHAR) AS CONTACT_ID{aliases}, CAST(PROPERTY_EXTERNAL_ID AS VARCHAR) AS EXTERNAL_ID,"  # noqa: S608 - validated identifiers
        f" CAST(PROPERTY_EMAIL AS VARCHAR) AS EMAIL FROM {schema}.OBJECTS_CONTACTS ORDER BY OBJECTID"
    ).df()
    companies = connection.sql(
        f"SELECT CAST(OBJECTID AS VARCHAR) AS COMPANY_ID, CAST(PROPERTY_EXTERNAL_ID AS VARCHAR) AS EXTERNAL_ID,"  # noqa: S608 - validated identifiers
        f" CAST(PROPERTY_DOMAIN AS VARCHAR) AS DOMAIN FROM {schema}.OBJECTS_COMPANIES ORDER BY OBJECTID"
    ).df()
    links = connection.sql(
        f"SELECT DISTINCT CAST(CONTACT_OBJECTID AS VARCHAR) AS CONTACT_ID, CAST(COMPANY_OBJECTID AS VARCHAR)"  # noqa: S608 - validated identifiers
        f" AS COMPANY_ID FROM {schema}.ASSOCIATIONS_CONTACTS_TO_COMPANIES ORDER BY 1, 2"
    ).df()
    return contact_accounts(contacts, companies, links, config.identity)


def floor(arguments: argparse.Namespace) -> dict:
    """The bare DuckDB query over the share's file: every metric, every account, every date; returns the
    column totals (to compare with the files) and the timing."""
    import duckdb

    from hubspot_pipeline.config import load_config

    config = load_config()
    first, last = arguments.end_date - timedelta(days=arguments.days - 1), arguments.end_date
    database = arguments.work_dir / "share" / f"{config.share.database}.db"
    connection = duckdb.connect()  # temporary tables in memory, the share attached read-only
    connection.execute(f"ATTACH '{database}' AS \"{config.share.database}\" (READ_ONLY)")
    schema = f'"{config.share.database}"."{config.share.schema}"'
    # the contact -> account mapping is an input (the identity stage, in pandas), not part of the floor
    mapping_frame = _identity_mapping(connection, schema, config)  # noqa: F841 - read by the SQL below
    started = time.perf_counter()
    statements = FLOOR_SQL.format(s=schema, events=f'"{config.share.event_table}"', first=first, last=last)
    *setup, query = [part for part in statements.split(";\n") if part.strip()]
    for statement in setup:
        connection.execute(statement)
    result = connection.sql(query).to_arrow_table()
    seconds = time.perf_counter() - started
    totals = {name: int(result.column(name).to_numpy().sum()) for name in result.column_names[2:]}
    return {"seconds": seconds, "rows": result.num_rows, "totals": totals}


# ------------------------------------------------------------------------------------------ the runs


def measured(command: list[str], environment: dict, log_path: Path) -> dict:
    """Run ``command`` in a wrapper process reporting the wall time and its children's peak RSS."""
    wrapper = (
        "import json, resource, subprocess, sys, time\n"
        "started = time.perf_counter()\n"
        f"with open({str(log_path)!r}, 'a') as log:\n"
        "    code = subprocess.run(sys.argv[1:], stdout=log, stderr=subprocess.STDOUT).returncode\n"
        "print(json.dumps({'seconds': time.perf_counter() - started, 'code': code,\n"
        "    'peak_rss_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", wrapper, *command], env=environment, capture_output=True, text=True, check=True
    )
    report = json.loads(output.stdout.strip().splitlines()[-1])
    if report["code"] != 0:
        raise RuntimeError(f"{' '.join(command[:4])} failed; log: {log_path}")
    return report


def airflow_environment(work_dir: Path, objects: Path, emulator) -> dict:
    from hubspot_pipeline.config import load_config
    from hubspot_pipeline.local.quickstart import snowflake_connection

    override = work_dir / f"config-{objects.name}.yaml"
    override.write_text(json.dumps({"storage": {"local_root": str(objects)}}))
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT / "plugins"),
        "AIRFLOW_HOME": str(work_dir / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "GX_ANALYTICS_ENABLED": "False",
        "HUBSPOT_PIPELINE_CONFIG": str(override),
        "AIRFLOW_CONN_HUBSPOT_SNOWFLAKE": snowflake_connection(emulator, load_config().share),
    }


def dags_test(conf: dict, logical: date) -> list[str]:
    return ["airflow", "dags", "test", DAG_ID, logical.isoformat(), "--conf", json.dumps(conf)]


def file_totals(bucket: Path, names: list[str]) -> dict[str, int]:
    """Column totals over the files (money in cents), to compare with the floor's."""
    import pandas as pd

    frames = [pd.read_csv(bucket / name, dtype={"account_id": str}) for name in names]
    rows = pd.concat(frames, ignore_index=True)
    totals = {}
    for name in rows.columns[2:]:
        money = rows[name].dtype.kind == "f" or name.endswith("_amount") or name.endswith("_revenue_won")
        key = f"{name}_cents" if money else name
        totals[key] = int(round((rows[name] * 100).sum())) if money else int(rows[name].sum())
    return totals


def main(argv=None) -> int:
    arguments = _arguments(argv)
    if arguments.phase == "floor":
        print(json.dumps(floor(arguments)))
        return 0
    from hubspot_pipeline.config import load_config
    from hubspot_pipeline.local.emulator import running_emulator
    from hubspot_pipeline.local.generator import generate_share

    config = load_config()
    work = arguments.work_dir
    work.mkdir(parents=True, exist_ok=True)
    share = work / "share"
    first, last = arguments.end_date - timedelta(days=arguments.days - 1), arguments.end_date
    sizes = (
        f"{arguments.days} days ({first}..{last}), {arguments.companies:,} companies, "
        f"{arguments.contacts:,} contacts, {arguments.days * arguments.events_per_day:,} events"
    )
    print(f"==> {sizes}")
    if not (arguments.reuse_share and (share / f"{config.share.database}.db").exists()):
        started = time.perf_counter()
        generate_share(
            share,
            contacts=arguments.contacts,
            companies=arguments.companies,
            products=300,
            days=arguments.days,
            events_per_day=arguments.events_per_day,
            end_date=last,
            all_text=True,  # the floor's SQL reads text columns, as when the figures were measured
        )
        print(f"    seeded in {time.perf_counter() - started:.0f} s")
    log = work / "bench.log"
    log.write_text("")
    results = {}

    print("==> floor: one DuckDB query on the share's file")
    floor_command = [sys.executable, __file__, "--phase", "floor", "--work-dir", str(work)]
    floor_command += ["--days", str(arguments.days), "--end-date", str(last)]
    wrapper = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, resource, subprocess, sys\n"
            "out = subprocess.run(sys.argv[1:], capture_output=True, text=True, check=True).stdout\n"
            "report = json.loads(out.strip().splitlines()[-1])\n"
            "report['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
            "print(json.dumps(report))\n",
            *floor_command,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    results["floor"] = json.loads(wrapper.stdout.strip().splitlines()[-1])

    subprocess.run(
        ["airflow", "db", "migrate"],
        env={**os.environ, "AIRFLOW_HOME": str(work / "airflow")},
        check=True,
        capture_output=True,
    )
    bulk_objects, daily_objects = work / "objects-bulk", work / "objects-daily"
    for objects in (bulk_objects, daily_objects):
        subprocess.run(["rm", "-rf", str(objects)], check=True)
    with running_emulator(share, log_path=work / "emulator.log") as emulator:
        print(f"==> bulk: airflow dags test {DAG_ID} --conf start_date/end_date ({arguments.days} dates)")
        environment = airflow_environment(work, bulk_objects, emulator)
        conf = {"start_date": first.isoformat(), "end_date": last.isoformat()}
        results["bulk"] = measured(dags_test(conf, last), environment, log)
        daily_dates = [last - timedelta(days=offset) for offset in range(arguments.daily_runs - 1, -1, -1)]
        print(f"==> daily: {len(daily_dates)} × airflow dags test {DAG_ID} --conf metric_date")
        environment = airflow_environment(work, daily_objects, emulator)
        runs = [
            measured(dags_test({"metric_date": day.isoformat()}, day), environment, log)
            for day in daily_dates
        ]
        results["daily"] = {
            "seconds": sum(run["seconds"] for run in runs),
            "peak_rss_mb": max(run["peak_rss_mb"] for run in runs),
            "runs": len(runs),
        }

    hook = config.hook
    names = [hook.data_key(first + timedelta(days=offset)) for offset in range(arguments.days)]
    bulk_bucket, daily_bucket = bulk_objects / hook.bucket, daily_objects / hook.bucket
    identical = all(
        (bulk_bucket / hook.data_key(day)).read_bytes() == (daily_bucket / hook.data_key(day)).read_bytes()
        for day in daily_dates
    )
    bulk_totals = file_totals(bulk_bucket, names)
    floor_totals = results["floor"]["totals"]
    differing = sorted(name for name in floor_totals if floor_totals[name] != bulk_totals.get(name))
    rows = sum(1 for name in names for _ in (bulk_bucket / name).open()) - len(names)

    bulk_per_day = results["bulk"]["seconds"] / arguments.days
    daily_per_day = results["daily"]["seconds"] / results["daily"]["runs"]
    floor_seconds = results["floor"]["seconds"]
    print()
    print(f"Hook backfill benchmark: {sizes}; {rows:,} rows in {len(names)} files; {os.cpu_count()} cores")
    print(f"{'step':<44}{'wall s':>10}{'per date s':>12}{'peak RSS MB':>13}")
    print(f"{'floor: one DuckDB query (no files)':<44}{floor_seconds:>10.1f}"
          f"{floor_seconds / arguments.days:>12.3f}{results['floor']['peak_rss_mb']:>13.0f}")  # fmt: skip
    print(f"{'bulk backfill through Airflow':<44}{results['bulk']['seconds']:>10.1f}"
          f"{bulk_per_day:>12.3f}{results['bulk']['peak_rss_mb']:>13.0f}")  # fmt: skip
    print(f"{f'daily runs through Airflow (× {len(daily_dates)})':<44}{results['daily']['seconds']:>10.1f}"
          f"{daily_per_day:>12.3f}{results['daily']['peak_rss_mb']:>13.0f}")  # fmt: skip
    print(f"daily runs extrapolated to {arguments.days} dates: {daily_per_day * arguments.days / 60:.1f} min")
    print(f"bulk vs daily, per date: {daily_per_day / bulk_per_day:.0f}× faster (target ≥ 30×)")
    print(f"bulk vs floor: {results['bulk']['seconds'] / floor_seconds:.1f}× the floor (target ≤ 3×)")
    print(f"bulk wall time: {results['bulk']['seconds'] / 60:.1f} min (target < 3 min)")
    print(f"daily files == bulk files for the same dates, byte for byte: {identical}")
    print(
        f"floor column totals == bulk files' totals: {not differing}"
        + (f" (differ: {differing})" if differing else "")
    )
    (work / "results.json").write_text(
        json.dumps({**results, "identical": identical, "differing": differing}, indent=2)
    )
    return 0 if identical and not differing else 1


if __name__ == "__main__":
    sys.exit(main())
