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
    """A table of the share, and the system columns the exports' queries read from it (never configured);
    ``read_by_exports`` false for a table only preflight reads (whatever columns it has)."""

    name: str
    system_columns: tuple[str, ...]
    read_by_exports: bool = True


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
    "pipelines": ShareTable("PIPELINES", ("PIPELINEID",), read_by_exports=False),
    "pipeline_stages": ShareTable("PIPELINE_STAGES", ("PIPELINEID", "STAGEID", "ISCLOSED")),
    EVENT_TABLE: ShareTable("", ("ID", "OBJECTID", "OCCURREDAT")),
}


PERSONALIZE, HOOK = "personalize", "hook"
BOTH = (PERSONALIZE, HOOK)


@dataclass(frozen=True)
class PropertyField:
    """One property the exports read: ``properties.<obj>.<field>`` names it; ``used_for`` says why, and
    ``used_by`` which exports read it (the others read NULL in its place, and never need it)."""

    obj: str
    field: str
    required: bool
    used_for: str
    used_by: tuple[str, ...]

    @property
    def key(self) -> str:
        """The configuration key naming the property."""
        return f"properties.{self.obj}.{self.field}"


def _fields(obj: str, *specs: tuple[str, bool, str, tuple[str, ...]]) -> dict[tuple[str, str], PropertyField]:
    return {(obj, spec[0]): PropertyField(obj, *spec) for spec in specs}


REQUIRED, OPTIONAL = True, False

PROPERTY_FIELDS: dict[tuple[str, str], PropertyField] = {
    **_fields(
        "contacts",
        ("external_id", OPTIONAL, "user ids (else e-mail, else hubspot-<record id>)", BOTH),
        ("email", REQUIRED, "identity resolution, account by e-mail domain", BOTH),
        ("age", OPTIONAL, "Personalize users.AGE", (PERSONALIZE,)),
        ("gender", OPTIONAL, "Personalize users.GENDER", (PERSONALIZE,)),
        ("createdate", REQUIRED, "Hook contacts created", (HOOK,)),
    ),
    **_fields(
        "companies",
        ("external_id", OPTIONAL, "account ids with identity.account_id external_id", (HOOK,)),
        ("domain", REQUIRED, "accounts of contacts by e-mail domain", (HOOK,)),
        ("createdate", REQUIRED, "Hook active accounts", (HOOK,)),
    ),
    **_fields(
        "products",
        ("external_id", REQUIRED, "Personalize ITEM_ID", (PERSONALIZE,)),
        ("price", REQUIRED, "Personalize items.PRICE", (PERSONALIZE,)),
        ("category_level_1", REQUIRED, "Personalize items.CATEGORY_L1", (PERSONALIZE,)),
        ("category_level_2", OPTIONAL, "Personalize items.CATEGORY_L2", (PERSONALIZE,)),
        ("description", OPTIONAL, "Personalize items.PRODUCT_DESCRIPTION", (PERSONALIZE,)),
        ("gender", OPTIONAL, "Personalize items.GENDER", (PERSONALIZE,)),
        ("promoted", OPTIONAL, "Personalize items.PROMOTED (empty: false)", (PERSONALIZE,)),
        (
            "createdate",
            OPTIONAL,
            "Personalize items.CREATION_TIMESTAMP (else the last update)",
            (PERSONALIZE,),
        ),
    ),
    **_fields(
        "deals",
        ("pipeline", REQUIRED, "deal pipelines (personalize.deals.pipelines, Hook deal metrics)", BOTH),
        ("dealstage", REQUIRED, "cart and purchase stages, closed deals", BOTH),
        ("amount", REQUIRED, "Hook deal amounts", (HOOK,)),
        ("createdate", REQUIRED, "AddToCart time, Hook deals created", BOTH),
        ("closedate", REQUIRED, "Purchase time, Hook deals closed", BOTH),
    ),
    **_fields(
        "line_items",
        (
            "product_id",
            REQUIRED,
            "the product of a line item (joined to OBJECTS_PRODUCTS.OBJECTID)",
            (PERSONALIZE,),
        ),
        ("price", OPTIONAL, "deal interactions' EVENT_VALUE", (PERSONALIZE,)),
    ),
    **_fields(
        "events",
        (
            "event_type",
            REQUIRED,
            "interaction EVENT_TYPE (personalize.event_types), Hook event metrics",
            BOTH,
        ),
        ("item_id", REQUIRED, "interaction ITEM_ID", (PERSONALIZE,)),
        ("item_price", OPTIONAL, "interaction EVENT_VALUE", (PERSONALIZE,)),
    ),
}

PROPERTY_OBJECTS = tuple(dict.fromkeys(obj for obj, _ in PROPERTY_FIELDS))
