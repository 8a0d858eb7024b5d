"""Benchmark: the Personalize export of a large generated share, next to the floor.

    python bench/bench_personalize.py                     # 200k contacts, 20k products, 10M events
    python bench/bench_personalize.py --events 1000000   # a quicker look

It seeds a share with the generator (not timed), then measures, each in its own process so peak RSS is
its own (``os.wait4``):

- ``dag``: ``airflow dags test personalize_training_export`` against the fakesnow emulator, the whole DAG
  (extract, prepare, validate with Great Expectations, publish), in each mode: ``streamed`` (the worker
  streams the interactions in chunks) and ``unload`` (the warehouse builds and checks them; without a
  stage the worker writes the unload queries' lines, page by page, where Snowflake would ``COPY INTO``);
  the emulator's own peak RSS (the "warehouse") is reported on its own line;
- ``floor``: DuckDB alone on the same file selecting the same rows (events up to the export date, the
  deal line items, the catalogue, the contacts) and writing three CSVs: no validation, no identities.

Prints a table: wall time, interactions per second, peak RSS and the ratio to the floor.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))

from hubspot_pipeline.config import load_config  # noqa: E402
from hubspot_pipeline.local.emulator import running_emulator  # noqa: E402
from hubspot_pipeline.local.generator import generate_share  # noqa: E402
from hubspot_pipeline.local.quickstart import snowflake_connection  # noqa: E402

EXPORT_DATE = date(2024, 6, 30)
FLOOR_SQL = """
COPY (SELECT e.ID, c.PROPERTY_EXTERNAL_ID AS USER_ID, e.PROPERTY_ITEM_ID AS ITEM_ID,
             epoch(e.OCCURREDAT)::BIGINT AS TIMESTAMP, e.PROPERTY_EVENT_TYPE AS EVENT_TYPE,
             TRY_CAST(e.PROPERTY_ITEM_PRICE AS DOUBLE) AS EVENT_VALUE
      FROM {schema}.{events} e LEFT JOIN {schema}.OBJECTS_CONTACTS c ON c.OBJECTID = e.OBJECTID
      WHERE e.OCCURREDAT < DATE '{end}'
      UNION ALL
      SELECT d.OBJECTID::VARCHAR, c.PROPERTY_EXTERNAL_ID, p.PROPERTY_EXTERNAL_ID, NULL, 'Purchase',
             TRY_CAST(li.PROPERTY_PRICE AS DOUBLE)
      FROM {schema}.OBJECTS_DEALS d
      JOIN {schema}.ASSOCIATIONS_LINE_ITEMS_TO_DEALS a ON a.DEAL_OBJECTID = d.OBJECTID
      JOIN {schema}.OBJECTS_LINE_ITEMS li ON li.OBJECTID = a.LINE_ITEM_OBJECTID
      LEFT JOIN {schema}.OBJECTS_PRODUCTS p ON p.OBJECTID::VARCHAR = li.PROPERTY_HS_PRODUCT_ID
      LEFT JOIN {schema}.ASSOCIATIONS_DEALS_TO_CONTACTS dc ON dc.DEAL_OBJECTID = d.OBJECTID
      LEFT JOIN {schema}.OBJECTS_CONTACTS c ON c.OBJECTID = dc.CONTACT_OBJECTID
      WHERE d.PROPERTY_PIPELINE = 'ecommerce')
TO '{out}/interactions.csv' (HEADER);
COPY (SELECT PROPERTY_EXTERNAL_ID AS ITEM_ID, TRY_CAST(PROPERTY_PRICE AS DOUBLE) AS PRICE,
             PROPERTY_CATEGORY_LEVEL_1, PROPERTY_CATEGORY_LEVEL_2, PROPERTY_DESCRIPTION, PROPERTY_GENDER,
             PROPERTY_PROMOTED, PROPERTY_CREATEDATE FROM {schema}.OBJECTS_PRODUCTS)
TO '{out}/items.csv' (HEADER);
COPY (SELECT PROPERTY_EXTERNAL_ID AS USER_ID, PROPERTY_AGE AS AGE, PROPERTY_GENDER AS GENDER
      FROM {schema}.OBJECTS_CONTACTS) TO '{out}/users.csv' (HEADER);
"""


def measured(command: list[str], environment: dict[str, str] | None = None) -> tuple[float, float, int]:
    """Run ``command``; return (wall seconds, peak RSS in MB of that process, exit code)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def peak_rss_mb(pid: int) -> float:
    """The high-water mark of a running process's resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_floor(share_dir: Path, out_dir: Path) -> None:
    """The floor: DuckDB alone, straight from the seeded file to three CSVs."""
    import duckdb

    share = load_config().share
    connection = duckdb.connect(str(share_dir / f"{share.database}.db"), read_only=True)
    sql = FLOOR_SQL.format(
        schema=share.schema, events=share.event_table, end=EXPORT_DATE.isoformat(), out=out_dir.as_posix()
    )
    connection.execute(sql)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--share", type=Path, help="reuse the share/ folder an earlier run seeded")
    parser.add_argument("--modes", default="streamed,unload", help="export modes to run, comma-separated")
    parser.add_argument("--floor-only", nargs=2, metavar=("SHARE_DIR", "OUT_DIR"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.floor_only:
        run_floor(Path(arguments.floor_only[0]), Path(arguments.floor_only[1]))
        return
    (ROOT / "var").mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-personalize-", dir=ROOT / "var"))
    airflow_home = work / "airflow"
    share_dir = arguments.share or work / "share"
    if arguments.share is None:
        share_dir.mkdir()
        started = time.perf_counter()
        generate_share(
            share_dir,
            contacts=arguments.contacts,
            products=arguments.products,
            companies=max(1, arguments.contacts // 40),
            days=arguments.days,
            events_per_day=arguments.events // arguments.days,
            end_date=EXPORT_DATE,
            dirty_share=0.01,
            all_text=True,  # the floor's SQL reads text columns, as when the figures were measured
        )
        print(f"seeded {arguments.events:,} events in {time.perf_counter() - started:.0f} s (not measured)")
    print(f"share {share_dir}, outputs in {work}")

    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "plugins"),
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # the identity log's hash key (a deployment's secret Variable): one for this benchmark
        "AIRFLOW_VAR_HUBSPOT_PIPELINE_IDENTITY_HASH_KEY": secrets.token_hex(32),
    }
    subprocess.run(["airflow", "db", "migrate"], env=environment, check=True, capture_output=True)
    config = load_config()
    train = Path(config.personalize.bucket) / config.personalize.train_prefix / "interactions.csv"
    runs = {}
    for mode in arguments.modes.split(","):
        objects = work / f"objects-{mode}"
        override = {
            "storage": {"local_root": str(objects)},
            "personalize": {"unload": {"enabled": mode == "unload"}},
        }
        with running_emulator(share_dir, log_path=work / f"emulator-{mode}.log") as emulator:
            # the warehouse-unload mode's statements over 10M rows run for minutes in the emulator
            connection = snowflake_connection(emulator, config.share, network_timeout=1800)
            mode_environment = {
                **environment,
                "AIRFLOW_CONN_HUBSPOT_SNOWFLAKE": connection,
                "AIRFLOW_VAR_HUBSPOT_PIPELINE_CONFIG": json.dumps(override),
            }
            conf = json.dumps({"export_date": EXPORT_DATE.isoformat()})
            command = ["airflow", "dags", "test", "personalize_training_export", EXPORT_DATE.isoformat()]
            seconds, rss, code = measured([*command, "--conf", conf], mode_environment)
            runs[mode] = (seconds, rss, code, peak_rss_mb(emulator.pid), objects / train)
    floor_out = work / "floor"
    floor_out.mkdir()
    floor_seconds, floor_rss, floor_code = measured(
        [sys.executable, __file__, "--floor-only", str(share_dir), str(floor_out)]
    )
    floor_rows = _data_rows(floor_out / "interactions.csv") if floor_code == 0 else 0

    print(f"\n{'run':<38}{'wall s':>9}{'rows/s':>12}{'peak RSS MB':>13}{'x floor':>9}")
    for mode, (seconds, rss, code, emulator_rss, interactions_file) in runs.items():
        rows = _data_rows(interactions_file) if code == 0 else 0
        name = f"DAG, {mode} (exit code {code})"
        print(
            f"{name:<38}{seconds:>9.1f}{rows / seconds:>12,.0f}{rss:>13,.0f}{seconds / floor_seconds:>9.1f}"
        )
        print(f"{'  emulator (the warehouse) peak':<38}{'':>9}{'':>12}{emulator_rss:>13,.0f}")
    name = "floor (DuckDB alone, same rows)"
    print(f"{name:<38}{floor_seconds:>9.1f}{floor_rows / floor_seconds:>12,.0f}{floor_rss:>13,.0f}{1:>9.1f}")
    identical = len({path.read_bytes() for *_, path in runs.values() if path.exists()}) == 1
    print(f"\ninteractions.csv identical across modes: {identical}; floor wrote {floor_rows:,} rows")


def _data_rows(path: Path) -> int:
    with path.open("rb") as lines:
        return sum(1 for _ in lines) - 1


if __name__ == "__main__":
    main()
