"""The benchmarks' protocol pairs: canned upstream answers in each upstream protocol, the client
bodies, and the routes that select a pair by model name (data, not a benchmark).

Every stream tells the same text ("word0 " … "word49 ", 50 words) in 54 events of its own
protocol, so the pairs differ only by the conversion: OpenAI Chat as role chunk, 50 content
chunks, finish and usage; Anthropic as message_start, content_block_start, 49 text deltas,
content_block_stop, message_delta, message_stop; Responses (numbered by sequence_number, as
real servers send it) as response.created, in_progress, output_item.added, content_part.added,
46 output_text deltas, output_text.done, content_part.done, output_item.done and
response.completed with usage; Gemini as 54 GenerateContentResponse chunks, each with only its
new text, the last with finishReason and the full usageMetadata (`data:` lines only, `\r\n\r\n`
apart, as Google sends them). Unary answers say "Hello! How can I help you today?".

Bedrock's answers are AWS's (`tests.spokes.bedrock.frames` encodes the frames): a Converse
JSON; a ConverseStream of 54 `application/vnd.amazon.eventstream` frames (messageStart, 50
contentBlockDelta text pieces, contentBlockStop, messageStop, metadata with usage), each padded
with the `p` member as AWS pads them; and InvokeModel's answers for Claude: the Anthropic
message, and the 54-event Anthropic stream as `chunk` frames. Bedrock upstreams have no API key:
the router signs each request (SigV4, botocore) with the fake credentials of AWS_ENV, which it
needs in its environment (PAIR_ENV), so the signing is part of each pair's cost. Azure OpenAI
upstreams answer the Chat answers at their deployment's URL (`?api-version=`).

Gemini clients name the model and the method in the URL (`/v1beta/models/{model}:generateContent`
or `:streamGenerateContent?alt=sse`), so a pair's client path depends on its model and on whether
it streams; a Gemini upstream is posted to at `{base-url}/models/m:...` the same way.

`tests.bench.run` serves the answers from nginx (a static file per upstream, at the path the
router posts to, percent-decoded as nginx maps URLs to files: a Bedrock model id's `%3A` is a
`:`) and `tests.bench.instructions` from an in-process transport; both load the routes of
`pair_routes`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal
from urllib.parse import quote, unquote

from tests.spokes.bedrock.frames import event_frame

REPO = Path(__file__).resolve().parents[2]
CODEX_FIXTURE = REPO.parent / "shared" / "fixtures" / "codex" / "tool-custom-model" / "0005-openai_responses_stream.json"
GEMINI_CLI_FIXTURE = REPO.parent / "shared" / "fixtures" / "gemini-cli" / "tool" / "0003-gemini_streamGenerateContent.json"
WORDS = tuple(f"word{i} " for i in range(50))
ANSWER = "Hello! How can I help you today?"
EVENTS = 54
SMALL_BUDGET_MS = 0.6  # issue 15: router CPU per request, the budgets today's pairs meet
STREAM_BUDGET_MS = 1.0


def text_pieces(count: int) -> list[str]:
    """The 50 words in `count` deltas (the first ones carry a word more): one text, any number of events."""
    size, extra = divmod(len(WORDS), count)
    pieces: list[str] = []
    start = 0
    for index in range(count):
        end = start + size + (index < extra)
        pieces.append("".join(WORDS[start:end]))
        start = end
    return pieces


def sse(events: list[dict[str, object]], named: bool) -> str:
    """`data:` events; `named` ones carry an `event:` line with their type, as Anthropic and Responses send."""
    if named:
        return "".join(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n" for event in events)
    return "".join(f"data: {json.dumps(event)}\n\n" for event in events)


# OpenAI Chat Completions


def completion_json() -> str:
    return json.dumps({"id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": "m",
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER},
                                    "finish_reason": "stop"}],
                       "usage": {"prompt_tokens": 12, "completion_tokens": 9, "total_tokens": 21}})


def stream_sse(events: int = EVENTS) -> str:
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0, "model": "m"}
    chunks = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]}]
    chunks += [{**base, "choices": [{"index": 0, "delta": {"content": f"word{i} "}}]} for i in range(events - 4)]
    chunks += [{**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
               {**base, "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 50, "total_tokens": 62}}]
    return sse(chunks, named=False) + "data: [DONE]\n\n"


# Anthropic Messages


def anthropic_json() -> str:
    return json.dumps({"id": "msg_bench", "type": "message", "role": "assistant", "model": "m",
                       "content": [{"type": "text", "text": ANSWER}], "stop_reason": "end_turn",
                       "stop_sequence": None, "usage": {"input_tokens": 12, "output_tokens": 9}})


def anthropic_sse(events: int = EVENTS) -> str:
    message: dict[str, object] = {"id": "msg_bench", "type": "message", "role": "assistant", "model": "m", "content": [],
             "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 12, "output_tokens": 1}}
    stream: list[dict[str, object]] = [
        {"type": "message_start", "message": message},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    stream += [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}
               for text in text_pieces(events - 5)]
    stream += [
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
         "usage": {"output_tokens": 50}},
        {"type": "message_stop"},
    ]
    return sse(stream, named=True)


# OpenAI Responses


def _response(status: str, output: list[dict[str, object]], usage: dict[str, object] | None) -> dict[str, object]:
    """A response object as OpenAI's server sends it: every setting repeated, nulls included."""
    return {"id": "resp_bench", "object": "response", "created_at": 0, "status": status, "error": None,
            "incomplete_details": None, "instructions": None, "max_output_tokens": 64, "model": "m",
            "output": output, "parallel_tool_calls": True, "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None}, "store": True, "temperature": 1.0,
            "text": {"format": {"type": "text"}}, "tool_choice": "auto", "tools": [], "top_p": 1.0,
            "truncation": "disabled", "usage": usage, "user": None, "metadata": {}}


def _message(status: str, text: str | None) -> dict[str, object]:
    content = [] if text is None else [{"type": "output_text", "text": text, "annotations": []}]
    return {"id": "msg_bench", "type": "message", "status": status, "role": "assistant", "content": content}


def _usage(output_tokens: int) -> dict[str, object]:
    return {"input_tokens": 12, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 12 + output_tokens}


def responses_json() -> str:
    return json.dumps(_response("completed", [_message("completed", ANSWER)], _usage(9)))


def responses_sse(events: int = EVENTS) -> str:
    text = "".join(WORDS)
    part = {"item_id": "msg_bench", "output_index": 0, "content_index": 0}
    stream: list[dict[str, object]] = [
        {"type": "response.created", "response": _response("in_progress", [], None)},
        {"type": "response.in_progress", "response": _response("in_progress", [], None)},
        {"type": "response.output_item.added", "output_index": 0, "item": _message("in_progress", None)},
        {"type": "response.content_part.added", **part, "part": {"type": "output_text", "text": "", "annotations": []}},
    ]
    stream += [{"type": "response.output_text.delta", **part, "delta": delta, "logprobs": []}
               for delta in text_pieces(events - 8)]
    stream += [
        {"type": "response.output_text.done", **part, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **part, "part": {"type": "output_text", "text": text, "annotations": []}},
        {"type": "response.output_item.done", "output_index": 0, "item": _message("completed", text)},
        {"type": "response.completed", "response": _response("completed", [_message("completed", text)], _usage(50))},
    ]
    return sse([{**event, "sequence_number": number} for number, event in enumerate(stream)], named=True)


# Gemini


def _gemini_chunk(parts: list[dict[str, object]], finish: str | None, usage: dict[str, object]) -> dict[str, object]:
    """A GenerateContentResponse as Google sends it: the candidate's new parts, usage, model and id on each."""
    candidate: dict[str, object] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if finish is not None:
        candidate["finishReason"] = finish
    return {"candidates": [candidate], "usageMetadata": usage, "modelVersion": "m", "responseId": "bench-resp"}


def _gemini_usage(candidates: int | None) -> dict[str, object]:
    """Usage as Google sends it: the prompt on every chunk, the answer's count only when known."""
    if candidates is None:
        return {"promptTokenCount": 12, "totalTokenCount": 12}
    return {"promptTokenCount": 12, "candidatesTokenCount": candidates, "totalTokenCount": 12 + candidates,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 12}]}


def gemini_json() -> str:
    return json.dumps(_gemini_chunk([{"text": ANSWER}], "STOP", _gemini_usage(9)))


def text_spans(count: int) -> list[str]:
    """The 50 words' text cut into `count` non-empty spans anywhere (Gemini cuts mid-word; 54
    spans of 50 words would leave some empty)."""
    text = "".join(WORDS)
    return [text[len(text) * index // count:len(text) * (index + 1) // count] for index in range(count)]


def gemini_sse(events: int = EVENTS) -> str:
    pieces = text_spans(events)
    chunks = [_gemini_chunk([{"text": text}], None, _gemini_usage(None)) for text in pieces[:-1]]
    chunks.append(_gemini_chunk([{"text": pieces[-1]}], "STOP", _gemini_usage(50)))
    return "".join(f"data: {json.dumps(chunk)}\r\n\r\n" for chunk in chunks)


# Amazon Bedrock (tests/spokes/bedrock/frames.py encodes the event-stream frames; its tests decode them with botocore)

EVENT_STREAM = "application/vnd.amazon.eventstream"
_PADDING = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0"
_LATENCY_MS = 120

# What botocore's credential chain finds in a router's environment to sign Bedrock requests
# with, and nothing else: no config or credentials file, no instance metadata service. Fake
# values (nginx checks no signature); the signing is part of what the budgets cover.
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "ASIABENCHACCESSKEY00",
    "AWS_SECRET_ACCESS_KEY": "benchSecretAccessKey0123456789abcdefghij",
    "AWS_SESSION_TOKEN": "benchSessionToken0123456789abcdefghijklmnopqrstuvwxyz",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
}


def _bedrock_usage(output_tokens: int) -> dict[str, int]:
    return {"inputTokens": 12, "outputTokens": output_tokens, "totalTokens": 12 + output_tokens}


def converse_json() -> str:
    return json.dumps({"output": {"message": {"role": "assistant", "content": [{"text": ANSWER}]}},
                       "stopReason": "end_turn", "usage": _bedrock_usage(9), "metrics": {"latencyMs": _LATENCY_MS}})


def _padded_frame(event_type: str, payload: dict[str, object]) -> bytes:
    """An event frame with the `p` member Bedrock pads every event with (its length hides the
    content's), so the router parses what it would parse from AWS."""
    return event_frame(event_type, {**payload, "p": _PADDING[: 1 + len(json.dumps(payload)) % len(_PADDING)]})


def converse_stream(events: int = EVENTS) -> bytes:
    """messageStart, `events - 4` text deltas, contentBlockStop, messageStop, metadata (usage, metrics)."""
    frames = [_padded_frame("messageStart", {"role": "assistant"})]
    frames += [_padded_frame("contentBlockDelta", {"delta": {"text": text}, "contentBlockIndex": 0})
               for text in text_pieces(events - 4)]
    frames += [
        _padded_frame("contentBlockStop", {"contentBlockIndex": 0}),
        _padded_frame("messageStop", {"stopReason": "end_turn"}),
        _padded_frame("metadata", {"usage": _bedrock_usage(50), "metrics": {"latencyMs": _LATENCY_MS}}),
    ]
    return b"".join(frames)


def invoke_stream(events: int = EVENTS) -> bytes:
    """The Anthropic stream of `anthropic_sse` as InvokeModelWithResponseStream sends it: an
    event per `chunk` frame (its JSON base64 in `bytes`), message_stop with Bedrock's metrics."""
    stream = [json.loads(line.removeprefix("data: ")) for line in anthropic_sse(events).splitlines()
              if line.startswith("data: ")]
    stream[-1]["amazon-bedrock-invocationMetrics"] = {"inputTokenCount": 12, "outputTokenCount": 50,
                                                      "invocationLatency": _LATENCY_MS,
                                                      "firstByteLatency": _LATENCY_MS // 2}
    return b"".join(_padded_frame("chunk", {"bytes": base64.b64encode(json.dumps(event).encode()).decode()})
                    for event in stream)


# Upstreams, clients, pairs


@dataclass(frozen=True)
class Upstream:
    """A canned upstream: its name in routes.toml (and nginx's folder), its kind, and its answer."""

    name: str
    kind: str
    base_path: str  # below the host: the upstream's base-url
    endpoint: str  # below base-url: where the router posts (nginx serves the answer there), query included
    answer: Callable[[], str | bytes]
    content_type: str
    model: str = "m"  # what the pair route sends upstream (Gemini, Bedrock, Azure: in `endpoint` too)
    settings: str = ""  # more TOML lines of its table: a region, an api-version
    key: Literal["optional", "required", "never"] = "optional"  # never: SigV4-signed (AWS_ENV) instead

    @property
    def path(self) -> str:
        """The URL's path and query the router posts to."""
        return self.base_path + self.endpoint

    @property
    def file_path(self) -> str:
        """Where the answer lies below nginx's root: the path without its query (`?alt=sse`),
        percent-decoded as nginx maps a URL to a file (a Bedrock model id's `%3A` is a `:`)."""
        return unquote(self.path.partition("?")[0])

    def body(self) -> bytes:
        answer = self.answer()
        return answer.encode() if isinstance(answer, str) else answer


JSON, SSE = "application/json", "text/event-stream"
UPSTREAM_MODEL = "m"  # what every pair route sends upstream but Bedrock's (a Gemini upstream has it in its URL)
NOVA = "amazon.nova-pro-v1:0"  # Converse: a model InvokeModel's Anthropic body does not serve
CLAUDE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"  # InvokeModel for Anthropic clients (api = "auto")
BEDROCK = 'region = "us-east-1"\n'
AZURE_API_VERSION = "2024-10-21"
AZURE = f'api-version = "{AZURE_API_VERSION}"\n'
PAIR_KEY_ENV = {"PAIR_UPSTREAM_KEY": "sk-bench-pair-upstream-0123456789abcdef"}  # Azure wants a key
UPSTREAMS = {upstream.name: upstream for upstream in (
    Upstream("plain", "openai", "/plain/v1", "/chat/completions", completion_json, JSON),
    Upstream("sse", "openai", "/sse/v1", "/chat/completions", stream_sse, SSE),
    Upstream("anth-plain", "anthropic", "/anth-plain", "/v1/messages", anthropic_json, JSON),
    Upstream("anth-sse", "anthropic", "/anth-sse", "/v1/messages", anthropic_sse, SSE),
    Upstream("resp-plain", "responses", "/resp-plain/v1", "/responses", responses_json, JSON),
    Upstream("resp-sse", "responses", "/resp-sse/v1", "/responses", responses_sse, SSE),
    Upstream("gem-plain", "gemini", "/gem-plain/v1beta", f"/models/{UPSTREAM_MODEL}:generateContent", gemini_json,
             JSON),
    Upstream("gem-sse", "gemini", "/gem-sse/v1beta", f"/models/{UPSTREAM_MODEL}:streamGenerateContent?alt=sse",
             gemini_sse, SSE),
    # issue 17: Bedrock (Converse for a Nova model, InvokeModel for Claude) and Azure OpenAI deployments
    Upstream("bedrock-plain", "bedrock", "/bedrock-plain", f"/model/{quote(NOVA, safe='')}/converse", converse_json,
             JSON, NOVA, BEDROCK, "never"),
    Upstream("bedrock-sse", "bedrock", "/bedrock-sse", f"/model/{quote(NOVA, safe='')}/converse-stream",
             converse_stream, EVENT_STREAM, NOVA, BEDROCK, "never"),
    Upstream("invoke-plain", "bedrock", "/invoke-plain", f"/model/{quote(CLAUDE, safe='')}/invoke", anthropic_json,
             JSON, CLAUDE, BEDROCK, "never"),
    Upstream("invoke-sse", "bedrock", "/invoke-sse", f"/model/{quote(CLAUDE, safe='')}/invoke-with-response-stream",
             invoke_stream, EVENT_STREAM, CLAUDE, BEDROCK, "never"),
    Upstream("azure-plain", "azure", "/azure-plain",
             f"/openai/deployments/{UPSTREAM_MODEL}/chat/completions?api-version={AZURE_API_VERSION}",
             completion_json, JSON, settings=AZURE, key="required"),
    Upstream("azure-sse", "azure", "/azure-sse",
             f"/openai/deployments/{UPSTREAM_MODEL}/chat/completions?api-version={AZURE_API_VERSION}",
             stream_sse, SSE, settings=AZURE, key="required"),
)}
CLIENT_PATHS = {"anthropic": "/v1/messages", "openai": "/v1/chat/completions", "responses": "/v1/responses"}


def client_path(client: str, model: str, stream: bool) -> str:
    """Where the client posts: a fixed path, or for Gemini the model and the method in the URL."""
    if client == "gemini":
        method = "streamGenerateContent?alt=sse" if stream else "generateContent"
        return f"/v1beta/models/{model}:{method}"
    return CLIENT_PATHS[client]


def client_body(client: str, model: str, stream: bool) -> dict[str, object]:
    """A small request in the client's protocol: "hi", at most 64 tokens (Gemini's model and
    stream are in its URL, not its body)."""
    body: dict[str, object]
    if client == "gemini":
        return {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "generationConfig": {"maxOutputTokens": 64}}
    if client == "responses":
        body = {"model": model, "input": "hi", "max_output_tokens": 64}
    else:
        body = {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
    return {**body, "stream": True} if stream else body


def codex_body(model: str, stream: bool) -> dict[str, object]:
    """A real Codex turn (40 KB: instructions, history with a tool call, 9 tools), unary."""
    body: dict[str, object] = json.loads(CODEX_FIXTURE.read_text())["body"]
    return {**body, "model": model, "stream": stream}


def gemini_cli_body(model: str, stream: bool) -> dict[str, object]:
    """A real Gemini CLI tool turn (47 KB: system instruction, the call and its functionResponse
    with a thoughtSignature, 15 tools, thinking config); the model and stream go in its URL."""
    body: dict[str, object] = json.loads(GEMINI_CLI_FIXTURE.read_text())["body"]
    return body


@dataclass(frozen=True)
class Pair:
    """One scenario: a client protocol's request answered by an upstream of another (or the same) kind."""

    name: str  # on the command line
    label: str  # in tables
    client: str
    upstream: str
    stream: bool
    body: Callable[[str, bool], dict[str, object]]  # the client's body for a model name and stream
    budget_ms: float | None  # router CPU per request the pair must stay under (None: no budget set)

    @property
    def model(self) -> str:
        """The model name whose route sends this client to this upstream."""
        return f"pair-{self.upstream}"

    @property
    def client_path(self) -> str:
        """The path (and query) the client posts to."""
        return client_path(self.client, self.model, self.stream)

    @property
    def upstream_path(self) -> str:
        return UPSTREAMS[self.upstream].path

    def request(self) -> dict[str, object]:
        return self.body(self.model, self.stream)


# By protocol: a client's, or an upstream's (Bedrock's two APIs apart: `invoke` is Claude's InvokeModel)
SHORT = {"anthropic": "anth", "openai": "chat", "responses": "resp", "gemini": "gem",
         "bedrock": "bedrock", "invoke": "invoke", "azure": "azure"}  # in pair names
LABEL = {"anthropic": "anthropic", "openai": "chat", "responses": "responses", "gemini": "gemini",
         "bedrock": "bedrock converse", "invoke": "bedrock invoke", "azure": "azure openai"}  # in tables
UNARY_AND_STREAM = {"openai": ("plain", "sse"), "anthropic": ("anth-plain", "anth-sse"),
                    "responses": ("resp-plain", "resp-sse"), "gemini": ("gem-plain", "gem-sse"),
                    "bedrock": ("bedrock-plain", "bedrock-sse"), "invoke": ("invoke-plain", "invoke-sse"),
                    "azure": ("azure-plain", "azure-sse")}


def small_and_stream(client: str, upstream_kind: str) -> tuple[Pair, Pair]:
    """`<client>-<upstream>-small` and `-stream`: "hi" unary on the kind's JSON answer, and
    streamed on its 54-event stream."""
    unary, streamed = UNARY_AND_STREAM[upstream_kind]
    name, label = f"{SHORT[client]}-{SHORT[upstream_kind]}", f"{LABEL[client]} → {LABEL[upstream_kind]}"
    body = partial(client_body, client)
    return (Pair(f"{name}-small", f"{label}, small", client, unary, False, body, SMALL_BUDGET_MS),
            Pair(f"{name}-stream", f"{label}, stream", client, streamed, True, body, STREAM_BUDGET_MS))


PAIRS = {pair.name: pair for pair in (
    *small_and_stream("responses", "openai"),
    *small_and_stream("responses", "anthropic"),
    *small_and_stream("responses", "responses"),
    *small_and_stream("anthropic", "responses"),
    *small_and_stream("openai", "responses"),
    Pair("resp-agent", "responses → chat, 40 KB Codex request", "responses", "plain", False, codex_body, None),
    # issue 16: Gemini clients on every upstream kind, and every client on a Gemini upstream
    *small_and_stream("gemini", "openai"),
    *small_and_stream("gemini", "anthropic"),
    *small_and_stream("gemini", "responses"),
    *small_and_stream("gemini", "gemini"),
    *small_and_stream("anthropic", "gemini"),
    *small_and_stream("openai", "gemini"),
    *small_and_stream("responses", "gemini"),
    Pair("gem-agent", "gemini → chat, 47 KB Gemini CLI request", "gemini", "plain", False, gemini_cli_body, None),
    # issue 17: Bedrock (SigV4 signing included) and Azure OpenAI, with Anthropic → Chat beside them for reference
    *small_and_stream("anthropic", "openai"),
    *small_and_stream("anthropic", "bedrock"),
    *small_and_stream("openai", "bedrock"),
    *small_and_stream("responses", "bedrock"),
    *small_and_stream("anthropic", "invoke"),
    *small_and_stream("openai", "azure"),
)}


def pair_upstreams_toml(base_url: Callable[[Upstream], str], api_key: str | None) -> str:
    """The upstreams only the pairs use (today's `plain` and `sse` are the bench's own), with
    `api_key` where one may go; Azure's always has one (PAIR_KEY_ENV), Bedrock's never (AWS_ENV signs)."""
    def key(upstream: Upstream) -> str:
        given = {"optional": api_key, "required": api_key or f"env:{next(iter(PAIR_KEY_ENV))}", "never": None}
        chosen = given[upstream.key]
        return f'api-key = "{chosen}"\n' if chosen else ""

    return "".join(f'\n[upstreams.{upstream.name}]\nkind = "{upstream.kind}"\nbase-url = "{base_url(upstream)}"\n'
                   f"{upstream.settings}{key(upstream)}"
                   for upstream in UPSTREAMS.values() if upstream.name not in ("plain", "sse"))


def pair_routes_toml() -> str:
    """A route per upstream the pairs use, its model `pair-<upstream>`, for every client."""
    used = dict.fromkeys(pair.upstream for pair in PAIRS.values())
    return "".join(f'\n[[routes]]\nname = "pair-{name}"\nmodels = ["pair-{name}"]\nto = "{name}/{UPSTREAMS[name].model}"\n'
                   for name in used)


PAIR_ENV = {**AWS_ENV, **PAIR_KEY_ENV}  # what a router serving the pairs' upstreams needs in its environment


def budget_mark(cpu_ms: float, budget_ms: float | None) -> str:
    if budget_ms is None:
        return "–"
    return f"{'✓' if cpu_ms <= budget_ms else '✗'} ≤ {budget_ms:.1f}"
