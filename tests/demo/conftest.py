"""What the demo's Chromium tests share: one browser per module, and where screenshots go."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.support.chromium import chromium


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def shots(tmp_path) -> Path:
    """The test's own folder, or BACKCHANNEL_SCREENSHOTS (`make screenshots`: docs/screenshots)."""
    folder = os.environ.get("BACKCHANNEL_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path
