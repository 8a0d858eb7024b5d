"""The local share over Snowflake's HTTP protocol: fakesnow's server on 127.0.0.1, over the seeded files.

Every session shares one fakesnow instance on ``db_path``, so any client (the Snowflake connector, Airflow's
``SnowflakeHook``) sees the seeded databases without a fakesnow-specific session parameter. The databases
are the ``<DATABASE>.db`` files present when the server starts; a session naming another database or schema
gets errors rather than a new empty one. Seed before serving: the server holds the DuckDB files' locks.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Generator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubspot_pipeline.local.share_schema import FAKESNOW_ARROW_WARNING

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
# the directory holding the hubspot_pipeline package, put on the server process's PYTHONPATH
PLUGINS_DIR = Path(__file__).resolve().parents[2]


class EmulatorError(RuntimeError):
    """The emulator did not start, or did not stop."""


def serve(db_path: str | os.PathLike, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve the databases in ``db_path`` on ``host:port`` until SIGINT or SIGTERM (blocking)."""
    import fakesnow.server
    import uvicorn
    from fakesnow.instance import FakeSnow

    warnings.filterwarnings("ignore", message=FAKESNOW_ARROW_WARNING, category=UserWarning)
    fake_snow = FakeSnow(db_path=str(db_path))
    for data_file in sorted(Path(db_path).glob("*.db")):
        fake_snow.connect(
            data_file.stem
        ).close()  # attaches the file, so fully qualified names work everywhere
    fake_snow.create_database_on_connect = False
    fake_snow.create_schema_on_connect = False
    fakesnow.server.shared_fs = fake_snow
    try:
        uvicorn.run(fakesnow.server.app, host=host, port=port, log_level="warning")
    finally:
        fake_snow.duck_conn.close()


@dataclass
class RunningEmulator:
    """A server process started by :func:`start_emulator`."""

    pid: int
    host: str
    port: int
    log_path: Path
    process: subprocess.Popen = field(repr=False)


def free_port(host: str = DEFAULT_HOST) -> int:
    """A TCP port nothing listens on right now."""
    with closing(socket.socket()) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def _accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _log_tail(log_path: Path, lines: int = 20) -> str:
    text = log_path.read_text(encoding="utf-8", errors="replace") if log_path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def start_emulator(
    db_path: str | os.PathLike,
    port: int | None = None,
    host: str = DEFAULT_HOST,
    timeout: float = 10.0,
    log_path: str | os.PathLike | None = None,
) -> RunningEmulator:
    """Start ``python -m hubspot_pipeline.local serve`` in a new process; return once it accepts connections.

    ``port`` defaults to a free one; the server's output goes to ``log_path`` (default
    ``<db_path>/emulator.log``). Raises :class:`EmulatorError` (with the log's end) if the process exits or
    doesn't listen within ``timeout`` seconds; the process is stopped then.
    """
    port = port or free_port(host)
    log = Path(log_path) if log_path else Path(db_path) / "emulator.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    python_path = os.pathsep.join(filter(None, [str(PLUGINS_DIR), os.environ.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "hubspot_pipeline.local", "serve", "--db-path", str(db_path)]
    command += ["--host", host, "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": python_path},
            start_new_session=True,
        )
    emulator = RunningEmulator(process.pid, host, port, log, process)
    deadline = time.monotonic() + timeout
    while not _accepts_connections(host, port):
        if process.poll() is not None:
            raise EmulatorError(f"the emulator exited with code {process.returncode}:\n{_log_tail(log)}")
        if time.monotonic() > deadline:
            stop_emulator(process.pid)
            message = f"the emulator did not accept connections on {host}:{port} within {timeout:g} s"
            raise EmulatorError(f"{message}:\n{_log_tail(log)}")
        time.sleep(0.1)
    return emulator


def _has_exited(pid: int) -> bool:
    """Whether process ``pid`` is gone, reaping it if it is our child (a zombie still answers signals)."""
    try:
        reaped, _ = os.waitpid(pid, os.WNOHANG)
        return reaped == pid
    except ChildProcessError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


def _wait_for_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not _has_exited(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def stop_emulator(pid: int, timeout: float = 5.0) -> None:
    """Stop the server process ``pid``: SIGTERM, then SIGKILL if it still runs ``timeout`` seconds later."""
    for stop_signal in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, stop_signal)
        except ProcessLookupError:
            return
        if _wait_for_exit(pid, timeout):
            return
    raise EmulatorError(f"process {pid} survived SIGKILL")


@contextmanager
def running_emulator(db_path: str | os.PathLike, **options: Any) -> Generator[RunningEmulator]:
    """:func:`start_emulator` for the duration of a ``with`` block, stopped by pid at its end."""
    emulator = start_emulator(db_path, **options)
    try:
        yield emulator
    finally:
        stop_emulator(emulator.pid)
