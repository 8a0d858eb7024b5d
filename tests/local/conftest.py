"""Fixtures for the local share: seeded DuckDB files, a way to query them directly and their column types."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from fakesnow.instance import FakeSnow

from hubspot_pipeline.local.generator import generate_share
from hubspot_pipeline.local.share_schema import (
    DEFAULT_DATABASE,
    DEFAULT_SCHEMA,
    FAKESNOW_ARROW_WARNING,
    database_file,
)
from hubspot_pipeline.local.tutorial import load_tutorial_sample
from tests.conftest import SAMPLE_DIR

ShareReader = Callable[..., pd.DataFrame]


@pytest.fixture(scope="session")
def read_share() -> ShareReader:
    """``read_share(db_path, sql, parameters)``: the result of ``sql``, run by DuckDB on a seeded file."""

    def read(
        db_path: Path,
        sql: str,
        parameters: list | None = None,
        database: str = DEFAULT_DATABASE,
        schema: str = DEFAULT_SCHEMA,
    ) -> pd.DataFrame:
        with duckdb.connect(str(database_file(db_path, database)), read_only=True) as connection:
            connection.execute(f'USE "{database}"."{schema}"')
            return connection.execute(sql, parameters).df()

    return read


@pytest.fixture(scope="session")
def share_columns() -> ShareReader:
    """``share_columns(db_path, database, schema)``: ``INFORMATION_SCHEMA.COLUMNS`` of ``database.schema`` as
    Snowflake names the types (queried through fakesnow), one row per column in table and column order."""

    def columns(db_path: Path, database: str, schema: str) -> pd.DataFrame:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=FAKESNOW_ARROW_WARNING, category=UserWarning)
            fake_snow = FakeSnow(db_path=str(db_path))
            try:
                with fake_snow.connect(database, schema) as connection:
                    cursor = connection.cursor()
                    cursor.execute(
                        "SELECT table_name, column_name, data_type, numeric_precision, numeric_scale "
                        "FROM information_schema.columns WHERE table_schema = %s "
                        "ORDER BY table_name, ordinal_position",
                        (schema,),
                    )
                    names = [column[0].lower() for column in cursor.description]
                    return pd.DataFrame(cursor.fetchall(), columns=names)
            finally:
                fake_snow.duck_conn.close()

    return columns


@pytest.fixture(scope="session")
def generated_share(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A share generated with the default sizes and dirty share (seed 42), typed as HubSpot types it."""
    db_path = tmp_path_factory.mktemp("generated_share")
    generate_share(db_path)
    return db_path


@pytest.fixture(scope="session")
def all_text_share(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same as ``generated_share`` with every property column VARCHAR, and so every kind of dirt."""
    db_path = tmp_path_factory.mktemp("all_text_share")
    generate_share(db_path, all_text=True)
    return db_path


@pytest.fixture(scope="session")
def tutorial_sample_dir() -> Path:
    """The folder of the tutorial's sample CSVs (in the package, ``local/tutorial_sample``); missing is a
    failure."""
    assert (SAMPLE_DIR / "items.csv").exists(), f"tutorial sample not found in {SAMPLE_DIR}"
    return SAMPLE_DIR


@pytest.fixture(scope="session")
def tutorial_share(tmp_path_factory: pytest.TempPathFactory, tutorial_sample_dir: Path) -> Path:
    """The tutorial's sample CSVs loaded into a share."""
    db_path = tmp_path_factory.mktemp("tutorial_share")
    load_tutorial_sample(tutorial_sample_dir, db_path)
    return db_path
