"""Dataset CSVs and config.json as the MLOps stack and Personalize read them."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd

from hubspot_pipeline.config import load_config
from hubspot_pipeline.personalize.datasets import DATASETS, ITEMS
from hubspot_pipeline.personalize.files import dataset_csv, json_bytes, max_age, mlops_config
from tests.personalize.output_rules import ALLOWED_TOP_LEVEL_KEYS


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
    assert text.splitlines()[0] == ",".join(ITEMS.column_names)  # header unquoted, schema order
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


def test_config_json_schemas_are_the_dataset_definitions():
    config = load_config().personalize
    document = mlops_config(config, ["items", "users", "interactions"])
    assert set(document) <= ALLOWED_TOP_LEVEL_KEYS
    assert document["datasetGroup"]["workflowConfig"]["maxAge"] == "1 day"
    for name in ("items", "users", "interactions"):
        schema = document["datasets"][name]["schema"]["serviceConfig"]["schema"]
        assert schema == DATASETS[name].avro_schema()
        assert [field["name"] for field in schema["fields"]] == DATASETS[name].column_names
    interactions = {
        f["name"]: f
        for f in document["datasets"]["interactions"]["schema"]["serviceConfig"]["schema"]["fields"]
    }
    assert "categorical" not in interactions["EVENT_TYPE"]
    assert interactions["TIMESTAMP"]["type"] == "long"
    arns = [r["serviceConfig"]["recipeArn"] for r in document["recommenders"]]
    assert "arn:aws:personalize:::recipe/aws-ecomm-recommended-for-you" in arns and len(arns) == 5


def test_max_age_follows_the_schedule():
    assert max_age("0 3 * * *") == "1 day"
    assert max_age("0 3 * * 1") == "7 days"
    assert max_age("0 */6 * * *") == "6 hours"


def test_json_is_stable():
    assert json_bytes({"b": 1, "a": [1, 2]}) == json_bytes({"a": [1, 2], "b": 1})
    assert json.loads(json_bytes({"a": "ü"})) == {"a": "ü"}
