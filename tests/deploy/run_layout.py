"""Run inside a laid-out deployment, as that target's Airflow would: ``python -I run_layout.py SPEC RESULT``.

Started by ``tests/deploy/test_layouts.py`` with ``-I`` (no PYTHONPATH, no script folder on the path) and
the environment the target sets (``AIRFLOW__CORE__DAGS_FOLDER`` and ``PLUGINS_FOLDER`` at the laid-out
folders, ``HUBSPOT_PIPELINE_CONFIG`` as the target sets it). Airflow itself puts the plugins folder on
``sys.path``; nothing else of the project is importable. Parses the DAGs with a DagBag, then runs both with
``dag.test()`` against the local share the test serves, and writes what it saw to RESULT (JSON).

Imports nothing from the repository: it must work from any folder.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, datetime
from pathlib import Path


def _run(dag, logical_date: datetime, conf: dict) -> dict:
    dag_run = dag.test(logical_date=logical_date, run_conf=conf)
    return {
        "state": str(dag_run.state),
        "tasks": {ti.task_id: [str(ti.state), ti.try_number] for ti in dag_run.get_task_instances()},
    }


def main(spec_path: str, result_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    from airflow.dag_processing.dagbag import DagBag  # Airflow's settings put the plugins folder on sys.path

    bag = DagBag(dag_folder=spec["dags_folder"])
    result: dict = {
        "import_errors": {name: str(error) for name, error in bag.import_errors.items()},
        "dag_ids": sorted(bag.dag_ids),
        "sys_path": list(sys.path),
    }
    Path(result_path).write_text(json.dumps(result))
    import hubspot_pipeline
    from hubspot_pipeline.config import include_dir

    result["package"] = str(Path(hubspot_pipeline.__file__).resolve().parent)
    result["include"] = str(include_dir())
    result["local_importable"] = importlib.util.find_spec("hubspot_pipeline.local") is not None
    result["modules_outside"] = sorted(
        name
        for name, module in sys.modules.items()
        if name.split(".")[0] == "hubspot_pipeline"
        and getattr(module, "__file__", None)
        and not Path(module.__file__).resolve().is_relative_to(result["package"])
    )
    result["outlets"] = {
        dag_id: sorted(outlet.name for task in dag.tasks for outlet in task.outlets)
        for dag_id, dag in bag.dags.items()
    }
    result["schedules"] = {  # the scheduled DAGs' (hubspot_preflight is manual only)
        dag_id: dag.timetable.summary for dag_id, dag in bag.dags.items() if dag.timetable.can_be_scheduled
    }
    result["runs"] = {}
    for dag_id, run in spec["runs"].items():
        logical_date = datetime.fromisoformat(run["logical_date"]).replace(tzinfo=UTC)
        result["runs"][dag_id] = _run(bag.get_dag(dag_id), logical_date, run["conf"])
        Path(result_path).write_text(json.dumps(result))
    Path(result_path).write_text(json.dumps(result))


if __name__ == "__main__":
    main(*sys.argv[1:3])
