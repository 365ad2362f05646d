"""Driving the dashboard's pages as a user does (the login form, links) and reading their figures.

Figures are read from the page's HTML (`data-figure` / `data-value` and the `data-*` labels next to
them) with the standard library's parser, not with scripts in the page: the same reading works
with JavaScript off."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

from selenium import webdriver
from selenium.common.exceptions import (
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

WAIT = 5.0
PAGES = {"overview": "/admin", "routes": "/admin/routes", "upstreams": "/admin/upstreams",
         "keys": "/admin/keys", "config": "/admin/config"}


@dataclass(frozen=True)
class Figure:
    """One number on a page: its name, the raw value, and the labels it is about (data-route,
    data-target, data-key ... without the `data-` prefix)."""

    name: str
    value: float
    labels: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        labels = ",".join(f"{k}={v}" for k, v in sorted(self.labels.items()))
        return f"{self.name}{{{labels}}}={self.value:g}"


NOT_LABELS = frozenset({"figure", "value"})


class _FigureParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.figures: list[Figure] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        data = {name.removeprefix("data-"): value or "" for name, value in attrs if name.startswith("data-")}
        if "figure" not in data:
            return
        if "value" not in data:
            raise AssertionError(f"<{tag} data-figure={data['figure']!r}> has no data-value")
        labels = {name: value for name, value in data.items() if name not in NOT_LABELS}
        self.figures.append(Figure(data["figure"], float(data["value"]), labels))


def figures_in(html: str) -> list[Figure]:
    parser = _FigureParser()
    parser.feed(html)
    return parser.figures


def log_in(driver: webdriver.Chrome, base_url: str, admin_key: str) -> None:
    """Type the admin key into the login form's password field and submit it."""
    driver.get(f"{base_url}/admin/login")
    password = WebDriverWait(driver, WAIT).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "input[type=password]")))
    password.clear()
    password.send_keys(admin_key)
    submit_form_of(driver, password)


def submit_form_of(driver: webdriver.Chrome, field_element: WebElement) -> None:
    """Click the submit button of the form `field_element` is in, and wait for the next page
    (a click, not form.submit(): it must work with JavaScript off, as a user's click does)."""
    form = field_element.find_element(By.XPATH, "./ancestor::form")
    button = form.find_element(By.CSS_SELECTOR, "button:not([type=button]), input[type=submit]")
    button.click()
    WebDriverWait(driver, WAIT).until(lambda _: _left_the_document(button))


def _left_the_document(element: WebElement) -> bool:
    """True once the page `element` was on has been replaced. Chromedriver says so with a stale
    element error, or, when it asks in the middle of the navigation, with an inspector error
    that the node "does not belong to the document"."""
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as error:
        if "does not belong to the document" in str(error):
            return True
        raise
    return False


def open_page(driver: webdriver.Chrome, base_url: str, page: str) -> str:
    """Open one of PAGES and return its HTML once the body is there."""
    driver.get(f"{base_url}{PAGES[page]}")
    WebDriverWait(driver, WAIT).until(expected_conditions.presence_of_element_located((By.TAG_NAME, "body")))
    return driver.page_source
