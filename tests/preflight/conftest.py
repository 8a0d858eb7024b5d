"""The local share the preflight tests read: a small generated portal, served once for the package."""

from __future__ import annotations

import pytest

from hubspot_pipeline.local.emulator import running_emulator
from hubspot_pipeline.local.generator import generate_share

SHARE_SIZES = {"contacts": 400, "products": 60, "days": 30, "events_per_day": 80}


@pytest.fixture(scope="package")
def emulator(tmp_path_factory):
    """The generated share with a little dirt (unknown event types among them), over the emulator."""
    share_dir = tmp_path_factory.mktemp("preflight-share")
    generate_share(share_dir, **SHARE_SIZES, dirty_share=0.01)
    with running_emulator(share_dir) as running:
        yield running
