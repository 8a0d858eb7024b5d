"""Command line for the local share.

``python -m hubspot_pipeline.local seed --db-path var/share`` writes a generated share (``--source tutorial
--sample-dir DIR`` loads the tutorial's CSVs instead; ``--all-text`` makes every property column VARCHAR)
and prints the rows per table;
``python -m hubspot_pipeline.local serve --db-path var/share --port 8765`` serves it until interrupted.
"""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from hubspot_pipeline.local.emulator import DEFAULT_HOST, DEFAULT_PORT, serve
from hubspot_pipeline.local.generator import generate_share
from hubspot_pipeline.local.share_schema import DEFAULT_DATABASE, DEFAULT_EVENT_TABLE, DEFAULT_SCHEMA
from hubspot_pipeline.local.tutorial import load_tutorial_sample

_GENERATOR_DEFAULTS = {name: p.default for name, p in inspect.signature(generate_share).parameters.items()}
# generator options: (name, type, help)
_GENERATOR_OPTIONS = (
    ("seed", int, "random seed: the same seed and sizes give the same share"),
    ("contacts", int, "number of contacts"),
    ("companies", int, "number of companies"),
    ("products", int, "number of products"),
    ("deals", int, "number of deals (default: half the contacts)"),
    ("days", int, "days of history, ending on --end-date"),
    ("events_per_day", int, "custom events per day"),
    ("end_date", date.fromisoformat, "last day of history (YYYY-MM-DD)"),
    ("dirty_share", float, "share of rows per table holding a dirty value (0 for a clean share)"),
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m hubspot_pipeline.local", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)

    seed = commands.add_parser("seed", help="(re)write the share's database file")
    seed.add_argument("--source", choices=("generated", "tutorial"), default="generated")
    seed.add_argument("--db-path", type=Path, required=True, help="directory of the DuckDB files")
    seed.add_argument("--database", default=DEFAULT_DATABASE)
    seed.add_argument("--schema", default=DEFAULT_SCHEMA)
    seed.add_argument("--event-table", default=DEFAULT_EVENT_TABLE)
    seed.add_argument("--sample-dir", type=Path, help="folder of the tutorial's CSVs (--source tutorial)")
    seed.add_argument(
        "--all-text",
        action="store_true",
        help="every PROPERTY_* column VARCHAR, with every kind of dirty value (default: typed as HubSpot's)",
    )
    generator_options = seed.add_argument_group("generated share")
    for name, value_type, help_text in _GENERATOR_OPTIONS:
        default = _GENERATOR_DEFAULTS[name]
        generator_options.add_argument(
            "--" + name.replace("_", "-"),
            type=value_type,
            default=default,
            help=help_text if default is None else f"{help_text} (default: {default})",
        )

    server = commands.add_parser("serve", help="serve the share over HTTP until interrupted")
    server.add_argument("--db-path", type=Path, required=True, help="directory of the DuckDB files")
    server.add_argument("--host", default=DEFAULT_HOST)
    server.add_argument("--port", type=int, default=DEFAULT_PORT)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ``seed`` or ``serve`` command."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.db_path, host=args.host, port=args.port)
        return
    share = {
        "database": args.database,
        "schema": args.schema,
        "event_table": args.event_table,
        "all_text": args.all_text,
    }
    if args.source == "tutorial":
        if args.sample_dir is None:
            parser.error("--source tutorial needs --sample-dir")
        counts = load_tutorial_sample(args.sample_dir, args.db_path, **share)
    else:
        options = {name: getattr(args, name) for name, _, _ in _GENERATOR_OPTIONS}
        counts = generate_share(args.db_path, **share, **options)
    for table, rows in counts.items():
        print(f"{table} {rows}")


if __name__ == "__main__":
    main()
