"""CRM objects: companies (B2B accounts) and contacts (consumers and business contacts), and their links."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from hubspot_pipeline.local.generator.columns import (
    Window,
    concat,
    copy_rows,
    created_before,
    date_text,
    display_and_slug,
    hex_ids,
    null_where,
    object_rows,
    others,
    padded,
    pick,
    strings,
    text,
    weighted,
)
from hubspot_pipeline.local.generator.dirt import Dirt

# (display form, e-mail/domain form)
FIRST_NAMES = (
    ("Emma", "emma"), ("Liam", "liam"), ("Olivia", "olivia"), ("Noah", "noah"), ("Ava", "ava"),
    ("Lucas", "lucas"), ("Mia", "mia"), ("Ethan", "ethan"), ("Sofia", "sofia"), ("Mateo", "mateo"),
    ("Chloé", "chloe"), ("José", "jose"), ("Zoë", "zoe"), ("Łukasz", "lukasz"), ("Søren", "soren"),
    ("Aisha", "aisha"), ("Hiroshi", "hiroshi"), ("Priya", "priya"), ("Björn", "bjorn"),
    ("Mary-Kate", "marykate"),
)  # fmt: skip
LAST_NAMES = (
    ("Smith", "smith"), ("Johnson", "johnson"), ("García", "garcia"), ("Müller", "muller"),
    ("O'Brien", "obrien"), ("Nguyen", "nguyen"), ("Kowalski", "kowalski"), ("Rossi", "rossi"),
    ("Dubois", "dubois"), ("Tanaka", "tanaka"),
    ("Patel", "patel"), ("Andersson", "andersson"), ("van der Berg", "vanderberg"), ("Smith, Jr.", "smithjr"),
    ("Schröder", "schroder"), ("Novák", "novak"),
)  # fmt: skip
FREE_EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "gmx.de")
FREE_EMAIL_DOMAIN_P = (0.45, 0.15, 0.15, 0.1, 0.1, 0.05)
COMPANY_PREFIXES = (
    ("Blue Harbor", "blueharbor"), ("Northwind", "northwind"), ("Acme", "acme"), ("Globex", "globex"),
    ("Initech", "initech"), ("Nordic Fjörd", "nordicfjord"), ("Café Lumière", "cafelumiere"),
    ("Zürich Data", "zurichdata"), ("Sakura", "sakura"), ("Pioneer", "pioneer"), ("Summit", "summit"),
    ("Redwood", "redwood"), ("Atlas", "atlas"), ("Helios", "helios"), ("Evergreen", "evergreen"),
)  # fmt: skip
COMPANY_NOUNS = (
    ("Logistics", "logistics"), ("Software", "soft"), ("Analytics", "analytics"), ("Retail", "retail"),
    ("Health", "health"), ("Foods", "foods"), ("Systems", "systems"), ("Labs", "labs"), ("Media", "media"),
    ("Energy", "energy"), ("Robotics", "robotics"),
)  # fmt: skip
COMPANY_SUFFIXES = ("Inc.", "LLC", "GmbH", "Ltd", "S.A.", "AB", "Co.", "B.V.", "K.K.")
TOP_LEVEL_DOMAINS = (".com", ".io", ".de", ".co.uk", ".fr", ".net", ".se")
INDUSTRIES = (
    "COMPUTER_SOFTWARE", "RETAIL", "HOSPITAL_HEALTH_CARE", "FOOD_BEVERAGES", "LOGISTICS_AND_SUPPLY_CHAIN",
    "MARKETING_AND_ADVERTISING", "FINANCIAL_SERVICES", "INFORMATION_TECHNOLOGY_AND_SERVICES",
    "CONSUMER_GOODS",
)  # fmt: skip
LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
)
ANALYTICS_SOURCES = (
    "ORGANIC_SEARCH", "PAID_SEARCH", "EMAIL_MARKETING", "SOCIAL_MEDIA", "REFERRALS", "DIRECT_TRAFFIC",
    "OFFLINE",
)  # fmt: skip


@dataclass(frozen=True)
class Companies:
    """What later tables need from the generated companies (clean values)."""

    object_ids: np.ndarray
    names: pa.Array
    domains: pa.Array
    weights: np.ndarray  # relative size: how likely a business contact or a sales deal belongs to it


@dataclass(frozen=True)
class Contacts:
    """What later tables need from the generated contacts (clean values)."""

    object_ids: np.ndarray
    external_ids: pa.Array
    company: np.ndarray  # position in Companies for business contacts, -1 for consumers
    activity: np.ndarray  # relative number of shopping sessions


def company_rows(
    rng: np.random.Generator, size: int, window: Window, dirt: Dirt
) -> tuple[Companies, pa.Table]:
    """B2B accounts; some share a domain with another company, some have no domain or no external id."""
    prefix, noun = rng.integers(len(COMPANY_PREFIXES), size=size), rng.integers(len(COMPANY_NOUNS), size=size)
    prefix_names, prefix_slugs = display_and_slug(COMPANY_PREFIXES, prefix)
    noun_names, noun_slugs = display_and_slug(COMPANY_NOUNS, noun)
    names = pc.binary_join_element_wise(prefix_names, noun_names, pick(rng, COMPANY_SUFFIXES, size), " ")
    # companies with the same name get numbered domains, so that domains are shared only where set up below
    name_key = pd.Series(prefix * len(COMPANY_NOUNS) + noun)
    repeat = name_key.groupby(name_key).cumcount().to_numpy()
    number = pc.if_else(pa.array(repeat > 0), text(repeat), "")
    domains = concat(prefix_slugs, noun_slugs, number, pick(rng, TOP_LEVEL_DOMAINS, size))
    sharing = np.flatnonzero(rng.random(size) < 0.06)
    domains = null_where(
        copy_rows(domains, sharing, rng.integers(size, size=len(sharing))), rng.random(size) < 0.08
    )
    employees = np.maximum(1, rng.lognormal(4, 1.5, size)).astype(np.int64)
    created = created_before(rng, size, window, 3 * 365)
    external_ids = concat("ACC-", padded(np.arange(1, size + 1), 6))
    columns = object_rows(
        rng,
        "OBJECTS_COMPANIES",
        created,
        window,
        {
            "NAME": names,
            "DOMAIN": domains,
            "EXTERNAL_ID": null_where(external_ids, rng.random(size) < 0.45),
            "INDUSTRY": pick(rng, INDUSTRIES, size),
            "NUMBEROFEMPLOYEES": text(employees),
            "CREATEDATE": date_text(rng, created),
        },
    )
    model = Companies(columns["OBJECTID"].to_numpy(), names, domains, np.sqrt(employees))
    dirt.apply(rng, "OBJECTS_COMPANIES", columns)
    return model, pa.table(columns)


def contact_rows(
    rng: np.random.Generator, size: int, companies: Companies, window: Window, dirt: Dirt
) -> tuple[Contacts, pa.Table, pa.Table]:
    """Consumers and business contacts: the model, the rows and the explicit contact-to-company links.

    About a third are business contacts, mostly on their company's e-mail domain; some are associated to
    their company explicitly, the others only share its domain. About 1% duplicate another contact's name and
    e-mail: half of them also its visitor id and have no external id (the same person), half have an
    external id of their own (two people sharing an address).
    """
    company = np.full(size, -1)
    if len(companies.object_ids):
        business = np.flatnonzero(rng.random(size) < 0.35)
        company[business] = weighted(rng, companies.weights, len(business))
    first, last = rng.integers(len(FIRST_NAMES), size=size), rng.integers(len(LAST_NAMES), size=size)
    free_domain = rng.choice(len(FREE_EMAIL_DOMAINS), size=size, p=FREE_EMAIL_DOMAIN_P)
    work_email = (company >= 0) & (rng.random(size) < 0.85)
    mailbox_number = np.arange(1, size + 1)
    visitor_ids = null_where(hex_ids(rng, size, dashed=False), rng.random(size) >= 0.35)
    has_external_id = rng.random(size) < np.where(company >= 0, 0.4, 0.75)

    duplicate_count = max(2, size // 100) if size >= 10 else 0
    duplicates = rng.choice(size, size=duplicate_count, replace=False)
    originals = others(rng, size, duplicates)
    for column in (company, first, last, free_domain, work_email, mailbox_number):
        column[duplicates] = column[originals]
    same_person = slice(0, duplicate_count // 2)
    visitor_ids = copy_rows(visitor_ids, duplicates[same_person], originals[same_person])
    has_external_id[duplicates] = True
    has_external_id[duplicates[same_person]] = False

    company_domains = (
        companies.domains.take(np.maximum(company, 0))
        if len(companies.object_ids)
        else pa.nulls(size, pa.string())
    )
    domains = pc.if_else(
        pc.and_(pa.array(work_email), pc.is_valid(company_domains)),
        company_domains,
        strings(FREE_EMAIL_DOMAINS).take(free_domain),
    )
    first_names, first_slugs = display_and_slug(FIRST_NAMES, first)
    last_names, last_slugs = display_and_slug(LAST_NAMES, last)
    emails = concat(first_slugs, ".", last_slugs, text(mailbox_number), "@", domains)
    phones = concat(
        "+1 ", padded(rng.integers(200, 999, size), 3), " 555 ", padded(rng.integers(0, 9999, size), 4)
    )
    ages = null_where(text(rng.integers(18, 80, size)), rng.random(size) < np.where(company >= 0, 0.8, 0.2))
    external_ids = null_where(concat("cust-", padded(np.arange(1, size + 1), 7)), ~has_external_id)
    created = created_before(rng, size, window, 2 * 365)
    columns = object_rows(
        rng,
        "OBJECTS_CONTACTS",
        created,
        window,
        {
            "EMAIL": null_where(emails, rng.random(size) < 0.08),
            "EXTERNAL_ID": external_ids,
            "FIRSTNAME": first_names,
            "LASTNAME": last_names,
            "PHONE": null_where(phones, rng.random(size) < 0.5),
            "AGE": ages,
            "GENDER": pick(rng, ("F", "M", None), size, p=(0.45, 0.45, 0.1)),
            "CREATEDATE": date_text(rng, created),
            "LIFECYCLESTAGE": pick(rng, LIFECYCLE_STAGES, size),
            "HS_ANALYTICS_SOURCE": pick(rng, ANALYTICS_SOURCES, size),
            "VISITOR_ID": visitor_ids,
        },
    )
    object_ids = columns["OBJECTID"].to_numpy()
    # business contacts on a free e-mail domain can only be linked to their company explicitly
    explicit = np.flatnonzero((company >= 0) & (rng.random(size) < np.where(work_email, 0.6, 0.9)))
    memberships = pa.table(
        {
            "CONTACT_OBJECTID": pa.array(object_ids[explicit], pa.int64()),
            "COMPANY_OBJECTID": pa.array(companies.object_ids[company[explicit]], pa.int64()),
        }
    )
    activity = rng.lognormal(0, 1, size) * np.where(company >= 0, 0.25, 1.0)
    model = Contacts(object_ids, external_ids, company, activity)
    dirt.apply(rng, "OBJECTS_CONTACTS", columns)
    return model, pa.table(columns), memberships
