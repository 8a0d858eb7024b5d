"""Load a real DAG file of ``dags/`` with other schedule bounds, for the stack's DAGs folder.

``load(dag_file, start, end)`` runs the file unchanged, but the ``@dag`` decorator it imports builds its
DAG with ``start_date=start``, ``end_date=end`` and ``catchup=True``; every other argument, the tasks and
their code are the file's own. The stack's DAGs folder holds one small module per DAG calling it, so the
scheduler makes a scheduled run for each interval between ``start`` and ``end`` and none after.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import datetime
from pathlib import Path


def load(dag_file: Path, start: datetime, end: datetime, loader_file: str) -> list:
    """Run ``dag_file`` with its DAGs bounded to ``start``..``end`` (catchup on); return the DAGs, whose
    ``fileloc`` is ``loader_file`` (the module in the DAGs folder, which the task runner parses)."""
    import airflow.sdk as sdk

    original, created = sdk.dag, []

    def bounded(*args, **kwargs):
        kwargs.update(start_date=start, end_date=end, catchup=True)
        decorate = original(*args, **kwargs)

        def wrap(function):
            factory = decorate(function)

            def build(*factory_args, **factory_kwargs):
                dag = factory(*factory_args, **factory_kwargs)
                created.append(dag)
                return dag

            return build

        return wrap

    name = f"bounded_{dag_file.stem}"
    spec = importlib.util.spec_from_file_location(name, dag_file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sdk.dag = bounded
    try:
        spec.loader.exec_module(module)
    finally:
        sdk.dag = original
    for dag in created:
        dag.fileloc = loader_file
    return created
