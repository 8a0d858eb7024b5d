"""Rebuild ``identity/data/free_email_domains.txt``: the free e-mail provider domains that are
never account claims (identity resolution ignores them when matching a contact's e-mail domain to a company).

Source: the npm package ``free-email-domains`` by Kiko Beats (MIT licence,
https://github.com/Kikobeats/free-email-domains), version 1.2.26: HubSpot's own list of free e-mail domains
(the ones HubSpot forms can block, https://knowledge.hubspot.com/forms/what-domains-are-blocked-when-using-the-forms-email-domains-to-block-feature)
plus a few providers the package adds. Later versions (1.9 onwards) also merge two disposable-address
blocklists (over 13,000 domains); version 1.2.26 is the last that is the free-provider list alone.

Cleaning: trimmed, lower-cased, IDNA-encoded, kept only if it is a valid host name with a dot, de-duplicated
and sorted. The package itself is not committed, only the resulting list, with the package's copyright notice.

Usage (needs ``npm`` on the PATH; it only downloads the package tarball from the npm registry)::

    python scripts/build_free_email_domains.py            # rewrite the list
    python scripts/build_free_email_domains.py --check    # exit 1 if the committed list differs
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "free-email-domains"
VERSION = "1.2.26"
LICENCE = "MIT"
TARGET = (
    Path(__file__).resolve().parents[1] / "plugins" / "hubspot_pipeline" / "data" / "free_email_domains.txt"
)
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
DOMAIN = re.compile(rf"(?=.{{4,253}}$){_LABEL}(\.{_LABEL})*\.(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}})")


def clean(domains: list[str]) -> list[str]:
    """Lower-cased, IDNA-encoded, syntactically valid, unique domains, sorted."""
    cleaned = set()
    for raw in domains:
        domain = str(raw).strip().strip(".").lower()
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            continue
        if DOMAIN.fullmatch(domain):
            cleaned.add(domain)
    return sorted(cleaned)


def download(workdir: Path) -> tuple[list[str], str]:
    """``domains.json`` and the licence text of the pinned package version, fetched with ``npm pack``."""
    subprocess.run(
        ["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent"], cwd=workdir, check=True, capture_output=True
    )
    tarball = next(workdir.glob(f"{PACKAGE}-{VERSION}.tgz"))
    with tarfile.open(tarball) as archive:
        domains, licence = (archive.extractfile(f"package/{name}") for name in ("domains.json", "LICENSE.md"))
        if domains is None or licence is None:
            raise SystemExit(f"{tarball.name} lacks package/domains.json or package/LICENSE.md")
        return json.load(domains), licence.read().decode("utf-8")


def render(domains: list[str], licence: str) -> str:
    header = [
        "# Free e-mail provider domains: never used as account (company) claims.",
        f"# Built by scripts/build_free_email_domains.py from the npm package {PACKAGE}@{VERSION}",
        "# (HubSpot's list of free e-mail domains, https://github.com/Kikobeats/free-email-domains),",
        f"# Cleaned (lower-cased, IDNA, valid host names, de-duplicated, sorted): {len(domains)} domains.",
        "# Add your own in include/config/pipeline.yaml (identity.free_email_domains), not here.",
        f"# The package's licence ({LICENCE}), verbatim:",
        "#",
        *(f"# {line}".rstrip() for line in licence.strip().splitlines()),
    ]
    return "\n".join(header + domains) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed list, write nothing")
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        domains, licence = download(Path(workdir))
        text = render(clean(domains), licence)
    if arguments.check:
        same = TARGET.exists() and TARGET.read_text(encoding="utf-8") == text
        print(f"{TARGET}: {'up to date' if same else 'differs from the package'}")
        return 0 if same else 1
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
