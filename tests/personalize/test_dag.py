"""``personalize_training_export`` end to end through Airflow (``dag.test()``) against the fakesnow
emulator: the tutorial's sample data, a generated dirty share, reruns, failures and S3 (moto)."""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from airflow.dag_processing.dagbag import DagBag

from hubspot_pipeline.config import load_config
from hubspot_pipeline.local.emulator import running_emulator
from hubspot_pipeline.local.generator import DEFAULT_END_DATE, generate_share
from hubspot_pipeline.local.quickstart import TUTORIAL_EXPORT_DATE, snowflake_connection
from hubspot_pipeline.local.tutorial import load_tutorial_sample
from tests.conftest import ROOT, SAMPLE_DIR, asset_events, s3_client
from tests.personalize.output_rules import check_training_folder

DAG_ID = "personalize_training_export"
CONFIG = load_config()
GROUP = CONFIG.personalize.dataset_group
BUCKET = CONFIG.personalize.bucket


@pytest.fixture(scope="module")
def dag(airflow_db):
    return DagBag(dag_folder=str(ROOT / "dags")).get_dag(DAG_ID)


@pytest.fixture(scope="module")
def tutorial_emulator(tmp_path_factory):
    share_dir = tmp_path_factory.mktemp("tutorial-share")
    load_tutorial_sample(SAMPLE_DIR, share_dir)
    with running_emulator(share_dir) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def dirty_emulator(tmp_path_factory):
    share_dir = tmp_path_factory.mktemp("dirty-share")
    generate_share(share_dir, contacts=1500, products=200, days=60, events_per_day=200, dirty_share=0.03)
    with running_emulator(share_dir) as emulator:
        yield emulator


def _use_share(monkeypatch, emulator) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_HUBSPOT_SNOWFLAKE", snowflake_connection(emulator, CONFIG.share))


_RUN_NUMBERS = itertools.count()


def _run_dag(dag, export_date: date, **params):
    """One DAG run through ``dag.test()``; each gets its own logical date (the export date comes from the
    params), since a second run at the same logical date would reuse the first run and its conf, and every
    param explicitly, since ``dag.test()`` keeps a previous run's conf in the DAG object's params."""
    logical_date = datetime(export_date.year, export_date.month, export_date.day, 3, tzinfo=UTC)
    logical_date += timedelta(seconds=next(_RUN_NUMBERS))
    conf = {
        "export_date": export_date.isoformat(),
        "datasets": ["interactions", "items", "users"],
        "dry_run": False,
        "republish_older": False,
    }
    return dag.test(logical_date=logical_date, run_conf={**conf, **params})


def _run(dag, export_date: date) -> str:
    return str(_run_dag(dag, export_date).state)


def _asset_events(dag_run) -> dict[str, dict]:
    """The Asset events the run emitted: dataset -> extra."""
    prefix = CONFIG.personalize.asset_name("")
    return {name.removeprefix(prefix): extra for name, extra in asset_events(dag_run).items()}


def _objects(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def without_data_docs(objects: dict[str, bytes]) -> dict[str, bytes]:
    """Objects but the Data Docs pages, which record when the validation ran."""
    return {key: data for key, data in objects.items() if "/data_docs/" not in key}


def _source_pii(sample_dir: Path) -> set[str]:
    contacts = pd.read_csv(sample_dir / "email.csv", dtype=str, keep_default_na=False)
    return set(contacts["EMAIL"]) | {
        f"{first} {last}" for first, last in zip(contacts.FIRSTNAME, contacts.LASTNAME, strict=True)
    }


def test_tutorial_sample_becomes_valid_training_data(
    dag, tutorial_emulator, pipeline_override, monkeypatch, tmp_path
):
    _use_share(monkeypatch, tutorial_emulator)
    assert _run(dag, TUTORIAL_EXPORT_DATE) == "success"
    bucket = tmp_path / "objects" / BUCKET
    train = bucket / "train" / GROUP
    assert check_training_folder(train) == []
    items = pd.read_csv(train / "items.csv", dtype=str, keep_default_na=False)
    catalogue = pd.read_csv(SAMPLE_DIR / "items.csv", dtype=str, keep_default_na=False)
    assert sorted(items["ITEM_ID"]) == sorted(
        catalogue["ITEM_ID"]
    )  # every product, once, with or without events
    merged = items.merge(catalogue, on="ITEM_ID", suffixes=("", "_SOURCE"))
    assert (
        merged["PRODUCT_DESCRIPTION"] == merged["PRODUCT_DESCRIPTION_SOURCE"]
    ).all()  # quotes, commas intact
    assert set(items["PROMOTED"]) == {"true", "false"}
    interactions = pd.read_csv(train / "interactions.csv", dtype=str, keep_default_na=False)
    assert {"View", "Purchase", "AddToCart", "ViewCart", "StartCheckout"} == set(interactions["EVENT_TYPE"])
    users = pd.read_csv(train / "users.csv", dtype=str)
    assert users.columns.tolist() == ["USER_ID", "AGE", "GENDER"] and len(users) == 6000
    manifest = json.loads(
        (bucket / "runs" / GROUP / TUTORIAL_EXPORT_DATE.isoformat() / "manifest.json").read_text()
    )
    ledger = manifest["ledgers"]["interactions"]
    assert ledger["read"] == ledger["written"] + sum(ledger["skipped"].values()) + sum(
        ledger["quarantined"].values()
    )
    assert ledger["written"] == len(interactions)
    published = b"".join(_objects(bucket).values()).decode("utf-8")
    assert not [value for value in _source_pii(SAMPLE_DIR) if value in published]


def test_rerun_of_the_same_date_is_byte_identical(
    dag, tutorial_emulator, pipeline_override, monkeypatch, tmp_path
):
    _use_share(monkeypatch, tutorial_emulator)
    assert _run(dag, TUTORIAL_EXPORT_DATE) == "success"
    first = _objects(tmp_path / "objects" / BUCKET)
    assert _run(dag, TUTORIAL_EXPORT_DATE) == "success"
    second = _objects(tmp_path / "objects" / BUCKET)
    assert first.keys() == second.keys()
    assert without_data_docs(second) == without_data_docs(first)
    runs = f"runs/{GROUP}/{TUTORIAL_EXPORT_DATE}"
    assert sorted(without_data_docs(first)) == sorted(
        [f"train/{GROUP}/{name}" for name in ("config.json", "interactions.csv", "items.csv", "users.csv")]
        + [f"{runs}/{name}" for name in ("identity_log.csv", "manifest.json", "report.md")]
        + [f"runs/{GROUP}/live.json"]
    )
    assert not list(
        (tmp_path / "objects" / CONFIG.storage.staging_bucket).rglob("*.parquet")
    )  # staging cleaned


def test_dirty_generated_share_is_quarantined_with_reasons(
    dag, dirty_emulator, pipeline_override, monkeypatch, tmp_path
):
    _use_share(monkeypatch, dirty_emulator)
    assert _run(dag, DEFAULT_END_DATE) == "success"
    bucket = tmp_path / "objects" / BUCKET
    assert check_training_folder(bucket / "train" / GROUP) == []
    run_folder = bucket / "runs" / GROUP / DEFAULT_END_DATE.isoformat()
    manifest = json.loads((run_folder / "manifest.json").read_text())
    for name, ledger in manifest["ledgers"].items():
        quarantined = sum(ledger["quarantined"].values())
        assert ledger["read"] == ledger["written"] + sum(ledger["skipped"].values()) + quarantined, name
    reasons = pd.read_csv(run_folder / "quarantine" / "interactions.csv", dtype=str)["QUARANTINE_REASON"]
    for expected in ("ITEM_ID: missing", "TIMESTAMP: out of range", "EVENT_TYPE"):
        assert reasons.str.contains(expected, regex=False).any(), expected
    assert manifest["ledgers"]["interactions"]["skipped"]["duplicate event id"] > 0
    items_quarantine = pd.read_csv(run_folder / "quarantine" / "items.csv", dtype=str)
    assert items_quarantine["QUARANTINE_REASON"].str.contains("PRICE").any()
    # invalid optional values are emptied, their rows written: a negative price, an overlong CATEGORY_L2
    assert not reasons.str.contains("EVENT_VALUE").any()
    assert not items_quarantine["QUARANTINE_REASON"].str.contains("CATEGORY_L2").any()
    assert manifest["ledgers"]["interactions"]["corrected"]["EVENT_VALUE: below 0, left empty"] > 0
    corrected_items = manifest["ledgers"]["items"]["corrected"]
    assert corrected_items["CATEGORY_L2: longer than 1000 characters, left empty"] > 0
    published = b"".join(_objects(bucket).values()).decode("utf-8")
    emails = re.findall(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", published)
    assert emails == []  # no e-mail address anywhere: data, quarantine, identity log, report, Data Docs


@pytest.fixture(scope="module")
def repeated_events_emulator(tmp_path_factory):
    """A dirty share whose repeated event ids also fall weeks apart (in different chunks), plus events
    without a time: two copies of dated events and one of its own."""
    import duckdb

    share_dir = tmp_path_factory.mktemp("repeated-events-share")
    generate_share(share_dir, contacts=600, products=100, days=40, events_per_day=150, dirty_share=0.03)
    events = f'"{CONFIG.share.schema}"."{CONFIG.share.event_table}"'
    with duckdb.connect(str(share_dir / f"{CONFIG.share.database}.db")) as connection:
        connection.execute(
            f"INSERT INTO {events} SELECT * REPLACE (OCCURREDAT + INTERVAL 20 DAY AS OCCURREDAT) "
            f"FROM {events} WHERE OCCURREDAT < DATE '2024-06-01' ORDER BY ID LIMIT 7"
        )
        connection.execute(
            f"INSERT INTO {events} SELECT * REPLACE (NULL AS OCCURREDAT) FROM {events} "
            "WHERE OCCURREDAT < DATE '2024-06-01' ORDER BY ID DESC LIMIT 2"
        )
        connection.execute(
            f"INSERT INTO {events} SELECT * REPLACE (NULL AS OCCURREDAT, 'undated-event' AS ID) "
            f"FROM {events} WHERE OCCURREDAT IS NOT NULL ORDER BY ID LIMIT 1"
        )
    with running_emulator(share_dir) as emulator:
        yield emulator


def test_chunked_output_is_byte_identical_to_unchunked(
    dag, repeated_events_emulator, pipeline_override, monkeypatch, tmp_path
):
    _use_share(monkeypatch, repeated_events_emulator)
    outputs = {}
    for chunk_rows in (10_000_000, 700):
        objects = tmp_path / f"objects-{chunk_rows}"
        pipeline_override(
            {"personalize": {"chunk_rows": chunk_rows}, "storage": {"local_root": str(objects)}}
        )
        assert _run(dag, DEFAULT_END_DATE) == "success"
        outputs[chunk_rows] = _objects(objects / BUCKET)
    whole, chunked = outputs[10_000_000], outputs[700]
    data_docs = f"runs/{GROUP}/{DEFAULT_END_DATE}/data_docs/interactions_rows_part"
    assert sum(key.startswith(data_docs) for key in whole) == 1
    assert sum(key.startswith(data_docs) for key in chunked) >= 8  # 6,000 events in chunks of ~700
    assert without_data_docs(chunked) == without_data_docs(whole)  # data, quarantine, identity log, report
    manifest = json.loads(whole[f"runs/{GROUP}/{DEFAULT_END_DATE}/manifest.json"])
    interactions = manifest["ledgers"]["interactions"]
    assert interactions["skipped"]["duplicate event id"] >= 9  # copies 20 days later and undated too
    quarantine = whole[f"runs/{GROUP}/{DEFAULT_END_DATE}/quarantine/interactions.csv"].decode()
    undated = [line for line in quarantine.splitlines() if "event:undated-event" in line]
    assert len(undated) == 1 and "TIMESTAMP: missing" in undated[0]  # counted, never dropped unseen
    assert interactions["written"] > 4000
    assert check_training_folder(tmp_path / "objects-700" / BUCKET / "train" / GROUP) == []


def test_warehouse_unload_writes_the_streamed_exports_files_byte_for_byte(
    dag, repeated_events_emulator, pipeline_override, monkeypatch, tmp_path
):
    """The unload mode (the warehouse builds the interactions; without a stage the worker writes the
    unload queries' lines) against the streamed export on a share with every kind of bad event."""
    _use_share(monkeypatch, repeated_events_emulator)
    outputs = {}
    # chunks of ~700 events: the streamed export's chunks and the worker's pages of the unload queries
    modes = {"streamed": {"chunk_rows": 700}, "unload": {"chunk_rows": 700, "unload": {"enabled": True}}}
    for mode, settings in modes.items():
        objects = tmp_path / f"objects-{mode}"
        pipeline_override({"personalize": settings, "storage": {"local_root": str(objects)}})
        assert _run(dag, DEFAULT_END_DATE) == "success"
        outputs[mode] = without_data_docs(_objects(objects / BUCKET))
    streamed, unloaded = outputs["streamed"], outputs["unload"]
    runs = f"runs/{GROUP}/{DEFAULT_END_DATE}"
    identity_log = unloaded.pop(f"{runs}/identity_log.csv")
    event_lines = unloaded.pop(f"{runs}/identity_log_events.csv").split(b"\n", 1)[1]
    assert identity_log + event_lines == streamed.pop(f"{runs}/identity_log.csv")
    manifests = {mode: json.loads(objects.pop(f"{runs}/manifest.json")) for mode, objects in outputs.items()}
    for objects in outputs.values():
        objects.pop(f"{runs}/report.md")
    assert unloaded == streamed  # interactions, items, users, quarantine files, config.json
    assert manifests["unload"]["ledgers"] == manifests["streamed"]["ledgers"]
    streamed_identity = {key: value for key, value in manifests["streamed"]["identity"].items()}
    unloaded_identity = manifests["unload"]["identity"]
    assert unloaded_identity.pop("event_log_key") == f"{runs}/identity_log_events.csv"
    assert unloaded_identity == streamed_identity
    interactions = manifests["unload"]["ledgers"]["interactions"]
    assert interactions["skipped"]["duplicate event id"] >= 9 and interactions["written"] > 4000
    assert len(interactions["quarantined"]) >= 4  # several reasons, joined ones included
    assert interactions["corrected"]["EVENT_VALUE: below 0, left empty"] > 0  # emptied the same way
    assert _result_tables() == []  # dropped once unloaded


@pytest.mark.parametrize("unload", [False, True], ids=["streamed", "warehouse-unload"])
def test_a_retried_validate_counts_every_row_once(tutorial_emulator, pipeline_override, monkeypatch, unload):
    """A task retried after it staged its counts (e.g. a lost connection in its last step) starts again
    from the previous task's counts: the tasks run in process, validate twice, then publish."""
    from hubspot_pipeline.personalize import tasks
    from hubspot_pipeline.personalize.run import load_run

    _use_share(monkeypatch, tutorial_emulator)
    manifests = []
    for attempts in (1, 2):
        pipeline_override({"personalize": {"unload": {"enabled": unload}}})
        run = load_run(TUTORIAL_EXPORT_DATE.isoformat(), f"retry-{unload}-{attempts}")
        tasks.extract(run)
        tasks.prepare(run)
        for _ in range(attempts):
            tasks.validate(run)
        tasks.publish(run)
        runs = CONFIG.personalize.run_prefix(TUTORIAL_EXPORT_DATE)
        manifests.append(json.loads(run.personalize.get_bytes(f"{runs}/manifest.json")))
    assert manifests[1]["ledgers"] == manifests[0]["ledgers"]
    assert manifests[0]["ledgers"]["interactions"]["written"] > 1000


def _failed_task(dag_run) -> tuple[str, dict[str, str]]:
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    failed = [ti for ti in dag_run.get_task_instances() if str(ti.state) == "failed"]
    assert str(dag_run.state) == "failed" and len(failed) == 1
    assert failed[0].try_number == 1  # no retry: the data cannot change
    return failed[0].task_id, states


def test_a_share_that_cannot_reach_the_minimums_fails_before_reading_events(
    dag, tutorial_emulator, pipeline_override, monkeypatch, tmp_path, capsys
):
    _use_share(monkeypatch, tutorial_emulator)
    pipeline_override({"personalize": {"minimums": {"interactions": 1_000_000}}})
    capsys.readouterr()
    failed, states = _failed_task(_run_dag(dag, TUTORIAL_EXPORT_DATE))
    printed = capsys.readouterr().out
    assert failed == "extract" and states["publish"] == "upstream_failed"
    assert "(counted by the warehouse), Personalize needs at least 1000000" in printed
    assert "events in" not in printed  # no event chunk was read
    staged = [path.name for path in (tmp_path / "objects" / CONFIG.storage.staging_bucket).rglob("*.parquet")]
    assert "contacts.parquet" in staged and not [name for name in staged if name.startswith("part-")]
    assert not (tmp_path / "objects" / BUCKET).exists()


@pytest.mark.parametrize("unload", [False, True], ids=["streamed", "warehouse-unload"])
def test_a_dataset_below_the_minimums_after_validation_publishes_nothing(
    dag, tutorial_emulator, pipeline_override, monkeypatch, tmp_path, capsys, unload
):
    _use_share(monkeypatch, tutorial_emulator)
    minimums = {"users_with_two_interactions": 1_000_000}
    pipeline_override({"personalize": {"minimums": minimums, "unload": {"enabled": unload}}})
    capsys.readouterr()
    failed, states = _failed_task(_run_dag(dag, TUTORIAL_EXPORT_DATE))
    assert failed == "validate" and states["publish"] == "upstream_failed"
    printed = capsys.readouterr().out
    assert "users with at least 2 interactions, Personalize needs at least 1000000" in printed
    assert not (tmp_path / "objects" / BUCKET).exists()
    assert _result_tables() == []  # the warehouse's table is dropped when nothing will unload it


def _result_tables() -> list[str]:
    """The warehouse-unload result tables left in the share's database (the emulator's workspace)."""
    from tests.conftest import sql_frame

    tables = sql_frame(
        CONFIG.snowflake_conn_id,
        "SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_NAME LIKE %(prefix)s",
        {"prefix": "PERSONALIZE_INTERACTIONS_%"},
    )
    return tables["TABLE_NAME"].tolist()


def test_publish_writes_data_then_manifest_then_config(
    tutorial_emulator, pipeline_override, monkeypatch, tmp_path
):
    from hubspot_pipeline.personalize import run as export_run
    from hubspot_pipeline.personalize import tasks
    from hubspot_pipeline.personalize.run import load_run
    from hubspot_pipeline.storage import LocalObjectStore

    written: list[str] = []

    class RecordingStore(LocalObjectStore):
        def put_bytes(self, key, data, content_type):
            written.append(f"{self.bucket}/{key}")
            super().put_bytes(key, data, content_type)

        def put_file(self, key, path, content_type):
            written.append(f"{self.bucket}/{key}")
            super().put_file(key, path, content_type)

    monkeypatch.setattr(
        export_run,
        "object_store",
        lambda storage, bucket, conn_id: RecordingStore(storage.local_root, bucket),
    )
    _use_share(monkeypatch, tutorial_emulator)
    run = load_run(TUTORIAL_EXPORT_DATE.isoformat(), "manual")
    for task in (tasks.extract, tasks.prepare, tasks.validate):
        task(run)
    written.clear()
    tasks.publish(run)
    published = [key.removeprefix(f"{BUCKET}/") for key in written if key.startswith(f"{BUCKET}/")]
    assert published[-1] == f"train/{GROUP}/config.json"
    assert published[-2] == f"runs/{GROUP}/live.json"
    assert published[-3] == f"runs/{GROUP}/{TUTORIAL_EXPORT_DATE}/manifest.json"
    assert set(published[:3]) == {f"train/{GROUP}/{name}.csv" for name in ("items", "users", "interactions")}


def test_publishes_to_s3_through_the_aws_connection(
    dag, tutorial_emulator, s3_connection, pipeline_override, monkeypatch, tmp_path
):
    _use_share(monkeypatch, tutorial_emulator)
    pipeline_override({"storage": {"backend": "s3"}})
    client = s3_client(s3_connection, BUCKET, CONFIG.storage.staging_bucket)
    assert _run(dag, TUTORIAL_EXPORT_DATE) == "success"
    keys = sorted(obj["Key"] for obj in client.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert (
        f"train/{GROUP}/config.json" in keys and f"runs/{GROUP}/{TUTORIAL_EXPORT_DATE}/manifest.json" in keys
    )
    train = tmp_path / "downloaded"
    train.mkdir()
    for name in ("config.json", "interactions.csv", "items.csv", "users.csv"):
        key = f"train/{GROUP}/{name}"
        assert client.head_object(Bucket=BUCKET, Key=key)["ServerSideEncryption"] == "AES256"
        client.download_file(BUCKET, key, str(train / name))
    assert check_training_folder(train) == []
    assert client.list_objects_v2(Bucket=CONFIG.storage.staging_bucket).get("KeyCount", 0) == 0


def test_a_dry_run_validates_and_reports_but_publishes_nothing(
    dag, tutorial_emulator, pipeline_override, monkeypatch, tmp_path
):
    _use_share(monkeypatch, tutorial_emulator)
    dag_run = _run_dag(dag, TUTORIAL_EXPORT_DATE, dry_run=True)
    assert str(dag_run.state) == "success"
    assert not (tmp_path / "objects" / BUCKET).exists()
    assert _asset_events(dag_run) == {}


def test_a_rerun_of_one_dataset_rewrites_only_it_then_the_config(
    dag, tutorial_emulator, pipeline_override, monkeypatch, tmp_path
):
    _use_share(monkeypatch, tutorial_emulator)
    dag_run = _run_dag(dag, TUTORIAL_EXPORT_DATE, datasets=["items"])
    assert str(dag_run.state) == "success"
    train = tmp_path / "objects" / BUCKET / "train" / GROUP
    assert sorted(path.name for path in train.iterdir()) == ["config.json", "items.csv"]
    assert _asset_events(dag_run) == {
        "items": {"export_date": TUTORIAL_EXPORT_DATE.isoformat(), "rows": 2465}
    }
    report = tmp_path / "objects" / BUCKET / "runs" / GROUP / TUTORIAL_EXPORT_DATE.isoformat() / "report.md"
    text = report.read_text()
    assert "| items | 2465 | 2465 | 0 | 0 |" in text and "incoming.user.success" in text
    assert f"`train/{GROUP}/items.csv` | 2465 |" in text
    data_docs = report.parent / "data_docs"
    assert "data_docs/index.html" in text and "items_rows.html" in (data_docs / "index.html").read_text()
    page = (data_docs / "interactions_part00000.html").read_text()  # the first (here only) chunk
    assert "expect_compound_columns_to_be_unique" in page.lower() or "compound" in page.lower()


def test_an_unknown_dataset_is_rejected_before_any_work(dag, tutorial_emulator, pipeline_override, tmp_path):
    with pytest.raises(Exception, match="bogus"):
        _run_dag(dag, TUTORIAL_EXPORT_DATE, datasets=["bogus"])
    assert not (tmp_path / "objects").exists()


# the tutorial's custom Purchase events skipped: ~100 deal purchases are left, enough for the minimums
# (both event types occur) but not for the recommenders that need 1,000 Purchase interactions
FEW_PURCHASES = {"event_types": {"Purchase": None}}
SHORT_OF_PURCHASES = ["frequently-bought-together", "popular-items-by-purchases"]


@pytest.mark.parametrize("unload", [False, True], ids=["streamed", "warehouse-unload"])
def test_a_recommender_without_its_data_is_left_out_of_config_json(
    dag, tutorial_emulator, pipeline_override, monkeypatch, tmp_path, unload
):
    _use_share(monkeypatch, tutorial_emulator)
    pipeline_override({"personalize": {**FEW_PURCHASES, "unload": {"enabled": unload}}})
    assert _run(dag, TUTORIAL_EXPORT_DATE) == "success"
    bucket = tmp_path / "objects" / BUCKET
    config = json.loads((bucket / "train" / GROUP / "config.json").read_text())
    names = [entry["serviceConfig"]["name"].removeprefix(f"{GROUP}-") for entry in config["recommenders"]]
    assert names == ["recommended-for-you", "popular-items-by-views", "customers-who-viewed-x-also-viewed"]
    runs = bucket / "runs" / GROUP / TUTORIAL_EXPORT_DATE.isoformat()
    left_out = json.loads((runs / "manifest.json").read_text())["recommenders_left_out"]
    assert sorted(left_out) == SHORT_OF_PURCHASES
    purchases = pd.read_csv(bucket / "train" / GROUP / "interactions.csv")["EVENT_TYPE"].eq("Purchase").sum()
    assert 0 < purchases < 1000
    reason = f"{purchases} Purchase interactions, needs at least 1000"
    assert left_out["frequently-bought-together"] == reason
    assert f"- `frequently-bought-together`: {reason}" in (runs / "report.md").read_text()


def test_recommender_shortfall_fail_fails_the_run_before_config_json(
    dag, tutorial_emulator, pipeline_override, monkeypatch, tmp_path, capsys
):
    _use_share(monkeypatch, tutorial_emulator)
    pipeline_override({"personalize": {**FEW_PURCHASES, "recommender_shortfall": "fail"}})
    capsys.readouterr()
    failed, states = _failed_task(_run_dag(dag, TUTORIAL_EXPORT_DATE))
    assert failed == "validate" and states["publish"] == "upstream_failed"
    printed = capsys.readouterr().out
    assert "recommenders that cannot train on the validated interactions" in printed
    assert all(f"{name}: " in printed for name in SHORT_OF_PURCHASES)
    assert not (tmp_path / "objects" / BUCKET).exists()


def test_a_dataset_quarantined_above_its_ceiling_publishes_nothing(
    dag, dirty_emulator, pipeline_override, monkeypatch, tmp_path, capsys
):
    """The dirty share passes the default ceilings (test above); 1 % per dataset it does not."""
    _use_share(monkeypatch, dirty_emulator)
    pipeline_override({"personalize": {"max_quarantined_share": 0.01}})
    capsys.readouterr()
    failed, states = _failed_task(_run_dag(dag, DEFAULT_END_DATE))
    assert failed == "validate" and states["publish"] == "upstream_failed"
    printed = capsys.readouterr().out
    assert re.search(r"interactions: \d+ of \d+ rows \(\d\.\d%\) quarantined, at most 1\.0% allowed", printed)
    assert "Top reasons: " in printed and "ITEM_ID: not an allowed value" in printed
    assert not (tmp_path / "objects" / BUCKET).exists()


def test_an_older_date_never_replaces_newer_live_data_unless_asked(
    dag, dirty_emulator, pipeline_override, monkeypatch, tmp_path
):
    _use_share(monkeypatch, dirty_emulator)  # events every day: each date's interactions differ
    newer, older = DEFAULT_END_DATE, DEFAULT_END_DATE - timedelta(days=1)
    bucket = tmp_path / "objects" / BUCKET
    first = _run_dag(dag, newer)
    assert str(first.state) == "success"
    assert set(_asset_events(first)) == {"interactions", "items", "users"}
    live = {key: data for key, data in _objects(bucket).items() if key.startswith(f"train/{GROUP}/")}

    backfilled = _run_dag(dag, older)  # a backfill or rerun of an older date
    assert str(backfilled.state) == "success"
    after = _objects(bucket)
    assert {key: data for key, data in after.items() if key.startswith(f"train/{GROUP}/")} == live
    assert json.loads(after[f"runs/{GROUP}/live.json"]) == {"export_date": newer.isoformat()}
    kept = f"runs/{GROUP}/{older}/train"
    assert sorted(key for key in after if key.startswith(kept)) == [
        f"{kept}/{name}.csv" for name in ("interactions", "items", "users")
    ]
    assert after[f"{kept}/interactions.csv"] != live[f"train/{GROUP}/interactions.csv"]
    reason = f"not published live: {newer} is newer; set republish_older to replace it"
    assert reason in after[f"runs/{GROUP}/{older}/report.md"].decode()
    assert json.loads(after[f"runs/{GROUP}/{older}/manifest.json"])["not_live"] == reason
    assert _asset_events(backfilled) == {}

    forced = _run_dag(dag, older, republish_older=True)
    assert str(forced.state) == "success"
    republished = _objects(bucket)
    for name in ("interactions", "items", "users"):  # the same bytes, now live
        assert republished[f"train/{GROUP}/{name}.csv"] == after[f"{kept}/{name}.csv"]
    assert json.loads(republished[f"runs/{GROUP}/live.json"]) == {"export_date": older.isoformat()}
    manifest = json.loads(republished[f"runs/{GROUP}/{older}/manifest.json"])
    assert "not_live" not in manifest
    rows = {name: entry["rows"] for name, entry in manifest["files"].items()}
    assert _asset_events(forced) == {
        name: {"export_date": older.isoformat(), "rows": count} for name, count in rows.items()
    }
