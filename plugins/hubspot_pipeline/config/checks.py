"""The checks every configuration value passes before use: the error type, and the patterns names must
match before they reach a SQL identifier, an S3 key, a header or a connection lookup."""

from __future__ import annotations

import re
from typing import Any

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
BUCKET_NAME = re.compile(r"(?!\d+\.\d+\.\d+\.\d+$)(?!.*(?:\.\.|\.-|-\.))[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
DATASET_GROUP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")
_KEY_PREFIX = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(?:/[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}){0,7}")
CONNECTION_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,249}")
AWS_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}")
_KMS_KEY_ID = re.compile(r"[A-Za-z0-9:/_+=.@-]{1,2048}")
SERVER_SIDE_ENCRYPTIONS = ("AES256", "aws:kms", "aws:kms:dsse")
HOOK_ACLS = ("bucket-owner-full-control", "bucket-owner-read")


class ConfigError(ValueError):
    """The configuration is invalid; the message names the offending key."""


def sql_identifier(value: Any, key: str) -> str:
    """Return ``value`` upper-cased if it is a plain SQL identifier, else raise naming ``key``."""
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise ConfigError(f"{key}={value!r} is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*, ≤ 255 chars)")
    return value.upper()


def matching(pattern: re.Pattern, value: Any, key: str, what: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ConfigError(f"{key}={value!r} is not a valid {what}")
    return value


def key_prefix(value: Any, key: str, *, required: bool) -> str:
    """An S3 key prefix without its outer slashes: ``/``-separated segments of letters, digits, ``_``, ``.``
    and ``-``, none starting with ``.`` or ``-`` (so no ``..``); ``""`` (the bucket's root) unless
    ``required``."""
    prefix = "" if value is None else value.strip("/") if isinstance(value, str) else value
    if prefix == "" and not required:
        return ""
    return matching(_KEY_PREFIX, prefix, key, "key prefix (segments of [A-Za-z0-9_][A-Za-z0-9_.-]*)")


def one_of(value: Any, choices: tuple, key: str) -> Any:
    if value not in choices:
        raise ConfigError(f"{key}={value!r} must be one of {', '.join(map(str, choices))}")
    return value


def kms_key_id_of(storage: dict) -> str | None:
    """``storage.kms_key_id``: a key id, alias or ARN, only with ``aws:kms`` encryption (S3 rejects it
    with SSE-S3)."""
    kms_key_id = storage.get("kms_key_id")
    if kms_key_id is None:
        return None
    if not str(storage["server_side_encryption"]).startswith("aws:kms"):
        raise ConfigError("storage.kms_key_id needs storage.server_side_encryption aws:kms")
    return matching(_KMS_KEY_ID, kms_key_id, "storage.kms_key_id", "KMS key id, alias or ARN")
