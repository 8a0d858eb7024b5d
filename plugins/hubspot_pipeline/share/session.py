"""Reading HubSpot's Snowflake share: the Airflow Snowflake hook, SQL files from ``include/sql/`` (wherever
the deployment put the include folder: :func:`hubspot_pipeline.config.include_dir`) and results as pandas
DataFrames.

SQL files are Jinja templates rendered only with quoted identifiers (database, schema, table); every
value is a bound parameter (``%(name)s``) passed to the Snowflake connector.
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


@functools.cache
def _templates_in(folder: Path) -> Environment:
    loader = FileSystemLoader(folder)
    return Environment(loader=loader, undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def _templates() -> Environment:
    """The SQL templates of the include folder, looked up when a query is rendered (not on import)."""
    return _templates_in(sql_dir())


class ShareSchemaError(AirflowFailException):
    """A share query does not compile: a table or column is missing or renamed (retrying cannot help)."""


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


def quote_identifier(name: str) -> str:
    """Quote a name already validated by :func:`hubspot_pipeline.config.sql_identifier`."""
    return '"' + sql_identifier(name, "identifier") + '"'


def render_sql(
    template_name: str, share: ShareConfig, aliases: Mapping[str, str] | None = None, **variables: Any
) -> str:
    """Render ``include/sql/<template_name>`` with the share's quoted identifiers (never values).

    ``aliases`` (output column → source column, e.g. the identity's anonymous-id columns) reaches the
    template as ``aliases``, a list of quoted ``(source, output)`` pairs; ``variables`` are structural
    (counts and flags shaping the query, never values).
    """
    database, schema = quote_identifier(share.database), quote_identifier(share.schema)
    return _templates().get_template(template_name).render(
        share=f"{database}.{schema}",
        event_table=f"{database}.{schema}.{quote_identifier(share.event_table)}",
        aliases=[
            (quote_identifier(source), quote_identifier(name)) for name, source in (aliases or {}).items()
        ],
        **variables,
    )


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

    def __init__(self, connection: Any, share: ShareConfig):
        self.connection, self.share = connection, share

    def __call__(
        self,
        template_name: str,
        parameters: dict[str, Any],
        aliases: Mapping[str, str] | None = None,
        **variables: Any,
    ) -> pd.DataFrame:
        """The result of an ``include/sql`` query rendered for the share (:func:`render_sql`)."""
        sql = render_sql(template_name, self.share, aliases, **variables)
        with self._naming_missing_objects(template_name):
            return _fetch(self.connection, sql, parameters)

    def execute(self, template_name: str, parameters: dict[str, Any] | None = None, **variables: Any) -> list:
        """Run an ``include/sql`` statement (DDL, DML); return the rows it answers with."""
        sql = render_sql(template_name, self.share, **variables)
        return self.execute_sql(sql, parameters, template_name)

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
        sql = render_sql(template_name, self.share, **variables)
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
def share_session(share: ShareConfig, conn_id: str) -> Generator[ShareSession]:
    """A :class:`ShareSession` on one connection through ``conn_id``, closed on leaving."""
    with closing(ShareHook(snowflake_conn_id=conn_id).get_conn()) as connection:
        yield ShareSession(connection, share)
