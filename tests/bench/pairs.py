"""The benchmarks' protocol pairs: canned upstream answers in each upstream protocol, the client
bodies, and the routes that select a pair by model name (data, not a benchmark).

Every stream tells the same text ("word0 " … "word49 ", 50 words) in 54 events of its own
protocol, so the pairs differ only by the conversion: OpenAI Chat as role chunk, 50 content
chunks, finish and usage; Anthropic as message_start, content_block_start, 49 text deltas,
content_block_stop, message_delta, message_stop; Responses (numbered by sequence_number, as
real servers send it) as response.created, in_progress, output_item.added, content_part.added,
46 output_text deltas, output_text.done, content_part.done, output_item.done and
response.completed with usage. Unary answers say "Hello! How can I help you today?".

`tests.bench.run` serves the answers from nginx (a static file per upstream, at the path the
router posts to) and `tests.bench.instructions` from an in-process transport; both load the
routes of `pair_routes`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CODEX_FIXTURE = REPO.parent / "shared" / "fixtures" / "codex" / "tool-custom-model" / "0005-openai_responses_stream.json"
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


# Upstreams, clients, pairs


@dataclass(frozen=True)
class Upstream:
    """A canned upstream: its name in routes.toml (and nginx's folder), its kind, and its answer."""

    name: str
    kind: str
    base_path: str  # below the host: the upstream's base-url
    endpoint: str  # below base-url: where the router posts (nginx serves the answer there)
    answer: Callable[[], str]
    content_type: str

    @property
    def path(self) -> str:
        return self.base_path + self.endpoint


JSON, SSE = "application/json", "text/event-stream"
UPSTREAMS = {upstream.name: upstream for upstream in (
    Upstream("plain", "openai", "/plain/v1", "/chat/completions", completion_json, JSON),
    Upstream("sse", "openai", "/sse/v1", "/chat/completions", stream_sse, SSE),
    Upstream("anth-plain", "anthropic", "/anth-plain", "/v1/messages", anthropic_json, JSON),
    Upstream("anth-sse", "anthropic", "/anth-sse", "/v1/messages", anthropic_sse, SSE),
    Upstream("resp-plain", "responses", "/resp-plain/v1", "/responses", responses_json, JSON),
    Upstream("resp-sse", "responses", "/resp-sse/v1", "/responses", responses_sse, SSE),
)}
CLIENT_PATHS = {"anthropic": "/v1/messages", "openai": "/v1/chat/completions", "responses": "/v1/responses"}


def client_body(client: str, model: str, stream: bool) -> dict[str, object]:
    """A small request in the client's protocol: "hi", at most 64 tokens."""
    body: dict[str, object]
    if client == "responses":
        body = {"model": model, "input": "hi", "max_output_tokens": 64}
    else:
        body = {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
    return {**body, "stream": True} if stream else body


def codex_body(model: str) -> dict[str, object]:
    """A real Codex turn (40 KB: instructions, history with a tool call, 9 tools), unary."""
    body: dict[str, object] = json.loads(CODEX_FIXTURE.read_text())["body"]
    return {**body, "model": model, "stream": False}


@dataclass(frozen=True)
class Pair:
    """One scenario: a client protocol's request answered by an upstream of another (or the same) kind."""

    name: str  # on the command line
    label: str  # in tables
    client: str
    upstream: str
    body: Callable[[str], dict[str, object]]  # the client's body for a model name
    budget_ms: float | None  # router CPU per request the pair must stay under (None: no budget set)

    @property
    def model(self) -> str:
        """The model name whose route sends this client to this upstream."""
        return f"pair-{self.upstream}"

    @property
    def client_path(self) -> str:
        return CLIENT_PATHS[self.client]

    @property
    def upstream_path(self) -> str:
        return UPSTREAMS[self.upstream].path

    def request(self) -> dict[str, object]:
        return self.body(self.model)


def _small(client: str) -> Callable[[str], dict[str, object]]:
    return lambda model: client_body(client, model, stream=False)


def _stream(client: str) -> Callable[[str], dict[str, object]]:
    return lambda model: client_body(client, model, stream=True)


PAIRS = {pair.name: pair for pair in (
    Pair("resp-chat-small", "responses → chat, small", "responses", "plain", _small("responses"), SMALL_BUDGET_MS),
    Pair("resp-chat-stream", "responses → chat, stream", "responses", "sse", _stream("responses"), STREAM_BUDGET_MS),
    Pair("resp-anth-small", "responses → anthropic, small", "responses", "anth-plain", _small("responses"),
         SMALL_BUDGET_MS),
    Pair("resp-anth-stream", "responses → anthropic, stream", "responses", "anth-sse", _stream("responses"),
         STREAM_BUDGET_MS),
    Pair("resp-resp-small", "responses → responses, small", "responses", "resp-plain", _small("responses"),
         SMALL_BUDGET_MS),
    Pair("resp-resp-stream", "responses → responses, stream", "responses", "resp-sse", _stream("responses"),
         STREAM_BUDGET_MS),
    Pair("anth-resp-small", "anthropic → responses, small", "anthropic", "resp-plain", _small("anthropic"),
         SMALL_BUDGET_MS),
    Pair("anth-resp-stream", "anthropic → responses, stream", "anthropic", "resp-sse", _stream("anthropic"),
         STREAM_BUDGET_MS),
    Pair("chat-resp-small", "chat → responses, small", "openai", "resp-plain", _small("openai"), SMALL_BUDGET_MS),
    Pair("chat-resp-stream", "chat → responses, stream", "openai", "resp-sse", _stream("openai"), STREAM_BUDGET_MS),
    Pair("resp-agent", "responses → chat, 40 KB Codex request", "responses", "plain", codex_body, None),
)}


def pair_upstreams_toml(base_url: Callable[[Upstream], str], api_key: str | None) -> str:
    """The upstreams only the pairs use (today's `plain` and `sse` are the bench's own)."""
    key = f'api-key = "{api_key}"\n' if api_key else ""
    return "".join(f'\n[upstreams.{upstream.name}]\nkind = "{upstream.kind}"\nbase-url = "{base_url(upstream)}"\n{key}'
                   for upstream in UPSTREAMS.values() if upstream.name not in ("plain", "sse"))


def pair_routes_toml() -> str:
    """A route per upstream the pairs use, its model `pair-<upstream>`, for every client."""
    used = dict.fromkeys(pair.upstream for pair in PAIRS.values())
    return "".join(f'\n[[routes]]\nname = "pair-{name}"\nmodels = ["pair-{name}"]\nto = "{name}/m"\n' for name in used)


def budget_mark(cpu_ms: float, budget_ms: float | None) -> str:
    if budget_ms is None:
        return "–"
    return f"{'✓' if cpu_ms <= budget_ms else '✗'} ≤ {budget_ms:.1f}"
