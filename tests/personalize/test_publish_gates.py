"""What validate decides before publishing beyond the dataset minimums: which recommenders can train on
the validated interactions (config.json lists only those), and the ceilings on quarantined shares."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pandas as pd
import pytest

from hubspot_pipeline.config import ConfigError, load_config
from hubspot_pipeline.personalize.checks import (
    QuarantineCeilingExceeded,
    RecommenderShortfall,
    check_quarantine_ceilings,
    recommenders_left_out,
)
from hubspot_pipeline.personalize.files import mlops_config
from hubspot_pipeline.personalize.report import run_report
from hubspot_pipeline.personalize.rules import InteractionTallies, recommender_shortfalls
from hubspot_pipeline.personalize.settings import RECOMMENDER_REQUIREMENTS
from hubspot_pipeline.quality.ledger import DatasetLedger

CONFIG = load_config().personalize


def tallies(**per_event_type: int) -> InteractionTallies:
    """Tallies of interactions with these many rows per EVENT_TYPE, added up over two chunks."""
    result = InteractionTallies()
    for half in (0, 1):
        event_types = [
            name for name, count in per_event_type.items() for _ in range(count // 2 + half * (count % 2))
        ]
        result.add(pd.DataFrame({"EVENT_TYPE": event_types, "USER_ID": ["u"] * len(event_types)}))
    return result


def test_every_default_recommender_has_its_requirement_and_the_default_config_lists_them_all():
    assert set(CONFIG.recommenders) == set(RECOMMENDER_REQUIREMENTS)
    assert CONFIG.recommender_shortfall == "omit"
    assert recommender_shortfalls(tallies(View=1000, Purchase=1000), CONFIG.recommenders) == {}


def test_a_recommender_short_of_its_event_type_is_named_with_why():
    shortfalls = recommender_shortfalls(tallies(View=5000, Purchase=999), CONFIG.recommenders)
    assert shortfalls == {
        "popular-items-by-purchases": "999 Purchase interactions, needs at least 1000",
        "frequently-bought-together": "999 Purchase interactions, needs at least 1000",
    }
    views_short = recommender_shortfalls(tallies(View=999, Purchase=1000), CONFIG.recommenders)
    assert sorted(views_short) == ["customers-who-viewed-x-also-viewed", "popular-items-by-views"]
    assert recommender_shortfalls(tallies(View=2000), ["recommended-for-you"]) == {
        "recommended-for-you": "0 Purchase interactions, needs at least 1"
    }


def test_omit_leaves_them_out_of_config_json_fail_raises_and_none_left_always_raises():
    short_of_purchases = tallies(View=5000, Purchase=10)
    left_out = recommenders_left_out(short_of_purchases, CONFIG)
    assert sorted(left_out) == ["frequently-bought-together", "popular-items-by-purchases"]
    document = mlops_config(CONFIG, ["items", "users", "interactions"], left_out)
    arns = [entry["serviceConfig"]["recipeArn"].rsplit("/", 1)[1] for entry in document["recommenders"]]
    assert arns == [
        "aws-ecomm-recommended-for-you",
        "aws-ecomm-popular-items-by-views",
        "aws-ecomm-customers-who-viewed-x-also-viewed",
    ]
    failing = dataclasses.replace(CONFIG, recommender_shortfall="fail")
    with pytest.raises(RecommenderShortfall, match="frequently-bought-together: 10 Purchase interactions"):
        recommenders_left_out(short_of_purchases, failing)
    assert recommenders_left_out(tallies(View=1000, Purchase=1000), failing) == {}
    only_purchases = dataclasses.replace(CONFIG, recommenders=("popular-items-by-purchases",))
    with pytest.raises(RecommenderShortfall, match="none of them can"):
        recommenders_left_out(short_of_purchases, only_purchases)


def test_the_report_says_which_recommenders_were_left_out_and_why():
    manifest = {
        "export_date": "2024-06-30",
        "dataset_group": "g",
        "ledgers": {},
        "files": {},
        "data_docs_key": "runs/g/2024-06-30/data_docs/index.html",
        "recommenders_left_out": {
            "frequently-bought-together": "10 Purchase interactions, needs at least 1000"
        },
    }
    text = run_report(manifest, {})
    assert "- `frequently-bought-together`: 10 Purchase interactions, needs at least 1000" in text
    assert "left out" not in run_report({**manifest, "recommenders_left_out": {}}, {})


def test_the_share_quarantined_per_dataset_has_a_ceiling():
    within = DatasetLedger(read=100, written=80, quarantined=Counter({"A: x": 10, "B: y": 10}))
    assert within.quarantine_excess(0.2, {}) == []
    above = DatasetLedger(read=100, written=79, quarantined=Counter({"A: x": 11, "B: y": 10}))
    assert above.quarantine_excess(0.2, {}) == ["21 of 100 rows (21.0%) quarantined, at most 20.0% allowed"]
    assert above.quarantine_excess(None, {}) == []
    assert DatasetLedger().quarantine_excess(0.0, {"": 0.0}) == []  # nothing read: nothing to compare


def test_each_reason_has_a_ceiling_counting_rows_with_several_reasons_for_each():
    rows = DatasetLedger(
        read=100,
        written=85,
        quarantined=Counter(
            {
                "EVENT_TYPE: not an allowed value": 8,
                "ITEM_ID: missing; EVENT_TYPE: not an allowed value": 3,
                "ITEM_ID: missing": 4,
            }
        ),
    )
    assert rows.reason_counts() == {"EVENT_TYPE: not an allowed value": 11, "ITEM_ID: missing": 7}
    assert rows.quarantine_excess(None, {"": 0.1}) == [
        "11 of 100 rows (11.0%) quarantined for 'EVENT_TYPE: not an allowed value', at most 10.0% allowed"
    ]
    # by prefix: the longest matching one applies, reasons matching none have no ceiling of their own
    assert rows.quarantine_excess(None, {"ITEM_ID": 0.05}) == [
        "7 of 100 rows (7.0%) quarantined for 'ITEM_ID: missing', at most 5.0% allowed"
    ]
    assert rows.quarantine_excess(None, {"": 0.05, "EVENT_TYPE": 0.2}) == [
        "7 of 100 rows (7.0%) quarantined for 'ITEM_ID: missing', at most 5.0% allowed"
    ]


def test_a_dataset_over_its_ceiling_fails_validation_naming_the_top_reasons():
    ledgers = {
        "items": DatasetLedger(read=100, written=100),
        "interactions": DatasetLedger(
            read=1000,
            written=700,
            quarantined=Counter({"EVENT_TYPE: not an allowed value": 250, "ITEM_ID: missing": 50}),
        ),
    }
    with pytest.raises(QuarantineCeilingExceeded) as failure:
        check_quarantine_ceilings(ledgers, CONFIG)
    message = str(failure.value)
    assert message.startswith("interactions: 300 of 1000 rows (30.0%) quarantined, at most 20.0% allowed")
    assert "Top reasons: 250 × EVENT_TYPE: not an allowed value; 50 × ITEM_ID: missing" in message
    assert "items" not in message
    check_quarantine_ceilings(
        ledgers, dataclasses.replace(CONFIG, max_quarantined_share=None, max_quarantined_share_per_reason={})
    )


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ({"recommenders": ["popular-items-by-views", "best-sellers"]}, "personalize.recommenders"),
        ({"recommenders": ["popular-items-by-views", "popular-items-by-views"]}, "personalize.recommenders"),
        ({"recommenders": []}, "personalize.recommenders"),
        ({"recommender_shortfall": "skip"}, "personalize.recommender_shortfall"),
        ({"max_quarantined_share": 1.5}, "personalize.max_quarantined_share"),
        ({"max_quarantined_share": "20%"}, "personalize.max_quarantined_share"),
        ({"max_quarantined_share_per_reason": -0.1}, "personalize.max_quarantined_share_per_reason"),
        (
            {"max_quarantined_share_per_reason": {"EVENT_TYPE": True}},
            "max_quarantined_share_per_reason.EVENT_TYPE",
        ),
    ],
)
def test_bad_settings_are_refused_naming_the_key(override, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(override={"personalize": override})


def test_ceiling_settings_parse_to_shares_by_reason_prefix():
    assert (CONFIG.max_quarantined_share, CONFIG.max_quarantined_share_per_reason) == (0.2, {"": 0.1})
    config = load_config(
        override={
            "personalize": {
                "max_quarantined_share": None,
                "max_quarantined_share_per_reason": {"EVENT_TYPE": 0.05},
            }
        }
    ).personalize
    assert (config.max_quarantined_share, config.max_quarantined_share_per_reason) == (
        None,
        {"EVENT_TYPE": 0.05},
    )
    assert (
        load_config(
            override={"personalize": {"max_quarantined_share_per_reason": None}}
        ).personalize.max_quarantined_share_per_reason
        == {}
    )
