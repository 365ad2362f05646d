"""Headless Chromium for the dashboard tests, from the system's packages only.

The browser and its driver come from Debian (`apt-get install chromium chromium-driver`): the
driver is handed to Selenium as a `Service` path, so Selenium Manager never runs and nothing is
downloaded. Without them the tests skip on a developer's machine, but fail in CI (`CI` or
`ROUTER_CI`, which .ci/run exports): CI installs them, so their absence there is a broken set-up,
not a reason to test less.
"""

from __future__ import annotations

import base64
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.remote_connection import RemoteConnection

WINDOW = (1280, 900)
PAGE_LOAD_TIMEOUT = 10.0
# Each WebDriver command's HTTP round trip to chromedriver: a hung browser fails the test, not CI.
COMMAND_TIMEOUT = 30
# The tallest full-page screenshot taken; a runaway page must not make a huge image.
MAX_SCREENSHOT_HEIGHT = 4000


@dataclass(frozen=True)
class Chromium:
    browser: str
    driver: str


def in_ci() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("ROUTER_CI"))


def find_chromium() -> Chromium:
    """The system browser and driver, or a skip (a failure in CI) naming what is missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser and driver:
        return Chromium(browser, driver)
    missing = " and ".join(name for name, path in (("chromium", browser), ("chromedriver", driver)) if not path)
    if in_ci():
        pytest.fail(f"dashboard browser tests: {missing} not installed, and CI must have them (.ci/run installs them)")
    pytest.skip(f"dashboard browser tests: {missing} not installed (apt-get install -y chromium chromium-driver)")


def start_browser(chromium: Chromium, javascript: bool = True) -> webdriver.Chrome:
    """A headless Chromium at WINDOW, with JavaScript on or off (a content setting, as a user
    or an administrator turns it off: the page loads the same HTML)."""
    options = webdriver.ChromeOptions()
    options.binary_location = chromium.browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 f"--window-size={WINDOW[0]},{WINDOW[1]}"):
        options.add_argument(flag)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(options=options, service=Service(chromium.driver))
    executor = driver.command_executor
    assert isinstance(executor, RemoteConnection)
    executor.client_config.timeout = COMMAND_TIMEOUT  # Selenium's default: wait forever
    driver.set_page_load_timeout(PAGE_LOAD_TIMEOUT)
    driver.set_script_timeout(PAGE_LOAD_TIMEOUT)
    return driver


def full_page_screenshot(driver: webdriver.Chrome, path: Path) -> None:
    """The whole page as a PNG, not only what the window shows (DevTools captures beyond the
    viewport), at the window's width. The page's height comes from DevTools too, so this works
    with JavaScript off."""
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    height = min(int(metrics["cssContentSize"]["height"]), MAX_SCREENSHOT_HEIGHT)
    clip = {"x": 0, "y": 0, "width": WINDOW[0], "height": max(height, 1), "scale": 1}
    shot = driver.execute_cdp_cmd("Page.captureScreenshot",
                                  {"format": "png", "captureBeyondViewport": True, "clip": clip})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))

