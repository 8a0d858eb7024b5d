"""README command 1: seed the local share, serve it, run ``personalize_training_export`` through Airflow
(``airflow dags test``) and print where the files are with a summary of every dataset's rows.

Everything lives under ``var/`` in the project (git-ignored): ``var/share`` (the DuckDB share),
``var/airflow`` (Airflow's home and SQLite metadata DB), ``var/objects/<bucket>/<key>`` (local "S3").
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from hubspot_pipeline.config import PROJECT_ROOT, ShareConfig, load_config
from hubspot_pipeline.local.emulator import RunningEmulator, running_emulator
from hubspot_pipeline.local.tutorial import TUTORIAL_SAMPLE_DIR

VAR_DIR = PROJECT_ROOT / "var"
SHARE_DIR = VAR_DIR / "share"
TUTORIAL_EXPORT_DATE = date(2024, 2, 13)  # the sample's last event day
DAG_ID = "personalize_training_export"
HOOK_DAG_ID = "hook_metrics_export"
HOOK_DAYS = 3  # the Hook export runs in bulk mode for the last days up to the export date


def local_hash_key(path: Path = VAR_DIR / "identity_hash_key") -> str:
    """The local stack's identity hash key (``identity.hash_key_variable``): generated at random into
    ``path`` (git-ignored ``var/``, readable by its owner only) on first use, then the same for every run."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32), encoding="utf-8")
    return path.read_text(encoding="utf-8").strip()


def snowflake_connection(emulator: RunningEmulator, share: ShareConfig, network_timeout: int = 60) -> str:
    """The ``hubspot_snowflake`` Airflow connection (JSON) reaching the local emulator; a statement
    running longer than ``network_timeout`` seconds fails (the benchmark's 10M-row statements need more)."""
    return json.dumps(
        {
            "conn_type": "snowflake",
            "login": "local",
            "password": "local",
            "schema": share.schema,
            "extra": {
                "account": "local",
                "database": share.database,
                "host": emulator.host,
                "port": emulator.port,
                "protocol": "http",
                "network_timeout": network_timeout,
                "socket_timeout": network_timeout,
            },
        }
    )


def seed(source: str, share: ShareConfig, arguments: argparse.Namespace) -> dict[str, int]:
    """Seed ``var/share`` from the generator or the tutorial sample; return rows per table."""
    if source == "tutorial":
        from hubspot_pipeline.local.tutorial import load_tutorial_sample

        return load_tutorial_sample(
            arguments.sample_dir,
            SHARE_DIR,
            database=share.database,
            schema=share.schema,
            event_table=share.event_table,
            all_text=arguments.all_text,
        )
    from hubspot_pipeline.local.generator import generate_share

    return generate_share(
        SHARE_DIR,
        database=share.database,
        schema=share.schema,
        event_table=share.event_table,
        seed=arguments.seed,
        contacts=arguments.contacts,
        products=arguments.products,
        days=arguments.days,
        events_per_day=arguments.events_per_day,
        end_date=arguments.export_date,
        dirty_share=arguments.dirty_share,
        all_text=arguments.all_text,
    )


def run_dag(export_date: date, environment: dict[str, str]) -> subprocess.CompletedProcess:
    """Migrate Airflow's DB if needed and run the DAG once through ``airflow dags test``."""
    log_dir = VAR_DIR / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / "quickstart-airflow.log").open("w") as log:
        subprocess.run(["airflow", "db", "migrate"], check=True, env=environment, stdout=log, stderr=log)
        conf = json.dumps({"export_date": export_date.isoformat()})
        command = ["airflow", "dags", "test", DAG_ID, export_date.isoformat(), "--conf", conf]
        return subprocess.run(command, env=environment, stdout=log, stderr=subprocess.STDOUT)


def run_hook_dag(last_date: date, environment: dict[str, str]) -> subprocess.CompletedProcess:
    """Run ``hook_metrics_export`` once in bulk mode for the ``HOOK_DAYS`` days ending on ``last_date``."""
    first_date = last_date - timedelta(days=HOOK_DAYS - 1)
    conf = json.dumps({"start_date": first_date.isoformat(), "end_date": last_date.isoformat()})
    command = ["airflow", "dags", "test", HOOK_DAG_ID, last_date.isoformat(), "--conf", conf]
    with (VAR_DIR / "logs" / "quickstart-airflow.log").open("a") as log:
        return subprocess.run(command, env=environment, stdout=log, stderr=subprocess.STDOUT)


def print_hook_files(last_date: date) -> None:
    """Print where the Hook files of the last ``HOOK_DAYS`` days are."""
    config = load_config()
    bucket = config.storage.local_root / config.hook.bucket
    print(f"\nHook files ({config.hook.file_format}, one per date) in {bucket}/:")
    for offset in range(HOOK_DAYS - 1, -1, -1):
        print(f"  {config.hook.data_key(last_date - timedelta(days=offset))}")


def print_summary(export_date: date) -> None:
    """Print the published keys and the row accounting from the run's manifest."""
    loaded = load_config()
    config = loaded.personalize
    bucket = loaded.storage.local_root / config.bucket
    manifest = json.loads((bucket / config.run_prefix(export_date) / "manifest.json").read_text())
    print(f"\nPublished to {bucket}/{config.train_prefix}/ (config.json last):")
    for entry in manifest["files"].values():
        print(f"  {entry['key']:<45} sha256 {entry['sha256'][:12]}…")
    print(f"  {config.train_prefix}/config.json")
    print(f"Run manifest: {bucket / config.run_prefix(export_date) / 'manifest.json'}\n")
    print(f"{'dataset':<14}{'read':>9}{'written':>9}{'skipped':>9}{'quarantined':>13}")
    for name, ledger in manifest["ledgers"].items():
        skipped, quarantined = sum(ledger["skipped"].values()), sum(ledger["quarantined"].values())
        print(f"{name:<14}{ledger['read']:>9}{ledger['written']:>9}{skipped:>9}{quarantined:>13}")
    for name, ledger in manifest["ledgers"].items():
        for outcome in ("skipped", "quarantined", "corrected"):
            for reason, count in ledger[outcome].items():
                print(f"  {name} {outcome}: {count} × {reason}")
    for name, entry in manifest["files"].items():
        if "quarantine_key" in entry:
            print(f"Quarantined {name} rows, with reasons: {bucket / entry['quarantine_key']}")
    if identity := manifest.get("identity"):
        print(f"\n{'identity':<14}{'read':>9}{'success':>9}{'skip':>9}{'error':>9}   (incoming.<entity>.*)")
        for entity in sorted(identity["records_in"], key=("user", "account", "event").index):
            read = identity["records_in"][entity]
            counts = "".join(
                f"{identity[f'incoming.{entity}.{status}']:>9}" for status in ("success", "skip", "error")
            )
            print(f"{entity:<14}{read:>9}{counts}")
        print(f"  {identity['merged_contacts']} contacts merged into another contact of the same user")
        for log_name, reasons in identity["reasons"].items():
            for reason, count in reasons.items():
                print(f"  {log_name}: {count} × {reason}")
        for attribute, count in identity["attribute_errors"].items():
            print(f"  {attribute}: {count} value(s) could not be cast, set to null")
        print(f"Identity log, one line per record: {bucket / identity['log_key']}")


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/demo.sh", description=__doc__.splitlines()[0])
    parser.add_argument("--source", choices=("generated", "tutorial"), default="generated")
    parser.add_argument(
        "--export-date", type=date.fromisoformat, help="default: yesterday (tutorial: 2024-02-13)"
    )
    parser.add_argument("--sample-dir", type=Path, default=TUTORIAL_SAMPLE_DIR)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--events-per-day", type=int, default=300)
    parser.add_argument("--dirty-share", type=float, default=0.02)
    parser.add_argument(
        "--all-text", action="store_true", help="seed every PROPERTY_* column as VARCHAR (default: typed)"
    )
    arguments = parser.parse_args(argv)
    if arguments.export_date is None:
        tutorial = arguments.source == "tutorial"
        arguments.export_date = TUTORIAL_EXPORT_DATE if tutorial else date.today() - timedelta(days=1)
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _arguments(argv)
    config = load_config()
    print(f"==> seeding the local share ({arguments.source}) in {SHARE_DIR}")
    SHARE_DIR.mkdir(parents=True, exist_ok=True)
    for table, rows in seed(arguments.source, config.share, arguments).items():
        print(f"  {table:<40}{rows:>9} rows")
    with running_emulator(SHARE_DIR, log_path=VAR_DIR / "logs" / "emulator.log") as emulator:
        print(f"==> Snowflake emulator on {emulator.host}:{emulator.port} (pid {emulator.pid})")
        environment = {
            **os.environ,
            "AIRFLOW_CONN_HUBSPOT_SNOWFLAKE": snowflake_connection(emulator, config.share),
        }
        hash_key_env = f"AIRFLOW_VAR_{config.identity.hash_key_variable.upper()}"
        if not environment.get(hash_key_env):
            environment[hash_key_env] = local_hash_key()
        print(f"==> airflow dags test {DAG_ID} (export date {arguments.export_date}); log: var/logs/")
        result = run_dag(arguments.export_date, environment)
        if result.returncode == 0:
            print(f"==> airflow dags test {HOOK_DAG_ID} (bulk: {HOOK_DAYS} days to {arguments.export_date})")
            result = run_hook_dag(arguments.export_date, environment)
    if result.returncode != 0:
        log = (VAR_DIR / "logs" / "quickstart-airflow.log").read_text(errors="replace").splitlines()
        print("\n".join(log[-40:]), file=sys.stderr)
        print(f"\nThe DAG run failed (exit {result.returncode}); full log: var/logs/", file=sys.stderr)
        return result.returncode
    print_summary(arguments.export_date)
    print_hook_files(arguments.export_date)
    return 0


if __name__ == "__main__":
    sys.exit(main())
