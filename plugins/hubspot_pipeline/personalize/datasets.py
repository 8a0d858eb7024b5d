"""Column definitions of the Amazon Personalize datasets: the one place CSV headers, Avro schemas and
validation rules are derived from, so they cannot drift apart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

AvroType = Literal["string", "int", "long", "float", "boolean"]

MAX_ID_LENGTH = 256
MAX_CATEGORICAL_LENGTH = 1_000
MAX_TEXTUAL_LENGTH = 20_000


@dataclass(frozen=True)
class Column:
    """One column of a Personalize dataset, as its CSV header and Avro field declare it."""

    name: str
    avro_type: AvroType
    nullable: bool = False
    categorical: bool = False
    textual: bool = False
    max_length: int | None = None
    min_value: float | None = None

    def avro_field(self) -> dict:
        """The Avro field declaration Personalize expects for this column."""
        declared: str | list[str] = ["null", self.avro_type] if self.nullable else self.avro_type
        avro = {"name": self.name, "type": declared}
        if self.categorical:
            avro["categorical"] = True
        if self.textual:
            avro["textual"] = True
        return avro


@dataclass(frozen=True)
class Dataset:
    """A Personalize dataset: its name, key columns and columns in CSV order."""

    name: Literal["interactions", "items", "users"]
    schema_name: str
    columns: tuple[Column, ...]
    unique_key: tuple[str, ...]

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    def column(self, name: str) -> Column:
        return next(column for column in self.columns if column.name == name)

    def avro_schema(self) -> dict:
        """The Avro record schema for the dataset, in the column order of the CSV."""
        return {
            "type": "record",
            "name": self.schema_name,
            "namespace": "com.amazonaws.personalize.schema",
            "fields": [column.avro_field() for column in self.columns],
            "version": "1.0",
        }


def _id_column(name: str) -> Column:
    return Column(name, "string", max_length=MAX_ID_LENGTH)


def _categorical(name: str, nullable: bool = True) -> Column:
    return Column(name, "string", nullable=nullable, categorical=True, max_length=MAX_CATEGORICAL_LENGTH)


INTERACTIONS = Dataset(
    name="interactions",
    schema_name="Interactions",
    columns=(
        _id_column("USER_ID"),
        _id_column("ITEM_ID"),
        Column("TIMESTAMP", "long"),
        Column("EVENT_TYPE", "string"),
        Column("EVENT_VALUE", "float", nullable=True, min_value=0.0),
    ),
    unique_key=("TIMESTAMP", "USER_ID", "ITEM_ID", "EVENT_TYPE"),
)

ITEMS = Dataset(
    name="items",
    schema_name="Items",
    columns=(
        _id_column("ITEM_ID"),
        Column("PRICE", "float", min_value=0.0),
        _categorical("CATEGORY_L1", nullable=False),
        _categorical("CATEGORY_L2"),
        Column("PRODUCT_DESCRIPTION", "string", nullable=True, textual=True, max_length=MAX_TEXTUAL_LENGTH),
        _categorical("GENDER"),
        Column("PROMOTED", "boolean"),
        Column("CREATION_TIMESTAMP", "long"),
    ),
    unique_key=("ITEM_ID",),
)

USERS = Dataset(
    name="users",
    schema_name="Users",
    columns=(
        _id_column("USER_ID"),
        Column("AGE", "int", nullable=True, min_value=0.0),
        _categorical("GENDER"),
    ),
    unique_key=("USER_ID",),
)

DATASETS: dict[str, Dataset] = {dataset.name: dataset for dataset in (INTERACTIONS, ITEMS, USERS)}
