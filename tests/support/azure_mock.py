"""A real Azure upstream on loopback for end-to-end tests: `python -m tests.support.azure_mock
--port N --key K --token T...`. It is the loopback mock upstream (tests/support/mock_upstream.py)
speaking Azure OpenAI's Chat Completions and Claude on Azure AI Foundry, recording every request:

  POST /openai/deployments/{deployment}/chat/completions?api-version=V   the deployment is the model
  POST /openai/v1/chat/completions                                        the model in the body
  POST /anthropic/v1/messages                                             Claude on Azure AI Foundry
  GET  /requests                                                          what it was sent

Chat answers are the mock's (echo, tool calls, reasoning), dressed as Azure's are: a
`prompt_filter_results` member (in a stream: a first chunk with `choices: []` and an empty model),
`content_filter_results` in every choice. A deployment call without `api-version` is Azure's 404.

Credentials, as Azure checks them: Azure OpenAI takes the key in `api-key` (a Bearer token with the
key in it is a 401: Azure reads Authorization as an Entra ID token), or `Authorization: Bearer T`
for a token given with --token; Foundry takes the key in `x-api-key` (or `api-key`), or a token.

The model (deployment) name scripts failures:
  content-filter    400 content_filter, its innererror naming hate (high) and jailbreak
  throttled         429 with `retry-after-ms: 1500` and no `retry-after`
  filtered-answer   the answer is cut by the content filter: finish_reason `content_filter`
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx
import msgspec
import uvicorn

from router.upstream.mock import chunks, completion
from tests.support.gemini_mock import _record, _replay
from tests.support.mock_upstream import MockUpstream, Scope, _as_scripted, _body, _send_json
from tests.support.servers import free_port, running

Json = dict[str, Any]
DEFAULT_KEY = "azure-upstream-key-0123456789"
_DEPLOYMENT = re.compile(r"^/openai/deployments/(?P<name>[^/]+)/chat/completions$")
_SAFE = {"filtered": False, "severity": "safe"}
CONTENT_FILTER_RESULTS: Json = {"hate": _SAFE, "self_harm": _SAFE, "sexual": _SAFE, "violence": _SAFE}
PROMPT_FILTER_RESULTS: list[Json] = [{"prompt_index": 0, "content_filter_results": {
    **CONTENT_FILTER_RESULTS, "jailbreak": {"filtered": False, "detected": False}}}]
FILTERED_MESSAGE = ("The response was filtered due to the prompt triggering Azure OpenAI's content management "
                    "policy. Please modify your prompt and retry.")
UNAUTHORIZED = ("Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
                "valid key for an active subscription and use a correct regional API endpoint for your resource.")


def content_filter_error() -> Json:
    result = {**CONTENT_FILTER_RESULTS, "hate": {"filtered": True, "severity": "high"},
              "jailbreak": {"filtered": True, "detected": True}}
    return {"error": {"message": FILTERED_MESSAGE, "type": None, "param": "prompt", "code": "content_filter",
                      "status": 400, "innererror": {"code": "ResponsibleAIPolicyViolation",
                                                    "content_filter_result": result}}}


def azure_completion(request: Json, model: str) -> Json:
    answer = completion(_as_scripted({**request, "model": model}))
    for choice in answer["choices"]:
        choice["content_filter_results"] = CONTENT_FILTER_RESULTS
        if model == "filtered-answer":
            choice["finish_reason"] = "content_filter"
    return {**answer, "prompt_filter_results": PROMPT_FILTER_RESULTS}


def azure_chunks(request: Json, model: str) -> Iterator[Json]:
    yield {"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": PROMPT_FILTER_RESULTS}
    for chunk in chunks(_as_scripted({**request, "model": model})):
        for choice in chunk["choices"]:
            choice["content_filter_results"] = {} if choice.get("finish_reason") else CONTENT_FILTER_RESULTS
            if model == "filtered-answer" and choice.get("finish_reason"):
                choice["finish_reason"] = "content_filter"
        yield chunk


class AzureMockUpstream(MockUpstream):
    def __init__(self, key: str, tokens: frozenset[str]) -> None:
        super().__init__()
        self.key = key
        self.tokens = tokens
        self.requests: list[Json] = []

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in ("/health", "/stats"):
            await super().__call__(scope, receive, send)
            return
        if scope["path"] == "/requests":
            await _send_json(send, 200, self.requests)
            return
        raw = await _body(receive)
        self.requests.append(_record(scope, raw))
        path: str = scope["path"]
        headers = {name.decode().lower(): value.decode() for name, value in scope["headers"]}
        if path.startswith("/anthropic/"):
            await self._foundry(scope, _replay(raw, receive), send, headers)
        elif not self._azure_authorized(headers):
            await _send_json(send, 401, {"error": {"code": "401", "message": UNAUTHORIZED}})
        else:
            await self._chat(scope, receive, send, path, msgspec.json.decode(raw))

    def _azure_authorized(self, headers: dict[str, str]) -> bool:
        if "api-key" in headers:
            return headers["api-key"] == self.key
        return headers.get("authorization", "").removeprefix("Bearer ") in self.tokens

    async def _foundry(self, scope: Scope, receive: Any, send: Any, headers: dict[str, str]) -> None:
        key = headers.get("x-api-key") or headers.get("api-key")
        bearer = headers.get("authorization", "").removeprefix("Bearer ")
        if key != self.key and bearer not in self.tokens:
            await _send_json(send, 401, {"type": "error", "error": {"type": "authentication_error",
                                                                    "message": "invalid x-api-key"}})
            return
        inner = {**scope, "path": scope["path"].removeprefix("/anthropic")}
        await MockUpstream.__call__(self, inner, receive, send)

    async def _chat(self, scope: Scope, receive: Any, send: Any, path: str, request: Json) -> None:
        deployment = _DEPLOYMENT.match(path)
        if deployment is not None:
            if not parse_qs(scope.get("query_string", b"").decode()).get("api-version"):
                await _send_json(send, 404, {"error": {"code": "404", "message": "Resource not found"}})
                return
            model = unquote(deployment["name"])
        elif path == "/openai/v1/chat/completions":
            model = str(request.get("model", ""))
        else:
            await _send_json(send, 404, {"error": {"code": "404", "message": "Resource not found"}})
            return
        if model == "content-filter":
            await _send_json(send, 400, content_filter_error())
        elif model == "throttled":
            await _send_json(send, 429, {"error": {"code": "429", "message": "Rate limit is exceeded."}},
                             [(b"retry-after-ms", b"1500")])
        elif request.get("stream"):
            frames = (b"data: " + msgspec.json.encode(chunk) + b"\n\n" for chunk in azure_chunks(request, model))
            await self._stream_frames(receive, send, frames, model, cut_at=2, done=b"data: [DONE]\n\n")
        else:
            await _send_json(send, 200, azure_completion(request, model))


# --- for tests ----------------------------------------------------------------------------------

@contextmanager
def azure_upstream(key: str = DEFAULT_KEY, tokens: tuple[str, ...] = ()) -> Iterator[str]:
    """A mock Azure OpenAI and Azure AI Foundry upstream in its own process; its base URL."""
    port = free_port()
    args = ["tests.support.azure_mock", "--port", str(port), "--key", key]
    for token in tokens:
        args += ["--token", token]
    with running(args, port):
        yield f"http://127.0.0.1:{port}"


def recorded(base_url: str, since: int = 0) -> list[Json]:
    """The requests the mock at base_url was sent, from number `since` on."""
    return list(httpx.get(f"{base_url}/requests", timeout=5.0).json()[since:])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key", default=DEFAULT_KEY, help="the key Azure requests must carry")
    parser.add_argument("--token", action="append", default=[], help="an Entra ID token it accepts")
    args = parser.parse_args()
    uvicorn.run(AzureMockUpstream(args.key, frozenset(args.token)), host="127.0.0.1", port=args.port,
                log_level="warning", lifespan="on")


if __name__ == "__main__":
    main()
