"""What the findings mean for the exports: the problems that block them (a run would fail) and warnings
(a run works, with less data), each one sentence naming the configuration key or bucket concerned."""

from __future__ import annotations

from hubspot_pipeline.config import PipelineConfig
from hubspot_pipeline.personalize.settings import RECOMMENDER_REQUIREMENTS
from hubspot_pipeline.share.columns import MissingColumn


def missing_columns(share: dict) -> list[MissingColumn]:
    return [MissingColumn(**each) for each in share.get("missing", [])]


def candidates_by_key(share: dict) -> dict[str, list[str]]:
    """The candidate columns of each property the share lacks, by configuration key."""
    return {
        each["key"]: [candidate["column"] for candidate in each["candidates"]]
        for each in share.get("properties", [])
    }


def missing_problem(missing: MissingColumn, candidates: list[str]) -> str:
    also = f"; the share has {', '.join(candidates)}" if candidates else ""
    return f"{missing.key}: {missing.reason()}, needed for {missing.used_for or 'the exports'}{also}"


def deal_problems(config: PipelineConfig, pipelines: list[dict] | None) -> list[str]:
    """Configured pipeline and stage ids (``personalize.deals``) that the share does not have."""
    if not pipelines:
        return []
    deals = config.personalize.deals
    known = {each["id"]: each for each in pipelines}
    listed = ", ".join(f"{each['id']} ({each['label']})" for each in pipelines)
    problems = [
        f"personalize.deals.pipelines: no pipeline {pipeline_id!r} in PIPELINES (the share has: {listed})"
        for pipeline_id in deals.pipelines
        if pipeline_id not in known
    ]
    stages = {
        stage["id"]
        for pipeline_id in deals.pipelines
        for stage in known.get(pipeline_id, {"stages": []})["stages"]
    }
    for key, configured in (
        ("add_to_cart_stages", deals.add_to_cart_stages),
        ("closed_won_stages", deals.closed_won_stages),
    ):
        problems += [
            f"personalize.deals.{key}: no stage {stage_id!r} in the configured pipelines "
            f"({', '.join(deals.pipelines)}) of PIPELINE_STAGES"
            for stage_id in configured
            if stage_id not in stages
        ]
    return problems


def minimum_checks(config: PipelineConfig, estimate: dict | None) -> list[dict]:
    """Each of Personalize's minimums (``personalize.minimums``): what it needs and the estimate."""
    if estimate is None:
        return []
    personalize = config.personalize
    checks = [
        ("interactions", personalize.min_interactions, estimate["interactions"]),
        (
            "users with two interactions",
            personalize.min_users_with_two_interactions,
            estimate["users_with_two_interactions"],
        ),
    ]
    checks += [
        (f"{name} interactions", 1, estimate["by_event_type"].get(name, 0))
        for name in personalize.required_event_types
    ]
    return [
        {"minimum": name, "needs": needs, "estimate": got, "met": got >= needs} for name, needs, got in checks
    ]


def recommender_checks(config: PipelineConfig, estimate: dict | None) -> list[dict]:
    """Each configured recommender: what it needs (``RECOMMENDER_REQUIREMENTS``), and whether the estimate
    has it."""
    if estimate is None:
        return []
    counts = estimate["by_event_type"]
    return [
        {
            "recommender": name,
            "needs": RECOMMENDER_REQUIREMENTS[name],
            "met": all(
                counts.get(kind, 0) >= needs for kind, needs in RECOMMENDER_REQUIREMENTS[name].items()
            ),
        }
        for name in config.personalize.recommenders
    ]


def blocking_problems(config: PipelineConfig, share: dict, buckets: list[dict]) -> list[str]:
    """Everything that would fail a run, one line each."""
    if "error" in share:
        return [f"the share could not be read: {share['error']}"] + bucket_problems(buckets)
    candidates = candidates_by_key(share)
    problems = [
        missing_problem(each, candidates.get(each.key, []))
        for each in missing_columns(share)
        if each.required
    ]
    problems += deal_problems(config, share.get("pipelines"))
    problems += [
        f"personalize.minimums: {each['minimum']}: about {each['estimate']}, Personalize needs at least "
        f"{each['needs']} (estimate before validation)"
        for each in minimum_checks(config, share.get("estimate"))
        if not each["met"]
    ]
    recommenders = recommender_checks(config, share.get("estimate"))
    short = [each["recommender"] for each in recommenders if not each["met"]]
    if recommenders and len(short) == len(recommenders):
        problems.append(f"personalize.recommenders: none can train on the estimate ({', '.join(short)})")
    elif short and config.personalize.recommender_shortfall == "fail":
        problems.append(
            f"personalize.recommenders: {', '.join(short)} lack their data (estimate) and "
            "recommender_shortfall is fail"
        )
    return problems + bucket_problems(buckets)


def bucket_problems(buckets: list[dict]) -> list[str]:
    return [
        f"{each['bucket']} bucket: cannot write {each['uri']}: {each['error']}"
        for each in buckets
        if not each["written"]
    ]


def hook_metric_warnings(config: PipelineConfig, share: dict) -> list[str]:
    """The Hook metric definitions' event types and won stages the share does not have (the metrics file
    names portal-specific values: such a metric stays 0)."""
    if config.hook is None:
        return []
    key = f"hook.metrics_file ({config.hook.metrics_file.name})"
    found = []
    if "event_types" in share:
        present = {each["event_type"] for each in share["event_types"]}
        for metric in config.hook.metrics:
            if metric.event_types and not present.intersection(metric.event_types):
                found.append(
                    f"{key}: {metric.name} counts event types {list(metric.event_types)}, which the share "
                    "has no events of: it stays 0"
                )
    if share.get("pipelines") is not None:
        stages = {stage["id"] for pipeline in share["pipelines"] for stage in pipeline["stages"]}
        if missing := [stage for stage in config.hook.won_stages if stage not in stages]:
            found.append(f"{key}: won_stages {missing} are not stages of this portal's pipelines")
    return found


def warnings(config: PipelineConfig, share: dict, buckets: list[dict]) -> list[str]:
    """What a run survives: optional properties absent, unmapped event types, recommenders left out,
    the Hook metrics' event types and won stages the share lacks, probe objects left behind, what
    preflight could not read."""
    found = [
        f"{each.key}: {each.reason()}: {each.used_for or 'the exports'} will be empty"
        for each in missing_columns(share)
        if not each.required
    ]
    unmapped = [each for each in share.get("event_types", []) if not each["mapped"]]
    found += [
        f"personalize.event_types: {each['event_type'] or '(no type)'!r} ({each['events']} events) is not "
        "mapped: such events are quarantined"
        for each in unmapped
    ]
    if config.personalize.recommender_shortfall == "omit":
        found += [
            f"personalize.recommenders: {each['recommender']} lacks its data (estimate): "
            "left out of config.json"
            for each in recommender_checks(config, share.get("estimate"))
            if not each["met"]
        ]
    found += hook_metric_warnings(config, share)
    found += [
        f"{each['bucket']} bucket: the probe {each['uri']} was written but not deleted ({each['error']}): "
        "delete it by hand"
        for each in buckets
        if each["written"] and not each["deleted"]
    ]
    return found + share.get("notes", [])
