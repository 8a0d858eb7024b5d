"""Dataset CSVs and config.json as the MLOps stack and Personalize read them: the schemas against the
table written from the Personalize developer guide (``output_rules.DOCUMENTED``)."""

from __future__ import annotations

import copy
import csv
import io
import json

import pandas as pd
import pytest

from hubspot_pipeline.config import load_config
from hubspot_pipeline.personalize.datasets import ITEMS
from hubspot_pipeline.personalize.files import dataset_csv, json_bytes, max_age, mlops_config
from tests.personalize.output_rules import ALLOWED_TOP_LEVEL_KEYS, check_training_folder, schema_problems

NAMES = ("items", "users", "interactions")


def _published_schemas() -> dict[str, dict]:
    document = mlops_config(load_config().personalize, list(NAMES))
    return {name: document["datasets"][name]["schema"]["serviceConfig"]["schema"] for name in NAMES}


def _items() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ITEM_ID": ["a,1", 'b"2', "c"],
            "PRICE": pd.array([1.5, 20.0, 0.0], dtype="Float64"),
            "CATEGORY_L1": ["x", "ü ✓", "z"],
            "CATEGORY_L2": ["l2", None, "y"],
            "PRODUCT_DESCRIPTION": ['He said "hi", then left', None, "a | b"],
            "GENDER": [None, "F", "M"],
            "PROMOTED": [True, False, True],
            "CREATION_TIMESTAMP": pd.array([1, 2, 3], dtype="Int64"),
        }
    )


def test_csv_round_trips_exactly_through_csv_module_and_pandas():
    data = dataset_csv(_items(), ITEMS)
    text = data.decode("utf-8")
    schema_order = [field["name"] for field in _published_schemas()["items"]["fields"]]
    assert text.splitlines()[0] == ",".join(schema_order)  # header unquoted, in config.json's order
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ["a,1", "1.5", "x", "l2", 'He said "hi", then left', "", "true", "1"]
    assert rows[2] == ['b"2', "20", "ü ✓", "", "", "F", "false", "2"]  # a whole float as Arrow writes it
    assert text.splitlines()[1].startswith('"a,1",1.5,"x"')  # text quoted, numbers bare
    back = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    assert back["PRODUCT_DESCRIPTION"].tolist() == ['He said "hi", then left', "", "a | b"]
    assert len(text.splitlines()) == 4  # one record per physical line


def test_csv_chunks_without_header_append_to_the_whole_file():
    items = _items()
    whole = dataset_csv(items, ITEMS)
    chunked = dataset_csv(items.iloc[:1], ITEMS) + dataset_csv(items.iloc[1:], ITEMS, header=False)
    assert chunked == whole
    assert dataset_csv(items.iloc[:0], ITEMS, header=False) == b""


def test_config_json_schemas_meet_the_documented_table():
    document = mlops_config(load_config().personalize, list(NAMES))
    assert set(document) <= ALLOWED_TOP_LEVEL_KEYS
    assert document["datasetGroup"]["workflowConfig"]["maxAge"] == "1 day"
    for name, schema in _published_schemas().items():
        assert schema_problems(name, schema) == [], name
    arns = [r["serviceConfig"]["recipeArn"] for r in document["recommenders"]]
    assert "arn:aws:personalize:::recipe/aws-ecomm-recommended-for-you" in arns and len(arns) == 5


def _field(schema: dict, name: str) -> dict:
    return next(field for field in schema["fields"] if field["name"] == name)


BROKEN_SCHEMAS = {
    "interactions without USER_ID": (
        "interactions",
        lambda s: s["fields"].remove(_field(s, "USER_ID")),
        "required USER_ID missing",
    ),
    "categorical EVENT_TYPE": (
        "interactions",
        lambda s: _field(s, "EVENT_TYPE").update(categorical=True),
        "EVENT_TYPE: categorical must be False",
    ),
    "TIMESTAMP as a string": (
        "interactions",
        lambda s: _field(s, "TIMESTAMP").update(type="string"),
        "TIMESTAMP: type ['string']",
    ),
    "nullable USER_ID": (
        "interactions",
        lambda s: _field(s, "USER_ID").update(type=["null", "string"]),
        "USER_ID: nullable",
    ),
    "CATEGORY_L1 not categorical": (
        "items",
        lambda s: _field(s, "CATEGORY_L1").pop("categorical"),
        "CATEGORY_L1: categorical must be True",
    ),
    "PRODUCT_DESCRIPTION not textual": (
        "items",
        lambda s: _field(s, "PRODUCT_DESCRIPTION").pop("textual"),
        "PRODUCT_DESCRIPTION: textual must be True",
    ),
    "PRICE as a string": ("items", lambda s: _field(s, "PRICE").update(type="string"), "PRICE: type"),
    "users' GENDER a plain string": (
        "users",
        lambda s: _field(s, "GENDER").pop("categorical"),
        "GENDER: a string that is neither categorical nor textual",
    ),
    "textual field on users": (
        "users",
        lambda s: s["fields"].append({"name": "BIO", "type": ["null", "string"], "textual": True}),
        "only items may have one",
    ),
    "users without metadata": ("users", lambda s: s.update(fields=s["fields"][:1]), "no metadata field"),
    "wrong record name": ("items", lambda s: s.update(name="Item"), "not a record named Items"),
}


@pytest.mark.parametrize("case", BROKEN_SCHEMAS)
def test_a_schema_breaking_the_documented_table_is_refused(case):
    dataset, breaking, expected = BROKEN_SCHEMAS[case]
    schema = copy.deepcopy(_published_schemas()[dataset])
    breaking(schema)
    problems = schema_problems(dataset, schema)
    assert any(expected in problem for problem in problems), problems


def test_csv_values_breaking_the_documented_limits_are_found(tmp_path):
    document = mlops_config(load_config().personalize, list(NAMES))
    (tmp_path / "config.json").write_bytes(json_bytes(document))
    rows = {
        "interactions": ["u1,i1,1700000000000,View,", ",i1,1700000000,View,"],
        "items": [f"i1,1.5,{'c' * 1001},,,,True,1700000000", f"{'i' * 257},2,c,,,,true,1700000000"],
        "users": ["u1,abc,F"],
    }
    for name, lines in rows.items():
        header = ",".join(field["name"] for field in _published_schemas()[name]["fields"])
        (tmp_path / f"{name}.csv").write_text("\n".join([header, *lines]) + "\n")
    problems = "\n".join(check_training_folder(tmp_path))
    for expected in (
        "interactions.csv line 2 TIMESTAMP: 1700000000000 is not Unix epoch seconds",
        "interactions.csv line 3 USER_ID: empty but not nullable",
        "items.csv line 2 CATEGORY_L1: 1001 characters, at most 1000",
        "items.csv line 2 PROMOTED: 'True' is not a lower-case boolean",
        "items.csv line 3 ITEM_ID: 257 characters, at most 256",
        "users.csv line 2 AGE: 'abc' is not an integer",
    ):
        assert expected in problems


def test_max_age_follows_the_schedule():
    assert max_age("0 3 * * *") == "1 day"
    assert max_age("0 3 * * 1") == "7 days"
    assert max_age("0 */6 * * *") == "6 hours"


def test_json_is_stable():
    assert json_bytes({"b": 1, "a": [1, 2]}) == json_bytes({"a": [1, 2], "b": 1})
    assert json.loads(json_bytes({"a": "ü"})) == {"a": "ü"}
