"""Fixtures for the dashboard in a real browser: the system's headless Chromium (one session per
module), a live router with traffic behind it, and where the screenshots go."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver

from tests.browser.chromium import Chromium, find_chromium, start_browser
from tests.browser.live_router import ENV, drive_traffic, routes_toml
from tests.conftest import RouterFactory
from tests.support.servers import REPO


@pytest.fixture(scope="session")
def chromium() -> Chromium:
    return find_chromium()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """`$ROUTER_ARTIFACTS/screenshots` (CI keeps it as an artifact), else ./artifacts/screenshots
    (git-ignored)."""
    directory = Path(os.environ.get("ROUTER_ARTIFACTS") or REPO / "artifacts") / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(scope="module")
def dashboard_url(chromium: Chromium, start_router: RouterFactory, mock_upstream_url: str) -> str:
    """The base URL of a `router serve` that has served some traffic (chromium first: without a
    browser there is no point starting the router)."""
    base_url = start_router(routes_toml(mock_upstream_url), env=ENV)
    drive_traffic(base_url)
    return base_url


@pytest.fixture(scope="module")
def browser(chromium: Chromium) -> Iterator[webdriver.Chrome]:
    driver = start_browser(chromium)
    try:
        yield driver
    finally:
        driver.quit()
