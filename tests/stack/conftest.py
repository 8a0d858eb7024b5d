"""A real Airflow 3 stack for the end-to-end tests: Airflow's own services (api-server, scheduler,
dag-processor) on 127.0.0.1 with LocalExecutor and a PostgreSQL metadata DB (as in production; backfills
lock SQLite), reaching the fakesnow emulator seeded with a small generated HubSpot portal (it has
companies, which the Hook export needs and the tutorial's sample lacks); driven only through the public
REST API and the UI.

PostgreSQL is Debian's (``scripts/test.sh`` installs it): a throwaway cluster in a temporary folder,
listening on 127.0.0.1 only, run as the ``postgres`` user when the tests run as root, and stopped by its
postmaster's pid. Every Airflow service runs in its own process group and is stopped by it (SIGTERM,
then SIGKILL). Their output goes to ``<airflow home>/service-logs/``; a failing test prints the ends of
those logs and the task logs.

The scheduler schedules: the DAGs are the real files of ``dags/``, loaded through ``bounded_dag.py`` with
one change, their schedule bounds (start ``SCHEDULED_DATES[0]``, end on ``LAST_DAY``, catchup on). So
unpausing them, which the fixture does first, makes exactly one scheduled run per date of
``SCHEDULED_DATES``, whose date comes from its data interval, as every night in production; the fixture
waits for them and keeps what they published (``AirflowStack.scheduled``) before any test runs. Later
runs (manual, backfills) have the DAGs to themselves: no stray scheduled run starts beside them.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock
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
DAG_IDS = ("personalize_training_export", "hook_metrics_export")
SCHEDULED_DATES = (LAST_DAY - timedelta(days=1), LAST_DAY)  # one scheduled run each, per DAG
SCHEDULE_START = datetime.combine(SCHEDULED_DATES[0], clock(0), UTC)  # before the first cron tick
SCHEDULE_END = datetime.combine(LAST_DAY, clock(12), UTC)  # after the last one (03:00 and 04:00)


@dataclass
class AirflowStack:
    """The running services: a REST client, their folders, and where the DAGs publish."""

    base_url: str
    home: Path
    objects: Path
    env: dict[str, str] = field(repr=False)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict, repr=False)
    session: requests.Session = field(default_factory=requests.Session, repr=False)
    # the scheduled runs the stack started with: {"runs": {dag_id: [run]}, "files": {path: bytes}}
    scheduled: dict = field(default_factory=dict, repr=False)

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

    def wait_for_run(
        self, dag_id: str, run_id: str, timeout: float = 300.0, *, retries_fail: bool = True
    ) -> str:
        """Poll the run until it finishes; return its state. Unless ``retries_fail`` is false, a task
        waiting for a retry counts as a failure: the DAGs wait a minute before a retry, and the first
        error is the one worth reading (the retry test waits the retry out)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            state = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"]
            if state in FINISHED:
                return state
            if retries_fail and (retrying := self.tasks_in(dag_id, run_id, "up_for_retry")):
                return f"up_for_retry: {', '.join(retrying)}"
            time.sleep(2)
        return "timed out"

    def tasks_in(self, dag_id: str, run_id: str, state: str) -> list[str]:
        """The tasks of a run that are in ``state`` now."""
        instances = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
        return [ti["task_id"] for ti in instances if ti["state"] == state]

    def runs(self, dag_id: str, **filters) -> list[dict]:
        """Every run of ``dag_id`` (``filters`` as query parameters, e.g. ``run_type``), oldest first."""
        query = {"limit": 100, "order_by": "id", **filters}
        return self.api("GET", f"/dags/{dag_id}/dagRuns", params=query)["dag_runs"]

    def wait_for_runs(self, dag_id: str, count: int, timeout: float = 600.0, **filters) -> list[dict]:
        """Wait until ``count`` runs of ``dag_id`` (matching ``filters``) exist and all have finished;
        return them. A failed run ends the wait at once."""
        deadline, runs = time.monotonic() + timeout, []
        while time.monotonic() < deadline:
            self.check_alive()
            runs = self.runs(dag_id, **filters)
            if any(run["state"] == "failed" for run in runs):
                break
            if len(runs) >= count and all(run["state"] in FINISHED for run in runs):
                return runs
            time.sleep(2)
        states = [(run["dag_run_id"], run["state"]) for run in runs]
        failed = next((run["dag_run_id"] for run in runs if run["state"] != "success"), None)
        details = self.diagnostics(dag_id, failed)
        raise AssertionError(f"{dag_id}: runs {states}, expected {count} finished\n{details}")

    def files(self, bucket: str, prefix: str = "") -> dict[str, bytes]:
        """What the DAGs published under ``<bucket>/<prefix>`` (key -> bytes), Great Expectations' Data
        Docs pages aside (they record when the validation ran: the only bytes that differ between two runs
        of the same data)."""
        root = self.objects / bucket
        return {
            path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted((root / prefix).rglob("*"))
            if path.is_file() and "data_docs" not in path.relative_to(root).parts
        }

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


HASH_KEY_VARIABLE = "AIRFLOW_VAR_HUBSPOT_PIPELINE_IDENTITY_HASH_KEY"


def _environment(home: Path, port: int, objects: Path, emulator, database_url: str) -> dict[str, str]:
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
            "AIRFLOW__CORE__DAGS_FOLDER": str(_bounded_dags(home)),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database_url,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:{ROLE}",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__API__BASE_URL": base_url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base_url}/execution/",
            # every service must sign and accept the same tokens
            "AIRFLOW__API_AUTH__JWT_SECRET": "local-stack-test-secret-" + os.urandom(8).hex(),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            # the identity log's hash key, as a deployment sets it (tests/conftest.py made it)
            HASH_KEY_VARIABLE: os.environ[HASH_KEY_VARIABLE],
            "AIRFLOW_CONN_HUBSPOT_SNOWFLAKE": snowflake_connection(emulator, config.share),
            "AIRFLOW_VAR_HUBSPOT_PIPELINE_CONFIG": json.dumps({"storage": {"local_root": str(objects)}}),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "plugins"), str(ROOT)])),
            "GX_ANALYTICS_ENABLED": "False",
            "NO_PROXY": "127.0.0.1,localhost",
        }
    )
    return env


def _bounded_dags(home: Path) -> Path:
    """A DAGs folder with one module per file of ``dags/``: the real file, scheduled only from
    ``SCHEDULE_START`` to ``SCHEDULE_END`` with catchup (``bounded_dag.py``)."""
    folder = home / "dags"
    folder.mkdir(exist_ok=True)
    for dag_file in sorted((ROOT / "dags").glob("*.py")):
        (folder / dag_file.name).write_text(
            f'"""The Airflow DAG of dags/{dag_file.name}, between the stack\'s schedule bounds."""\n\n'
            "from datetime import datetime\n"
            "from pathlib import Path\n\n"
            "from tests.stack import bounded_dag\n\n"
            f"DAGS = bounded_dag.load(\n    Path({str(dag_file)!r}),\n"
            f"    datetime.fromisoformat({SCHEDULE_START.isoformat()!r}),\n"
            f"    datetime.fromisoformat({SCHEDULE_END.isoformat()!r}),\n"
            "    __file__,\n)\n"
        )
    return folder


def _postgres_binary(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if not found:
        pytest.fail(
            f"PostgreSQL's {name} is missing: the stack tests need Debian's postgresql package "
            "(scripts/test.sh installs it when run as root: apt-get install -y postgresql)",
            pytrace=False,
        )
    return str(found[-1])  # the newest major version


@contextlib.contextmanager
def postgres_cluster() -> Generator[str, None, None]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 in a temporary folder; yields its SQLAlchemy URL.

    initdb and the server refuse to run as root: as root they run as Debian's ``postgres`` user, who
    owns the folder. Stopped by the postmaster's pid (SIGINT: fast shutdown), then the folder goes."""
    folder = Path(tempfile.mkdtemp(prefix="stack-postgres-"))
    data, port = folder / "data", free_port()
    as_owner: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    log = folder / "server.log"
    run = {"capture_output": True, "text": True, "cwd": folder, "timeout": 120}
    postmaster: int | None = None
    try:
        initdb = [_postgres_binary("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        done = subprocess.run([*as_owner, *initdb], **run)
        assert done.returncode == 0, f"initdb failed:\n{done.stdout}{done.stderr}"
        options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={folder}"
        start = [_postgres_binary("pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start"]
        done = subprocess.run([*as_owner, *start], **run)
        if (data / "postmaster.pid").exists():
            postmaster = int((data / "postmaster.pid").read_text().split()[0])
        assert done.returncode == 0, f"pg_ctl start failed:\n{done.stdout}{done.stderr}"
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/postgres"
    finally:
        if postmaster is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(postmaster, signal.SIGINT)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    os.kill(postmaster, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.2)
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(postmaster, signal.SIGKILL)
        shutil.rmtree(folder, ignore_errors=True)


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


def _scheduled_runs(stack: AirflowStack) -> dict:
    """Unpause both DAGs, wait for their scheduled runs (one per date of ``SCHEDULED_DATES``), and keep
    the runs and what they published, before any other run can rewrite it."""
    for dag_id in DAG_IDS:
        stack.wait_for_dag(dag_id)
    runs = {}
    for dag_id in DAG_IDS:
        runs[dag_id] = stack.wait_for_runs(dag_id, len(SCHEDULED_DATES), run_type="scheduled")
    return {"runs": runs, "files": {bucket: stack.files(bucket) for bucket in _buckets()}}


def _buckets() -> tuple[str, str]:
    config = load_config()
    return config.personalize.bucket, config.hook.bucket


@pytest.fixture(scope="session")
def airflow_stack(tmp_path_factory) -> Iterator[AirflowStack]:
    """Seed a share, serve it, start PostgreSQL and Airflow's services, let the scheduled runs run;
    stop everything afterwards."""
    share = tmp_path_factory.mktemp("stack-share")
    generate_share(share, contacts=1500, products=200, days=60, events_per_day=200, end_date=LAST_DAY)
    home = tmp_path_factory.mktemp("stack-airflow-home")
    objects = tmp_path_factory.mktemp("stack-objects")
    port = free_port()
    with running_emulator(share) as emulator, postgres_cluster() as database_url:
        env = _environment(home, port, objects, emulator, database_url)
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
            stack.scheduled = _scheduled_runs(stack)
            yield stack
        finally:
            _stop_all(list(stack.processes.values()))


@pytest.fixture(scope="session")
def manual_runs(airflow_stack) -> dict:
    """Manual runs over REST of each date of ``SCHEDULED_DATES`` (the dates as ``export_date`` /
    ``metric_date`` params; both DAGs side by side, one date at a time, the last date last): for each date,
    the runs as the API reports them (with ``diagnostics`` unless they succeeded) and what each bucket held
    after them. The comparison for the scheduled runs, and the runs test_airflow_services checks."""
    done = {}
    for day in SCHEDULED_DATES:
        confs = {
            # after the scheduled runs left the last date live, an earlier date republishes only when asked
            "personalize_training_export": {"export_date": day.isoformat(), "republish_older": True},
            "hook_metrics_export": {"metric_date": day.isoformat()},
        }
        run_ids = {dag_id: airflow_stack.trigger(dag_id, conf) for dag_id, conf in confs.items()}
        runs = {}
        for dag_id, run_id in run_ids.items():
            state = airflow_stack.wait_for_run(dag_id, run_id)
            run = airflow_stack.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
            run["diagnostics"] = "" if state == "success" else airflow_stack.diagnostics(dag_id, run_id)
            runs[dag_id] = run | {"final": state}
        done[day] = {"runs": runs, "files": {bucket: airflow_stack.files(bucket) for bucket in _buckets()}}
    return done
