"""The identity stage on a generated dirty share, through the Snowflake connector and the fakesnow emulator:
the queries of include/sql/share/, the accounting invariant, and the Personalize run's manifest, log and
summary."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from hubspot_pipeline.config import load_config
from hubspot_pipeline.identity.accounts import resolve_accounts
from hubspot_pipeline.identity.identifiers import free_email_domains
from hubspot_pipeline.identity.resolve import identify
from hubspot_pipeline.local.emulator import running_emulator
from hubspot_pipeline.local.generator import DEFAULT_END_DATE, generate_share
from hubspot_pipeline.local.quickstart import snowflake_connection
from tests.conftest import query_share

CONFIG = load_config()
IDENTITY = CONFIG.identity


@pytest.fixture(scope="module")
def share(tmp_path_factory):
    share_dir = tmp_path_factory.mktemp("identity-share")
    # all text: the identity stage must survive ages that are not numbers (and report them: hubspot/age)
    generate_share(
        share_dir, contacts=1500, products=150, days=45, events_per_day=200, dirty_share=0.05, all_text=True
    )
    with running_emulator(share_dir) as emulator:
        yield emulator


@pytest.fixture
def connection(share, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_SNOWFLAKE", snowflake_connection(share, CONFIG.share))


def query(template: str, parameters: dict | None = None) -> pd.DataFrame:
    return query_share(
        template, CONFIG.share, CONFIG.snowflake_conn_id, parameters or {}, IDENTITY.anonymous_id_columns
    )


def test_every_contact_account_and_event_of_a_dirty_share_is_accounted_for(connection):
    contacts = query("share/contacts.sql")
    identifiers = ["CONTACT_ID", "EXTERNAL_ID", "EMAIL", "VISITOR_ID"]
    assert contacts.columns.tolist() == [*identifiers, "AGE", "GENDER", "CREATEDATE"]
    everything = {"window_start": None, "window_end": "2100-01-02", "undated": True}
    events = query("personalize/custom_events.sql", everything)
    events = events.rename(columns={"EVENT_ID": "RECORD_ID"})
    identity = identify(contacts, events, IDENTITY, b"k" * 32)  # raises if read != success + skip + error
    summary = identity.summary()
    for entity in ("user", "event"):
        ended = sum(summary[f"incoming.{entity}.{status}"] for status in ("success", "skip", "error"))
        assert ended == summary["records_in"][entity] == len(contacts if entity == "user" else events)
    assert summary["merged_contacts"] > 0  # the generator's duplicate people share e-mails and visitor ids
    merges = identity.users.merges
    assert (merges["USER_ID"] != "hubspot-" + merges["CONTACT_ID"]).all()
    assert identity.users.user_ids.index.is_unique

    companies, links = query("share/companies.sql"), query("share/contact_companies.sql")
    accounts = resolve_accounts(identity.users, companies, links, IDENTITY)
    assert len(accounts.log) == len(companies) == accounts.log["log"].str.endswith(".success").sum()
    assert set(accounts.user_accounts["VIA"]) == {"association", "domain"}
    assert accounts.user_accounts["USER_ID"].is_unique
    by_domain = accounts.user_accounts[accounts.user_accounts["VIA"] == "domain"]
    claimed = by_domain.merge(accounts.accounts, on="COMPANY_ID")["DOMAIN"]
    assert len(claimed) == len(by_domain) and not claimed.isin(free_email_domains()).any()
    gmail_users = identity.users.members[identity.users.members["EMAIL_DOMAIN"] == "gmail.com"]["USER_ID"]
    assert len(gmail_users) and not gmail_users.isin(by_domain["USER_ID"]).any()
    domains = accounts.accounts["DOMAIN"].dropna()
    assert not (
        domains.str.startswith("www.") | domains.str.contains("/") | (domains != domains.str.lower())
    ).any()


def test_the_personalize_run_stores_prints_and_logs_the_incoming_counts(
    connection, pipeline_override, monkeypatch, tmp_path, capsys
):
    from hubspot_pipeline.local.quickstart import print_summary
    from hubspot_pipeline.personalize import tasks
    from hubspot_pipeline.personalize.run import load_run

    run = load_run(DEFAULT_END_DATE.isoformat(), "identity")
    for task in (
        tasks.extract,
        tasks.prepare,
        tasks.validate,
        tasks.publish,
    ):
        task(run)
    bucket = tmp_path / "objects" / CONFIG.personalize.bucket
    run_folder = bucket / CONFIG.personalize.run_prefix(DEFAULT_END_DATE)
    identity = json.loads((run_folder / "manifest.json").read_text())["identity"]
    for entity in ("user", "event"):
        ended = sum(identity[f"incoming.{entity}.{status}"] for status in ("success", "skip", "error"))
        assert ended == identity["records_in"][entity]
    log = pd.read_csv(run_folder / "identity_log.csv", dtype=str)
    assert len(log) == sum(identity["records_in"].values())
    assert log["log"].value_counts().to_dict() == {
        key: count for key, count in identity.items() if key.startswith("incoming.") and count
    }
    assert "@" not in (run_folder / "identity_log.csv").read_text()  # e-mails only as hashes
    users = pd.read_csv(bucket / CONFIG.personalize.train_prefix / "users.csv", dtype=str)
    merged = log[log["reason"].str.contains("merged into contact", na=False)]
    assert len(merged) == identity["merged_contacts"] > 0
    assert users["USER_ID"].is_unique and not users["USER_ID"].isin("hubspot-" + merged["contact_id"]).any()

    settings = tmp_path / "summary.yaml"
    settings.write_text(yaml.safe_dump({"storage": {"local_root": str(tmp_path / "objects")}}))
    monkeypatch.setenv("HUBSPOT_PIPELINE_CONFIG", str(settings))
    capsys.readouterr()
    print_summary(DEFAULT_END_DATE)
    printed = capsys.readouterr().out
    assert "(incoming.<entity>.*)" in printed
    users_line = next(line for line in printed.splitlines() if line.startswith("user "))
    assert users_line.split()[1:] == [
        str(identity["records_in"]["user"]),
        *(str(identity[f"incoming.user.{status}"]) for status in ("success", "skip", "error")),
    ]
    assert "hubspot/age" in printed and "identity_log.csv" in printed
