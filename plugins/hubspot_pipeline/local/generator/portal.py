"""The portal generated so far: what the deals and the events are drawn from."""

from __future__ import annotations

from dataclasses import dataclass

from hubspot_pipeline.local.generator.catalogue import Products
from hubspot_pipeline.local.generator.columns import Window
from hubspot_pipeline.local.generator.crm import Companies, Contacts


@dataclass(frozen=True)
class Portal:
    """The history window and the (clean) companies, contacts and products, once they are written."""

    window: Window
    companies: Companies
    contacts: Contacts
    products: Products
