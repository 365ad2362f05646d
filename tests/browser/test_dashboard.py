"""The admin dashboard in headless Chromium, against a live `router serve` that has served traffic:
the login form, every page (each screenshotted into the artifacts), figures equal to /metrics,
no secret in any page, the overview with JavaScript off, and the reload button refused without
the admin key."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.browser.chromium import Chromium, full_page_screenshot, start_browser
from tests.browser.counterparts import expected
from tests.browser.live_router import ADMIN_KEY, SECRETS, routes_toml
from tests.browser.pages import (
    PAGES,
    Figure,
    figures_in,
    log_in,
    open_page,
    submit_form_of,
)
from tests.browser.prometheus import Sample, scrape, total

# What each page must show of the live router (names, budgets, the scrubbed upstream error; never secrets).
SHOWS = {
    "overview": ["claude", "gpt", "claude-mock/claude-mock-model"],
    "routes": ["claude", "gpt", "claude-mock", "openai-mock", "$100.00 per month"],
    "upstreams": ["claude-mock", "openai-mock", "scripted 500"],
    "keys": ["team", "ci", "$25.00 per day"],
    "config": ["Reload"],
}
# The figures each page must carry at least (so comparing them with /metrics is never vacuous).
CARRIES = {
    "overview": {"requests_total", "errors_total", "tokens_input_total", "tokens_output_total", "cost_usd_total"},
    "routes": set(),
    "upstreams": {"requests_total", "errors_total"},
    "keys": {"tokens_input_total", "tokens_output_total", "cost_usd_total"},
    "config": {"router_config_reloads"},
}
# The traffic live_router.drive_traffic sends: 2 requests on route claude, 3 on gpt (one failed).
TRAFFIC = {("requests_total", "claude"): 2, ("requests_total", "gpt"): 3,
           ("errors_total", "claude"): 0, ("errors_total", "gpt"): 1}


@pytest.fixture(scope="module")
def admin(browser: webdriver.Chrome, dashboard_url: str) -> webdriver.Chrome:
    """The module's browser, logged in through the form."""
    log_in(browser, dashboard_url, ADMIN_KEY)
    return browser


def test_a_wrong_admin_key_stays_on_the_login_form(browser: webdriver.Chrome, dashboard_url: str,
                                                   screenshots: Path) -> None:
    log_in(browser, dashboard_url, "not-the-admin-key")
    full_page_screenshot(browser, screenshots / "login-refused.png")
    assert "invalid admin key" in browser.find_element(By.TAG_NAME, "body").text
    open_page(browser, dashboard_url, "overview")
    assert browser.find_elements(By.CSS_SELECTOR, "input[type=password]"), "the overview opened without the admin key"
    assert not figures_in(browser.page_source)


def test_logging_in_opens_the_overview(admin: webdriver.Chrome, dashboard_url: str) -> None:
    html = open_page(admin, dashboard_url, "overview")
    assert figures_in(html), "the overview shows no figure (data-figure)"


@pytest.mark.parametrize("page", list(PAGES))
def test_page_shows_the_live_router(admin: webdriver.Chrome, dashboard_url: str, screenshots: Path, page: str) -> None:
    html = open_page(admin, dashboard_url, page)
    full_page_screenshot(admin, screenshots / f"{page}.png")
    text = admin.find_element(By.TAG_NAME, "body").text
    for name in SHOWS[page]:
        assert name in text, f"{page} does not show {name!r}"
    leaked = [secret for secret in SECRETS if secret in html]
    assert not leaked, f"{page} shows a key or a digest: {leaked}"


def differences(figures: list[Figure], samples: list[Sample]) -> list[str]:
    return [f"{figure} but /metrics says {expected(figure, samples):g}" for figure in figures
            if not math.isclose(figure.value, expected(figure, samples), rel_tol=1e-6, abs_tol=1e-9)]


@pytest.mark.parametrize("page", list(PAGES))
def test_figures_equal_the_metrics(admin: webdriver.Chrome, dashboard_url: str, page: str) -> None:
    figures = figures_in(open_page(admin, dashboard_url, page))
    assert CARRIES[page] <= {figure.name for figure in figures}, [str(figure) for figure in figures]
    wrong = differences(figures, scrape(dashboard_url))
    assert not wrong, "\n".join(wrong)


def test_the_overview_counts_the_traffic(admin: webdriver.Chrome, dashboard_url: str) -> None:
    """Not only equal to /metrics: the requests the SDKs sent are there, route by route."""
    figures = figures_in(open_page(admin, dashboard_url, "overview"))
    shown = {(figure.name, figure.labels["route"]): figure.value for figure in figures if "route" in figure.labels}
    assert {pair: shown.get(pair) for pair in TRAFFIC} == TRAFFIC
    overall = {figure.name: figure.value for figure in figures if not figure.labels}
    assert overall["requests_total"] == 5 and overall["errors_total"] == 1
    assert overall["tokens_input_total"] > 0 and overall["tokens_output_total"] > 0 and overall["cost_usd_total"] > 0


def test_the_config_page_shows_the_loaded_file(admin: webdriver.Chrome, dashboard_url: str, mock_upstream_url: str) -> None:
    open_page(admin, dashboard_url, "config")
    digest = hashlib.sha256(routes_toml(mock_upstream_url).encode()).hexdigest()
    assert digest in admin.find_element(By.TAG_NAME, "body").text


def test_the_reload_button_without_a_key_is_refused(admin: webdriver.Chrome, dashboard_url: str) -> None:
    """Logged in (the session cookie is there), but the form's key field left empty: the POST is
    refused and nothing reloads (the cookie alone must never do: CSRF)."""
    reloads_before = total(scrape(dashboard_url), "router_config_reloads")
    open_page(admin, dashboard_url, "config")
    form = admin.find_element(By.CSS_SELECTOR, "form[action$='/admin/reload']")
    key_field = form.find_element(By.CSS_SELECTOR, "input[type=password]")
    key_field.clear()
    submit_form_of(admin, key_field)
    text = admin.find_element(By.TAG_NAME, "body").text.lower()
    assert "reloaded" not in text and "unchanged" not in text, text
    assert any(word in text for word in ("admin key", "authentication", "permission", "refused")), text
    assert total(scrape(dashboard_url), "router_config_reloads") == reloads_before


def test_the_reload_button_with_the_key_reloads(admin: webdriver.Chrome, dashboard_url: str) -> None:
    """The same form with the admin key typed in: the file is read again (unchanged)."""
    unchanged_before = total(scrape(dashboard_url), "router_config_reloads", {"result": "unchanged"})
    open_page(admin, dashboard_url, "config")
    key_field = admin.find_element(By.CSS_SELECTOR, "form[action$='/admin/reload'] input[type=password]")
    key_field.send_keys(ADMIN_KEY)
    submit_form_of(admin, key_field)
    assert "unchanged" in admin.find_element(By.TAG_NAME, "body").text.lower()
    assert total(scrape(dashboard_url), "router_config_reloads", {"result": "unchanged"}) == unchanged_before + 1
    assert ADMIN_KEY not in admin.page_source


@pytest.fixture
def no_script(chromium: Chromium) -> Iterator[webdriver.Chrome]:
    """A second browser with JavaScript turned off (Chromium's content setting), checked off."""
    driver = start_browser(chromium, javascript=False)
    try:
        driver.get("data:text/html,<title>off</title><script>document.title = 'on'</script>")
        assert driver.title == "off", "JavaScript still runs"
        yield driver
    finally:
        driver.quit()


def test_the_overview_works_without_javascript(no_script: webdriver.Chrome, dashboard_url: str, screenshots: Path) -> None:
    log_in(no_script, dashboard_url, ADMIN_KEY)
    html = open_page(no_script, dashboard_url, "overview")
    full_page_screenshot(no_script, screenshots / "overview-no-javascript.png")
    figures = figures_in(html)
    assert CARRIES["overview"] <= {figure.name for figure in figures}, "with JavaScript off the overview lacks figures"
    wrong = differences(figures, scrape(dashboard_url))
    assert not wrong, "\n".join(wrong)
