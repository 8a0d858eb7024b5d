"""``python -m hubspot_pipeline.preflight [--yaml PATH] [--json]``: check the share and the buckets against
the configuration (``pipeline.yaml``, the deploy-time file of ``HUBSPOT_PIPELINE_CONFIG``, and the Airflow
Variable when an Airflow metadata DB is set up), print the report, and exit 1 naming each blocking problem.

The connections are Airflow's (``AIRFLOW_CONN_*`` variables, a secrets backend or the metadata DB)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from hubspot_pipeline.config import load_config
from hubspot_pipeline.preflight import run_preflight


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m hubspot_pipeline.preflight", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--yaml", type=Path, metavar="PATH", help="write the suggested override to PATH")
    parser.add_argument("--json", action="store_true", help="print the result as JSON instead of the report")
    parser.add_argument(
        "--no-variable",
        action="store_true",
        help="ignore the Airflow Variable hubspot_pipeline_config (no Airflow metadata DB here)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    result = run_preflight(load_config(use_airflow_variable=not arguments.no_variable))
    if arguments.yaml:
        arguments.yaml.write_text(result.yaml, encoding="utf-8")
    print(json.dumps(result.to_dict(), indent=2, default=str) if arguments.json else result.report_text)
    for problem in result.blocking:
        print(f"blocking: {problem}", file=sys.stderr)
    return 1 if result.blocking else 0


if __name__ == "__main__":
    sys.exit(main())
