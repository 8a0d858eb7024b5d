"""Accounts: companies by id or external id, and the one account of each user (association first,
then e-mail domain; free e-mail domains never claim)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hubspot_pipeline.config import IdentityConfig
from hubspot_pipeline.identity.identifiers import (
    EXTERNAL_ID,
    TEXT,
    clean,
    free_email_domains,
    normalise_domain,
    usable_identifier,
)
from hubspot_pipeline.identity.log import (
    ACCOUNT,
    DUPLICATE_ROW,
    NO_RECORD_ID,
    SKIP,
    SUCCESS,
    join_notes,
    log_frame,
)
from hubspot_pipeline.identity.users import UserResolution, deduplicated_rows, rank_order


@dataclass(frozen=True)
class AccountResolution:
    """Companies as accounts, and each user's account.

    ``accounts``: one row per company read (``COMPANY_ID``, ``ACCOUNT_ID``, ``EXTERNAL_ID``, ``DOMAIN``, the
    normalised domain, and ``DOMAIN_OWNER``: whether e-mail domain matches go to it). ``user_accounts``: one
    row per user with an account (``USER_ID``, ``ACCOUNT_ID``, ``COMPANY_ID``, ``VIA``: ``association`` or
    ``domain``). ``log``: one ``incoming.account.*`` line per company row.
    """

    accounts: pd.DataFrame
    user_accounts: pd.DataFrame
    contact_accounts: pd.DataFrame
    log: pd.DataFrame
    records_in: int


def resolve_accounts(
    users: UserResolution,
    companies: pd.DataFrame,
    associations: pd.DataFrame,
    config: IdentityConfig,
    free_domains: frozenset[str] | None = None,
) -> AccountResolution:
    """Map each resolved user to at most one account (``COMPANY_ID``, ``EXTERNAL_ID``, ``DOMAIN`` of
    companies; ``CONTACT_ID``, ``COMPANY_ID`` of contact–company associations)."""
    free_domains = free_email_domains(config.free_email_domains) if free_domains is None else free_domains
    companies = companies.reset_index(drop=True)
    index = companies.index
    company_ids = clean(companies["COMPANY_ID"])
    missing = company_ids.isna()
    duplicate = deduplicated_rows(companies[[c for c in companies.columns if c != "COMPANY_ID"]], company_ids)
    kept = ~(missing | duplicate)
    external = usable_identifier(companies["EXTERNAL_ID"], config.blocked_values)
    too_long = (external.str.len() > config.max_external_id_length).fillna(False).astype(bool)
    external = external.mask(too_long)
    raw_domain = clean(companies["DOMAIN"])
    domains = normalise_domain(companies["DOMAIN"])
    invalid_domain = raw_domain.notna() & domains.isna()
    free = domains.isin(free_domains).fillna(False).astype(bool)
    claims = domains.where(kept & ~free)

    kept_rows = np.flatnonzero(kept.to_numpy())
    ranked = kept_rows[
        rank_order(company_ids.iloc[kept_rows].reset_index(drop=True), external.notna().to_numpy()[kept_rows])
    ]
    rank = pd.Series(np.arange(len(ranked)), index=ranked).reindex(index)
    claim_frame = pd.DataFrame({"domain": claims, "rank": rank}).dropna(subset=["domain"])
    owner_rows = claim_frame.sort_values("rank", kind="stable").drop_duplicates("domain").index
    owner = pd.Series(False, index=index)
    owner[owner_rows] = True
    owner_of_domain = pd.Series(company_ids[owner_rows].to_numpy(), index=claims[owner_rows].to_numpy())
    account_ids = company_ids
    if config.account_id == EXTERNAL_ID:
        account_ids = external.fillna(company_ids)
    accounts = (
        pd.DataFrame(
            {
                "COMPANY_ID": company_ids,
                "ACCOUNT_ID": account_ids,
                "EXTERNAL_ID": external,
                "DOMAIN": domains,
                "DOMAIN_OWNER": owner,
            }
        )
        .iloc[ranked]
        .reset_index(drop=True)
    )
    company_rank = pd.Series(np.arange(len(ranked)), index=company_ids.iloc[ranked].to_numpy())

    # users: association first (contacts in rank order, then the company's rank), else the e-mail domain
    member_rank = pd.Series(np.arange(len(users.members)), index=users.members["CONTACT_ID"].to_numpy())
    links = pd.DataFrame(
        {
            "CONTACT_ID": clean(associations["CONTACT_ID"]),
            "COMPANY_ID": clean(associations["COMPANY_ID"]),
        }
    )
    links["member"] = links["CONTACT_ID"].map(member_rank)
    links["company"] = links["COMPANY_ID"].map(company_rank)
    links = links.dropna(subset=["member", "company"])
    links["USER_ID"] = users.members["USER_ID"].to_numpy()[links["member"].astype(int).to_numpy()]
    by_association = (
        links.sort_values(["member", "company"], kind="stable")
        .drop_duplicates("USER_ID")
        .assign(VIA="association")
    )
    domain_links = users.members.assign(member=np.arange(len(users.members)))
    domain_links = domain_links[~domain_links["USER_ID"].isin(by_association["USER_ID"])]
    domain_links = domain_links.assign(COMPANY_ID=domain_links["EMAIL_DOMAIN"].map(owner_of_domain))
    domain_links = domain_links.dropna(subset=["COMPANY_ID"])
    domain_links = domain_links[~domain_links["EMAIL_DOMAIN"].isin(free_domains)]
    by_domain = (
        domain_links.sort_values("member", kind="stable").drop_duplicates("USER_ID").assign(VIA="domain")
    )
    account_of_company = accounts.set_index("COMPANY_ID")["ACCOUNT_ID"]
    user_accounts = pd.concat(
        [by_association[["USER_ID", "COMPANY_ID", "VIA"]], by_domain[["USER_ID", "COMPANY_ID", "VIA"]]],
        ignore_index=True,
    )
    user_accounts.insert(1, "ACCOUNT_ID", user_accounts["COMPANY_ID"].map(account_of_company))
    user_accounts = (
        user_accounts.astype("string").sort_values("USER_ID", kind="stable").reset_index(drop=True)
    )
    contact_accounts = users.members[["CONTACT_ID", "USER_ID"]].merge(
        user_accounts, on="USER_ID", how="inner"
    )

    status = pd.Series(SUCCESS, index=index, dtype=TEXT)
    status[(missing | duplicate).to_numpy()] = SKIP
    shared_owner = claims.map(owner_of_domain)
    reason = join_notes(
        len(companies),
        (missing, NO_RECORD_ID),
        (duplicate, DUPLICATE_ROW),
        (kept & free, "domain is a free e-mail provider's: not an account claim"),
        (kept & invalid_domain, "domain is not a valid host name: ignored"),
        ("domain shared with company " + shared_owner.astype(TEXT) + ", which gets its e-mail matches").where(
            kept & claims.notna() & ~owner
        ),
        (kept & too_long, f"external id longer than {config.max_external_id_length}: ignored"),
        (
            kept & external.isna() & (config.account_id == EXTERNAL_ID),
            "no usable external id: account id is the company id",
        ),
    )
    log = log_frame(
        ACCOUNT,
        status,
        {
            "record": "company:" + company_ids.fillna("(no record id)"),
            "account_id": account_ids.where(kept),
            "account_external_id": external,
            "account_domain": domains,
            "reason": reason,
        },
    )
    return AccountResolution(accounts, user_accounts, contact_accounts, log, len(companies))
