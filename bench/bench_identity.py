"""Benchmark: resolve 1,000,000 contacts with 3 identifier kinds (external id, e-mail, visitor id).

Compares ``identity.users.resolve_users`` (every rule, the per-contact log with hashed identifiers)
with two baselines that only group contacts sharing any identifier, without rules or logs:

- **DuckDB SQL label propagation**: the push-down a warehouse would run, two ``GROUP BY`` per round (each
  identifier takes its contacts' lowest label, each contact its identifiers' lowest) until nothing changes;
- **scipy connected components** (the floor): one C pass over the contact–identifier graph.

Each runs in a fresh process on the same Parquet file; the table shows wall time, peak RSS of that process and
the RSS added on top of the loaded contacts, and the ratio to ``resolve_users``.

    python bench/bench_identity.py                 # 1,000,000 contacts
    python bench/bench_identity.py --contacts 200000

Synthetic duplication (seeded): 8% of contacts repeat a person (70% of those with the person's e-mail, the
rest only with its visitor id, which makes chains A–B by e-mail, B–C by visitor id); 55% carry an external
id, repeats carry the same one (40%), a different one (20%: people sharing an address) or none; 35% have a
visitor id; placeholders (``test@test.com``, ``null``, ``0``) and malformed e-mails are sprinkled in.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import resource
import secrets
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "plugins"), str(ROOT)]


def generate(size: int, seed: int = 7) -> pd.DataFrame:
    """``size`` contacts with realistic duplication, column by column (numpy)."""
    rng = np.random.default_rng(seed)
    person = np.arange(size)
    repeats = rng.choice(size, size=int(size * 0.08), replace=False)
    person[repeats] = rng.integers(size, size=len(repeats))
    is_repeat = np.zeros(size, bool)
    is_repeat[repeats] = True
    same_email = ~is_repeat | (rng.random(size) < 0.7)
    email_owner = np.where(same_email, person, np.arange(size) + size)  # another address: a new mailbox
    domains = np.array(["gmail.com", "yahoo.com", "acme.com", "globex.io", "initech.de", "outlook.com"])
    emails = pd.Series(np.char.add("p", email_owner.astype(str)), dtype=object) + "@"
    emails = emails + domains[email_owner % len(domains)]
    emails[rng.random(size) < 0.08] = None
    emails[rng.random(size) < 0.005] = "test@test.com"
    emails[rng.random(size) < 0.002] = "not-an-email"
    upper = rng.random(size) < 0.1
    emails[upper] = " " + emails[upper].str.upper() + " "
    visitor_held = (rng.random(size) < 0.35) | (is_repeat & ~same_email)
    visitors = pd.Series(np.char.add("v", person.astype(str)), dtype=object).where(visitor_held)
    visitors[rng.random(size) < 0.002] = "null"
    roll = rng.random(size)
    external_owner = np.where(is_repeat & (roll >= 0.4) & (roll < 0.6), np.arange(size) + 2 * size, person)
    has_external = np.where(is_repeat, roll < 0.6, rng.random(size) < 0.55)
    externals = pd.Series(np.char.add("cust-", external_owner.astype(str)), dtype=object).where(has_external)
    externals[rng.random(size) < 0.001] = "0"
    frame = pd.DataFrame(
        {
            "CONTACT_ID": 10_000_000_000 + rng.permutation(size),
            "EXTERNAL_ID": externals,
            "EMAIL": emails,
            "VISITOR_ID": visitors,
            "AGE": rng.integers(18, 80, size).astype(str),
            "GENDER": rng.choice(["F", "M"], size),
        }
    )
    return frame.sample(frac=1, random_state=seed).reset_index(drop=True)


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_resolve_users(frame: pd.DataFrame) -> int:
    from hubspot_pipeline.config import IdentityConfig
    from hubspot_pipeline.identity.users import resolve_users

    key = secrets.token_bytes(32)  # the log hashes with a key, as the export does
    return resolve_users(frame, IdentityConfig(), hash_key=key).members["USER_ID"].nunique()


def _identifier_codes(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    """(contact position, identifier code) pairs over the three kinds, raw values trimmed and lower-cased."""
    positions, codes, offset = [], [], 0
    for column in ("EXTERNAL_ID", "EMAIL", "VISITOR_ID"):
        values = frame[column].astype("string").str.strip().str.lower()
        column_codes = pd.factorize(values)[0]
        present = column_codes >= 0
        positions.append(np.flatnonzero(present))
        codes.append(column_codes[present] + offset)
        offset += int(column_codes.max()) + 1
    return np.concatenate(positions), np.concatenate(codes), offset


def run_scipy(frame: pd.DataFrame) -> int:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    positions, codes, identifiers = _identifier_codes(frame)
    size = len(frame)
    graph = coo_matrix(
        (np.ones(len(codes), np.int8), (positions, codes + size)), shape=(size + identifiers,) * 2
    )
    _, labels = connected_components(graph, directed=False)
    return len(np.unique(labels[:size]))


def run_duckdb(frame: pd.DataFrame) -> int:
    import duckdb

    positions, codes, _ = _identifier_codes(frame)
    connection = duckdb.connect()
    connection.register("pair_frame", pd.DataFrame({"contact": positions, "identifier": codes}))
    connection.execute("CREATE TABLE pairs AS SELECT * FROM pair_frame")
    connection.execute(
        "CREATE TABLE labels AS SELECT range AS contact, range AS label FROM range(?)", [len(frame)]
    )
    while True:  # one round per step of the longest chain: two GROUP BYs, no loop over rows
        connection.execute(
            """
            CREATE OR REPLACE TABLE next_labels AS
            WITH by_identifier AS (
                SELECT pairs.identifier, MIN(labels.label) AS label
                FROM pairs JOIN labels USING (contact) GROUP BY pairs.identifier
            ), by_contact AS (
                SELECT pairs.contact, MIN(by_identifier.label) AS label
                FROM pairs JOIN by_identifier USING (identifier) GROUP BY pairs.contact
            )
            SELECT labels.contact, LEAST(labels.label, COALESCE(by_contact.label, labels.label)) AS label
            FROM labels LEFT JOIN by_contact USING (contact)
            """
        )
        (changed,) = connection.execute(
            "SELECT COUNT(*) FROM labels JOIN next_labels USING (contact)"
            " WHERE labels.label <> next_labels.label"
        ).fetchone()
        connection.execute("CREATE OR REPLACE TABLE labels AS SELECT * FROM next_labels")
        if not changed:
            break
    return connection.execute("SELECT COUNT(DISTINCT label) FROM labels").fetchone()[0]


IMPLEMENTATIONS = {
    "resolve_users (all rules + log)": run_resolve_users,
    "DuckDB SQL label propagation": run_duckdb,
    "scipy connected components": run_scipy,
}


def _measure(name: str, path: str, results: multiprocessing.Queue) -> None:
    frame = pd.read_parquet(path)  # Arrow-backed text, as the pipeline reads its staged extracts
    IMPLEMENTATIONS[name](frame.head(1000))  # imports and first-call costs are not timed
    loaded = _rss_mb()
    start = time.perf_counter()
    users = IMPLEMENTATIONS[name](frame)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results.put({"name": name, "seconds": seconds, "peak": peak, "added": peak - loaded, "users": users})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    arguments = parser.parse_args(argv)
    frame = generate(arguments.contacts)
    context = multiprocessing.get_context("spawn")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "contacts.parquet")
        frame.to_parquet(path)
        for name in IMPLEMENTATIONS:
            results = context.Queue()
            process = context.Process(target=_measure, args=(name, path, results))
            process.start()
            rows.append(results.get())
            process.join()
    print(
        f"{arguments.contacts:,} contacts, {frame['EMAIL'].notna().sum():,} e-mails, "
        f"{frame['VISITOR_ID'].notna().sum():,} visitor ids, "
        f"{frame['EXTERNAL_ID'].notna().sum():,} external ids; "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, pandas {pd.__version__}\n"
    )
    base = rows[0]["seconds"]
    wall, peak, added, users = "wall s", "peak RSS MB", "added MB", "users"
    print(f"| {'implementation':<34}| {wall:>7} | {peak:>11} | {added:>8} | {users:>9} | ratio |")
    print(f"|{'-' * 35}|{'-' * 9}|{'-' * 13}|{'-' * 10}|{'-' * 11}|-------|")
    for row in rows:
        print(
            f"| {row['name']:<34}| {row['seconds']:>7.2f} | {row['peak']:>11.0f} | {row['added']:>8.0f} "
            f"| {row['users']:>9,} | {row['seconds'] / base:>5.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
