"""What the exports read from HubSpot's share, declared once: the tables (with the system columns each query
needs) and every HubSpot property, by object and field, with whether an export can do without it.

The property names themselves are configuration (``properties.<object>.<field>`` in
``include/config/pipeline.yaml``: HubSpot internal names, read from ``PROPERTY_<NAME>``), because portals
name their properties differently and lack many. A required property missing from the share fails the
first task that reads it; an optional one reads as NULL and the run reports the field as empty.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ShareTable:
    """A table of the share, and the system columns the queries read from it (never configured)."""

    name: str
    system_columns: tuple[str, ...]


EVENT_TABLE = "events"  # the key of the custom event table, whose name is `share.event_table`

SHARE_TABLES: dict[str, ShareTable] = {
    "contacts": ShareTable("OBJECTS_CONTACTS", ("OBJECTID",)),
    "companies": ShareTable("OBJECTS_COMPANIES", ("OBJECTID",)),
    "products": ShareTable("OBJECTS_PRODUCTS", ("OBJECTID", "UPDATEDAT")),
    "deals": ShareTable("OBJECTS_DEALS", ("OBJECTID",)),
    "line_items": ShareTable("OBJECTS_LINE_ITEMS", ("OBJECTID",)),
    "contact_companies": ShareTable(
        "ASSOCIATIONS_CONTACTS_TO_COMPANIES", ("CONTACT_OBJECTID", "COMPANY_OBJECTID")
    ),
    "deal_companies": ShareTable("ASSOCIATIONS_DEALS_TO_COMPANIES", ("DEAL_OBJECTID", "COMPANY_OBJECTID")),
    "deal_contacts": ShareTable("ASSOCIATIONS_DEALS_TO_CONTACTS", ("DEAL_OBJECTID", "CONTACT_OBJECTID")),
    "deal_line_items": ShareTable(
        "ASSOCIATIONS_LINE_ITEMS_TO_DEALS", ("LINE_ITEM_OBJECTID", "DEAL_OBJECTID")
    ),
    "pipelines": ShareTable("PIPELINES", ("PIPELINEID", "LABEL")),
    "pipeline_stages": ShareTable("PIPELINE_STAGES", ("PIPELINEID", "STAGEID", "LABEL", "ISCLOSED")),
    EVENT_TABLE: ShareTable("", ("ID", "OBJECTID", "OCCURREDAT")),
}


@dataclass(frozen=True)
class PropertyField:
    """One property an export reads: ``properties.<obj>.<field>`` names it; ``used_for`` says why."""

    obj: str
    field: str
    required: bool
    used_for: str

    @property
    def key(self) -> str:
        """The configuration key naming the property."""
        return f"properties.{self.obj}.{self.field}"


def _fields(obj: str, *specs: tuple[str, bool, str]) -> dict[tuple[str, str], PropertyField]:
    return {(obj, name): PropertyField(obj, name, required, used_for) for name, required, used_for in specs}


REQUIRED, OPTIONAL = True, False

PROPERTY_FIELDS: dict[tuple[str, str], PropertyField] = {
    **_fields(
        "contacts",
        ("external_id", OPTIONAL, "user ids (else e-mail, else hubspot-<record id>)"),
        ("email", REQUIRED, "identity resolution, account by e-mail domain"),
        ("age", OPTIONAL, "Personalize users.AGE"),
        ("gender", OPTIONAL, "Personalize users.GENDER"),
        ("createdate", REQUIRED, "Hook contacts created"),
    ),
    **_fields(
        "companies",
        ("external_id", OPTIONAL, "account ids with identity.account_id external_id"),
        ("domain", REQUIRED, "accounts of contacts by e-mail domain"),
        ("createdate", REQUIRED, "Hook active accounts"),
    ),
    **_fields(
        "products",
        ("external_id", REQUIRED, "Personalize ITEM_ID"),
        ("price", REQUIRED, "Personalize items.PRICE"),
        ("category_level_1", REQUIRED, "Personalize items.CATEGORY_L1"),
        ("category_level_2", OPTIONAL, "Personalize items.CATEGORY_L2"),
        ("description", OPTIONAL, "Personalize items.PRODUCT_DESCRIPTION"),
        ("gender", OPTIONAL, "Personalize items.GENDER"),
        ("promoted", OPTIONAL, "Personalize items.PROMOTED (empty: false)"),
        ("createdate", OPTIONAL, "Personalize items.CREATION_TIMESTAMP (else the last update)"),
    ),
    **_fields(
        "deals",
        ("pipeline", REQUIRED, "deal pipelines (personalize.deals.pipelines, Hook deal metrics)"),
        ("dealstage", REQUIRED, "cart and purchase stages, closed deals"),
        ("amount", REQUIRED, "Hook deal amounts"),
        ("createdate", REQUIRED, "AddToCart time, Hook deals created"),
        ("closedate", REQUIRED, "Purchase time, Hook deals closed"),
    ),
    **_fields(
        "line_items",
        ("product_id", REQUIRED, "the product of a line item (joined to OBJECTS_PRODUCTS.OBJECTID)"),
        ("price", OPTIONAL, "deal interactions' EVENT_VALUE"),
    ),
    **_fields(
        "events",
        ("event_type", REQUIRED, "interaction EVENT_TYPE (personalize.event_types), Hook event metrics"),
        ("item_id", REQUIRED, "interaction ITEM_ID"),
        ("item_price", OPTIONAL, "interaction EVENT_VALUE"),
    ),
}

PROPERTY_OBJECTS = tuple(dict.fromkeys(obj for obj, _ in PROPERTY_FIELDS))
