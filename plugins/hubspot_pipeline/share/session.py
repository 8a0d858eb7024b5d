"""Reading HubSpot's Snowflake share: the Airflow Snowflake hook, SQL files from ``include/sql/`` (wherever
the deployment put the include folder: :func:`hubspot_pipeline.config.include_dir`) and results as pandas
DataFrames.

SQL files are Jinja templates rendered only with quoted identifiers (database, schema, table) and the
expressions of :class:`hubspot_pipeline.share.columns.ColumnReader` (``read``: the configured properties,
for the column types the share really has); every value is a bound parameter (``%(name)s``) passed to the
Snowflake connector. Sessions run in UTC, so nothing read depends on the connection's time zone.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Generator, Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd
from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook
from airflow.sdk.exceptions import AirflowFailException
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from hubspot_pipeline.config import ShareConfig, sql_dir, sql_identifier
from hubspot_pipeline.share.columns import ASSUMED_TEXT, ColumnReader, MissingColumn, ShareColumns


@functools.cache
def _templates_in(folder: Path) -> Environment:
    loader = FileSystemLoader(folder)
    return Environment(loader=loader, undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def _templates() -> Environment:
    """The SQL templates of the include folder, looked up when a query is rendered (not on import)."""
    return _templates_in(sql_dir())


class ShareSchemaError(AirflowFailException):
    """A share query does not compile, or would not: a table or column is missing or renamed (retrying
    cannot help)."""


def missing_message(share: ShareConfig, missing: list[MissingColumn]) -> str:
    """One message naming every missing table and column and the configuration key to set."""
    lines = "\n".join(f"  - {each.describe()}" for each in missing)
    return (
        f"the share {share.database}.{share.schema} lacks {len(missing)} table(s) or column(s) this task "
        f"needs:\n{lines}\nSet the keys named (a property's HubSpot internal name, read from "
        "PROPERTY_<NAME>; optional properties may be null) in the configuration (README: Configuration; "
        "`python -m hubspot_pipeline.preflight` lists what the share holds)"
    )


class ShareHook(SnowflakeHook):
    """The provider's Snowflake hook, also passing ``protocol``, ``network_timeout`` and ``socket_timeout``
    from the connection extra to the connector.

    Production connections leave them unset (https, the connector's default timeouts). The local emulator
    speaks plain http on 127.0.0.1; a network timeout stops the connector retrying forever on a statement
    the emulator rejects, and a socket timeout as long lets a long statement finish (Snowflake answers a
    long query at once and is polled; the emulator answers when done, and a request re-sent after the
    default 60 s finds the session busy).
    """

    def _add_network_config(self, conn_config: dict[str, Any], extra_dict: dict[str, Any]) -> None:
        super()._add_network_config(conn_config, extra_dict)
        for key in ("protocol", "network_timeout", "socket_timeout"):
            if extra_dict.get(key):
                conn_config[key] = extra_dict[key]

    def _get_conn_params(self) -> dict[str, Any]:
        """The provider's parameters, with the session's time zone UTC (whatever the connection sets), so
        ``TO_DATE`` of a ``TIMESTAMP_LTZ`` and bound naive datetimes mean UTC."""
        params = super()._get_conn_params()
        params["session_parameters"] = {**(params.get("session_parameters") or {}), "TIMEZONE": "UTC"}
        return params


def quote_identifier(name: str) -> str:
    """Quote a name already validated by :func:`hubspot_pipeline.config.sql_identifier`."""
    return '"' + sql_identifier(name, "identifier") + '"'


def render_query(
    template_name: str,
    share: ShareConfig,
    aliases: Mapping[str, str] | None = None,
    share_columns: ShareColumns = ASSUMED_TEXT,
    export: str | None = None,
    **variables: Any,
) -> tuple[str, ColumnReader]:
    """Render ``include/sql/<template_name>`` for the share's columns (never values); return the SQL and its
    :class:`ColumnReader`, which holds the tables and columns it found missing.

    ``aliases`` (output column → source column: the identity's anonymous-id columns) are read by a
    template that calls ``read.anonymous_ids()`` (``share/contacts.sql``); ``variables`` are structural
    (counts and flags shaping the query, never values). ``share_columns`` defaults to every configured
    column existing as text (rendering without a connection); ``export`` (``personalize``, ``hook``)
    reads the properties only the other export uses as NULL.
    """
    reader = ColumnReader(share, share_columns, export, aliases)
    sql = (
        _templates()
        .get_template(template_name)
        .render(
            database=quote_identifier(share.database),
            read=reader,
            **variables,
        )
    )
    return sql, reader


def render_sql(
    template_name: str, share: ShareConfig, aliases: Mapping[str, str] | None = None, **variables: Any
) -> str:
    """The SQL of :func:`render_query`, for the columns as configured (all taken to exist as text)."""
    return render_query(template_name, share, aliases, **variables)[0]


def _fetch(connection: Any, sql: str, parameters: dict[str, Any] | None) -> pd.DataFrame:
    with closing(connection.cursor()) as cursor:
        cursor.execute(sql, parameters)
        columns = [column.name for column in cursor.description]
        frame = cursor.fetch_pandas_all()
    if frame.empty:
        return pd.DataFrame({name: pd.Series(dtype=object) for name in columns})
    return frame


# Snowflake's errors for a table or column that is not there: object does not exist (002003), object does
# not exist or not authorised (002043; fakesnow's code for a missing column), invalid identifier (000904)
MISSING_OBJECT_ERRORS = frozenset({2003, 2043, 904})
INSERT_BATCH_BYTES = 800_000  # JSON per INSERT statement: under Snowflake's 1 MB for a statement


def _names_a_missing_object(error: Exception) -> bool:
    """True for a compilation error about a missing object (retrying cannot help); false for timeouts,
    lost connections and the like, which Airflow retries."""
    return getattr(error, "errno", None) in MISSING_OBJECT_ERRORS or str(
        getattr(error, "sqlstate", None) or ""
    ).startswith("42")


class ShareSession:
    """One connection through which a task runs several ``include/sql`` queries (a streamed export runs one
    per chunk; the warehouse-unload mode also creates tables and unloads). Calling it runs a query and
    returns its result as a DataFrame.

    A query that names a missing table or column (HubSpot renamed or dropped one) raises
    :class:`ShareSchemaError` naming the query and the share, with Snowflake's message naming the object;
    other errors (timeouts, a lost connection) stay retryable.
    """

    def __init__(self, connection: Any, share: ShareConfig, export: str | None = None):
        self.connection, self.share, self.export = connection, share, export
        self._columns: ShareColumns | None = None

    @property
    def columns(self) -> ShareColumns:
        """The share's tables and column types, read on first use (``share/columns.sql``)."""
        if self._columns is None:
            sql = render_sql("share/columns.sql", self.share)
            with (
                self._naming_missing_objects("share/columns.sql"),
                closing(self.connection.cursor()) as cursor,
            ):
                cursor.execute(sql, {"schema": self.share.schema})
                self._columns = ShareColumns.from_rows(cursor.fetchall())
        return self._columns

    def _rendered(
        self, template_name: str, aliases: Mapping[str, str] | None, variables: dict[str, Any]
    ) -> tuple[str, ColumnReader]:
        return render_query(template_name, self.share, aliases, self.columns, self.export, **variables)

    def render(self, template_name: str, aliases: Mapping[str, str] | None = None, **variables: Any) -> str:
        """An ``include/sql`` query rendered for the share's columns; :class:`ShareSchemaError` naming every
        required table and column it lacks."""
        sql, reader = self._rendered(template_name, aliases, variables)
        if reader.missing_required:
            raise ShareSchemaError(f"{template_name}: {missing_message(self.share, reader.missing_required)}")
        return sql

    def check(
        self, queries: Iterable[tuple[str, Mapping[str, str] | None, dict[str, Any]]]
    ) -> list[MissingColumn]:
        """Render every ``(template, aliases, variables)`` of a task before it runs any: one
        :class:`ShareSchemaError` naming every required table and column missing from the share; else the
        optional ones missing (those fields read as NULL), for the run's report."""
        missing: dict[tuple, MissingColumn] = {}
        for template_name, aliases, variables in queries:
            reader = self._rendered(template_name, aliases, variables)[1]
            missing.update(reader.missing)
        if required := [each for each in missing.values() if each.required]:
            raise ShareSchemaError(missing_message(self.share, required))
        return list(missing.values())

    def __call__(
        self,
        template_name: str,
        parameters: dict[str, Any],
        aliases: Mapping[str, str] | None = None,
        **variables: Any,
    ) -> pd.DataFrame:
        """The result of an ``include/sql`` query rendered for the share (:meth:`render`)."""
        sql = self.render(template_name, aliases, **variables)
        with self._naming_missing_objects(template_name):
            return _fetch(self.connection, sql, parameters)

    def execute(self, template_name: str, parameters: dict[str, Any] | None = None, **variables: Any) -> list:
        """Run an ``include/sql`` statement (DDL, DML); return the rows it answers with."""
        return self.execute_sql(self.render(template_name, **variables), parameters, template_name)

    def execute_sql(
        self, sql: str, parameters: dict[str, Any] | None = None, name: str = "statement"
    ) -> list:
        """Run a statement already rendered from ``include/sql`` (e.g. a ``COPY INTO`` wrapping a query);
        return the rows it answers with."""
        with self._naming_missing_objects(name), closing(self.connection.cursor()) as cursor:
            cursor.execute(sql, parameters)
            return cursor.fetchall()

    def create_table(self, table: str, frame: pd.DataFrame) -> None:
        """Create the temporary table ``table`` (a rendered, quoted name) holding ``frame``'s rows: column
        types from the dtypes, the rows bound as JSON arrays, under Snowflake's 1 MB per statement."""
        columns = [(quote_identifier(name), _sql_type(frame[name])) for name in frame.columns]
        self.execute("warehouse/create_temporary_table.sql", table=table, columns=columns)
        rows = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
        for batch in _json_batches(rows, INSERT_BATCH_BYTES):
            self.execute("warehouse/insert_rows.sql", {"rows": batch}, table=table, columns=columns)

    def write_lines(
        self, template_name: str, output: BinaryIO, pages: Iterable[dict[str, Any]], **variables: Any
    ) -> int:
        """Write a one-column query's result to ``output`` as text lines, the column's name first (what
        ``COPY INTO … HEADER = TRUE`` writes for such a query); ``pages``: the bound values of each run
        of the query, in order, so the worker holds one page of the result at a time. Returns the rows."""
        sql = self.render(template_name, **variables)
        rows = 0
        for page, parameters in enumerate(pages):
            with self._naming_missing_objects(template_name), closing(self.connection.cursor()) as cursor:
                cursor.execute(sql, parameters)
                if page == 0:
                    output.write((cursor.description[0].name + "\n").encode("utf-8"))
                for batch in cursor.fetch_arrow_batches():
                    lines = batch.column(0).to_pylist()
                    output.write(("\n".join(lines) + "\n").encode("utf-8") if lines else b"")
                    rows += len(lines)
        return rows

    @contextmanager
    def _naming_missing_objects(self, template_name: str) -> Generator[None]:
        from snowflake.connector.errors import ProgrammingError

        try:
            yield
        except ProgrammingError as error:
            if not _names_a_missing_object(error):
                raise
            raise ShareSchemaError(
                f"{template_name} failed on {self.share.database}.{self.share.schema}: {error.msg} "
                "(has the HubSpot share changed? see `share` in include/config/pipeline.yaml)"
            ) from error


def _json_batches(rows: Iterable[tuple], max_bytes: int) -> Iterator[str]:
    """``rows`` as JSON arrays of rows, each array's text at most about ``max_bytes`` long."""
    batch: list[str] = []
    size = 0
    for row in rows:
        text = json.dumps(row, default=_json_scalar, allow_nan=False)
        if batch and size + len(text) > max_bytes:
            yield "[" + ",".join(batch) + "]"
            batch, size = [], 0
        batch.append(text)
        size += len(text) + 1
    if batch:
        yield "[" + ",".join(batch) + "]"


def _json_scalar(value: Any) -> Any:
    """NumPy scalars (what object columns of numbers hold) as the Python values JSON knows."""
    return value.item()


def _sql_type(values: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(values):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(values):
        return "NUMBER(38, 0)"
    if pd.api.types.is_float_dtype(values):
        return "FLOAT"
    return "VARCHAR"


@contextmanager
def share_session(share: ShareConfig, conn_id: str, export: str | None = None) -> Generator[ShareSession]:
    """A :class:`ShareSession` (for ``export``'s queries, if given) on one connection through ``conn_id``,
    closed on leaving."""
    with closing(ShareHook(snowflake_conn_id=conn_id).get_conn()) as connection:
        yield ShareSession(connection, share, export)
