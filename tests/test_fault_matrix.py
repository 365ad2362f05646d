"""The fault matrix: every protocol pair × unary/stream × an upstream fault, end to end.

The official anthropic and openai SDKs (max_retries=0: the router's behaviour is what is
measured; Responses clients through the openai SDK's `responses.create`) → a real `router serve`
→ tests/support/fault_upstream.py, a raw asyncio upstream on loopback that answers each model
name with its fault. Every cell has exactly one acceptable outcome (`expected`): an error in the
client's protocol before anything else (`Status`), a stream that started and ends in the
protocol's error event (`Event`), or an answer (`Ok`, possibly after a retry). Every byte the
client received is recorded, and in no cell may it hold an upstream key or either half of one.

A Responses client's failed stream ends `error`, `response.failed` (never response.completed),
every event numbered 0, 1, 2 … by `sequence_number`; a Responses upstream's stream that ends
before `response.completed` is an error for every client.

Gemini clients are Google's google-genai SDK (`generate_content`, `generate_content_stream`, no
retries): errors are Google's `{"error": {"code", "message", "status"}}` with the status's
google.rpc name (529 is Google's 503 UNAVAILABLE), and a failed stream is a `data:` chunk holding
that error object, on which the SDK raises (a stream that ends without it would look whole to the
SDK and to Gemini CLI). A Gemini upstream's stream is whole only once a chunk carried its
`finishReason`; its 429 says when to retry in a RetryInfo detail, not a header.

Bedrock upstreams (a Bedrock API key, `Authorization: Bearer`): Converse for every client (B),
and Claude's InvokeModel for Anthropic clients (Bi: the Anthropic protocol in Bedrock's
envelope). Their errors are Bedrock's exceptions (`x-amzn-ErrorType`), which the router reads
for the status they mean (router/spokes/bedrock/errors.py): a 429 ModelNotReadyException is
overloaded, not a rate limit, and a 403 AccessDeniedException is our credentials' fault (502).
Their streams are binary event-stream frames: one cut short, or whose CRC does not match, is
broken; an exception frame is the upstream's error event. A Converse stream is whole at
`messageStop` (the `metadata` after it only counts tokens), an InvokeModel one at message_stop.

`python -m tests.test_fault_matrix` prints the README's tables (first-wave pairs, Responses pairs,
Gemini pairs, Bedrock pairs).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from tests.conftest import RouterFactory
from tests.support.servers import REPO, free_port, running

CLIENT_KEY = "fault-matrix-client-key"
UPSTREAM_KEYS = {"openai": "sk-fault-oai-0123456789abcdef0123", "anthropic": "sk-ant-fault-fedcba9876543210abcd",
                 "responses": "sk-fault-rsp-13579bdf02468ace1357", "gemini": "AIzaSyFault-gem-2468ace13579bdf0246",
                 # a Bedrock API key's shape; both Bedrock upstreams are the one account
                 "bedrock": "ABSKRmF1bHRCZHJLZXktMDEyMzQ1Njc4OWFi", "bedrock-invoke": "ABSKRmF1bHRCZHJLZXktMDEyMzQ1Njc4OWFi"}
PROMPT = "hello there my friend"
ANSWER = f"Echo: {PROMPT}"

# pair → (client protocol, upstream protocol)
FIRST_WAVE = {"a2o": ("anthropic", "openai"), "a2a": ("anthropic", "anthropic"),
              "o2a": ("openai", "anthropic"), "o2o": ("openai", "openai")}
RESPONSES_PAIRS = {"r2o": ("responses", "openai"), "r2a": ("responses", "anthropic"),
                   "r2r": ("responses", "responses"), "a2r": ("anthropic", "responses"),
                   "o2r": ("openai", "responses")}
GEMINI_PAIRS = {"g2o": ("gemini", "openai"), "g2a": ("gemini", "anthropic"), "g2r": ("gemini", "responses"),
                "g2g": ("gemini", "gemini"), "a2g": ("anthropic", "gemini"), "o2g": ("openai", "gemini"),
                "r2g": ("responses", "gemini")}
# "bedrock": Converse (`api = "converse"`); "bedrock-invoke": Claude's InvokeModel (`api = "invoke"`)
BEDROCK_PAIRS = {"a2b": ("anthropic", "bedrock"), "o2b": ("openai", "bedrock"), "r2b": ("responses", "bedrock"),
                 "g2b": ("gemini", "bedrock"), "a2bi": ("anthropic", "bedrock-invoke")}
PAIRS = {**FIRST_WAVE, **RESPONSES_PAIRS, **GEMINI_PAIRS, **BEDROCK_PAIRS}
LETTERS = {"anthropic": "A", "openai": "O", "responses": "R", "gemini": "G", "bedrock": "B", "bedrock-invoke": "Bi"}
PAIR_TITLES = {pair: f"{LETTERS[client]}→{LETTERS[upstream]}" for pair, (client, upstream) in PAIRS.items()}
UPSTREAM_NAMES = {"openai": "oai", "anthropic": "ant", "responses": "rsp", "gemini": "gem", "bedrock": "bdr",
                  "bedrock-invoke": "bdri"}

# Short router timeouts, so a hung upstream costs a cell a second.
ROUTES_HEAD = """
[auth]
keys = ["env:CLIENT_KEY"]

[upstreams.oai]
kind = "openai"
base-url = "{upstream}/v1"
api-key = "env:FAULT_OAI_KEY"
timeout = {{ read = 1, total = 2, stream-idle = 1 }}

[upstreams.ant]
kind = "anthropic"
base-url = "{upstream}"
api-key = "env:FAULT_ANT_KEY"
timeout = {{ read = 1, total = 2, stream-idle = 1 }}

[upstreams.rsp]
kind = "responses"
base-url = "{upstream}/v1"
api-key = "env:FAULT_RSP_KEY"
timeout = {{ read = 1, total = 2, stream-idle = 1 }}

[upstreams.gem]
kind = "gemini"
base-url = "{upstream}/v1beta"
api-key = "env:FAULT_GEM_KEY"
timeout = {{ read = 1, total = 2, stream-idle = 1 }}

[upstreams.bdr]
kind = "bedrock"
region = "us-east-1"
base-url = "{upstream}"
api-key = "env:FAULT_BDR_KEY"
api = "converse"
timeout = {{ read = 1, total = 2, stream-idle = 1 }}

[upstreams.bdri]
kind = "bedrock"
region = "us-east-1"
base-url = "{upstream}"
api-key = "env:FAULT_BDR_KEY"
api = "invoke"
timeout = {{ read = 1, total = 2, stream-idle = 1 }}
"""
# Per pair: a retrying route for the `once-*` faults, and one that never retries (determinism).
ROUTE = """
[[routes]]
name = "{pair}-retry"
clients = ["{client}"]
models = ["{pair}.once-*"]
to = "{upstream}"
retry = {{ attempts = 2, backoff = 0.01 }}

[[routes]]
name = "{pair}"
clients = ["{client}"]
models = ["{pair}.*"]
to = "{upstream}"
retry = {{ attempts = 1 }}
"""


# --- outcomes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    """An error response before anything else; `status` and `type` as Anthropic clients get them
    (OpenAI clients: 503 for 529, OpenAI's type names, the Anthropic one in `code`)."""

    status: int
    type: str  # the router's error type (Anthropic vocabulary)
    retry_after: str | None = None
    redacted: bool = False  # the message quoted our key: it must say [redacted] there instead


@dataclass(frozen=True)
class Event:
    """The stream started, then ended in the protocol's error event (never a clean end). `status`:
    the error's HTTP status, which only a Gemini client's error chunk shows (`code`)."""

    type: str  # the router's error type (Anthropic vocabulary)
    redacted: bool = False
    status: int = 502  # the upstream broke its answer (a timeout: 504; the upstream's own error event: 500)


@dataclass(frozen=True)
class Ok:
    """An answer, after `attempts` upstream requests. `done`: an OpenAI Chat client's stream ends
    with [DONE] (passed through, a stream ends as the upstream ended it)."""

    attempts: int = 1
    done: bool = True


Outcome = Status | Event | Ok

# fault → (modes it applies to, what it is)
FAULTS: dict[str, tuple[tuple[str, ...], str]] = {
    "429-ra": (("unary", "stream"), "429, retry-after: 7"),
    "429": (("unary", "stream"), "429, no retry-after"),
    "500": (("unary", "stream"), "500"),
    "503": (("unary", "stream"), "503"),
    "529": (("unary", "stream"), "529"),
    "once-500": (("unary", "stream"), "500 on the first attempt only (route with `attempts = 2`)"),
    "drop-headers": (("unary", "stream"), "connection closed before the head"),
    "drop-mid": (("unary", "stream"), "dropped mid-body (content-length longer than sent) / mid-stream"),
    "truncated": (("unary", "stream"), "JSON cut short, framed correctly / stream cut inside an event, clean close"),
    "no-terminal": (("stream",), ("stream ends after the content (no finish_reason, [DONE] / message_delta, "
                                  "message_stop / response.completed)")),
    "no-done": (("stream",), "stream lacks only its terminal event ([DONE] / message_stop / response.completed)"),
    "malformed": (("unary", "stream"), "200 body not JSON / a `data:` line not JSON mid-stream"),
    "hang-first": (("unary", "stream"), "hangs before the first byte (`read = 1`)"),
    "hang-after": (("unary", "stream"), "hangs after the first byte (`read = 1` / `stream-idle = 1`)"),
    "dribble": (("unary",), "a byte every 0.3 s, past `total = 2`"),
    "echo-401": (("unary", "stream"), "401 whose message echoes our key"),
    "echo-500": (("unary", "stream"), "500 whose message echoes our key"),
    "echo-header-error": (("unary", "stream"), "500 with our key in `x-echo` and `retry-after`"),
    "echo-header-ok": (("unary", "stream"), "a good answer with our key in `x-echo`"),
    "echo-stream": (("stream",), ("mid-stream error chunk / `event: error` (Responses: and `response.failed`) "
                                  "echoing our key")),
}


def expected(fault: str, mode: str, pair: str) -> Outcome:
    """The one acceptable outcome of a cell."""
    stream = mode == "stream"
    broken = Event("api_error") if stream else Status(502, "api_error")  # after the head: an event
    outcomes: dict[str, Outcome] = {
        "429-ra": Status(429, "rate_limit_error", "7"),
        # a Gemini upstream's 429 says 7 s in its RetryInfo detail: that is the advice to pass on
        "429": Status(429, "rate_limit_error", "7" if PAIRS[pair][1] == "gemini" else "5"),
        "500": Status(500, "api_error"),
        "503": Status(529, "overloaded_error"),
        "529": Status(529, "overloaded_error"),
        "once-500": Ok(attempts=2),
        "drop-headers": Status(502, "api_error"),
        "drop-mid": broken,
        "truncated": broken,
        "no-terminal": broken,
        # An OpenAI stream is whole once a chunk carried its finish_reason, converted or passed
        # through (which relays it without the [DONE] it never had); an Anthropic one needs its
        # message_stop, a Responses one its response.completed. A Converse stream is whole at its
        # messageStop: the metadata it lacks only counts tokens.
        "no-done": {"a2o": Ok(), "o2o": Ok(done=False), "r2o": Ok(), "g2o": Ok(),
                    "a2b": Ok(), "o2b": Ok(), "r2b": Ok(), "g2b": Ok()}.get(pair, broken),
        "malformed": broken,
        "hang-first": Status(504, "timeout_error"),
        "hang-after": Event("timeout_error", status=504) if stream else Status(504, "timeout_error"),
        "dribble": Status(504, "timeout_error"),
        "echo-401": Status(502, "api_error", redacted=True),
        "echo-500": Status(500, "api_error", redacted=True),
        "echo-header-error": Status(500, "api_error"),
        "echo-header-ok": Ok(),
        "echo-stream": Event("api_error", redacted=True, status=500),
    }
    return outcomes[fault]


OPENAI_TYPES = {"rate_limit_error": "rate_limit_exceeded", "overloaded_error": "server_error",
                "timeout_error": "timeout", "api_error": "server_error"}
OPENAI_STATUSES = {529: 503}
# A Responses client's `code`: in its error body, its `error` event and its failed response's error
RESPONSES_CODES = {"rate_limit_error": "rate_limit_exceeded", "overloaded_error": "server_is_overloaded",
                   "timeout_error": "timeout", "api_error": "server_error"}


# A Gemini client's error: the HTTP status (Google has no 529) and its google.rpc name.
GEMINI_CODES = {529: 503}
GEMINI_STATUS_NAMES = {429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 502: "UNAVAILABLE", 503: "UNAVAILABLE",
                       504: "DEADLINE_EXCEEDED"}


def gemini_error(status: int) -> tuple[int, str]:
    code = GEMINI_CODES.get(status, status)
    return code, GEMINI_STATUS_NAMES[code]


def anthropic_event_type(router_type: str) -> str:
    """Mid-stream, Anthropic clients get `overloaded_error` or `api_error`."""
    return "overloaded_error" if router_type == "overloaded_error" else "api_error"


CELLS = [(fault, mode, pair) for fault, (modes, _) in FAULTS.items() for mode in modes for pair in PAIRS]

# Cells where the router disagrees with the rule today: the expectation stays the rule (and the
# README says the rule); strict, so a fix makes the entry fail until it is removed here.
KNOWN_DISAGREEMENTS: dict[tuple[str, str, str], str] = {}


def cell_param(fault: str, mode: str, pair: str) -> Any:
    reason = KNOWN_DISAGREEMENTS.get((fault, mode, pair))
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(fault, mode, pair, marks=marks, id=f"{pair}-{mode}-{fault}")


# --- what the client received -----------------------------------------------------------------


class _Tee(httpx2.SyncByteStream):
    def __init__(self, inner: Any, sink: list[bytes]) -> None:
        self._inner, self._sink, self._ended = inner, sink, False

    def __iter__(self) -> Iterator[bytes]:
        for part in self._inner:
            self._sink.append(part)
            yield part
        self._ended = True

    def close(self) -> None:
        """What the SDK left unread (it stops at an error event) still reached the client. (A
        body already read to its end is not iterated again: httpcore would spin.)"""
        try:
            if not self._ended:
                self._ended = True
                for part in self._inner:
                    self._sink.append(part)
        except Exception:  # noqa: BLE001 - a body the router cut: what came is recorded
            pass
        finally:
            self._inner.close()


class Recorder(httpx2.BaseTransport):
    """The SDKs' transport: keeps every status line, header and body byte they receive."""

    def __init__(self) -> None:
        self._inner = httpx2.HTTPTransport()
        self.received: list[bytes] = []

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        response = self._inner.handle_request(request)
        self.received.append(f"{response.status_code}\n".encode())
        self.received += [name + b": " + value + b"\n" for name, value in response.headers.raw]
        return httpx2.Response(response.status_code, headers=response.headers, request=request,
                               stream=_Tee(response.stream, self.received), extensions=response.extensions)

    def close(self) -> None:
        self._inner.close()

    def take(self) -> bytes:
        out, self.received = b"".join(self.received), []
        return out


@dataclass
class Got:
    error: Exception | None = None
    started: bool = False  # a stream whose response began (the SDK returned its iterator)
    events: list[Any] = field(default_factory=list)
    answer: Any = None


def attempt(call: Callable[[], Any], stream: bool) -> Got:
    """Whatever the SDK raises is kept (not only its APIErrors: a relayed body it cannot parse
    raises JSONDecodeError), for the checks to name."""
    try:
        answer = call()
    except Exception as exc:  # noqa: BLE001
        return Got(error=exc)
    if not stream:
        return Got(answer=answer)
    got = Got(started=True)
    try:
        for event in answer:
            got.events.append(event)
    except Exception as exc:  # noqa: BLE001
        got.error = exc
    return got


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fault_upstream_url() -> Iterator[str]:
    port = free_port()
    with running(["tests.support.fault_upstream", "--port", str(port)], port):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def base_url(start_router: RouterFactory, fault_upstream_url: str) -> str:
    routes = ROUTES_HEAD.format(upstream=fault_upstream_url) + "".join(
        ROUTE.format(pair=pair, client=client, upstream=UPSTREAM_NAMES[upstream])
        for pair, (client, upstream) in PAIRS.items()
    )
    env = {"CLIENT_KEY": CLIENT_KEY, "FAULT_OAI_KEY": UPSTREAM_KEYS["openai"], "FAULT_ANT_KEY": UPSTREAM_KEYS["anthropic"],
           "FAULT_RSP_KEY": UPSTREAM_KEYS["responses"], "FAULT_GEM_KEY": UPSTREAM_KEYS["gemini"],
           "FAULT_BDR_KEY": UPSTREAM_KEYS["bedrock"]}
    return start_router(routes, env=env)


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    transport = Recorder()
    yield transport
    transport.close()


@pytest.fixture(scope="module")
def clients(base_url: str, recorder: Recorder) -> Iterator[dict[str, Any]]:
    with anthropic.Anthropic(base_url=base_url, api_key=CLIENT_KEY, max_retries=0, timeout=10,
                             http_client=httpx2.Client(transport=recorder, timeout=10)) as ant, \
            openai.OpenAI(base_url=f"{base_url}/v1", api_key=CLIENT_KEY, max_retries=0, timeout=10,
                          http_client=httpx2.Client(transport=recorder, timeout=10)) as oai, \
            httpx2.Client(transport=recorder, timeout=10) as gemini_http:
        options = genai_types.HttpOptions(base_url=base_url, api_version="v1beta", httpx_client=gemini_http,
                                          retry_options=genai_types.HttpRetryOptions(attempts=1))
        gem = genai.Client(api_key=CLIENT_KEY, http_options=options)
        yield {"anthropic": ant, "openai": oai, "responses": oai, "gemini": gem}


# --- the matrix -------------------------------------------------------------------------------


@pytest.mark.parametrize(("fault", "mode", "pair"), [cell_param(*cell) for cell in CELLS])
def test_fault_cell(fault: str, mode: str, pair: str, clients: dict[str, Any], recorder: Recorder,
                    fault_upstream_url: str) -> None:
    client_protocol, upstream_protocol = PAIRS[pair]
    model = f"{pair}.{fault}.{mode}"
    stream = mode == "stream"
    recorder.take()
    client = clients[client_protocol]
    messages = [{"role": "user", "content": PROMPT}]
    if client_protocol == "anthropic":
        got = attempt(lambda: client.messages.create(model=model, max_tokens=64, messages=messages, stream=stream), stream)
    elif client_protocol == "openai":
        got = attempt(lambda: client.chat.completions.create(model=model, messages=messages, stream=stream), stream)
    elif client_protocol == "responses":
        got = attempt(lambda: client.responses.create(model=model, input=PROMPT, stream=stream), stream)
    else:
        # the SDK sends nothing until the stream is iterated: whether it started is the status it got
        generate = client.models.generate_content_stream if stream else client.models.generate_content
        got = attempt(lambda: generate(model=model, contents=PROMPT), stream)
    received = recorder.take()
    if client_protocol == "gemini":
        got.started = stream and received.startswith(b"200\n")
    key = UPSTREAM_KEYS[upstream_protocol]
    for secret in (key, key[: len(key) // 2], key[len(key) // 2 :]):
        assert secret.encode() not in received, f"the client received {secret!r}: {received!r}"

    outcome = expected(fault, mode, pair)

    if isinstance(outcome, Status):
        check_status(got, outcome, client_protocol, upstream_protocol)
    elif isinstance(outcome, Event):
        check_event(got, outcome, client_protocol, upstream_protocol)
    else:
        check_ok(got, outcome, client_protocol, stream, received)


    attempts = httpx.get(f"{fault_upstream_url}/attempts", params={"model": model}).json()["attempts"]
    if fault == "drop-headers":
        # a reused keep-alive connection closed before any response byte may be the keep-alive
        # race: the pool sends the request once more on a fresh connection (router/upstream/http1.py)
        assert attempts in (1, 2)
    else:
        assert attempts == (outcome.attempts if isinstance(outcome, Ok) else 1)


def check_status(got: Got, outcome: Status, client: str, upstream: str) -> None:
    assert got.error is not None and not got.started, f"expected an error response, got {got}"
    error: Any = got.error
    if client == "gemini":
        check_gemini_error(error, gemini_error(outcome.status))
        message = error.message
    elif client == "anthropic":
        expected_class: type[Exception] = anthropic.RateLimitError if outcome.status == 429 else anthropic.InternalServerError
        assert isinstance(got.error, expected_class), repr(error)
        assert error.status_code == outcome.status, repr(error)
        assert error.body["type"] == "error" and error.body["error"]["type"] == outcome.type, error.body
        message = error.body["error"]["message"]
    else:
        expected_class = openai.RateLimitError if outcome.status == 429 else openai.InternalServerError
        assert isinstance(got.error, expected_class), repr(error)
        assert error.status_code == OPENAI_STATUSES.get(outcome.status, outcome.status), repr(error)
        code = outcome.type if client == "openai" else RESPONSES_CODES[outcome.type]
        assert (error.type, error.code) == (OPENAI_TYPES[outcome.type], code), error.body
        message = error.body["message"]
    if outcome.retry_after is not None:
        assert error.response.headers.get("retry-after") == outcome.retry_after, dict(error.response.headers)
    if outcome.redacted:
        check_redacted(message, upstream)


def check_event(got: Got, outcome: Event, client: str, upstream: str) -> None:
    assert got.started, f"expected a stream that started, got {got.error!r}"
    error: Any = got.error
    if client == "responses":
        check_responses_failed(got, outcome, upstream)
        return
    assert got.error is not None, f"the stream ended cleanly after {len(got.events)} events"
    if client == "gemini":
        # a `data: {"error": ...}` chunk: the SDK raises it; no chunk before it said the answer ended
        check_gemini_error(error, gemini_error(outcome.status))
        assert all(not chunk.candidates or chunk.candidates[0].finish_reason is None for chunk in got.events), got.events
        message = error.message
    elif client == "anthropic":
        # an `event: error` in a 200 stream: the SDK raises APIStatusError with the event's body
        assert isinstance(got.error, anthropic.APIStatusError), repr(error)
        assert error.body["error"]["type"] == anthropic_event_type(outcome.type), error.body
        assert got.events and got.events[0].type == "message_start"
        assert all(event.type != "message_stop" for event in got.events)
        message = error.body["error"]["message"]
    else:
        # a `data: {"error": ...}` chunk: exactly APIError (a broken connection would be
        # APIConnectionError; a [DONE] would have ended the iteration cleanly)
        assert type(error) is openai.APIError, repr(error)
        assert error.type == OPENAI_TYPES[outcome.type], error.body
        message = error.message
    if outcome.redacted:
        check_redacted(message, upstream)


def check_gemini_error(error: Any, code_and_status: tuple[int, str]) -> None:
    """google-genai raised its error for Google's error object: ServerError for a 5xx, ClientError
    for a 4xx, never a parsing or connection error."""
    expected_class = genai_errors.ServerError if code_and_status[0] >= 500 else genai_errors.ClientError
    assert isinstance(error, expected_class), repr(error)
    assert (error.code, error.status) == code_and_status, error.details


def check_responses_failed(got: Got, outcome: Event, upstream: str) -> None:
    """Events are yielded, not raised (the SDK raises only for a `data: {"error": ...}` chunk):
    the stream is read to its end, which must be `error` then `response.failed`."""
    assert got.error is None, f"the stream broke instead of failing: {got.error!r} after {kinds(got)}"
    assert kinds(got)[:1] == ["response.created"], kinds(got)
    assert kinds(got)[-2:] == ["error", "response.failed"], kinds(got)
    assert "response.completed" not in kinds(got), kinds(got)
    check_numbered(got)
    error, failed = got.events[-2], got.events[-1].response.error
    code = RESPONSES_CODES[outcome.type]
    assert (error.code, failed.code) == (code, code), (error, failed)
    if outcome.redacted:
        check_redacted(error.message, upstream)
        check_redacted(failed.message, upstream)


def kinds(got: Got) -> list[str]:
    return [event.type for event in got.events]


def check_numbered(got: Got) -> None:
    """Every Responses event carries its place in the stream, from 0, none skipped or repeated."""
    numbers = [event.sequence_number for event in got.events]
    assert numbers == list(range(len(numbers))), list(zip(kinds(got), numbers, strict=True))


def check_ok(got: Got, outcome: Ok, client: str, stream: bool, received: bytes) -> None:
    assert got.error is None, repr(got.error)
    if client == "gemini":
        check_gemini_ok(got, stream, received)
    elif not stream:
        answer = got.answer
        text = (answer.content[0].text if client == "anthropic" else answer.output_text if client == "responses"
                else answer.choices[0].message.content)
    elif client == "responses":
        assert kinds(got)[-1] == "response.completed", kinds(got)
        check_numbered(got)
        assert got.events[-1].response.output_text == ANSWER
        text = "".join(e.delta for e in got.events if e.type == "response.output_text.delta")
    elif client == "anthropic":
        assert got.events[-1].type == "message_stop"
        text = "".join(e.delta.text for e in got.events if e.type == "content_block_delta" and e.delta.type == "text_delta")
    else:
        assert (b"data: [DONE]" in received) == outcome.done  # the SDK ends quietly without it too
        text = "".join(c.choices[0].delta.content or "" for c in got.events if c.choices)
        assert text == ANSWER


def check_gemini_ok(got: Got, stream: bool, received: bytes) -> None:
    """The whole answer, its last chunk ended STOP; a stream of `data:` lines only (Google's
    parsers break on `event:` lines; a comment line is no Google event either). (Events end
    `\r\n\r\n` as Google ends them, or `\n\n` where the router relays a Gemini upstream's
    events: both SDKs split on either.)"""
    chunks = got.events if stream else [got.answer]
    assert "".join(chunk.text or "" for chunk in chunks) == ANSWER, chunks
    assert chunks[-1].candidates[0].finish_reason == genai_types.FinishReason.STOP, chunks[-1]
    if stream:
        assert b"\nevent:" not in received and b"\n:" not in received and b"\ndata: " in received, received


def check_redacted(message: str, upstream: str) -> None:
    """The fault upstream said "Incorrect API key provided: <credential> (key <first half>****)"."""
    credential = "[redacted]" if upstream in ("anthropic", "gemini") else "Bearer [redacted]"
    assert f"provided: {credential} (key [redacted]****)" in message, message


# --- the table --------------------------------------------------------------------------------


def describe(outcome: Outcome, client: str, stream: bool) -> str:
    if client == "gemini" and not isinstance(outcome, Ok):
        return describe_gemini(outcome)
    if isinstance(outcome, Ok):
        done = ("clean end, no [DONE]" if client == "openai" and not outcome.done else "clean end") if stream else "200"
        return f"retried → {done}" if outcome.attempts > 1 else done
    if isinstance(outcome, Event):
        text = {"anthropic": f"error event {anthropic_event_type(outcome.type)}",
                "openai": f"error chunk {OPENAI_TYPES[outcome.type]}",
                "responses": f"failed {RESPONSES_CODES[outcome.type]}"}[client]
    elif client == "anthropic":
        text = f"{outcome.status} {outcome.type}"
    else:
        kind, code = OPENAI_TYPES[outcome.type], RESPONSES_CODES[outcome.type]
        text = f"{OPENAI_STATUSES.get(outcome.status, outcome.status)} {kind}"
        text += f" (code {code})" if client == "responses" and code != kind else ""
    if isinstance(outcome, Status) and outcome.retry_after:
        text += f", retry-after {outcome.retry_after}"
    return text + (", key [redacted]" if outcome.redacted else "")


def describe_gemini(outcome: Status | Event) -> str:
    if isinstance(outcome, Event):
        return "error chunk {} {}".format(*gemini_error(outcome.status)) + (
            ", key [redacted]" if outcome.redacted else "")
    text = "{} {}".format(*gemini_error(outcome.status))
    text += f", retry-after {outcome.retry_after}" if outcome.retry_after else ""
    return text + (", key [redacted]" if outcome.redacted else "")


def table(pairs: dict[str, tuple[str, str]]) -> str:
    header = "| upstream fault | " + " | ".join(f"{PAIR_TITLES[p]} {m}" for p in pairs for m in ("unary", "stream")) + " |"
    lines = [header, "|---" * (1 + 2 * len(pairs)) + "|"]
    for fault, (modes, what) in FAULTS.items():
        cells = [describe(expected(fault, mode, pair), pairs[pair][0], mode == "stream") if mode in modes else "—"
                 for pair in pairs for mode in ("unary", "stream")]
        lines.append(f"| {what} (`{fault}`) | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def markdown() -> str:
    """Four tables: twenty-one pairs side by side would not fit a page."""
    return (f"First-wave pairs:\n\n{table(FIRST_WAVE)}\n"
            f"Responses pairs (\"failed <code>\": `error` then `response.failed` with that code):\n\n"
            f"{table(RESPONSES_PAIRS)}\n"
            f"Gemini pairs (G = Google's google-genai SDK, `generate_content` / `generate_content_stream`, against a "
            f"Gemini API upstream: `x-goog-api-key`, `data:`-only SSE, the chunk with `finishReason` ends a stream; "
            f"\"<code> <STATUS>\": Google's error body; \"error chunk\": a `data: {{\"error\": ...}}` chunk in a "
            f"started stream, on which the SDK raises):\n\n"
            f"{table(GEMINI_PAIRS)}\n"
            f"Bedrock pairs (B = a Bedrock upstream's Converse API, Bi = Claude's InvokeModel, whose body is "
            f"the Anthropic protocol; a Bedrock API key, AWS's binary event-stream frames; a scripted status is the "
            f"exception Bedrock answers with, `x-amzn-ErrorType`: 429 ThrottlingException, 500 "
            f"InternalServerException, 503 ServiceUnavailableException, and for 529, which Bedrock never sends, "
            f"ModelNotReadyException, a 429 meaning overloaded; for 401 a 403 AccessDeniedException; a stream's "
            f"garbage is a frame whose CRC does not match, its error an exception frame):\n\n"
            f"{table(BEDROCK_PAIRS)}")


if __name__ == "__main__":
    print(markdown(), end="")


def test_the_readme_table_is_this_matrix() -> None:
    """README.md shows the matrix these tests check, generated from the same expectations."""
    readme = (REPO / "README.md").read_text()
    start = readme.index("<!-- fault matrix: generated")
    table = readme[readme.index("\n", start) + 1:readme.index("<!-- end of the fault matrix -->")]
    assert table == markdown(), "regenerate it: python -m tests.test_fault_matrix"
