"""The poller of the fault tests catches what it is there to catch: against moto's real server, a writer
that leaves a truncated object visible before the full one, and a writer that uploads the trigger before
the data files, each fail :func:`check_like_a_clean_run`; the same objects published whole and in order
pass it."""

from __future__ import annotations

import time

import pytest

from tests.conftest import s3_client
from tests.faults.harness import (
    CONFIG_KEY,
    DATA_FILES,
    PERSONALIZE_BUCKET,
    PERSONALIZE_DAG,
    ListingPoller,
    bucket_objects,
    check_like_a_clean_run,
    is_data_docs,
)

# what a Personalize publish leaves: the three data files, then the trigger
FINAL = {key: f"{key}\n".encode() * 2000 for key in DATA_FILES} | {CONFIG_KEY: b'{"datasetGroup": {}}'}


@pytest.fixture
def bucket(s3_connection):
    return s3_client(s3_connection, PERSONALIZE_BUCKET)


def put_seen(client, poller: ListingPoller, key: str, data: bytes) -> None:
    """Put one object and wait until a poll that started after the put has listed and read the bucket
    (the third listing taken after the put returned)."""
    client.put_object(Bucket=PERSONALIZE_BUCKET, Key=key, Body=data)
    seen = len(poller.listings) + 3
    deadline = time.monotonic() + 10
    while len(poller.listings) < seen:
        assert time.monotonic() < deadline, "the poller stopped listing"
        time.sleep(0.01)


def publish(client, order: list[str], truncated: frozenset[str] = frozenset()) -> ListingPoller:
    """Write the objects of ``FINAL`` in ``order`` with a poller watching; a key in ``truncated`` is first
    written cut in half (a non-atomic writer), then whole."""
    with ListingPoller(client, PERSONALIZE_BUCKET, interval=0.01) as poller:
        for key in order:
            if key in truncated:
                put_seen(client, poller, key, FINAL[key][: len(FINAL[key]) // 2])
            put_seen(client, poller, key, FINAL[key])
    poller.poll()
    return poller


def test_a_whole_in_order_publish_passes(bucket):
    poller = publish(bucket, [*DATA_FILES, CONFIG_KEY])
    published = bucket_objects(bucket, PERSONALIZE_BUCKET)
    assert published == FINAL
    check_like_a_clean_run(PERSONALIZE_DAG, published, FINAL, poller)


def test_a_truncated_object_seen_before_the_full_one_fails(bucket):
    poller = publish(bucket, [*DATA_FILES, CONFIG_KEY], truncated=frozenset({DATA_FILES[1]}))
    published = bucket_objects(bucket, PERSONALIZE_BUCKET)
    assert published == FINAL  # the end state alone would hide it
    assert poller.partial_objects(published, skip=is_data_docs) == [DATA_FILES[1]]
    with pytest.raises(AssertionError, match="other versions than the final one"):
        check_like_a_clean_run(PERSONALIZE_DAG, published, FINAL, poller)


def test_the_trigger_before_the_data_files_fails(bucket):
    poller = publish(bucket, [CONFIG_KEY, *DATA_FILES])
    published = bucket_objects(bucket, PERSONALIZE_BUCKET)
    assert published == FINAL
    assert poller.seen_before(CONFIG_KEY, DATA_FILES) == sorted(DATA_FILES)
    with pytest.raises(AssertionError, match="was listed before"):
        check_like_a_clean_run(PERSONALIZE_DAG, published, FINAL, poller)


def test_a_poller_that_never_watched_the_publish_fails(bucket):
    """Listings only before and after the publish (none in between) are not evidence of anything."""
    poller = ListingPoller(bucket, PERSONALIZE_BUCKET)
    poller.poll()
    for key in [*DATA_FILES, CONFIG_KEY]:
        bucket.put_object(Bucket=PERSONALIZE_BUCKET, Key=key, Body=FINAL[key])
    poller.poll()
    with pytest.raises(AssertionError, match="none mid-publish"):
        check_like_a_clean_run(PERSONALIZE_DAG, bucket_objects(bucket, PERSONALIZE_BUCKET), FINAL, poller)
