"""An independent reading of ``shared/spec/personalize.md``: checks published files the way Personalize
and the MLOps stack would read them, without using the pipeline's own validation code."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
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
ID_FIELDS = {"USER_ID", "ITEM_ID"}


def _field_types(field: dict) -> set[str]:
    declared = field["type"]
    return set(declared) if isinstance(declared, list) else {declared}


def _check_value(dataset: str, line: int, field: dict, value: str) -> list[str]:
    name, types = field["name"], _field_types(field)
    where = f"{dataset}.csv line {line} {name}"
    if value == "":
        return [] if "null" in types else [f"{where}: empty but not nullable"]
    problems = []
    if "long" in types or "int" in types:
        if not value.lstrip("-").isdigit():
            problems.append(f"{where}: {value!r} is not an integer")
    elif "float" in types:
        try:
            float(value)
        except ValueError:
            problems.append(f"{where}: {value!r} is not a number")
    elif "boolean" in types and value not in ("true", "false"):
        problems.append(f"{where}: {value!r} is not a lower-case boolean")
    if name in ID_FIELDS and len(value) > 256:
        problems.append(f"{where}: id longer than 256")
    if field.get("categorical") and len(value) > 1000:
        problems.append(f"{where}: categorical value longer than 1000")
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
        fields = schema["fields"]
        raw = (folder / f"{dataset}.csv").read_bytes()
        text = raw.decode("utf-8")
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
                problems.extend(_check_value(dataset, line, field, value))
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
