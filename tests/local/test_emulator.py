"""The emulator: a server process on 127.0.0.1 that the real Snowflake connector queries over HTTP."""

from __future__ import annotations

import os

import pytest
import snowflake.connector
from snowflake.connector import ProgrammingError

from hubspot_pipeline.local.emulator import EmulatorError, RunningEmulator, running_emulator, start_emulator
from hubspot_pipeline.local.generator import generate_share
from hubspot_pipeline.local.share_schema import DEFAULT_DATABASE, DEFAULT_SCHEMA

SIZES = {"contacts": 80, "companies": 10, "products": 30, "days": 3, "events_per_day": 50}


def _connection_parameters(
    emulator: RunningEmulator, database: str = DEFAULT_DATABASE, schema: str = DEFAULT_SCHEMA
) -> dict:
    """Keyword arguments for ``snowflake.connector.connect`` reaching ``emulator``."""
    return {
        "user": "local",
        "password": "local",
        "account": "local",
        "host": emulator.host,
        "port": emulator.port,
        "protocol": "http",
        "database": database,
        "schema": schema,
        # without a timeout the connector retries a statement the emulator rejects forever
        "network_timeout": 30,
    }


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_connector_queries_the_seeded_share_over_http_until_stopped_by_pid(tmp_path):
    counts = generate_share(tmp_path, **SIZES)
    events_table = '"HUB_23826378_DB"."V2_DAILY"."EVENTS_AWS_E_COMMERCE_INTERACTIONS"'

    with running_emulator(tmp_path) as emulator:
        with snowflake.connector.connect(**_connection_parameters(emulator)) as connection:
            cursor = connection.cursor()
            contacts = cursor.execute("SELECT COUNT(*) FROM OBJECTS_CONTACTS").fetchone()[0]
            views_sql = (
                f"SELECT ID, OBJECTID, OCCURREDAT FROM {events_table} WHERE PROPERTY_EVENT_TYPE = %(type)s"
            )
            views = cursor.execute(views_sql, {"type": "View"}).fetch_pandas_all()
        unseeded = _connection_parameters(emulator, database="HUB_1_DB")
        with snowflake.connector.connect(**unseeded) as connection, pytest.raises(ProgrammingError):
            connection.cursor().execute("SELECT COUNT(*) FROM OBJECTS_CONTACTS")
        assert _is_running(emulator.pid)

    assert not _is_running(emulator.pid)
    assert contacts == counts["OBJECTS_CONTACTS"]
    assert 0 < len(views) < counts["EVENTS_AWS_E_COMMERCE_INTERACTIONS"]
    assert list(views.columns) == ["ID", "OBJECTID", "OCCURREDAT"]
    assert views["OBJECTID"].dtype == "int64"
    assert views["OCCURREDAT"].dtype.kind == "M"
    # a session naming a database that was not seeded gets an error, not a new empty database file
    assert [path.name for path in tmp_path.glob("*.db")] == ["HUB_23826378_DB.db"]


def test_a_server_that_cannot_start_is_reported_with_its_log(tmp_path):
    (tmp_path / "BROKEN_DB.db").write_bytes(b"not a duckdb file")

    with pytest.raises(EmulatorError, match="exited with code"):
        start_emulator(tmp_path)
