"""The validate task's work: each dataset's candidate rows checked against its rules (quarantine with a
reason), repeated ids and keys dropped, interactions chunk by chunk, then the datasets as a whole."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from airflow.sdk.exceptions import AirflowFailException

from hubspot_pipeline.config import PersonalizeConfig
from hubspot_pipeline.formatting import clean_identifier
from hubspot_pipeline.personalize.chunks import part_key, release_memory
from hubspot_pipeline.personalize.datasets import DATASETS, INTERACTIONS, Dataset
from hubspot_pipeline.personalize.files import json_bytes
from hubspot_pipeline.personalize.run import ExportRun
from hubspot_pipeline.personalize.transform import (
    REPEATED_EVENT_ID,
    custom_event_interactions,
    drop_duplicate_rows,
    repeated_key_reason,
    sort_for_output,
    sorted_rows,
)
from hubspot_pipeline.personalize.unload import (
    drop_result_table,
)
from hubspot_pipeline.personalize.unload import validate_interactions as validate_in_warehouse
from hubspot_pipeline.quality.ledger import DatasetLedger
from hubspot_pipeline.quality.report import top_reasons

if TYPE_CHECKING:
    from hubspot_pipeline.personalize.rules import InteractionTallies

RECOMMENDERS_KEY = "recommenders_left_out.json"  # staged by validate: recommenders config.json leaves out


def row_rules(run: ExportRun, published_items: set[str] | None = None) -> dict[str, dict]:
    """Per dataset, the rules beyond its column definitions its rows are validated against (keyword
    arguments of :func:`~hubspot_pipeline.personalize.rules.quarantine_invalid_rows`): allowed values, value
    bounds, and the items interactions may name (``published_items``, when known items are required)."""
    personalize, window_bounds = run.config.personalize, run.window.epoch_bounds()
    interactions: dict[str, dict] = {
        "allowed_values": {"EVENT_TYPE": personalize.personalize_event_types},
        "value_bounds": {"TIMESTAMP": window_bounds},
    }
    if personalize.require_known_items and published_items is not None:
        interactions["known_values"] = {"ITEM_ID": published_items}
    return {
        "interactions": interactions,
        "items": {"value_bounds": {"CREATION_TIMESTAMP": (0, window_bounds[1])}},
        "users": {},
    }


def validate_datasets(run: ExportRun) -> dict:
    from hubspot_pipeline.personalize.rules import check_dataset
    from hubspot_pipeline.quality.validation import raise_on_failures

    ledgers = run.load_ledgers("prepare")
    results: dict[str, list[dict]] = {}
    publishable = []
    published_items: set[str] = set()
    for name in ("items", "users"):
        candidates = run.staging.get_frame(run.staging_key(f"candidates/{name}.parquet"))
        rules = row_rules(run)[name]
        final, quarantined, row_results = _validated_rows(candidates, DATASETS[name], ledgers[name], rules)
        run.staging.put_frame(run.staging_key(f"final/{name}.parquet"), final)
        run.staging.put_frame(run.staging_key(f"quarantine/{name}.parquet"), quarantined)
        results[name] = [summary.to_dict() for summary in row_results]
        publishable += check_dataset(final[DATASETS[name].column_names], DATASETS[name], **rules)
        if name == "items":
            published_items = set(final["ITEM_ID"])
    if run.config.personalize.unload.enabled:
        interaction_results, interaction_checks, tallies = validate_in_warehouse(
            run, ledgers["interactions"], row_rules(run, published_items)["interactions"]
        )
    else:
        interaction_results, interaction_checks, tallies = _validate_interactions(
            run, ledgers["interactions"], published_items
        )
    results["interactions"] = [summary.to_dict() for summary in interaction_results]
    publishable += interaction_checks
    for name, ledger in ledgers.items():
        ledger.check(name)
    results["publishable"] = [summary.to_dict() for summary in publishable]
    run.save_ledgers(ledgers, "validate")
    run.staging.put_bytes(run.staging_key("expectations.json"), json_bytes(results), "application/json")
    try:
        raise_on_failures(publishable)
        check_quarantine_ceilings(ledgers, run.config.personalize)
        left_out = recommenders_left_out(tallies, run.config.personalize)
    except AirflowFailException:  # DatasetValidationError too
        if run.config.personalize.unload.enabled:  # nothing will unload the warehouse's table
            drop_result_table(run)
        raise
    run.staging.put_bytes(run.staging_key(RECOMMENDERS_KEY), json_bytes(left_out), "application/json")
    return {"ledgers": {name: ledger.to_dict() for name, ledger in ledgers.items()}, "expectations": results}


class QuarantineCeilingExceeded(AirflowFailException):
    """Too large a share of a dataset's rows was quarantined: publishing it would be a degraded dataset."""


class RecommenderShortfall(AirflowFailException):
    """A configured recommender cannot train on the validated interactions (``recommender_shortfall:
    fail``), or none of them can."""


def check_quarantine_ceilings(ledgers: dict[str, DatasetLedger], config: PersonalizeConfig) -> None:
    """Raise :class:`QuarantineCeilingExceeded` when a dataset's quarantined rows exceed
    ``max_quarantined_share`` of the rows read, in all or for one reason
    (``max_quarantined_share_per_reason``); the message names the top reasons of each such dataset."""
    problems = [
        f"{name}: {'; '.join(excess)}. Top reasons: {top_reasons(ledger.quarantined)}"
        for name, ledger in ledgers.items()
        if (
            excess := ledger.quarantine_excess(
                config.max_quarantined_share, config.max_quarantined_share_per_reason
            )
        )
    ]
    if problems:
        raise QuarantineCeilingExceeded("\n".join(problems))


def recommenders_left_out(tallies: InteractionTallies, config: PersonalizeConfig) -> dict[str, str]:
    """The configured recommenders that cannot train on the interactions' tallies, with why (config.json
    leaves them out). Raises :class:`RecommenderShortfall` instead when ``recommender_shortfall`` is
    ``fail``, or when none can train (a config.json without a recommender trains nothing)."""
    from hubspot_pipeline.personalize.rules import recommender_shortfalls

    left_out = recommender_shortfalls(tallies, config.recommenders)
    none_left = len(left_out) == len(config.recommenders)
    if left_out and (config.recommender_shortfall == "fail" or none_left):
        why = "\n".join(f"{name}: {reason}" for name, reason in left_out.items())
        scope = " (none of them can)" if none_left else ""
        raise RecommenderShortfall(
            f"recommenders that cannot train on the validated interactions{scope}:\n{why}"
        )
    return left_out


def _validated_rows(
    candidates: pd.DataFrame,
    dataset: Dataset,
    ledger: DatasetLedger,
    rules: dict,
    suite_name: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, list]:
    """Quarantine the candidates failing a row rule (GX and referential checks; ``rules`` from
    :func:`row_rules`), then keep the first row of each unique key in output order; return the rows to
    publish, the quarantined rows and the check summaries."""
    from hubspot_pipeline.personalize.rules import quarantine_invalid_rows

    checked = quarantine_invalid_rows(candidates, dataset, **rules, suite_name=suite_name)
    ledger.quarantine(checked.quarantined["QUARANTINE_REASON"])
    kept = drop_duplicate_rows(
        sort_for_output(checked.kept, dataset), list(dataset.unique_key), repeated_key_reason(dataset), ledger
    )
    ledger.written += len(kept)
    return kept, checked.quarantined, checked.results


def _validate_interactions(
    run: ExportRun, ledger: DatasetLedger, published_items: set[str]
) -> tuple[list, list, InteractionTallies]:
    """Build each chunk's candidate interactions (its events, and the deal interactions of its time range)
    and validate them (each candidate row, then the rows it will publish), then Personalize's minimums on
    the chunks' tallies; return the merged row and publishable summaries, and the tallies."""
    from hubspot_pipeline.personalize.rules import (
        InteractionTallies,
        check_dataset,
        check_interaction_minimums,
    )
    from hubspot_pipeline.quality.validation import merge_summaries

    personalize, plan = run.config.personalize, run.load_plan()
    rules = row_rules(run, published_items)["interactions"]
    duplicates = run.staging.get_frame(run.staging_key("source/duplicate_events.parquet"))
    first_copy = (
        pd.Series(
            pd.to_numeric(duplicates["FIRST_EPOCH"]).astype("Int64").to_numpy(),
            index="event:" + clean_identifier(duplicates["EVENT_ID"]),
        )
        .groupby(level=0)
        .min()
    )
    user_ids = run.staging.get_frame(run.staging_key("candidates/user_ids.parquet"))
    user_ids = pd.Series(user_ids["USER_ID"].to_numpy(), index=user_ids["CONTACT_ID"])
    deals = run.staging.get_frame(run.staging_key("candidates/deal_interactions.parquet"))
    deal_chunks = plan.chunk_of(deals["TIMESTAMP"])
    tallies, row_results, checks = InteractionTallies(), [], []
    for chunk in range(plan.count):
        events = run.staging.get_frame(part_key(run.staging_key("source/custom_events"), chunk))
        candidates = pd.concat(
            [
                custom_event_interactions(events, user_ids, personalize, ledger),
                deals[deal_chunks == chunk],
            ],
            ignore_index=True,
        )
        candidates = _without_repeated_events(candidates, first_copy, ledger)
        part = f"part{chunk:05d}"
        final, quarantined, summaries = _validated_rows(
            candidates, INTERACTIONS, ledger, rules, f"interactions_rows_{part}"
        )
        row_results.append(summaries)
        final = final[INTERACTIONS.column_names]
        checks.append(check_dataset(final, INTERACTIONS, **rules, suite_name=f"interactions_{part}"))
        tallies.add(final)
        run.staging.put_frame(part_key(run.staging_key("final/interactions"), chunk), final)
        first = ["TIMESTAMP", "_SOURCE_ID"]  # the same order for any chunking
        quarantined = sorted_rows(quarantined, first + [name for name in quarantined if name not in first])
        run.staging.put_frame(part_key(run.staging_key("quarantine/interactions"), chunk), quarantined)
        release_memory()
    minimums = check_interaction_minimums(
        tallies,
        min_interactions=personalize.min_interactions,
        min_users_with_two=personalize.min_users_with_two_interactions,
        required_event_types=personalize.required_event_types,
    )
    return merge_summaries(row_results), merge_summaries(checks) + minimums, tallies


def _without_repeated_events(
    candidates: pd.DataFrame, first_copy: pd.Series, ledger: DatasetLedger
) -> pd.DataFrame:
    """Skip every copy of a repeated source id but its earliest (the warehouse found the ids and the time
    of their first copy; copies at the same time keep the first in a fixed order of their values)."""
    first = candidates["_SOURCE_ID"].map(first_copy)
    # a copy without a time is never the first one (the unchunked order puts it last)
    later_copy = first.notna() & ~(candidates["TIMESTAMP"] <= first).fillna(False).astype(bool)
    ledger.skip(REPEATED_EVENT_ID, int(later_copy.sum()))
    candidates = candidates[~later_copy.to_numpy()]
    repeated = candidates["_SOURCE_ID"].duplicated(keep=False).to_numpy()
    if not repeated.any():
        return candidates.reset_index(drop=True)
    order = ["_SOURCE_ID", "TIMESTAMP", "_CONTACT_ID", "ITEM_ID", "EVENT_TYPE", "EVENT_VALUE"]
    copies = candidates[repeated].sort_values(order, kind="stable", na_position="last")
    copies = drop_duplicate_rows(copies, ["_SOURCE_ID"], REPEATED_EVENT_ID, ledger)
    return pd.concat([candidates[~repeated], copies], ignore_index=True)
