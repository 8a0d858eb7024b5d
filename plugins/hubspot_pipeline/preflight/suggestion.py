"""The configuration override preflight suggests for this portal, as a mapping ``load_config(override=...)``
(and a deploy-time file over ``pipeline.yaml``) accepts:

- ``share``: the database and schema read, and the event table (when the configured one is missing and
  exactly one ``EVENTS_*`` table has the configured event type column);
- ``properties``: the name of each property the share lacks when one candidate column is clearly it
  (:func:`~hubspot_pipeline.preflight.share.clear_candidate`: alike by name, ``hs_`` ignored, and no other
  candidate as alike), null for an optional property the share lacks otherwise; every property whose name
  so chosen differs from ``pipeline.yaml``'s or from the running configuration's, so the suggestion works
  over either;
- ``identity.anonymous_ids``: those the share has, when some are missing;
- ``personalize.deals``: the configured pipelines and stages when they all exist; else every pipeline with
  both a stage whose label reads like a cart (checkout, cart, pending) and one like a purchase (completed,
  complete, paid, won; these win: "Checkout Completed" is a purchase), with those stages.
"""

from __future__ import annotations

import yaml

from hubspot_pipeline.config import PipelineConfig, parse_config
from hubspot_pipeline.config.paths import default_config_file
from hubspot_pipeline.preflight.problems import deal_problems
from hubspot_pipeline.preflight.share import STAGE_ROLES, clear_candidate


def default_config() -> PipelineConfig:
    """``pipeline.yaml`` alone, which a suggestion is applied over."""
    return parse_config(yaml.safe_load(default_config_file().read_text(encoding="utf-8")))


def property_name(column: str | None) -> str | None:
    """The HubSpot internal name of a ``PROPERTY_<NAME>`` column, as the configuration spells it."""
    return column.removeprefix("PROPERTY_").lower() if column else None


def chosen_column(finding: dict) -> str | None:
    """The column to read a property from: the configured one when present (or when its table is missing:
    nothing to choose from), else the clear candidate, else null for an optional property (a required one
    keeps its name: a blocking problem)."""
    if finding["type"] is not None or not finding["table_present"]:
        return finding["column"]
    if candidate := clear_candidate(finding["candidates"]):
        return candidate["column"]
    return finding["column"] if finding["required"] else None


def suggested_properties(config: PipelineConfig, share: dict, defaults: PipelineConfig) -> dict:
    """Each property whose chosen column is not both ``pipeline.yaml``'s and the running configuration's."""
    properties: dict = {}
    for finding in share["properties"]:
        column, key = chosen_column(finding), (finding["object"], finding["field"])
        if not column == defaults.share.properties[key] == config.share.properties[key]:
            properties.setdefault(finding["object"], {})[finding["field"]] = property_name(column)
    return properties


def suggested_event_table(config: PipelineConfig, share: dict) -> str:
    """The configured event table, or when the share lacks it the one ``EVENTS_*`` table with its event
    type column."""
    events = next(each for each in share["tables"] if each["key"] == "events")
    having_types = [each["table"] for each in share["event_tables"] if each["has_event_type"]]
    return having_types[0] if not events["present"] and len(having_types) == 1 else config.share.event_table


def deals_by_label(pipelines: list[dict]) -> dict:
    """Pipelines with both a cart-like and a purchase-like stage label, and those stages' ids."""
    picked: dict = {"pipelines": [], **{key: [] for key in STAGE_ROLES.values()}}
    for pipeline in pipelines:
        roles = {
            role: [s["id"] for s in pipeline["stages"] if s["label_suggests"] == role] for role in STAGE_ROLES
        }
        if all(roles.values()):
            picked["pipelines"].append(pipeline["id"])
            for role, key in STAGE_ROLES.items():
                picked[key] += roles[role]
    return picked if picked["pipelines"] else {}


def suggested_deals(config: PipelineConfig, pipelines: list[dict] | None) -> dict:
    """The configured deal pipelines and stages when they all exist, else those picked by label."""
    if pipelines is None:
        return {}
    if not deal_problems(config, pipelines):
        deals = config.personalize.deals
        return {
            "pipelines": list(deals.pipelines),
            "add_to_cart_stages": list(deals.add_to_cart_stages),
            "closed_won_stages": list(deals.closed_won_stages),
        }
    return deals_by_label(pipelines)


def override_yaml(override: dict) -> str:
    """An override as YAML, keys in the order written (a deploy-time file)."""
    return yaml.safe_dump(override, sort_keys=False, allow_unicode=True)


def suggested_override(config: PipelineConfig, share: dict) -> dict:
    """The override for this portal (see the module); ``{}`` when the share could not be read."""
    if "error" in share:
        return {}
    defaults = default_config()
    override: dict = {
        "share": {
            "database": config.share.database,
            "schema": config.share.schema,
            "event_table": suggested_event_table(config, share),
        }
    }
    if properties := suggested_properties(config, share, defaults):
        override["properties"] = properties
    present = [each["name"] for each in share["anonymous_ids"] if each["type"]]
    if present != list(defaults.identity.anonymous_ids):
        override["identity"] = {"anonymous_ids": present}
    if deals := suggested_deals(config, share.get("pipelines")):
        override["personalize"] = {"deals": deals}
    return override
