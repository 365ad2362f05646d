"""The admin dashboard's pages through the real app (no browser: tests/browser drives Chromium):
what each page shows, HTML escaping of config values, no secret anywhere, who may see the pages
(admin key, the login cookie, loopback without admin keys), the reload form's key, and the JSON
of GET /admin/config unchanged for API clients."""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from router.server.dashboard.session import COOKIE
from tests.test_admin import app_for
from tests.test_reload import message, serving, write

CLIENT_KEY = "ck-dash-client-0123456789"
CI_KEY = "ck-dash-ci-0123456789abcd"
ADMIN_KEY = "ak-dash-admin-0123456789"
UPSTREAM_SECRET = "sk-CANARY-dash-upstream-77f1e2"
ENV = {"CLIENT_KEY": CLIENT_KEY, "CI_KEY": CI_KEY, "ADMIN_KEY": ADMIN_KEY, "UP_KEY": UPSTREAM_SECRET}
SECRETS = [*ENV.values(), *(hashlib.sha256(value.encode()).hexdigest() for value in ENV.values())]
HOSTILE = "<script>alert(1)</script>"
ROUTES = f"""
[auth]
admin-keys = ["env:ADMIN_KEY"]
keys = ["env:CLIENT_KEY", {{ name = "ci", key = "env:CI_KEY", routes = ["demo"], models = ["demo"], limits = {{ rpm = 60 }}, budget = {{ usd = 20, period = "week" }} }}]

[upstreams.local]
kind = "mock"
price = {{ input = 3, output = 15 }}

[upstreams.down]
kind = "openai"
base-url = "http://127.0.0.1:9/v1?key=url-secret"
api-key = "env:UP_KEY"

[upstreams.spare]
kind = "openai"
base-url = "https://spare.example/v1"
api-key = "env:SPARE_KEY"
optional = true

[[routes]]
name = "demo"
models = ["demo"]
to = "local"
budget = {{ usd = 100, period = "month" }}

[[routes]]
name = "{HOSTILE}"
models = ["x-<b>bold</b>"]
to = "local"
request = [{{ op = "set", field = "temperature", value = 0 }}]
headers = [{{ op = "set", name = "x-team-token", value = "hdr-CANARY-value" }}]

[[routes]]
name = "failing"
models = ["fail"]
to = "down/gpt"
retry = {{ attempts = 1 }}

[[routes]]
name = "spare-only"
models = ["spare"]
to = "spare/model"
"""
HTML = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
ADMIN = {"x-api-key": ADMIN_KEY}
PAGES = ["/admin", "/admin/routes", "/admin/upstreams", "/admin/keys", "/admin/config"]


class _Figures(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, float, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        data = {name.removeprefix("data-"): value or "" for name, value in attrs if name.startswith("data-")}
        if "figure" in data:
            labels = {k: v for k, v in data.items() if k not in ("figure", "value")}
            self.found.append((data["figure"], float(data["value"]), labels))


def figures(html: str) -> list[tuple[str, float, dict[str, str]]]:
    parser = _Figures()
    parser.feed(html)
    return parser.found


@pytest.fixture
def routes(tmp_path: Path) -> Path:
    return write(tmp_path / "routes.toml", ROUTES)


async def traffic(http: httpx.AsyncClient) -> None:
    for _ in range(3):
        assert (await http.post("/v1/messages", json=message("demo"), headers={"x-api-key": CLIENT_KEY})).status_code == 200
    assert (await http.post("/v1/messages", json=message("demo"), headers={"x-api-key": CI_KEY})).status_code == 200
    failed = await http.post("/v1/messages", json=message("fail"), headers={"x-api-key": CLIENT_KEY})
    assert failed.status_code >= 500


# -- what the pages show ------------------------------------------------------------------------


async def test_every_page_renders_with_security_headers(routes: Path) -> None:
    async with serving(app_for(routes, ENV)) as http:
        await traffic(http)
        for path in PAGES:
            answer = await http.get(path, headers={**HTML, **ADMIN})
            assert answer.status_code == 200, (path, answer.text[:500])
            assert answer.headers["content-type"].startswith("text/html")
            assert answer.headers["cache-control"] == "no-store"
            assert answer.headers["x-frame-options"] == "DENY"
            policy = answer.headers["content-security-policy"]
            assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
            assert "unsafe-inline" not in policy
            nonce = re.search(r"'nonce-([^']+)'", policy)
            assert nonce is not None
            # every inline <script>/<style> carries the response's nonce, and nothing loads from elsewhere
            for tag in re.findall(r"<(?:script|style)[^>]*>", answer.text):
                assert f'nonce="{nonce[1]}"' in tag, tag
            assert "src=\"http" not in answer.text and "href=\"http" not in answer.text


async def test_overview_figures_equal_the_metrics(routes: Path) -> None:
    async with serving(app_for(routes, ENV)) as http:
        await traffic(http)
        html = (await http.get("/admin", headers={**HTML, **ADMIN})).text
        metrics = (await http.get("/metrics")).text
    found = {(name, tuple(sorted(labels.items()))): value for name, value, labels in figures(html)}
    assert found[("requests_total", ())] == 5
    assert found[("errors_total", ())] == 1
    assert found[("requests_total", (("route", "demo"),))] == 4
    assert found[("errors_total", (("route", "failing"),))] == 1
    # the mock's usage, priced at $3/$15 per million
    demo_in = _metric_sum(metrics, "router_usage_tokens_total", route="demo", kind="input")
    demo_out = _metric_sum(metrics, "router_usage_tokens_total", route="demo", kind="output")
    assert demo_in > 0 and found[("tokens_input_total", (("route", "demo"),))] == demo_in
    assert found[("tokens_output_total", (("route", "demo"),))] == demo_out
    cost = found[("cost_usd_total", (("route", "demo"),))]
    assert cost == pytest.approx((demo_in * 3 + demo_out * 15) / 1e6)
    assert cost == pytest.approx(_metric_sum(metrics, "router_cost_usd_total", route="demo"))


def _metric_sum(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        series, value = line.rsplit(" ", 1)
        if all(f'{k}="{v}"' in series for k, v in labels.items()):
            total += float(value)
    return total


async def test_overview_shows_recent_traffic_and_today(routes: Path) -> None:
    async with serving(app_for(routes, ENV)) as http:
        await traffic(http)
        html = (await http.get("/admin", headers={**HTML, **ADMIN})).text
        fragment = (await http.get("/admin?fragment=live", headers={**HTML, **ADMIN})).text
    assert "Requests/s, last 1 min" in html and "<polyline" in html
    assert "20.0 %" in html  # 1 error in 5 requests
    assert "Today: cache hits" in html  # the ledger's hits beside today's requests
    assert "<html" not in fragment and "data-figure" in fragment and "<polyline" in fragment
    assert 'id="live"' in html and "fetch(" in html


async def test_routes_page_shows_the_table_and_what_is_off(routes: Path) -> None:
    async with serving(app_for(routes, ENV)) as http:
        html = (await http.get("/admin/routes", headers={**HTML, **ADMIN})).text
    for text in ("demo", "failing", "down/gpt", "spare-only", "temperature", "$100.00 per month", "x-team-token"):
        assert text in html, text
    assert "every upstream it names is optional" in html  # spare-only: off, and why
    assert "spent $0.00, left $100.00" in html  # the route budget's spend this month
    assert "hdr-CANARY-value" not in html  # a header a route sets may be a credential


async def test_config_values_are_escaped(routes: Path) -> None:
    async with serving(app_for(routes, ENV)) as http:
        await traffic(http)
        pages = [(await http.get(path, headers={**HTML, **ADMIN})).text for path in PAGES]
    for html in pages:
        assert HOSTILE not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[1]


async def test_upstreams_page_shows_health_and_scrubbed_errors(routes: Path) -> None:
    async with serving(app_for(routes, ENV)) as http:
        await traffic(http)
        html = (await http.get("/admin/upstreams", headers={**HTML, **ADMIN})).text
    assert "down/gpt" in html and "UpstreamUnreachable" in html and "unreachable" in html
    assert "http://127.0.0.1:9/v1?[redacted]" in html and "url-secret" not in html
    assert "spare" in html and "optional, and its API key is unset" in html
    assert "closed" in html


async def test_keys_page_shows_scopes_budgets_and_usage_never_a_key(routes: Path) -> None:
    async with serving(app_for(routes, ENV)) as http:
        await traffic(http)
        html = (await http.get("/admin/keys", headers={**HTML, **ADMIN})).text
    assert "ci" in html and "CLIENT_KEY" in html  # names: `env:NAME` keys are named NAME
    assert "60 requests/min" in html and "$20.00 per week" in html
    labels = {labels.get("key") for name, _, labels in figures(html)}
    assert {"ci", "CLIENT_KEY"} <= labels
    ci_cost = next(value for name, value, labels in figures(html) if name == "cost_usd_total" and labels == {"key": "ci"})
    assert ci_cost > 0


async def test_no_page_shows_a_secret(routes: Path) -> None:
    async with serving(app_for(routes, ENV)) as http:
        await traffic(http)
        pages = [(await http.get(path, headers={**HTML, **ADMIN})).text for path in PAGES]
        pages.append((await http.get("/admin/config", headers=ADMIN)).text)
    for html in pages:
        leaked = [secret for secret in SECRETS if secret in html]
        assert not leaked


async def test_config_page_and_unchanged_json(routes: Path) -> None:
    async with serving(app_for(routes, ENV)) as http:
        page = await http.get("/admin/config", headers={**HTML, **ADMIN})
        api = await http.get("/admin/config", headers=ADMIN)
        plain = await http.get("/admin/config", headers={**ADMIN, "accept": "application/json"})
    sha = hashlib.sha256(routes.read_bytes()).hexdigest()
    assert sha in page.text and 'action="/admin/reload"' in page.text and 'type="password"' in page.text
    assert api.headers["content-type"] == "application/json" and plain.headers["content-type"] == "application/json"
    assert api.json()["sha256"] == sha and set(api.json()) == {"sha256", "loaded_at", "source", "reloads", "config"}


async def test_config_page_shows_the_last_rejected_reload(routes: Path) -> None:
    async with serving(app_for(routes, ENV)) as http:
        routes.write_text(ROUTES.replace('to = "local"\nbudget', 'to = "nowhere"\nbudget'))
        refused = await http.post("/admin/reload", headers=ADMIN)
        assert refused.status_code == 422
        html = (await http.get("/admin/config", headers={**HTML, **ADMIN})).text
    assert refused.json()["errors"][0].split(" — ")[0] in html.replace("&#34;", '"')
    assert "admin endpoint" in html  # the history's trigger
    (name, value, labels), = [f for f in figures(html) if f[2] == {"result": "invalid"}]
    assert (name, value) == ("router_config_reloads", 1)


# -- who may see them ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
async def test_without_the_admin_key_browsers_get_the_login_form_and_apis_json(routes: Path, path: str) -> None:
    async with serving(app_for(routes, ENV)) as http:
        browser = await http.get(path, headers=HTML)
        api = await http.get(path)
        client = await http.get(path, headers={**HTML, "x-api-key": CLIENT_KEY})
    assert browser.status_code == 401 and 'type="password"' in browser.text and "data-figure" not in browser.text
    assert api.status_code == 401 and api.json()["error"]["type"] == "authentication_error"
    assert client.status_code == 403 and "client key" in client.text and "data-figure" not in client.text


async def test_login_sets_a_session_cookie_that_opens_the_pages(routes: Path) -> None:
    async with serving(app_for(routes, ENV)) as http:
        wrong = await http.post("/admin/login", data={"admin_key": "nope", "next": "/admin/keys"}, headers=HTML)
        assert wrong.status_code == 401 and "invalid admin key" in wrong.text and COOKIE not in wrong.headers.get("set-cookie", "")
        answer = await http.post("/admin/login", data={"admin_key": ADMIN_KEY, "next": "/admin/keys"}, headers=HTML)
        assert answer.status_code == 303 and answer.headers["location"] == "/admin/keys"
        cookie = answer.headers["set-cookie"]
        for attribute in ("HttpOnly", "SameSite=Strict", "Max-Age=43200", "Path=/admin"):
            assert attribute.lower() in cookie.lower(), cookie
        assert "secure" not in cookie.lower()  # plain http here
        assert ADMIN_KEY not in cookie and hashlib.sha256(ADMIN_KEY.encode()).hexdigest() not in cookie
        for path in PAGES:
            assert (await http.get(path, headers=HTML)).status_code == 200, path  # the client keeps the cookie
        http.cookies.set(COOKIE, "9999999999.forged", path="/admin")
        assert (await http.get("/admin", headers=HTML)).status_code == 401


async def test_login_redirects_only_within_the_dashboard(routes: Path) -> None:
    async with serving(app_for(routes, ENV)) as http:
        for target in ("https://evil.example/", "//evil.example/admin", "/v1/messages"):
            answer = await http.post("/admin/login", data={"admin_key": ADMIN_KEY, "next": target}, headers=HTML)
            assert answer.headers["location"] == "/admin"


async def test_the_cookie_is_secure_over_https(routes: Path) -> None:
    app = app_for(routes, ENV)
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))  # type: ignore[arg-type]
    async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url="https://router") as http:
        answer = await http.post("/admin/login", data={"admin_key": ADMIN_KEY}, headers=HTML)
    assert "secure" in answer.headers["set-cookie"].lower()


async def test_the_reload_form_needs_the_key_not_the_cookie(routes: Path) -> None:
    async with serving(app_for(routes, ENV)) as http:
        await http.post("/admin/login", data={"admin_key": ADMIN_KEY}, headers=HTML)
        refused = await http.post("/admin/reload", data={"admin_key": ""}, headers=HTML)
        assert refused.status_code == 401
        text = refused.text.lower()
        assert "admin key" in text and "reloaded" not in text and "unchanged" not in text
        done = await http.post("/admin/reload", data={"admin_key": ADMIN_KEY}, headers=HTML)
        assert done.status_code == 200 and "unchanged" in done.text
        cross = await http.post("/admin/reload", data={"admin_key": ADMIN_KEY},
                                headers={**HTML, "sec-fetch-site": "cross-site"})
        assert cross.status_code == 403
        foreign = await http.post("/admin/reload", data={"admin_key": ADMIN_KEY},
                                  headers={"origin": "https://evil.example"})
        assert foreign.status_code == 403 and foreign.json()["error"]["type"] == "permission_error"
        api = await http.post("/admin/reload", data={"admin_key": ADMIN_KEY})
        assert api.json()["status"] == "unchanged"  # an API client sending the form field gets JSON
        config = (await http.get("/admin/config", headers=ADMIN)).json()
    assert config["reloads"]["unchanged"] == 2  # the refused and cross-site posts reloaded nothing


BASE = """
[upstreams.local]
kind = "mock"

[[routes]]
name = "demo"
models = ["demo"]
to = "local"
"""


@pytest.mark.parametrize(("peer", "status"), [("127.0.0.1", 200), ("10.1.2.3", 403)])
async def test_without_admin_keys_loopback_needs_no_login(tmp_path: Path, peer: str, status: int) -> None:
    path = write(tmp_path / "routes.toml", BASE)
    async with serving(app_for(path, {}), peer=peer) as http:
        for page in PAGES:
            answer = await http.get(page, headers=HTML)
            assert answer.status_code == status, page
        login = await http.get("/admin/login", headers=HTML)
    assert login.status_code == 303 and login.headers["location"] == "/admin"
    if status == 403:
        assert "loopback" in answer.text
