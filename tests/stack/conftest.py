"""A real Airflow 3 stack for the end-to-end tests: Airflow's own services (api-server, scheduler,
dag-processor) on 127.0.0.1 with LocalExecutor and a fresh SQLite metadata DB, reaching the fakesnow
emulator seeded with a small generated HubSpot portal (it has companies, which the Hook export needs and
the tutorial's sample lacks); driven only through the public REST API and the UI.

Every process runs in its own process group and is stopped by its pid (SIGTERM, then SIGKILL). Their
output goes to ``<airflow home>/service-logs/``; a failing test prints the ends of those logs and the
task logs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from hubspot_pipeline.config import load_config
from hubspot_pipeline.local.emulator import running_emulator
from hubspot_pipeline.local.generator import DEFAULT_END_DATE, generate_share
from hubspot_pipeline.local.quickstart import snowflake_connection
from tests.conftest import ROOT, free_port

USERNAME, ROLE = "admin", "admin"
PASSWORD = "admin"  # a throwaway user of this throwaway stack
SERVICES = {
    "api-server": lambda port: ["api-server", "--host", "127.0.0.1", "--port", str(port)],
    "scheduler": lambda port: ["scheduler", "--skip-serve-logs"],
    "dag-processor": lambda port: ["dag-processor"],
}
STARTUP_TIMEOUT = 90.0
FINISHED = {"success", "failed"}
LAST_DAY = DEFAULT_END_DATE  # the generated share's last event day


@dataclass
class AirflowStack:
    """The running services: a REST client, their folders, and where the DAGs publish."""

    base_url: str
    home: Path
    objects: Path
    env: dict[str, str] = field(repr=False)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict, repr=False)
    session: requests.Session = field(default_factory=requests.Session, repr=False)

    @property
    def service_logs(self) -> Path:
        return self.home / "service-logs"

    def api(self, method: str, path: str, **kwargs) -> dict:
        """Call ``/api/v2<path>`` with the bearer token; raise on an HTTP error, return the JSON body."""
        response = self.session.request(method, f"{self.base_url}/api/v2{path}", timeout=30, **kwargs)
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path}: HTTP {response.status_code}: {response.text[:2000]}")
        return response.json() if response.content else {}

    def login(self) -> str:
        """Get a JWT from the simple auth manager and use it for every later call."""
        response = requests.post(
            f"{self.base_url}/auth/token", json={"username": USERNAME, "password": PASSWORD}, timeout=30
        )
        response.raise_for_status()
        token = response.json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {token}"
        return token

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode}\n{self.diagnostics()}")

    def wait_for_dag(self, dag_id: str, timeout: float = STARTUP_TIMEOUT) -> dict:
        """Wait until the dag-processor has parsed ``dag_id`` (no import errors), then unpause it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            response = self.session.get(f"{self.base_url}/api/v2/dags/{dag_id}", timeout=30)
            if response.status_code == 200:
                return self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
            time.sleep(1)
        errors = self.api("GET", "/importErrors")
        raise AssertionError(f"{dag_id} was not parsed within {timeout} s; import errors: {errors}")

    def trigger(self, dag_id: str, conf: dict) -> str:
        """Trigger a manual run (no logical date) with ``conf`` as its params; return its run id."""
        run = self.api("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})
        return run["dag_run_id"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300.0) -> str:
        """Poll the run until it finishes; return its state. A task waiting for a retry counts as a
        failure: the DAGs back off for minutes, and the first error is the one worth reading."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            state = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
            if state in FINISHED:
                return state
            instances = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
            retrying = [ti["task_id"] for ti in instances["task_instances"] if ti["state"] == "up_for_retry"]
            if retrying:
                return f"up_for_retry: {', '.join(retrying)}"
            time.sleep(2)
        return "timed out"

    def diagnostics(self, dag_id: str | None = None, run_id: str | None = None) -> str:
        """Task states and logs of a run plus the ends of the services' logs, for a failure message."""
        parts: list[str] = []
        if dag_id and run_id:
            try:
                instances = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
                for instance in instances["task_instances"]:
                    parts.append(f"task {instance['task_id']}: {instance['state']}")
            except (AssertionError, requests.RequestException) as error:
                parts.append(f"(task instances unavailable: {error})")
            task_logs = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
            for log in sorted(task_logs.rglob("*.log")):
                parts.append(f"--- {log.relative_to(self.home)} (last 60 lines)")
                parts.extend(log.read_text(errors="replace").splitlines()[-60:])
        for log in sorted(self.service_logs.glob("*.log")):
            parts.append(f"--- {log.name} (last 40 lines)")
            parts.extend(log.read_text(errors="replace").splitlines()[-40:])
        return "\n".join(parts)


def _signal_group(process: subprocess.Popen, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)  # the group we started: its leader's pid


def _stop_all(processes: list[subprocess.Popen], grace: float = 20.0) -> None:
    """Stop the services we started, by their process groups: SIGTERM to all, then SIGKILL to whatever
    is left of each group (task runners, api-server workers) once its leader exits or ``grace`` passes."""
    for process in processes:
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        _signal_group(process, signal.SIGKILL)
        process.wait(timeout=10)


def _environment(home: Path, port: int, objects: Path, emulator) -> dict[str, str]:
    config = load_config()
    base_url = f"http://127.0.0.1:{port}"
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({USERNAME: PASSWORD}))
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW", "HUBSPOT_PIPELINE_CONFIG"))
    }
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:{ROLE}",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__API__BASE_URL": base_url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
            # every service must sign and accept the same tokens
            "AIRFLOW__API_AUTH__JWT_SECRET": "local-stack-test-secret-" + os.urandom(8).hex(),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            # no scheduled runs: unpausing a DAG would start one for its latest interval, publishing to
            # the same folder as the runs the tests trigger
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW_CONN_HUBSPOT_SNOWFLAKE": snowflake_connection(emulator, config.share),
            "AIRFLOW_VAR_HUBSPOT_PIPELINE_CONFIG": json.dumps({"storage": {"local_root": str(objects)}}),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "plugins"), str(ROOT)])),
            "GX_ANALYTICS_ENABLED": "False",
            "NO_PROXY": "127.0.0.1,localhost",
        }
    )
    return env


def _wait_for_health(stack: AirflowStack, timeout: float = STARTUP_TIMEOUT) -> dict:
    """Wait until the api-server answers and reports a healthy metadata DB and scheduler."""
    deadline, health = time.monotonic() + timeout, {}
    while time.monotonic() < deadline:
        stack.check_alive()
        try:
            health = requests.get(f"{stack.base_url}/api/v2/monitor/health", timeout=5).json()
            if all(health.get(part, {}).get("status") == "healthy" for part in ("metadatabase", "scheduler")):
                return health
        except (requests.RequestException, ValueError):
            pass
        time.sleep(1)
    raise AssertionError(f"Airflow not healthy within {timeout} s: {health}\n{stack.diagnostics()}")


@pytest.fixture(scope="session")
def airflow_stack(tmp_path_factory) -> Iterator[AirflowStack]:
    """Seed a share, serve it, start Airflow's services; stop everything afterwards."""
    share = tmp_path_factory.mktemp("stack-share")
    generate_share(share, contacts=1500, products=200, days=60, events_per_day=200, end_date=LAST_DAY)
    home = tmp_path_factory.mktemp("stack-airflow-home")
    objects = tmp_path_factory.mktemp("stack-objects")
    port = free_port()
    with running_emulator(share) as emulator:
        env = _environment(home, port, objects, emulator)
        stack = AirflowStack(base_url=f"http://127.0.0.1:{port}", home=home, objects=objects, env=env)
        stack.service_logs.mkdir()
        airflow = [sys.executable, "-m", "airflow"]
        migrate = subprocess.run([*airflow, "db", "migrate"], env=env, capture_output=True, text=True)
        (stack.service_logs / "db-migrate.log").write_text(migrate.stdout + migrate.stderr)
        assert migrate.returncode == 0, f"airflow db migrate failed:\n{migrate.stderr[-3000:]}"
        try:
            for name, arguments in SERVICES.items():
                with (stack.service_logs / f"{name}.log").open("w") as log:
                    stack.processes[name] = subprocess.Popen(
                        [*airflow, *arguments(port)],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        start_new_session=True,
                        cwd=home,
                    )
            _wait_for_health(stack)
            stack.login()
            yield stack
        finally:
            _stop_all(list(stack.processes.values()))
