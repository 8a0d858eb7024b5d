"""Identifiers and how they are normalised: trimming, placeholders, e-mail syntax and domains, free
e-mail providers, and the keyed hashes (HMAC-SHA-256 prefixes) that stand for e-mails and anonymous ids in
the log, with the secret key they are keyed by."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from airflow.sdk.exceptions import AirflowFailException

from hubspot_pipeline.config import IdentityConfig

EXTERNAL_ID, EMAIL, ANONYMOUS_ID = "external_id", "email", "anonymous_id"
KINDS = (EXTERNAL_ID, EMAIL, ANONYMOUS_ID)  # priority order: index 0 is the strongest
HASH_LENGTH = 16
MIN_HASH_KEY_LENGTH = 32  # characters of the secret key
_HMAC_BLOCK = 64  # bytes: SHA-256's block size
FREE_EMAIL_DOMAINS_FILE = Path(__file__).resolve().parent / "data" / "free_email_domains.txt"
_EMAIL = r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+"
_CONTROL_CHARACTERS = r"[\x00-\x1f\x7f-\x9f\x{2028}\x{2029}]"  # RE2 syntax (pyarrow)
TEXT = pd.StringDtype("pyarrow")
_HOST = r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}"


def clean(values: pd.Series) -> pd.Series:
    """Identifiers as text, as :func:`hubspot_pipeline.formatting.clean_identifier` makes them (numbers
    without ``.0``, control characters as spaces, trimmed, empty is null), computed in Arrow."""
    if pd.api.types.is_float_dtype(values):
        values = values.astype("Int64")
    array = pa.array(values.astype(TEXT))
    array = pc.utf8_trim_whitespace(pc.replace_substring_regex(array, _CONTROL_CHARACTERS, " "))
    array = pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)
    return pd.Series(array, index=values.index, dtype=TEXT)


def usable_identifier(values: pd.Series, blocked: Iterable[str] | None = None) -> pd.Series:
    """Trimmed identifiers with blocked placeholders (``null``, ``0``, ``anonymous``…) made null."""
    blocked = IdentityConfig().blocked_values if blocked is None else frozenset(blocked)
    identifiers = clean(values)
    return identifiers.mask(identifiers.str.lower().isin(blocked))


def normalise_email(values: pd.Series) -> pd.Series:
    """Trimmed, lower-cased e-mail addresses; empty is null (syntax is checked by :func:`email_problems`)."""
    return clean(values).str.lower()


def _fullmatch(values: pd.Series, pattern: str) -> pd.Series:
    """Whether each value matches ``pattern`` whole (RE2 syntax, in Arrow); null is False."""
    matched = pc.match_substring_regex(pa.array(values.astype(TEXT)), f"^(?:{pattern})$")
    return pd.Series(pc.fill_null(matched, False).to_numpy(zero_copy_only=False), index=values.index)


def email_problems(emails: pd.Series, config: IdentityConfig) -> pd.Series:
    """Why each normalised address is not an identifier (null: it is one): malformed, or a placeholder."""
    problems = pd.Series(pd.NA, index=emails.index, dtype=TEXT)
    present = emails.notna()
    malformed = present & ~_fullmatch(emails, _EMAIL)
    blocked = present & emails.isin(config.blocked_values)
    if config.blocked_email_patterns:
        pattern = "|".join(f"(?:{each})" for each in config.blocked_email_patterns)
        blocked |= present & _fullmatch(emails, pattern)
    problems[malformed.to_numpy(bool)] = "e-mail malformed: not used to merge"
    problems[(blocked & ~malformed).to_numpy(bool)] = "e-mail is a placeholder (blocked): not used to merge"
    return problems


def email_domain(emails: pd.Series) -> pd.Series:
    """The domain of normalised e-mail addresses (text after the last ``@``)."""
    domains = pc.replace_substring_regex(pa.array(emails.astype(TEXT)), "^.*@", "")
    return pd.Series(domains, index=emails.index, dtype=TEXT)


def normalise_domain(values: pd.Series) -> pd.Series:
    """Company domains as host names: ``https://www.Example.com/path`` → ``example.com``; invalid → null."""
    text = clean(values).str.lower()
    text = text.str.replace(r"^[a-z][a-z0-9+.-]*://", "", regex=True).str.replace(r"^www\.", "", regex=True)
    text = text.str.replace(r"[/:?#].*$", "", regex=True).str.strip(".")
    return text.where(_fullmatch(text, _HOST))


@functools.cache
def _shipped_free_email_domains() -> frozenset[str]:
    lines = FREE_EMAIL_DOMAINS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def free_email_domains(extra: Iterable[str] = ()) -> frozenset[str]:
    """The shipped free e-mail provider domains (``data/free_email_domains.txt``) plus ``extra``."""
    return _shipped_free_email_domains() | {domain.strip().lower() for domain in extra}


@functools.cache
def _duckdb() -> duckdb.DuckDBPyConnection:
    return duckdb.connect()  # in memory; opening one costs ~0.1 s, so the process keeps it


class HashKeyMissing(AirflowFailException):
    """The identity log's hash key is not set (or too short): the task fails at once, without retrying."""


def hash_key(config: IdentityConfig) -> bytes:
    """The secret that keys the identity log's hashes: the Airflow Variable ``identity.hash_key_variable``
    (read once per task). Missing or shorter than :data:`MIN_HASH_KEY_LENGTH` characters:
    :class:`HashKeyMissing`, saying what to set; there is no default key."""
    from airflow.sdk import Variable

    value = Variable.get(config.hash_key_variable, default=None) or ""
    if len(value) < MIN_HASH_KEY_LENGTH:
        raise HashKeyMissing(
            f"identity: the Airflow Variable {config.hash_key_variable} must hold a secret of at least "
            f"{MIN_HASH_KEY_LENGTH} characters (it keys the HMAC-SHA-256 of e-mails and anonymous ids in "
            f"the identity log; keep it the same for every run), e.g. AIRFLOW_VAR_"
            f"{config.hash_key_variable.upper()}=$(python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    return value.encode("utf-8")


def hmac_prefix(values: pd.Series, key: bytes, length: int = HASH_LENGTH) -> pd.Series:
    """The first ``length`` hex digits of the HMAC-SHA-256 (RFC 2104) of each value keyed by ``key``
    (null stays null), computed in DuckDB: ``sha256(key ⊕ opad || sha256(key ⊕ ipad || value))``."""
    block = (hashlib.sha256(key).digest() if len(key) > _HMAC_BLOCK else key).ljust(_HMAC_BLOCK, b"\0")
    inner, outer = (bytes(byte ^ pad for byte in block) for pad in (0x36, 0x5C))
    table = pa.table({"value": pa.array(values.astype(TEXT))})
    with _duckdb().cursor() as connection:
        connection.register("hmac_input", table)
        hashed = connection.sql(
            "SELECT left(sha256($outer || unhex(sha256($inner || encode(value)))), $length) FROM hmac_input",
            params={"inner": inner, "outer": outer, "length": int(length)},
        ).to_arrow_table()
        return pd.Series(hashed.column(0), index=values.index, dtype=TEXT)
