"""Every object both DAGs write is encrypted at rest, SSE-S3 by default and with the configured KMS key
otherwise; writes to Hook's bucket carry the ``bucket-owner-full-control`` ACL when configured, and no ACL
otherwise. Checked on what moto's server received (its request recording) and reports (``head_object``)."""

from __future__ import annotations

from tests.security.conftest import KMS_KEY_ID
from tests.security.scan import header, object_writes

ACL = "x-amz-acl"
SSE = "x-amz-server-side-encryption"
SSE_KEY = "x-amz-server-side-encryption-aws-kms-key-id"


def _encryption(writes: list[dict]) -> set[tuple]:
    return {(header(write, SSE), header(write, SSE_KEY)) for write in writes}


def _writes(outputs, buckets: dict[str, str]) -> dict[str, list[dict]]:
    writes = {name: object_writes(outputs.requests, bucket) for name, bucket in buckets.items()}
    assert all(writes.values()), {name: len(each) for name, each in writes.items()}
    return writes


def test_by_default_every_object_is_written_and_stored_with_sse_s3(secured_runs):
    outputs = secured_runs.default
    for bucket, writes in _writes(outputs, secured_runs.buckets).items():
        assert _encryption(writes) == {("AES256", None)}, bucket
    assert len(outputs.heads) >= 10
    for uri, head in outputs.heads.items():
        assert head["ServerSideEncryption"] == "AES256" and "SSEKMSKeyId" not in head, uri


def test_with_a_kms_key_every_object_is_written_and_stored_with_it(secured_runs):
    outputs = secured_runs.kms
    for bucket, writes in _writes(outputs, secured_runs.buckets).items():
        assert _encryption(writes) == {("aws:kms", KMS_KEY_ID)}, bucket
    assert len(outputs.heads) >= 10
    for uri, head in outputs.heads.items():
        assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", KMS_KEY_ID), uri


def test_writes_to_hooks_bucket_carry_the_configured_acl_and_no_other_write_does(secured_runs):
    writes = _writes(secured_runs.default, secured_runs.buckets)
    assert {header(write, ACL) for write in writes.pop("hook")} == {"bucket-owner-full-control"}
    for bucket, others in writes.items():
        assert {header(write, ACL) for write in others} == {None}, bucket


def test_without_an_acl_configured_no_write_carries_one(secured_runs):
    for bucket, writes in _writes(secured_runs.kms, secured_runs.buckets).items():
        assert {header(write, ACL) for write in writes} == {None}, bucket
