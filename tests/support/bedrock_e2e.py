"""How each official SDK reports a failed request and how its stream ends, in one shape, so the
Bedrock end-to-end tests (tests/test_e2e_bedrock.py) can run the same failure through every front
door: the `anthropic` SDK (Messages), the `openai` SDK (Chat Completions and Responses) and
google-genai (the Gemini API). Every client has a timeout and no retries.

- `failure(client, base_url, key, model)`: a unary request that must fail; the status, the error's
  type in the client protocol's own vocabulary (Anthropic `error.type`, OpenAI `error.type`,
  Google's `status`), its message, the response headers and the raw body.
- `stream_end(client, base_url, key, model)`: a streamed request; the events the client got, and
  how the stream ended: `clean` when it finished as a whole answer would, else the error its
  protocol's error event carried (an Anthropic `error` event, OpenAI's error chunk, a Responses
  `response.failed`, Google's `{"error": …}` chunk).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anthropic
import httpx
import openai
from google import genai
from google.genai import errors, types

TIMEOUT = 20.0
CLIENTS = ("anthropic", "chat", "responses", "gemini")
PROMPT = "a few words to stream"


@dataclass(frozen=True)
class Failure:
    """A failed request as the client saw it."""

    status: int
    error_type: str
    message: str
    headers: Mapping[str, str]  # the response's headers (case-insensitive)
    text: str


@dataclass
class StreamEnd:
    """What a streamed request gave: its events' names, and the error that ended it (None for a
    clean end, as a complete answer ends)."""

    events: list[str] = field(default_factory=list)
    error_type: str | None = None
    message: str = ""
    status: int | None = None  # the HTTP status of a request refused before its stream began

    @property
    def clean(self) -> bool:
        return self.error_type is None


class NoFailure(AssertionError):
    """The request the test expected to fail succeeded."""


def failure(client: str, base_url: str, key: str, model: str) -> Failure:
    return _FAILURES[client](base_url, key, model)


def stream_end(client: str, base_url: str, key: str, model: str) -> StreamEnd:
    return _STREAMS[client](base_url, key, model)


def anthropic_sdk(base_url: str, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=base_url, api_key=key, max_retries=0, timeout=TIMEOUT)


def openai_sdk(base_url: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base_url}/v1", api_key=key, max_retries=0, timeout=TIMEOUT)


def gemini_sdk(base_url: str, key: str) -> genai.Client:
    options = types.HttpOptions(base_url=base_url, api_version="v1beta", timeout=int(TIMEOUT * 1000),
                                retry_options=types.HttpRetryOptions(attempts=1))
    return genai.Client(api_key=key, http_options=options)


# --- unary failures -----------------------------------------------------------------------------

def _anthropic_failure(base_url: str, key: str, model: str) -> Failure:
    with anthropic_sdk(base_url, key) as sdk:
        try:
            sdk.messages.create(model=model, max_tokens=50, messages=[{"role": "user", "content": "fail please"}])
        except anthropic.APIStatusError as exc:
            error = exc.response.json()["error"]
            return Failure(exc.status_code, error["type"], error["message"], exc.response.headers, exc.response.text)
    raise NoFailure(model)


def _chat_failure(base_url: str, key: str, model: str) -> Failure:
    with openai_sdk(base_url, key) as sdk:
        try:
            sdk.chat.completions.create(model=model, messages=[{"role": "user", "content": "fail please"}])
        except openai.APIStatusError as exc:
            return _openai_failure(exc)
    raise NoFailure(model)


def _responses_failure(base_url: str, key: str, model: str) -> Failure:
    with openai_sdk(base_url, key) as sdk:
        try:
            sdk.responses.create(model=model, input="fail please")
        except openai.APIStatusError as exc:
            return _openai_failure(exc)
    raise NoFailure(model)


def _openai_failure(exc: openai.APIStatusError) -> Failure:
    error = exc.response.json()["error"]
    return Failure(exc.status_code, error["type"], error["message"], exc.response.headers, exc.response.text)


def _gemini_failure(base_url: str, key: str, model: str) -> Failure:
    sdk = gemini_sdk(base_url, key)
    try:
        sdk.models.generate_content(model=model, contents="fail please")
    except errors.APIError as exc:
        response: Any = exc.response
        headers = httpx.Headers(dict(response.headers)) if response is not None else httpx.Headers()
        return Failure(exc.code, exc.status or "", exc.message or "", headers, json.dumps(exc.details))
    finally:
        sdk.close()
    raise NoFailure(model)


_FAILURES: dict[str, Callable[[str, str, str], Failure]] = {
    "anthropic": _anthropic_failure, "chat": _chat_failure, "responses": _responses_failure, "gemini": _gemini_failure}


# --- how streams end ----------------------------------------------------------------------------

def _anthropic_stream(base_url: str, key: str, model: str) -> StreamEnd:
    end = StreamEnd()
    with anthropic_sdk(base_url, key) as sdk:
        try:
            for event in sdk.messages.create(model=model, max_tokens=200, stream=True,
                                             messages=[{"role": "user", "content": PROMPT}]):
                end.events.append(event.type)
        except anthropic.APIStatusError as exc:
            # An `error` event in a 200 stream raises with the event's body; an HTTP error too.
            body = exc.body if isinstance(exc.body, dict) else {}
            error = body.get("error") or {}
            end.error_type, end.message = str(error.get("type")), str(error.get("message"))
            end.status = None if exc.status_code == 200 else exc.status_code
    return end


def _chat_stream(base_url: str, key: str, model: str) -> StreamEnd:
    end = StreamEnd()
    with openai_sdk(base_url, key) as sdk:
        try:
            for chunk in sdk.chat.completions.create(model=model, stream=True,
                                                     messages=[{"role": "user", "content": PROMPT}]):
                finish = chunk.choices[0].finish_reason if chunk.choices else None
                end.events.append(f"finish:{finish}" if finish else "chunk")
        except openai.APIStatusError as exc:
            end.status, end.error_type, end.message = exc.status_code, "http", exc.message
        except openai.APIError as exc:  # the error chunk of a 200 stream
            body = exc.body if isinstance(exc.body, dict) else {}
            end.error_type, end.message = str(body.get("type")), str(body.get("message"))
    return end


def _responses_stream(base_url: str, key: str, model: str) -> StreamEnd:
    end = StreamEnd()
    with openai_sdk(base_url, key) as sdk:
        try:
            for event in sdk.responses.create(model=model, input=PROMPT, stream=True):
                end.events.append(event.type)
                if event.type == "response.failed":
                    error = event.response.error
                    end.error_type = error.code if error is not None else "?"
                    end.message = error.message if error is not None else ""
        except openai.APIStatusError as exc:
            end.status, end.error_type, end.message = exc.status_code, "http", exc.message
        except openai.APIError as exc:
            end.error_type, end.message = f"raised:{exc.code}", exc.message
    return end


def _gemini_stream(base_url: str, key: str, model: str) -> StreamEnd:
    end = StreamEnd()
    sdk = gemini_sdk(base_url, key)
    try:
        for chunk in sdk.models.generate_content_stream(model=model, contents=PROMPT):
            finish = chunk.candidates[0].finish_reason if chunk.candidates else None
            end.events.append(f"finish:{finish.value}" if finish else "chunk")
    except errors.APIError as exc:
        # Google's `{"error": …}` chunk raises with its code and the stream's 200 response; an
        # HTTP error with its own status
        end.error_type, end.message = str(exc.code), exc.message or ""
        status = getattr(exc.response, "status_code", None)
        end.status = None if status in (None, 200) else status
    finally:
        sdk.close()
    return end


_STREAMS: dict[str, Callable[[str, str, str], StreamEnd]] = {
    "anthropic": _anthropic_stream, "chat": _chat_stream, "responses": _responses_stream, "gemini": _gemini_stream}
