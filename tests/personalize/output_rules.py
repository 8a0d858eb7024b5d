"""An independent reading of the Amazon Personalize developer guide and of the MLOps stack's rules:
checks published files the way Personalize and the stack would read them, without the pipeline's code.

The schemas are checked against :data:`DOCUMENTED`, a table written here from the guide, not against the
pipeline's own definitions; the CSVs are then read field by field as their checked schema declares them.
Sources (https://docs.aws.amazon.com/personalize/latest/dg/<page>.html): ``how-it-works-dataset-schema``
(field types, categorical and textual), ``ECOMMERCE-interactions-dataset``, ``ECOMMERCE-items-dataset``,
``ECOMMERCE-users-dataset``, ``item-dataset-requirements`` (ids ≤ 256 characters, categorical values
≤ 1,000), ``data-prep-formatting`` (CSV, epoch seconds, lower-case booleans), ``limits`` (metadata
columns, textual ≤ 20,000 characters); the stack's: https://docs.aws.amazon.com/solutions/latest/
maintaining-personalized-experiences-with-ml/ (allowed keys of its config)."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ALLOWED_TOP_LEVEL_KEYS = {
    "datasetGroup",
    "datasets",
    "eventTracker",
    "filters",
    "recommenders",
    "solutions",
    "tags",
}
AVRO_TYPES = {"string", "int", "long", "float", "double", "boolean"}
MAX_ID, MAX_CATEGORICAL, MAX_TEXTUAL = 256, 1_000, 20_000
MAX_EPOCH_SECONDS = 10_000_000_000  # a larger timestamp is in milliseconds (year 2286 in seconds)


@dataclass(frozen=True)
class Documented:
    """A field as the guide defines it: its types, whether the schema must have it and may make it
    nullable, whether it is categorical (True: must be; False: must not be; None: the guide leaves it)
    or textual, and the longest value."""

    types: frozenset[str]
    required: bool = False
    nullable: bool = True
    categorical: bool | None = None
    textual: bool = False
    max_length: int | None = None


def _id(required: bool = True) -> Documented:
    return Documented(frozenset({"string"}), required, nullable=False, categorical=False, max_length=MAX_ID)


def _categorical(required: bool = False) -> Documented:
    return Documented(frozenset({"string"}), required, nullable=not required, categorical=True)


_STRING_NOT_CATEGORICAL = Documented(frozenset({"string"}), categorical=False)
_TIMESTAMP = Documented(frozenset({"long"}), required=True, nullable=False)
DOCUMENTED: dict[str, dict[str, Documented]] = {
    "interactions": {
        "USER_ID": _id(),
        "ITEM_ID": _id(),
        "TIMESTAMP": _TIMESTAMP,
        # required in the ECOMMERCE domain; a reserved string that must not be categorical
        "EVENT_TYPE": Documented(frozenset({"string"}), required=True, nullable=False, categorical=False),
        "EVENT_VALUE": Documented(frozenset({"float"})),
        "IMPRESSION": _STRING_NOT_CATEGORICAL,
        "RECOMMENDATION_ID": _STRING_NOT_CATEGORICAL,
    },
    "items": {
        "ITEM_ID": _id(),
        "PRICE": Documented(frozenset({"float"}), required=True, nullable=False),
        "CATEGORY_L1": _categorical(required=True),
        "CATEGORY_L2": _categorical(),
        "CATEGORY_L3": _categorical(),
        "PRODUCT_DESCRIPTION": Documented(frozenset({"string"}), textual=True, max_length=MAX_TEXTUAL),
        # the custom-schema page says long, the ECOMMERCE page float: either is accepted
        "CREATION_TIMESTAMP": Documented(frozenset({"long", "float"}), nullable=False),
        "AGE_GROUP": _categorical(),
        "ADULT": _categorical(),
    },
    "users": {"USER_ID": _id()},
}
SCHEMA_NAMES = {"interactions": "Interactions", "items": "Items", "users": "Users"}
TIMESTAMPS = {"TIMESTAMP", "CREATION_TIMESTAMP"}
METADATA_LIMITS = {"interactions": 5, "items": 100, "users": 25}


def _types(field: dict) -> tuple[set[str], bool]:
    """A field's declared types without ``null``, and whether ``null`` is among them."""
    declared = field["type"]
    types = set(declared) if isinstance(declared, list) else {declared}
    return types - {"null"}, "null" in types


def _field_problems(field: dict, rule: Documented | None) -> list[str]:
    """How a field declaration breaks the rules of every field and ``rule`` (None: a custom field)."""
    types, nullable = _types(field)
    categorical, textual = bool(field.get("categorical")), bool(field.get("textual"))
    problems = []
    if len(types) != 1 or not types <= AVRO_TYPES:
        problems.append(f"type {field['type']!r} is not one Avro type (or it and null)")
    if categorical and (textual or types != {"string"}):
        problems.append("only a string can be categorical, and not textual too")
    plain_string = types == {"string"} and not (categorical or textual)
    if plain_string and (rule is None or rule.categorical is not False):
        problems.append("a string that is neither categorical nor textual")
    if rule is None:
        return problems
    if not types <= rule.types:
        problems.append(f"type {sorted(types)} but the guide says {sorted(rule.types)}")
    if nullable and not rule.nullable:
        problems.append("nullable but the guide requires a value")
    if rule.categorical is not None and categorical != rule.categorical:
        problems.append(f"categorical must be {rule.categorical}")
    if textual != rule.textual:
        problems.append(f"textual must be {rule.textual}")
    return problems


def schema_problems(dataset: str, schema: dict) -> list[str]:
    """Every way the Avro ``schema`` of ``dataset`` breaks :data:`DOCUMENTED` and the guide's limits."""
    documented = DOCUMENTED[dataset]
    fields = {field["name"]: field for field in schema.get("fields", [])}
    problems = []
    if schema.get("type") != "record" or schema.get("name") != SCHEMA_NAMES[dataset]:
        problems.append(f"{dataset}: not a record named {SCHEMA_NAMES[dataset]}")
    if len(fields) != len(schema.get("fields", [])):
        problems.append(f"{dataset}: a field name repeats")
    missing = [name for name, rule in documented.items() if rule.required and name not in fields]
    problems += [f"{dataset}: required {name} missing" for name in missing]
    metadata = [name for name in fields if name not in {"USER_ID", "ITEM_ID", "TIMESTAMP"}]
    textual = [name for name, field in fields.items() if field.get("textual")]
    for name, field in fields.items():
        problems += [f"{dataset}.{name}: {each}" for each in _field_problems(field, documented.get(name))]
    if textual and dataset != "items":
        problems.append(f"{dataset}: textual fields {textual}: only items may have one")
    if len(textual) > 1:
        problems.append(f"{dataset}: {len(textual)} textual fields, at most 1")
    # interactions: at most 5 custom (not reserved) metadata fields; items and users: all but the id count
    counted = [name for name in metadata if name not in documented] if dataset == "interactions" else metadata
    if len(counted) > METADATA_LIMITS[dataset]:
        problems.append(f"{dataset}: {len(counted)} metadata fields, at most {METADATA_LIMITS[dataset]}")
    if not metadata:
        problems.append(f"{dataset}: no metadata field (at least one is required)")
    return problems


def _value_problems(dataset: str, line: int, field: dict, value: str) -> list[str]:
    """What Personalize would refuse in one CSV value of ``field`` (its schema declaration, checked)."""
    name = field["name"]
    types, nullable = _types(field)
    rule = DOCUMENTED[dataset].get(name)
    where = f"{dataset}.csv line {line} {name}"
    if value == "":
        return [] if nullable else [f"{where}: empty but not nullable"]
    problems = []
    if types & {"int", "long"}:
        if not value.lstrip("-").isdigit():
            problems.append(f"{where}: {value!r} is not an integer")
        elif name in TIMESTAMPS and not 0 <= int(value) < MAX_EPOCH_SECONDS:
            problems.append(f"{where}: {value} is not Unix epoch seconds")
    elif types & {"float", "double"}:
        try:
            float(value)
        except ValueError:
            problems.append(f"{where}: {value!r} is not a number")
    elif types == {"boolean"} and value not in ("true", "false"):
        problems.append(f"{where}: {value!r} is not a lower-case boolean")
    limit = MAX_CATEGORICAL if field.get("categorical") else MAX_TEXTUAL if field.get("textual") else None
    limit = rule.max_length if rule and rule.max_length else limit
    if limit and len(value) > limit:
        problems.append(f"{where}: {len(value)} characters, at most {limit}")
    if "\n" in value or "\r" in value or "\t" in value:
        problems.append(f"{where}: newline or tab in a text field")
    return problems


def check_training_folder(
    folder: Path, *, min_interactions: int = 1000, min_users_with_two: int = 25
) -> list[str]:
    """Every problem Personalize or the MLOps stack would have with ``train/<group>/``; empty if none."""
    problems: list[str] = []
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    if set(config) - ALLOWED_TOP_LEVEL_KEYS:
        problems.append(f"config.json: keys not allowed: {set(config) - ALLOWED_TOP_LEVEL_KEYS}")
    if "interactions" not in config.get("datasets", {}):
        problems.append("config.json: no interactions dataset")
    rows_by_dataset = {}
    for dataset, spec in config["datasets"].items():
        schema = spec["schema"]["serviceConfig"]["schema"]
        problems.extend(schema_problems(dataset, schema))
        fields = schema["fields"]
        text = (folder / f"{dataset}.csv").read_bytes().decode("utf-8")
        lines = text.split("\n")
        if lines[0] != ",".join(field["name"] for field in fields):
            problems.append(f"{dataset}.csv: header {lines[0]!r} is not the schema's field order")
        records = list(csv.reader(io.StringIO(text)))
        if len(records) != len([line for line in lines if line]):
            problems.append(f"{dataset}.csv: a record spans several physical lines")
        for line, record in enumerate(records[1:], start=2):
            if len(record) != len(fields):
                problems.append(f"{dataset}.csv line {line}: {len(record)} fields, schema has {len(fields)}")
                continue
            for field, value in zip(fields, record, strict=True):
                problems.extend(_value_problems(dataset, line, field, value))
        rows_by_dataset[dataset] = [dict(zip(records[0], record, strict=False)) for record in records[1:]]
    interactions = rows_by_dataset["interactions"]
    if len(interactions) < min_interactions:
        problems.append(f"interactions: {len(interactions)} < {min_interactions}")
    per_user = Counter(row["USER_ID"] for row in interactions)
    if sum(1 for count in per_user.values() if count >= 2) < min_users_with_two:
        problems.append(f"interactions: fewer than {min_users_with_two} users with 2 interactions")
    event_types = {row["EVENT_TYPE"] for row in interactions}
    if not {"View", "Purchase"} <= event_types:
        problems.append(f"interactions: event types {event_types} lack View or Purchase")
    keys = Counter(tuple(row.values()) for row in interactions)
    if duplicates := [key for key, count in keys.items() if count > 1]:
        problems.append(f"interactions: {len(duplicates)} duplicated rows")
    for dataset, key in (("items", "ITEM_ID"), ("users", "USER_ID")):
        counts = Counter(row[key] for row in rows_by_dataset.get(dataset, []))
        if duplicates := [value for value, count in counts.items() if count > 1]:
            problems.append(f"{dataset}: duplicated {key}: {duplicates[:3]}")
    return problems
