"""Object stores: the local folder and S3 through the Airflow AWS connection (moto's real server)."""

from __future__ import annotations

import hashlib
import threading

import pandas as pd
import pytest

from hubspot_pipeline.storage import LocalObjectStore, S3ObjectStore
from tests.conftest import s3_client


def test_local_store_lays_out_bucket_and_key_and_round_trips(tmp_path):
    store = LocalObjectStore(tmp_path, "my-bucket")
    store.put_bytes("train/group/items.csv", b"a,b\n", "text/csv")
    store.put_bytes("train/group/items.csv", b"new\n", "text/csv")
    assert (tmp_path / "my-bucket" / "train/group/items.csv").read_bytes() == b"new\n"
    assert store.list_keys("train/") == ["train/group/items.csv"]
    assert not [p for p in (tmp_path / "my-bucket" / "train/group").iterdir() if p.name.startswith(".")]
    frame = pd.DataFrame({"A": ["x", None], "B": pd.array([1, None], dtype="Int64")})
    store.put_frame("staging/f.parquet", frame)
    pd.testing.assert_frame_equal(store.get_frame("staging/f.parquet"), frame, check_dtype=False)
    store.delete_prefix("staging/")
    assert store.list_keys("") == ["train/group/items.csv"]


@pytest.mark.parametrize("method", ["put_bytes", "put_file"])
def test_a_local_store_reader_never_sees_a_partial_object(tmp_path, method):
    """A reader polling the key while it is rewritten sees only whole versions (the store writes a
    temporary file and renames it over the key)."""
    store = LocalObjectStore(tmp_path / "objects", "b")
    versions = [bytes([ord("a") + number]) * (4 << 20) for number in range(2)]  # 4 MiB each
    sources = [tmp_path / "a.csv", tmp_path / "b.csv"]
    for source, data in zip(sources, versions, strict=True):
        source.write_bytes(data)
    whole = {hashlib.sha256(data).hexdigest() for data in versions}
    seen: list[str] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                seen.append(hashlib.sha256(store.get_bytes("train/g/items.csv")).hexdigest())
            except FileNotFoundError:
                continue  # before the first write

    reader = threading.Thread(target=read)
    reader.start()
    for number in range(30):
        if method == "put_bytes":
            store.put_bytes("train/g/items.csv", versions[number % 2], "text/csv")
        else:
            store.put_file("train/g/items.csv", sources[number % 2], "text/csv")
    done.set()
    reader.join()
    assert len(set(seen) - whole) == 0, f"{len(seen)} reads, {len(set(seen) - whole)} partial versions"
    assert set(seen) == whole  # the reader did read while both versions were being written


def test_local_store_refuses_keys_outside_the_bucket(tmp_path):
    with pytest.raises(ValueError, match="escapes"):
        LocalObjectStore(tmp_path, "b").put_bytes("../other/x", b"", "text/plain")


@pytest.mark.parametrize(
    ("encryption", "kms_key_id"),
    [("AES256", None), ("aws:kms", "arn:aws:kms:eu-west-1:111122223333:key/test")],
)
def test_s3_store_writes_encrypted_objects_through_the_connection(s3_connection, encryption, kms_key_id):
    client = s3_client(s3_connection, "personalize-test")
    store = S3ObjectStore(
        "personalize_s3", "personalize-test", server_side_encryption=encryption, kms_key_id=kms_key_id
    )
    store.put_bytes("train/g/items.csv", b"ITEM_ID\n1\n", "text/csv")
    head = client.head_object(Bucket="personalize-test", Key="train/g/items.csv")
    assert head["ServerSideEncryption"] == encryption
    if kms_key_id:
        assert head["SSEKMSKeyId"] == kms_key_id
    assert store.get_bytes("train/g/items.csv") == b"ITEM_ID\n1\n"
    assert store.list_keys("train/") == ["train/g/items.csv"]
    store.delete_prefix("train/")
    assert store.list_keys("") == []


def test_local_store_streams_files_in_and_out(tmp_path):
    store = LocalObjectStore(tmp_path / "objects", "b")
    source = tmp_path / "big.csv"
    source.write_bytes(b"x,y\n" * 100_000)
    store.put_file("train/g/interactions.csv", source, "text/csv")
    copy = tmp_path / "copy.csv"
    store.get_file("train/g/interactions.csv", copy)
    assert copy.read_bytes() == source.read_bytes()
    assert store.list_keys("") == ["train/g/interactions.csv"]


def test_s3_store_uploads_large_files_in_parts_encrypted(s3_connection, tmp_path):
    client = s3_client(s3_connection, "hook-test")
    store = S3ObjectStore("personalize_s3", "hook-test")
    source = tmp_path / "big.csv"
    source.write_bytes(b"0123456789abcdef" * (1 << 20))  # 16 MiB: boto3 uploads it in 8 MiB parts
    store.put_file("exports/big.csv", source, "text/csv")
    head = client.head_object(Bucket="hook-test", Key="exports/big.csv")
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "text/csv"
    assert head["ETag"].strip('"').endswith("-2")  # a multipart upload's ETag names its part count
    copy = tmp_path / "copy.csv"
    store.get_file("exports/big.csv", copy)
    assert copy.read_bytes() == source.read_bytes()
