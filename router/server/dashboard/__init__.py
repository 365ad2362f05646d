"""The admin dashboard: server-rendered pages (jinja2 templates shipped in the package, one
<style> block, one small inline script that refreshes the overview's figures; all of it usable
with JavaScript off).

    GET  /admin              overview: requests/s (1 and 5 min), error rate, latency p50/p95
                             (the recent window, router.observe.recent), gateway overhead p50/p95
                             (router_overhead_seconds), totals since start, per route and per
                             target with today's tokens and cost from the ledger, a 60-minute chart;
                             `?fragment=live` is the part the script refreshes
    GET  /admin/routes       the table as loaded, and which routes or targets are off and why
    GET  /admin/upstreams    breaker state, cool-down, in-flight, recent scrubbed errors per target
    GET  /admin/keys         key names, scopes, limits, budget (spent, left, warning), usage
    GET  /admin/config       sha256, load time, reloads, last rejection, redacted config (HTML to
                             browsers; the admin API's JSON otherwise, unchanged)
    POST /admin/reload       the admin key in a header or the form's `admin_key` field, never the
                             session cookie alone; HTML result to browsers, JSON otherwise
    GET/POST /admin/login    the admin key → a 12 h session cookie (router.server.dashboard.session)

Access (router.server.dashboard.guard): the admin key, or the session cookie for the read-only
pages; with no admin key configured, loopback peers only. Refused browsers get the login form
(401) or the reason (403); API clients the admin endpoints' JSON error. Every page is sent with
Cache-Control: no-store, X-Frame-Options: DENY and a Content-Security-Policy allowing only this
origin and the page's own nonce.

Figures: every number that /metrics also has carries `data-figure="<name>"`, `data-value="<exact
number>"` and the labels of the series it sums as `data-route`, `data-target`, `data-key` or
`data-result` (router.server.dashboard.figures reads the same registry the scrape encodes):

    requests_total              router_requests_total                      overview (all, per route,
                                                                           per target), upstreams
                                                                           (per target)
    errors_total                router_requests_total with status >= 400   as requests_total
    tokens_input_total          router_usage_tokens_total, kinds input +   overview, keys (data-key)
                                cache_read + cache_write
    tokens_output_total         router_usage_tokens_total{kind="output"}   overview, keys
    tokens_cache_read_total     router_usage_tokens_total{kind="cache_read"}   overview
    tokens_cache_write_total    router_usage_tokens_total{kind="cache_write"}  overview
    cost_usd_total              router_cost_usd_total                      overview, keys
    router_config_reloads       router_config_reloads_total{result}        config (data-result)

Numbers without a counterpart (requests/s, error rate, latency and overhead percentiles, the
ledger's "today" columns, budgets) carry no data-figure.
"""

from router.server.dashboard.handlers import Dashboard, dashboard_handlers

__all__ = ["Dashboard", "dashboard_handlers"]
