"""The router app in-process for the fuzz properties: one table with every protocol pair (and
several capability sets for the converted ones), upstreams answered by an httpx MockTransport.

The mock answers whatever `FakeUpstream.answer` currently holds, in the protocol the request went
to (OpenAI chat completions, Anthropic messages, OpenAI responses or Gemini's generateContent) and
in the form asked for (a body, or an event stream cut at `FakeUpstream.reads`). Every client
protocol reaches every upstream kind: Responses clients converted to Chat and Anthropic and passed
through, Anthropic and Chat clients converted to Responses, Gemini clients (model and method in
the path) converted to Chat, Anthropic and Responses and passed through to a Gemini upstream. An httpx transport instead of respx: no global patching, and
the properties run their examples one after the other against one app.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from litestar.testing import TestClient

from router.config.load import load_config_text
from router.config.schema import Upstream
from router.gateway.state import open_state
from router.routing.lookup import build_table
from router.server.app import create_app
from tests.fuzz import gemini
from tests.fuzz import strategies as s

ROUTES = """
[server]
access-log = false   # thousands of requests; a failure prints its own evidence

[upstreams.oa]
kind = "openai"
base-url = "https://oa.example/v1"
api-key = "env:FUZZ_KEY"

[upstreams.deepseek]
kind = "openai"
base-url = "https://deepseek.example/v1"
api-key = "env:FUZZ_KEY"
supports = { reasoning = "reasoning-content", vision = false, max-output-tokens = 8192, tool-schema = "clean" }

[upstreams.openrouter]
kind = "openai"
base-url = "https://openrouter.example/v1"
api-key = "env:FUZZ_KEY"
supports = { reasoning = "effort", cache-control = true, top-k = true }

[upstreams.openai]
kind = "openai"
base-url = "https://openai.example/v1"
api-key = "env:FUZZ_KEY"
supports = { reasoning = "effort", tool-schema = "clean", stream-usage = false }

[upstreams.an]
kind = "anthropic"
base-url = "https://an.example"
api-key = "env:FUZZ_KEY"

[upstreams.an-budget]
kind = "anthropic"
base-url = "https://an-budget.example"
api-key = "env:FUZZ_KEY"
supports = { max-output-tokens = 8000, thinking-budgets = { minimal = 1024, low = 2048, medium = 6000, high = 20000 } }

[upstreams.rsp]
kind = "responses"
base-url = "https://rsp.example/v1"
api-key = "env:FUZZ_KEY"

[upstreams.gem]
kind = "gemini"
base-url = "https://gem.example/v1beta"
api-key = "env:FUZZ_KEY"

[[routes]]
name = "a-plain"
clients = ["anthropic"]
models = ["conv-plain"]
to = "oa/target"
retry = { attempts = 1 }

[[routes]]
name = "a-deepseek"
clients = ["anthropic"]
models = ["conv-deepseek"]
to = "deepseek/deepseek-chat"
retry = { attempts = 1 }

[[routes]]
name = "a-openrouter"
clients = ["anthropic"]
models = ["conv-openrouter"]
to = "openrouter/anthropic/claude"
retry = { attempts = 1 }

[[routes]]
name = "a-openai"
clients = ["anthropic"]
models = ["conv-openai"]
to = "openai/gpt-5"
retry = { attempts = 1 }
request = [{ op = "rename", field = "max_tokens", to = "max_completion_tokens" }]

[[routes]]
name = "a-pass"
clients = ["anthropic"]
models = ["pass-anthropic"]
to = "an"
retry = { attempts = 1 }

[[routes]]
name = "a-responses"
clients = ["anthropic"]
models = ["conv-responses"]
to = "rsp/gpt-target"
retry = { attempts = 1 }

[[routes]]
name = "o-responses"
clients = ["openai"]
models = ["conv-responses"]
to = "rsp/gpt-target"
retry = { attempts = 1 }

[[routes]]
name = "r-plain"
clients = ["responses"]
models = ["conv-plain"]
to = "oa/target"
retry = { attempts = 1 }

[[routes]]
name = "r-anthropic"
clients = ["responses"]
models = ["conv-anthropic"]
to = "an/claude-target"
retry = { attempts = 1 }

[[routes]]
name = "r-pass"
clients = ["responses"]
models = ["pass-responses"]
to = "rsp"
retry = { attempts = 1 }

[[routes]]
name = "o-plain"
clients = ["openai"]
models = ["conv-plain"]
to = "an/claude-target"
retry = { attempts = 1 }

[[routes]]
name = "o-budget"
clients = ["openai"]
models = ["conv-budget"]
to = "an-budget/claude-budget"
retry = { attempts = 1 }

[[routes]]
name = "o-pass"
clients = ["openai"]
models = ["pass-openai"]
to = "oa"
retry = { attempts = 1 }

[[routes]]
name = "g-plain"
clients = ["gemini"]
models = ["gem-plain"]
to = "oa/target"
retry = { attempts = 1 }

[[routes]]
name = "g-anthropic"
clients = ["gemini"]
models = ["gem-anthropic"]
to = "an/claude-target"
retry = { attempts = 1 }

[[routes]]
name = "g-responses"
clients = ["gemini"]
models = ["gem-responses"]
to = "rsp/gpt-target"
retry = { attempts = 1 }

[[routes]]
name = "g-pass"
clients = ["gemini"]
models = ["gem-pass"]
to = "gem"
retry = { attempts = 1 }
"""


@dataclass
class FakeUpstream:
    """What the mocked upstreams answer next."""

    answer: s.Answer | None = None
    reads: list[int] = field(default_factory=list)  # cut offsets of a streamed answer

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        assert self.answer is not None, "the property set no answer"
        api = request.url.path.rsplit("/", 1)[-1]  # messages, completions, responses or <model>:<method>
        if ":" in api:  # Gemini: the path's method says whether to stream
            if not api.endswith(":streamGenerateContent"):
                return httpx.Response(200, json=gemini.gemini_response(self.answer))
            sse = gemini.gemini_sse(self.answer)
            return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=_reads(sse, self.reads))
        if not _wants_stream(body):
            return httpx.Response(200, json=_BODIES[api](self.answer))
        sse = _STREAMS[api](self.answer)
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=_reads(sse, self.reads))


_BODIES = {"messages": s.anthropic_message, "completions": s.openai_completion, "responses": s.responses_object}
_STREAMS = {"messages": s.anthropic_sse, "completions": s.openai_sse, "responses": s.responses_sse}


def _wants_stream(body: bytes) -> bool:
    try:
        decoded = json.loads(body)
    except ValueError:
        return False
    return isinstance(decoded, dict) and decoded.get("stream") is True


async def _reads(data: bytes, cuts: list[int]) -> AsyncIterator[bytes]:
    """The stream as the relay reads it from the socket: cut at the given offsets."""
    bounds = [0, *sorted({cut for cut in cuts if 0 < cut < len(data)}), len(data)]
    for start, end in zip(bounds, bounds[1:]):
        yield data[start:end]


@contextmanager
def running_app() -> Iterator[tuple[TestClient[Any], FakeUpstream]]:
    """The app (lifespan run) and the upstream it calls; one per test module."""
    upstream = FakeUpstream()

    def transport(name: str, spec: Upstream) -> httpx.AsyncBaseTransport:
        return httpx.MockTransport(upstream.handle)

    loaded = load_config_text(ROUTES, filename="routes.toml", environ={"FUZZ_KEY": "sk-fuzz-upstream-0123456789"})
    state = open_state(build_table(loaded), transport=transport)
    with TestClient(app=create_app(state), raise_server_exceptions=False) as client:
        yield client, upstream


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def post(client: TestClient[Any], path: str, body: bytes) -> Reply:
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    return Reply(response.status_code, response.headers.get("content-type", ""), response.content)
