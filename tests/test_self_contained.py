"""A clone of the repository runs on its own: the tutorial sample ships in the package (with its licence)
and no tracked file reaches for a folder beside the checkout."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import hubspot_pipeline
from hubspot_pipeline.local import tutorial
from tests.conftest import ROOT, SAMPLE_DIR

# a path outside the repository: a dot-dot path to "shared", or pathlib parent(s) joined with "shared"
OUTSIDE = re.compile(r"""\.\./shared\b|parents?(\[\d+\])?\s*/\s*["']shared["']""")


def _tracked() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    return [name for name in listed.decode().split("\0") if name]


def test_the_tutorial_sample_ships_in_the_package_with_its_licence():
    package = Path(hubspot_pipeline.__file__).resolve().parent
    assert tutorial.TUTORIAL_SAMPLE_DIR == SAMPLE_DIR == package / "local" / "tutorial_sample"
    names = [
        tutorial.ITEMS_FILE,
        tutorial.USERS_FILE,
        *tutorial.EVENT_FILES,
        tutorial.PENDING_DEALS_FILE,
        tutorial.COMPLETED_DEALS_FILE,
        "LICENSE",
        "README.md",
    ]
    tracked = set(_tracked())
    folder = SAMPLE_DIR.relative_to(ROOT).as_posix()
    assert [name for name in names if f"{folder}/{name}" not in tracked] == []
    assert "MIT License" in (SAMPLE_DIR / "LICENSE").read_text()


def test_no_tracked_file_refers_to_a_folder_beside_the_checkout():
    found = []
    for name in _tracked():
        path = ROOT / name
        if path.is_file() and b"\0" not in (content := path.read_bytes()):
            found += [f"{name}: {match.group(0)}" for match in OUTSIDE.finditer(content.decode())]
    assert found == []
