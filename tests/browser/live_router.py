"""The router the dashboard tests look at: a real `router serve` with an admin key, two named client
keys (one with a budget), priced targets and two routes to the loopback mock upstream, and a little
traffic from the official SDKs (unary, streamed, one upstream error) so every page has live data."""

from __future__ import annotations

import hashlib

import anthropic
import openai

ADMIN_KEY = "dash-admin-key-0123456789abcdef"
TEAM_KEY = "dash-team-key-0123456789abcdef"
CI_KEY = "dash-ci-key-0123456789abcdef"
UPSTREAM_KEY = "sk-dash-upstream-ABCDEFGHIJKLMNOP"
ENV = {"DASH_ADMIN_KEY": ADMIN_KEY, "DASH_TEAM_KEY": TEAM_KEY, "DASH_CI_KEY": CI_KEY, "DASH_UP_KEY": UPSTREAM_KEY}
# What no page may show: the keys, their digests, the upstream's key.
SECRETS = [*(value for value in ENV.values()), *(hashlib.sha256(value.encode()).hexdigest() for value in ENV.values())]

ROUTES = """
[auth]
admin-keys = ["env:DASH_ADMIN_KEY"]

[[auth.keys]]
name = "team"
key = "env:DASH_TEAM_KEY"
budget = {{ usd = 25, period = "day", warn-at = 0.8 }}

[[auth.keys]]
name = "ci"
key = "env:DASH_CI_KEY"
routes = ["gpt"]

[upstreams.claude-mock]
kind = "anthropic"
base-url = "{upstream}"
api-key = "env:DASH_UP_KEY"
price = {{ input = 3, output = 15, cache-read = 0.3, cache-write = 3.75 }}

[upstreams.openai-mock]
kind = "openai"
base-url = "{upstream}/v1"
api-key = "env:DASH_UP_KEY"
price = {{ input = 2.5, output = 10 }}

[[routes]]
name = "claude"
models = ["claude-*"]
to = "claude-mock/claude-mock-model"

[[routes]]
name = "gpt"
models = ["gpt-*", "fail-*"]
to = "openai-mock"
retry = {{ attempts = 1 }}
budget = {{ usd = 100, period = "month" }}
"""

TIMEOUT = 20.0


def routes_toml(upstream_url: str) -> str:
    return ROUTES.format(upstream=upstream_url)


def drive_traffic(base_url: str) -> None:
    """Unary and streamed requests through both front doors, and one the upstream fails."""
    with anthropic.Anthropic(base_url=base_url, api_key=TEAM_KEY, max_retries=0, timeout=TIMEOUT) as claude:
        claude.messages.create(model="claude-dash", max_tokens=100,
                               messages=[{"role": "user", "content": "hello dashboard"}])
        with claude.messages.stream(model="claude-dash", max_tokens=100,
                                    messages=[{"role": "user", "content": "stream to the dashboard"}]) as stream:
            stream.get_final_message()
    with openai.OpenAI(base_url=f"{base_url}/v1", api_key=CI_KEY, max_retries=0, timeout=TIMEOUT) as gpt:
        gpt.chat.completions.create(model="gpt-dash", messages=[{"role": "user", "content": "hello chat"}])
        list(gpt.chat.completions.create(model="gpt-dash", stream=True, stream_options={"include_usage": True},
                                         messages=[{"role": "user", "content": "stream chat"}]))
        try:
            gpt.chat.completions.create(model="fail-500", messages=[{"role": "user", "content": "fail"}])
        except openai.APIStatusError:
            pass
        else:
            raise AssertionError("the scripted upstream failure answered 200")
