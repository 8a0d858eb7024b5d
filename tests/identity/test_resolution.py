"""Identity resolution, one rule per test, on small readable fixtures (Hull's ingestion model)."""

from __future__ import annotations

import hashlib
import hmac
from functools import partial

import numpy as np
import pandas as pd
import pytest

from hubspot_pipeline.config import IdentityConfig, load_config
from hubspot_pipeline.identity.accounts import resolve_accounts
from hubspot_pipeline.identity.graph import connected_components
from hubspot_pipeline.identity.identifiers import (
    HashKeyMissing,
    free_email_domains,
    hash_key,
    hmac_prefix,
    normalise_domain,
)
from hubspot_pipeline.identity.log import IncomingLog
from hubspot_pipeline.identity.resolve import identify
from hubspot_pipeline.identity.users import resolve_events, resolve_users
from hubspot_pipeline.local.quickstart import local_hash_key
from hubspot_pipeline.quality.ledger import AccountingError

CONFIG = load_config().identity
KEY = b"test-only key of the identity log, 32+ bytes"


def contacts(*rows: tuple) -> pd.DataFrame:
    """Contacts from ``(CONTACT_ID, EXTERNAL_ID, EMAIL, VISITOR_ID)`` tuples (AGE and GENDER empty)."""
    frame = pd.DataFrame(rows, columns=["CONTACT_ID", "EXTERNAL_ID", "EMAIL", "VISITOR_ID"], dtype=object)
    return frame.assign(AGE=None, GENDER=None)


def user_ids(frame: pd.DataFrame, config: IdentityConfig = CONFIG) -> dict[str, str]:
    return resolve_users(frame, config).user_ids.to_dict()


def log_of(frame: pd.DataFrame, config: IdentityConfig = CONFIG) -> pd.DataFrame:
    return resolve_users(frame, config).log.set_index("record")


# --- users ---------------------------------------------------------------------------------------------


def test_an_unmerged_contact_keeps_its_external_id_or_its_hubspot_id():
    frame = contacts((11, "u-1", "a@acme.com", None), (12, " ", None, None), (13, "null", "c@acme.com", None))
    assert user_ids(frame) == {"11": "u-1", "12": "hubspot-12", "13": "hubspot-13"}
    members = resolve_users(frame, CONFIG).members
    assert members[["CONTACT_ID", "USER_ID"]].reset_index(drop=True).to_dict("list") == {
        "CONTACT_ID": ["11", "12", "13"],
        "USER_ID": ["u-1", "hubspot-12", "hubspot-13"],
    }


def test_two_contacts_with_the_same_email_and_no_external_id_merge_into_the_oldest():
    frame = contacts((12, None, " Ann@Acme.com ", None), (11, None, "ann@acme.com", None))
    assert user_ids(frame) == {"11": "hubspot-11", "12": "hubspot-11"}
    merges = resolve_users(frame, CONFIG).merges
    assert merges.to_dict("records") == [
        {"CONTACT_ID": "12", "RECIPIENT_ID": "11", "USER_ID": "hubspot-11", "MERGED_VIA": "email"}
    ]
    assert log_of(frame).loc["contact:12", "reason"] == "merged into contact 11 via email"


def test_two_contacts_with_the_same_email_and_different_external_ids_do_not_merge():
    frame = contacts((11, "u-1", "family@acme.com", None), (12, "u-2", "family@acme.com", None))
    assert user_ids(frame) == {"11": "u-1", "12": "u-2"}
    assert resolve_users(frame, CONFIG).merges.empty


def test_contacts_with_the_same_external_id_are_one_user():
    frame = contacts((11, "u-1", "a@acme.com", None), (12, "u-1", "other@acme.com", None))
    assert user_ids(frame) == {"11": "u-1", "12": "u-1"}
    assert resolve_users(frame, CONFIG).merges["MERGED_VIA"].tolist() == ["external_id"]


def test_the_contact_with_an_external_id_is_the_recipient_even_when_younger():
    frame = contacts((11, None, "ann@acme.com", None), (12, "u-2", "ann@acme.com", None))
    assert user_ids(frame) == {"11": "u-2", "12": "u-2"}
    assert resolve_users(frame, CONFIG).merges["RECIPIENT_ID"].tolist() == ["12"]


def test_a_chain_by_email_then_by_anonymous_id_collapses_to_one_user():
    frame = contacts(
        (11, None, "ann@acme.com", None),  # A
        (12, None, "ann@acme.com", "visitor-7"),  # B: A's e-mail, C's visitor id
        (13, None, "ann.private@mail.io", "visitor-7"),  # C
    )
    assert set(user_ids(frame).values()) == {"hubspot-11"}
    via = resolve_users(frame, CONFIG).merges.set_index("CONTACT_ID")["MERGED_VIA"].to_dict()
    assert via == {"12": "email", "13": "anonymous_id"}


def test_a_chain_joins_the_external_id_user_at_either_end():
    frame = contacts(
        (11, None, "ann@acme.com", None),
        (12, None, "ann@acme.com", "visitor-7"),
        (13, "u-3", "ann.private@mail.io", "visitor-7"),
    )
    assert user_ids(frame) == {"11": "u-3", "12": "u-3", "13": "u-3"}


def test_a_cluster_joins_the_external_id_user_it_shares_the_strongest_identifier_with():
    frame = contacts(
        (11, "u-1", "ann@acme.com", None),
        (12, "u-2", None, "visitor-7"),
        (13, None, "ann@acme.com", "visitor-7"),  # e-mail with u-1 beats visitor id with u-2
    )
    assert user_ids(frame) == {"11": "u-1", "12": "u-2", "13": "u-1"}


def test_a_cluster_tied_between_two_external_id_users_merges_with_neither_and_says_so():
    frame = contacts(
        (11, "u-1", "family@acme.com", None),
        (12, "u-2", "family@acme.com", None),
        (13, None, "family@acme.com", None),
    )
    assert user_ids(frame) == {"11": "u-1", "12": "u-2", "13": "hubspot-13"}
    assert log_of(frame).loc["contact:13", "reason"] == (
        "not merged: shares an email with 2 users that have different external ids"
    )


@pytest.mark.parametrize(
    ("email", "visitor"),
    [
        ("", ""),
        ("null", "null"),
        ("test@test.com", "anonymous"),
        ("noreply@acme.com", "0"),
        ("x@example.org", "-1"),
    ],
)
def test_blocked_identifier_values_never_merge_anyone(email, visitor):
    frame = contacts((11, "0", email, visitor), (12, "-1", email, visitor))
    assert user_ids(frame) == {"11": "hubspot-11", "12": "hubspot-12"}


def test_blocked_values_and_patterns_are_configurable():
    frame = contacts((11, None, "info@acme.com", "kiosk"), (12, None, "info@acme.com", "kiosk"))
    config = load_config(
        override={"identity": {"blocked_values": ["kiosk"], "blocked_email_patterns": ["info@.*"]}}
    ).identity
    assert user_ids(frame, config) == {"11": "hubspot-11", "12": "hubspot-12"}
    assert user_ids(frame) == {"11": "hubspot-11", "12": "hubspot-11"}


def test_an_identifier_shared_by_too_many_contacts_merges_nobody():
    frame = contacts(*((n, None, "shared@acme.com", None) for n in range(1, 5)))
    config = load_config(override={"identity": {"max_contacts_per_identifier": 3}}).identity
    assert set(user_ids(frame, config).values()) == {"hubspot-1", "hubspot-2", "hubspot-3", "hubspot-4"}
    assert log_of(frame, config).loc["contact:1", "reason"] == "email shared by over 3 contacts: ignored"


def test_malformed_emails_and_overlong_external_ids_are_not_identifiers():
    long_id = "x" * 300
    frame = contacts((11, long_id, "not-an-email", None), (12, long_id, "not-an-email", None))
    assert user_ids(frame) == {"11": "hubspot-11", "12": "hubspot-12"}
    assert log_of(frame).loc["contact:11", "reason"] == (
        "external id longer than 256: ignored; e-mail malformed: not used to merge"
    )


def test_rows_without_a_record_id_and_duplicate_rows_are_skipped_with_a_reason():
    frame = contacts(
        (11, None, "a@acme.com", None), (None, "u-9", None, None), (11, None, "b@acme.com", None)
    )
    resolution = resolve_users(frame, CONFIG, hash_key=KEY)
    assert resolution.user_ids.to_dict() == {"11": "hubspot-11"}
    assert resolution.log["log"].tolist() == [
        "incoming.user.success",
        "incoming.user.skip",
        "incoming.user.skip",
    ]
    assert resolution.log["reason"].tolist()[1:] == ["no record id", "duplicate row of the same record id"]
    # the copy kept does not depend on the row order: the rows' values decide
    flipped = resolve_users(frame.iloc[::-1], CONFIG, hash_key=KEY).log
    assert set(flipped.loc[flipped["log"].str.endswith("skip"), "user_email_hmac"].dropna()) == set(
        resolution.log.loc[resolution.log["log"].str.endswith("skip"), "user_email_hmac"].dropna()
    )


def test_the_recipient_keeps_its_values_and_gaps_are_filled_from_the_merged_contacts():
    frame = contacts(
        (11, None, "ann@acme.com", None), (12, None, "ann@acme.com", None), (13, None, "ann@acme.com", None)
    )
    frame["AGE"] = ["31", "40", None]
    frame["GENDER"] = [" ", None, "F"]
    merged = resolve_users(frame, CONFIG).merge_values(frame, ["AGE", "GENDER"])
    assert merged.to_dict("records") == [
        {"USER_ID": "hubspot-11", "CONTACT_ID": "11", "AGE": "31", "GENDER": "F"}
    ]


def test_the_result_does_not_depend_on_the_input_order():
    frame = contacts(
        (11, None, "ann@acme.com", None),
        (12, None, "ann@acme.com", "v-1"),
        (13, None, "other@acme.com", "v-1"),
        (14, "u-4", "bob@acme.com", None),
        (15, None, "BOB@acme.com", "v-2"),
        (16, "u-6", "family@acme.com", None),
        (17, "u-7", "family@acme.com", "v-2"),
        (18, None, "family@acme.com", None),
        (19, None, None, None),
        (None, None, "ann@acme.com", None),
    )
    expected = resolve_users(frame, CONFIG)
    for seed in range(5):
        shuffled = frame.sample(frac=1, random_state=seed)
        result = resolve_users(shuffled, CONFIG)
        columns = ["CONTACT_ID", "USER_ID", "RECIPIENT_ID", "MERGED_VIA"]
        pd.testing.assert_frame_equal(result.members[columns], expected.members[columns])
        by_record = ["record", "log", "user_id", "reason"]
        pd.testing.assert_frame_equal(
            result.log[by_record].sort_values("record").reset_index(drop=True),
            expected.log[by_record].sort_values("record").reset_index(drop=True),
        )


def test_user_ids_are_stable_when_newer_contacts_join():
    before = contacts((11, None, "ann@acme.com", None), (12, None, "ann@acme.com", None))
    after = pd.concat([before, contacts((10_000, None, "ann@acme.com", "v-9"))], ignore_index=True)
    assert set(user_ids(before).values()) == set(user_ids(after).values()) == {"hubspot-11"}


def _hmac(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:16]


def test_logs_identify_records_by_keyed_hashes_only():
    frame = contacts((11, "u-1", " Ann@Acme.com ", "visitor-7"))
    line = resolve_users(frame, CONFIG, hash_key=KEY).log.iloc[0]
    assert line["user_email_hmac"] == _hmac(KEY, "ann@acme.com")
    assert line["user_anonymous_ids_hmac"] == _hmac(KEY, "visitor_id:visitor-7")
    assert line["user_email_hmac"] != hashlib.sha256(b"ann@acme.com").hexdigest()[:16]  # not unkeyed
    assert "@" not in "".join(str(value) for value in line.to_numpy())


def test_keyed_hashes_are_stable_for_a_key_and_differ_between_keys():
    frame = contacts((11, None, "ann@acme.com", "v-1"), (12, None, "bob@acme.com", None))
    columns = ["user_email_hmac", "user_anonymous_ids_hmac"]
    first, again = (resolve_users(frame, CONFIG, hash_key=KEY).log[columns] for _ in range(2))
    other = resolve_users(frame, CONFIG, hash_key=KEY + b"!").log[columns]
    pd.testing.assert_frame_equal(first, again)
    assert first.notna().to_numpy().sum() == 3
    assert not (first["user_email_hmac"] == other["user_email_hmac"]).any()


def test_the_duckdb_hmac_is_rfc_2104_for_short_long_and_unicode_values():
    values = ["a", "ü ✓ " * 40, None, ""]
    for key in (b"k" * 32, bytes(range(200))):  # a key longer than SHA-256's block is hashed first
        hashed = hmac_prefix(pd.Series(values, dtype=object), key).astype(object)
        assert hashed.where(hashed.notna(), None).tolist() == [
            *map(partial(_hmac, key), values[:2]),
            None,
            _hmac(key, ""),
        ]
    assert (
        hmac_prefix(pd.Series(values), KEY, length=64)[0] == hmac.new(KEY, b"a", hashlib.sha256).hexdigest()
    )


def test_the_hook_export_resolves_users_without_hashing_anything():
    log = resolve_users(contacts((11, None, "ann@acme.com", "v-1")), CONFIG).log
    assert log[["user_email_hmac", "user_anonymous_ids_hmac"]].isna().all().all()


def test_the_hash_key_comes_from_its_airflow_variable_and_has_no_default(monkeypatch):
    variable = "AIRFLOW_VAR_" + CONFIG.hash_key_variable.upper()
    monkeypatch.setenv(variable, "s" * 40)
    assert hash_key(CONFIG) == b"s" * 40
    for value in ("", "too-short"):
        monkeypatch.setenv(variable, value)
        with pytest.raises(HashKeyMissing, match=f"Variable {CONFIG.hash_key_variable} must hold a secret"):
            hash_key(CONFIG)
    monkeypatch.delenv(variable)
    with pytest.raises(HashKeyMissing, match=f"AIRFLOW_VAR_{CONFIG.hash_key_variable.upper()}="):
        hash_key(CONFIG)


def test_the_local_stack_generates_its_key_once_and_keeps_it_private(tmp_path):
    path = tmp_path / "var" / "identity_hash_key"
    key = local_hash_key(path)
    assert len(key) == 64 and local_hash_key(path) == key
    assert path.stat().st_mode & 0o777 == 0o600
    assert local_hash_key(tmp_path / "elsewhere") != key


def test_missing_alias_columns_are_an_error_not_a_silent_change():
    with pytest.raises(ValueError, match="VISITOR_ID"):
        resolve_users(contacts((11, None, "a@acme.com", None)).drop(columns="VISITOR_ID"), CONFIG)


# --- events and accounting -----------------------------------------------------------------------------


def test_events_are_re_pointed_to_the_merged_user_and_unknown_contacts_are_errors():
    resolution = resolve_users(
        contacts((11, None, "a@acme.com", None), (12, None, "a@acme.com", None)), CONFIG
    )
    records = pd.Series(["event:e1", "event:e2", "event:e3", "event:e4"])
    log = resolve_events(records, pd.Series([11, 12.0, None, 99]), resolution)
    assert log[["log", "user_id", "reason"]].astype(object).where(log.notna(), None).values.tolist() == [
        ["incoming.event.success", "hubspot-11", None],
        ["incoming.event.success", "hubspot-11", "re-pointed from merged contact 12"],
        ["incoming.event.skip", None, "event has no contact"],
        ["incoming.event.error", None, "contact not among the resolved contacts"],
    ]


def test_identify_counts_every_record_and_reports_failed_casts():
    frame = contacts((11, None, "a@acme.com", None), (12, None, "a@acme.com", None), (None, None, None, None))
    frame["AGE"] = ["31", "abc", None]
    events = pd.DataFrame({"RECORD_ID": ["event:e1", "event:e2"], "CONTACT_ID": [12, 99]})
    identity = identify(frame, events, CONFIG, KEY)
    summary = identity.summary()
    assert {key: value for key, value in summary.items() if key.startswith("incoming.")} == {
        "incoming.user.success": 2,
        "incoming.user.skip": 1,
        "incoming.user.error": 0,
        "incoming.event.success": 1,
        "incoming.event.skip": 0,
        "incoming.event.error": 1,
    }
    assert summary["records_in"] == {"event": 2, "user": 3}
    assert summary["merged_contacts"] == 1 and summary["attribute_errors"] == {"hubspot/age": 1}
    assert summary["reasons"]["incoming.user.skip"] == {"no record id": 1}
    reason = identity.users.log.set_index("record").loc["contact:12", "reason"]
    assert reason == "merged into contact 11 via email; hubspot/age not a number: set to null"


def test_the_accounting_check_fails_when_a_record_has_no_log_line():
    incoming = IncomingLog()
    log = resolve_users(contacts((11, None, None, None), (12, None, None, None)), CONFIG).log
    incoming.add("user", 3, log)
    with pytest.raises(AccountingError, match="read 3 user records but logged 2"):
        incoming.check()


# --- accounts ------------------------------------------------------------------------------------------


def companies(*rows: tuple) -> pd.DataFrame:
    """Companies from ``(COMPANY_ID, EXTERNAL_ID, DOMAIN)`` tuples."""
    return pd.DataFrame(rows, columns=["COMPANY_ID", "EXTERNAL_ID", "DOMAIN"], dtype=object)


def associations(*pairs: tuple) -> pd.DataFrame:
    return pd.DataFrame(pairs, columns=["CONTACT_ID", "COMPANY_ID"], dtype=object)


def accounts_of(users_frame, company_frame, association_frame, config=CONFIG) -> dict[str, tuple[str, str]]:
    resolved = resolve_accounts(resolve_users(users_frame, config), company_frame, association_frame, config)
    return {row.USER_ID: (row.ACCOUNT_ID, row.VIA) for row in resolved.user_accounts.itertuples()}


def test_a_gmail_user_is_not_attached_to_a_gmail_account():
    users = contacts((11, "u-1", "ann@gmail.com", None), (12, "u-2", "bob@acme.com", None))
    firms = companies((21, None, "gmail.com"), (22, None, "https://www.ACME.com/about"))
    assert accounts_of(users, firms, associations()) == {"u-2": ("22", "domain")}
    log = resolve_accounts(resolve_users(users, CONFIG), firms, associations(), CONFIG).log
    assert log.set_index("record").loc["company:21", "reason"] == (
        "domain is a free e-mail provider's: not an account claim"
    )


def test_an_associated_company_beats_a_domain_match():
    users = contacts((11, "u-1", "ann@acme.com", None), (12, "u-2", "bob@acme.com", None))
    firms = companies((21, None, "acme.com"), (22, None, "partner.io"))
    assert accounts_of(users, firms, associations((11, 22))) == {
        "u-1": ("22", "association"),
        "u-2": ("21", "domain"),
    }


def test_a_merged_user_takes_the_association_of_its_highest_ranked_contact():
    users = contacts((11, None, "ann@acme.com", None), (12, None, "ann@acme.com", None))
    firms = companies((21, None, None), (22, None, None))
    assert accounts_of(users, firms, associations((12, 21), (11, 22))) == {
        "hubspot-11": ("22", "association")
    }


def test_companies_sharing_a_domain_give_its_matches_to_the_one_with_an_external_id_then_the_oldest():
    users = contacts((11, "u-1", "ann@acme.com", None))
    firms = companies((21, None, "acme.com"), (23, "ACC-3", "ACME.com"), (22, "ACC-2", "www.acme.com"))
    assert accounts_of(users, firms, associations()) == {"u-1": ("22", "domain")}
    by_external_id = load_config(override={"identity": {"account_id": "external_id"}}).identity
    assert accounts_of(users, firms, associations(), by_external_id) == {"u-1": ("ACC-2", "domain")}


def test_extra_free_email_domains_come_from_the_configuration():
    users = contacts((11, "u-1", "ann@corp-mail.example.net", None))
    firms = companies((21, None, "corp-mail.example.net"))
    assert accounts_of(users, firms, associations()) == {"u-1": ("21", "domain")}
    config = load_config(override={"identity": {"free_email_domains": ["Corp-Mail.example.net"]}}).identity
    assert accounts_of(users, firms, associations(), config) == {}


def test_the_shipped_free_email_list_is_hubspots_cleaned():
    domains = free_email_domains()
    assert 4000 < len(domains) < 10_000
    assert {"gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "gmx.de"} <= domains
    assert all(domain == domain.strip().lower() and "." in domain for domain in domains)


def test_company_domains_are_normalised_to_host_names():
    raw = pd.Series(["https://www.Example.com/", " EXAMPLE.com ", "acme.io:443/x", "not a domain", None])
    assert normalise_domain(raw).tolist() == ["example.com", "example.com", "acme.io", pd.NA, pd.NA]


# --- configuration -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("identity", "message"),
    [
        ({"anonymous_ids": ["VISITOR ID"]}, "identity.anonymous_ids"),
        ({"anonymous_ids": ["EMAIL"]}, "contact columns already"),
        ({"blocked_email_patterns": ["(unclosed"]}, "not a regex"),
        ({"max_contacts_per_identifier": 1}, "max_contacts_per_identifier"),
        ({"account_id": "domain"}, "identity.account_id"),
        ({"attribute_types": {"hubspot/age": "integer"}}, "attribute_types"),
    ],
)
def test_invalid_identity_configuration_names_the_key(identity, message):
    from hubspot_pipeline.config import ConfigError

    with pytest.raises(ConfigError, match=message):
        load_config(override={"identity": identity})


def test_alias_columns_are_selected_as_quoted_identifiers():
    from hubspot_pipeline.share.session import render_sql

    config = load_config(override={"identity": {"anonymous_ids": ["visitor_id", "segment_id"]}})
    sql = render_sql("share/contacts.sql", config.share, config.identity.anonymous_id_columns)
    assert 'TO_VARCHAR("PROPERTY_VISITOR_ID") AS "VISITOR_ID",' in sql
    assert 'TO_VARCHAR("PROPERTY_SEGMENT_ID") AS "SEGMENT_ID",' in sql


# --- connected components ------------------------------------------------------------------------------


def test_connected_components_label_each_node_with_the_lowest_node_of_its_component():
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as scipy_components

    rng = np.random.default_rng(7)
    size = 5_000
    left, right = rng.integers(size, size=3_000), rng.integers(size, size=3_000)
    chain = np.arange(1_000, 1_999)  # a long path: 1000 - 1001 - … - 1999
    left, right = np.r_[left, chain], np.r_[right, chain + 1]
    labels = connected_components(size, left, right)
    _, reference = scipy_components(coo_matrix((np.ones(len(left)), (left, right)), shape=(size, size)))
    lowest = pd.Series(np.arange(size)).groupby(reference).transform("min").to_numpy()
    assert np.array_equal(labels, lowest)
    assert (labels[1_000:2_000] == labels[1_000]).all()
