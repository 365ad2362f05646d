"""The routes.toml schema. Keys are kebab-case; unknown keys are errors (a typo must never be
silently ignored). Docstrings here are the reference the README and routes.schema.json are made from.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

ClientProtocol = Literal["anthropic", "openai", "responses", "gemini"]
ALL_CLIENT_PROTOCOLS: tuple[ClientProtocol, ...] = ("anthropic", "openai", "responses", "gemini")


class _Strict(msgspec.Struct, forbid_unknown_fields=True, rename="kebab", frozen=True):
    pass


class Timeouts(_Strict, frozen=True):
    """Seconds. `total` bounds a whole non-streaming call; `stream-idle` the silence between two
    stream reads (a stream that goes quiet longer fails with a timeout error event)."""

    connect: float = 10.0
    read: float = 600.0
    write: float = 60.0
    total: float | None = None
    stream_idle: float = 300.0


class ConnectionLimits(_Strict, frozen=True):
    """Connection pool of the one long-lived client per upstream. `max-connections` bounds the
    requests in flight to it (one connection each; beyond it, requests wait up to the connect
    timeout): a guard against a runaway, not a throttle (rate limits throttle). A stream holds
    its connection for minutes, so the bound is high: 256, the old default, was 256 agents
    streaming at once, and every request after them waited and then failed."""

    max_connections: int = 10_000
    max_keepalive: int = 64
    keepalive_expiry: float = 60.0


class ThinkingBudgets(_Strict, frozen=True):
    """OpenAI `reasoning_effort` → Anthropic `thinking.budget_tokens`, for OpenAI clients on
    Anthropic targets."""

    minimal: int = 1024
    low: int = 2048
    medium: int = 8192
    high: int = 24576


class Supports(_Strict, frozen=True):
    """What a target can do; the converters adapt requests to it. Unset fields inherit (route ←
    upstream ← defaults).

    reasoning: how the target thinks. `none` drops `thinking`; `effort` sends `reasoning_effort`
      (OpenAI o-series, gpt-5, Groq, OpenRouter); `reasoning-content` is DeepSeek's style: thinking
      comes back as `reasoning_content` and must be sent back on later assistant turns.
    vision: images are sent (`image_url`); when false they become a short text placeholder.
    max-output-tokens: `max_tokens` is clamped to this.
    top-k: pass `top_k` through (vLLM, Ollama, OpenRouter take it; OpenAI rejects it).
    cache-control: keep Anthropic `cache_control` markers on content parts (OpenRouter, some vLLM).
    tool-schema: `full` passes JSON Schema 2020-12 as is; `clean` strips keywords strict
      validators reject ($schema, propertyNames, const → enum, exclusive bounds ...).
    stream-usage: ask for usage in streams with `stream_options.include_usage`.
    thinking-budgets: reasoning_effort → thinking budget_tokens (OpenAI clients, Anthropic targets).
    """

    reasoning: Literal["none", "effort", "reasoning-content"] | None = None
    vision: bool | None = None
    max_output_tokens: int | None = None
    top_k: bool | None = None
    cache_control: bool | None = None
    tool_schema: Literal["full", "clean"] | None = None
    stream_usage: bool | None = None
    thinking_budgets: ThinkingBudgets | None = None


class Price(_Strict, frozen=True):
    """What a target's tokens cost, in USD per million tokens. The ledger prices every request
    with it (`router usage`, the dashboard) and budgets count what it adds up to.

    input: prompt tokens that were neither read from nor written to a prompt cache.
    output: generated tokens (reasoning included).
    cache-read / cache-write: prompt tokens read from / written to the provider's prompt cache.
      Unset: the `input` price. The router never guesses a provider's discount or surcharge
      (Anthropic bills reads at 0.1x and writes at 1.25x input, OpenAI reads at 0.5x, ...):
      give both where the provider prices them differently.
    """

    input: Annotated[float, msgspec.Meta(ge=0)]
    output: Annotated[float, msgspec.Meta(ge=0)]
    cache_read: Annotated[float, msgspec.Meta(ge=0)] | None = None
    cache_write: Annotated[float, msgspec.Meta(ge=0)] | None = None


class Budget(_Strict, frozen=True):
    """A spending cap in USD per calendar period (UTC: a day from 00:00, a week from Monday,
    a month from the 1st), counted from the prices of the targets used. Over it, the next
    request is refused with a 429 that says it is the budget and when it resets (a request in
    flight finishes). Shared by every replica when `[limits] backend = "redis"`.

    usd: the cap.
    period: `day`, `week` or `month`.
    warn-at: the share of `usd` at which one warning is logged per period (and the dashboard
      shows it).
    """

    usd: Annotated[float, msgspec.Meta(gt=0)]
    period: Literal["day", "week", "month"] = "day"
    warn_at: Annotated[float, msgspec.Meta(gt=0, le=1)] = 0.8


class OpenAIUpstream(_Strict, frozen=True, tag_field="kind", tag="openai"):
    """Any OpenAI-compatible Chat Completions API (OpenAI, DeepSeek, OpenRouter, vLLM, Ollama, Groq).

    api-key: `env:NAME` or `${NAME}`; sent as `Authorization: Bearer`. Never a literal secret.
    optional: when the api-key's variable is unset, leave this upstream (and routes that only
      target it) out instead of reporting an error: the shipped routes.toml lists real providers
      this way, each enabled by its key.
    price / prices: what tokens cost here (see Price): `price` for every model, `prices` by model
      name (`prices = { "some-model" = { input = 3, output = 15 } }`), which wins over `price`.
    """

    base_url: str
    api_key: str | None = None
    optional: bool = False
    headers: dict[str, str] = {}
    timeout: Timeouts = Timeouts()
    limits: ConnectionLimits = ConnectionLimits()
    supports: Supports = Supports()
    price: Price | None = None
    prices: dict[str, Price] = {}


class ResponsesUpstream(_Strict, frozen=True, tag_field="kind", tag="responses"):
    """The OpenAI Responses API (`POST {base-url}/responses`): models served only there (the
    newest OpenAI models), and any server that speaks it. A kind of its own rather than a switch
    on `openai`, because it is another protocol: its own request and answer shapes, stream
    events and override fields (`router check` checks `request` ops against them).

    api-key: `env:NAME` or `${NAME}`; sent as `Authorization: Bearer`. Never a literal secret.
    optional: as for `openai`: left out when the api-key's variable is unset.
    price / prices: what tokens cost here (see Price): `price` for every model, `prices` by model
      name (`prices = { "some-model" = { input = 3, output = 15 } }`), which wins over `price`.
    """

    base_url: str = "https://api.openai.com/v1"
    api_key: str | None = None
    optional: bool = False
    headers: dict[str, str] = {}
    timeout: Timeouts = Timeouts()
    limits: ConnectionLimits = ConnectionLimits()
    supports: Supports = Supports()
    price: Price | None = None
    prices: dict[str, Price] = {}


class MockUpstream(_Strict, frozen=True, tag_field="kind", tag="mock"):
    """Built in and offline: answers deterministically in OpenAI Chat Completions shape. It echoes
    the last user message, streams it word by word, thinks aloud when reasoning is asked for, and
    calls a tool when the last user message names one of the request's tools.

    price / prices: what tokens cost here (see Price): `price` for every model, `prices` by model
      name (`prices = { "some-model" = { input = 3, output = 15 } }`), which wins over `price`.
    """

    delay: float = 0.0
    optional: bool = False
    supports: Supports = Supports()
    price: Price | None = None
    prices: dict[str, Price] = {}


class Vertex(_Strict, frozen=True):
    """Google Cloud's Vertex AI: the model is served by `project` in `location` and called with
    an OAuth token instead of an API key.

    credentials: a service-account key file (`env:NAME` naming the variable that holds its path,
      or the path itself); when absent, Application Default Credentials (the
      GOOGLE_APPLICATION_CREDENTIALS variable, `gcloud auth application-default login`, or the
      metadata server on Google Cloud). Tokens come from `google-auth` (the `router[google]`
      extra) and are refreshed before they expire; they are never logged.
    location: a region such as `us-central1`, or `global`.
    """

    project: str
    location: str = "global"
    credentials: str | None = None


def vertex_host(vertex: Vertex) -> str:
    """Vertex AI's endpoint for a location: regional hosts carry the region in their name."""
    if vertex.location == "global":
        return "https://aiplatform.googleapis.com"
    return f"https://{vertex.location}-aiplatform.googleapis.com"


def vertex_publisher_url(vertex: Vertex, host: str | None, publisher: str) -> str:
    """`.../v1/projects/P/locations/L/publishers/<publisher>`: the models of a publisher
    (google, anthropic) in a project, to which `/models/<model>:<method>` is appended."""
    root = (host or vertex_host(vertex)).rstrip("/")
    return f"{root}/v1/projects/{vertex.project}/locations/{vertex.location}/publishers/{publisher}"


class GeminiUpstream(_Strict, frozen=True, tag_field="kind", tag="gemini"):
    """Google's Gemini API: Google AI Studio with an API key, or Vertex AI with `vertex`.

    api-key: `env:NAME` or `${NAME}`; sent as `x-goog-api-key` (never in the URL). Not used
      with `vertex`, which authenticates with Google Cloud credentials.
    base-url: AI Studio's `https://generativelanguage.googleapis.com/v1beta` by default; with
      `vertex`, the Vertex AI host (default: the location's own, e.g.
      `https://us-central1-aiplatform.googleapis.com`), to which the project's path is added.
    optional: as for `openai`: left out when the api-key's variable is unset (or, with `vertex`,
      when its `credentials` variable is).
    supports.tool-schema: `full` (the default) sends tool parameters as JSON Schema
      (`parametersJsonSchema`); `clean` converts them to the OpenAPI subset of `parameters`,
      for older models and endpoints that take only that.
    price / prices: what tokens cost here (see Price): `price` for every model, `prices` by model
      name (`prices = { "some-model" = { input = 3, output = 15 } }`), which wins over `price`.
    """

    base_url: str | None = None
    api_key: str | None = None
    optional: bool = False
    vertex: Vertex | None = None
    headers: dict[str, str] = {}
    timeout: Timeouts = Timeouts()
    limits: ConnectionLimits = ConnectionLimits()
    supports: Supports = Supports()
    price: Price | None = None
    prices: dict[str, Price] = {}


GEMINI_API_BASE_URL = "https://generativelanguage.googleapis.com/v1beta"


class Guardrail(_Strict, frozen=True):
    """An Amazon Bedrock guardrail applied to every request (Converse's `guardrailConfig`;
    InvokeModel's `X-Amzn-Bedrock-Guardrail*` headers).

    id: the guardrail's identifier or ARN.
    version: its version number, or `DRAFT`.
    trace: `enabled`, `enabled_full` or `disabled` (the guardrail's trace in the answer).
    stream-mode: `sync` (the default: each piece is checked before it is sent) or `async`
      (pieces are sent at once and checked in the background) for streams.
    """

    id: str
    version: str
    trace: Literal["enabled", "enabled_full", "disabled"] | None = None
    stream_mode: Literal["sync", "async"] | None = None


class BedrockUpstream(_Strict, frozen=True, tag_field="kind", tag="bedrock"):
    """Amazon Bedrock: the Converse API for any model, and Claude through InvokeModel with the
    Anthropic Messages body. Needs the `router[bedrock]` extra (botocore).

    region: the AWS region whose `bedrock-runtime` endpoint serves the models (`us-east-1`).
    base-url: another endpoint (a VPC endpoint, a FIPS host); default
      `https://bedrock-runtime.{region}.amazonaws.com`.
    api-key: a Bedrock API key (`env:AWS_BEARER_TOKEN_BEDROCK`), sent as `Authorization: Bearer`.
      Without one, requests are signed (SigV4) with the credentials botocore finds: environment,
      shared config and credentials files (`profile`), SSO, web identity, container and
      instance roles, assume-role; refreshed before they expire.
    profile: the shared-config profile to take credentials from (default: AWS_PROFILE, else
      `default`).
    api: `converse` (any model), `invoke` (Claude models' InvokeModel with the Anthropic body:
      passthrough for Anthropic clients), or `auto` (the default): InvokeModel for Anthropic
      models asked by Anthropic clients, Converse otherwise.
    guardrail: a Bedrock guardrail for every request to this upstream (a route's own wins).
    optional: leave this upstream out, instead of reporting an error, when its api-key's
      variable is unset (without an api-key: when botocore is not installed).
    price / prices: what tokens cost here (see Price): `price` for every model, `prices` by model
      name (`prices = { "some-model" = { input = 3, output = 15 } }`), which wins over `price`.
    """

    region: str
    base_url: str | None = None
    api_key: str | None = None
    profile: str | None = None
    api: Literal["auto", "converse", "invoke"] = "auto"
    guardrail: Guardrail | None = None
    optional: bool = False
    headers: dict[str, str] = {}
    timeout: Timeouts = Timeouts()
    limits: ConnectionLimits = ConnectionLimits()
    supports: Supports = Supports()
    price: Price | None = None
    prices: dict[str, Price] = {}


def bedrock_host(region: str) -> str:
    return f"https://bedrock-runtime.{region}.amazonaws.com"


# The service name Bedrock Runtime's SigV4 signatures are made for (botocore's signingName).
BEDROCK_SIGNING_NAME = "bedrock"


class Entra(_Strict, frozen=True):
    """Microsoft Entra ID tokens instead of an API key, from `azure-identity`'s
    DefaultAzureCredential (the `router[azure]` extra): environment (AZURE_CLIENT_ID,
    AZURE_TENANT_ID, AZURE_CLIENT_SECRET or AZURE_FEDERATED_TOKEN_FILE), workload identity,
    managed identity, the Azure CLI's login. Tokens are refreshed before they expire and never
    logged.

    scope: the token's scope; default `https://cognitiveservices.azure.com/.default` for
      `kind = "azure"` and `https://ai.azure.com/.default` for Claude on Azure AI Foundry.
    client-id: a user-assigned managed identity's client id.
    """

    scope: str | None = None
    client_id: str | None = None


class AzureUpstream(_Strict, frozen=True, tag_field="kind", tag="azure"):
    """Azure OpenAI (OpenAI Chat Completions on Azure): the resource's deployments.

    base-url: the resource's endpoint, `https://{resource}.openai.azure.com` (or
      `.cognitiveservices.azure.com`).
    api-version: with one (`2024-10-21`), the deployment URLs: the route's model names the
      deployment, `{base-url}/openai/deployments/{model}/chat/completions?api-version=...`.
      Without one, the v1 endpoint `{base-url}/openai/v1/chat/completions` with the model in
      the body.
    api-key: `env:NAME`; sent as the `api-key` header. Or `entra` for Microsoft Entra ID tokens.
    optional: as for `openai`: left out when the api-key's variable is unset.
    price / prices: what tokens cost here (see Price): `price` for every model, `prices` by model
      name (`prices = { "some-model" = { input = 3, output = 15 } }`), which wins over `price`.
    """

    base_url: str
    api_version: str | None = None
    api_key: str | None = None
    entra: Entra | None = None
    optional: bool = False
    headers: dict[str, str] = {}
    timeout: Timeouts = Timeouts()
    limits: ConnectionLimits = ConnectionLimits()
    supports: Supports = Supports()
    price: Price | None = None
    prices: dict[str, Price] = {}


class AnthropicUpstream(_Strict, frozen=True, tag_field="kind", tag="anthropic"):
    """The Anthropic Messages API (api.anthropic.com, or any server that speaks it).

    api-key: `env:NAME` or `${NAME}`; sent as `x-api-key`.
    anthropic-version: sent when the client did not send one.
    beta: which client `anthropic-beta` flags go upstream: `all`, `none`, or a list of flags.
      Claude Code sends eight; a server that doesn't know one may reject the request.
    vertex: Claude on Google Cloud's Vertex AI (`project`, `location`, `credentials` as for
      `kind = "gemini"`): the model goes in the URL (`:rawPredict` / `:streamRawPredict`), the
      body carries `anthropic_version = "vertex-2023-10-16"`, and requests are authenticated
      with Google Cloud credentials instead of `api-key`; `base-url` then names the Vertex AI
      host (default: the location's own).
    entra: Microsoft Entra ID tokens (`Authorization: Bearer`) instead of `api-key`, for Claude on
      Azure AI Foundry (`base-url = "https://{resource}.services.ai.azure.com/anthropic"`, where
      an `api-key` works as well).
    price / prices: what tokens cost here (see Price): `price` for every model, `prices` by model
      name (`prices = { "some-model" = { input = 3, output = 15 } }`), which wins over `price`.
    """

    base_url: str | None = None  # https://api.anthropic.com, or with `vertex` the location's host
    api_key: str | None = None
    optional: bool = False
    anthropic_version: str = "2023-06-01"
    beta: Literal["all", "none"] | list[str] = "all"
    vertex: Vertex | None = None
    entra: Entra | None = None
    headers: dict[str, str] = {}
    timeout: Timeouts = Timeouts()
    limits: ConnectionLimits = ConnectionLimits()
    supports: Supports = Supports()
    price: Price | None = None
    prices: dict[str, Price] = {}


Upstream = (OpenAIUpstream | AnthropicUpstream | ResponsesUpstream | GeminiUpstream | BedrockUpstream
            | AzureUpstream | MockUpstream)
HttpUpstream = (OpenAIUpstream | AnthropicUpstream | ResponsesUpstream | GeminiUpstream | BedrockUpstream
                | AzureUpstream)

ANTHROPIC_API_BASE_URL = "https://api.anthropic.com"


def base_url_of(upstream: HttpUpstream) -> str:
    """Where the upstream's API is, its kind's default filled in. On Vertex AI that is the
    project's models of the kind's publisher, to which the spoke adds `/models/<model>:<method>`."""
    if isinstance(upstream, GeminiUpstream):
        if upstream.vertex is not None:
            return vertex_publisher_url(upstream.vertex, upstream.base_url, "google")
        return upstream.base_url or GEMINI_API_BASE_URL
    if isinstance(upstream, AnthropicUpstream):
        if upstream.vertex is not None:
            return vertex_publisher_url(upstream.vertex, upstream.base_url, "anthropic")
        return upstream.base_url or ANTHROPIC_API_BASE_URL
    if isinstance(upstream, BedrockUpstream):
        return upstream.base_url or bedrock_host(upstream.region)
    return upstream.base_url


class SetOp(_Strict, frozen=True, tag_field="op", tag="set"):
    """Always set `field` to `value`."""

    field: str
    value: Any


class DefaultOp(_Strict, frozen=True, tag_field="op", tag="default"):
    """Set `field` to `value` when the request has none."""

    field: str
    value: Any


class DropOp(_Strict, frozen=True, tag_field="op", tag="drop"):
    """Remove `field`."""

    field: str


class RenameOp(_Strict, frozen=True, tag_field="op", tag="rename"):
    """Move `field` to `to` (e.g. max_tokens → max_completion_tokens for OpenAI reasoning models)."""

    field: str
    to: str


class ClampOp(_Strict, frozen=True, tag_field="op", tag="clamp"):
    """Keep a numeric `field` within [min, max]."""

    field: str
    min: int | float | None = None
    max: int | float | None = None


Op = SetOp | DefaultOp | DropOp | RenameOp | ClampOp


class SetHeader(_Strict, frozen=True, tag_field="op", tag="set"):
    """Send header `name` with `value` to the upstream (replacing ours or the client's)."""

    name: str
    value: str


class RemoveHeader(_Strict, frozen=True, tag_field="op", tag="remove"):
    """Do not send header `name` to the upstream (e.g. a forwarded `anthropic-beta`)."""

    name: str


HeaderOp = SetHeader | RemoveHeader


class WeightedTarget(_Strict, frozen=True):
    """A target with a share of the traffic when the route balances (`balance = "weighted"`).

    price: what this target's tokens cost (see Price); wins over its upstream's `prices` and
      `price`.
    """

    target: str
    weight: float = 1.0
    price: Price | None = None


class Retry(_Strict, frozen=True):
    """How a route retries. An attempt fails over to the next target (or retries the only one)
    when it fails with one of `on` before the first byte reached the client; never on the
    client's own errors. Backoff is exponential with full jitter; an upstream's retry-after is
    honoured when the same target is tried again, up to `max-wait` (longer: give up at once).

    on: HTTP statuses, "connect" (refused, DNS, TLS) and "timeout" (before the first byte).
    cooldown: a target that failed `failures` times in a row is put aside that many seconds.
    """

    attempts: int = 3
    backoff: float = 0.25
    max_wait: float = 10.0
    on: list[int | Literal["connect", "timeout"]] = msgspec.field(
        default_factory=lambda: [408, 429, 500, 502, 503, 504, 529, "connect", "timeout"]
    )
    failures: int = 3
    cooldown: float = 30.0


class When(_Strict, frozen=True):
    """Conditions on the request itself; the route matches only when every condition given holds
    (a route whose conditions fail falls through to the next route). Declarative on purpose: no
    scripting, so `router check` can reason about them and `router explain` can show each one.

    header: header name (any case) → the value it must have: exact text or a glob
      (`"team-*"`), or a list of them (any one matches). A missing header never matches.
    key: names of the client keys allowed (`{ name, sha256 }` names, or the variable of an
      `env:` key).
    thinking: the request asks for thinking (Anthropic `thinking` enabled or adaptive; OpenAI
      `reasoning_effort` other than "none"), or, when false, does not.
    images: an image anywhere in the conversation (tool results included), or none.
    tools: the request offers tools, or none.
    min-input-tokens / max-input-tokens: bounds (inclusive) on the estimated input tokens, the
      same estimate `/v1/messages/count_tokens` answers with; computed only when needed.
    """

    header: dict[str, str | list[str]] = {}
    key: list[str] | None = None
    thinking: bool | None = None
    images: bool | None = None
    tools: bool | None = None
    min_input_tokens: int | None = None
    max_input_tokens: int | None = None


class Rate(_Strict, frozen=True):
    """Requests and tokens per minute, over a sliding 60-second window. Tokens are input +
    output: estimated when the request arrives, corrected from the answer's usage (a stream's
    when it ends). Unset: no limit. Over it, clients get a 429 with `retry-after`.
    """

    rpm: int | None = None
    tpm: int | None = None


class RouteCache(_Strict, frozen=True):
    """A route's exact-match response cache (`cache` on a route): a request whose upstream
    request (after conversion, without `stream` and per-request ids and metadata) matches one
    answered before on the same route and target is answered from the cache, unary or streamed,
    in the client's protocol, with `x-router-cache: hit` (`miss` otherwise; `bypass` when the
    client sent `cache-control: no-cache`, which still stores the answer, or `no-store`, which
    neither reads nor stores). Errors, cut streams and requests continuing a stored response
    (`previous_response_id`) are never cached. Where it is kept and its bounds: see `[cache]`.

    ttl: seconds an answer is served from the cache after it was stored.
    scope: `key`: each client key has its own entries; `global`: every key shares them (a key
      may then be answered what another key was answered).
    keep-truncated: also cache answers that stopped at `max_tokens`.
    """

    ttl: Annotated[int, msgspec.Meta(ge=1)] = 3600
    scope: Literal["key", "global"] = "key"
    keep_truncated: bool = False


class Route(_Strict, frozen=True):
    """One row of the table; the first route whose `models` match the client's model wins.

    models: exact names or globs (`claude-*`, `gpt-?o`, `*`).
    clients: the front doors this route serves; default all.
    to: `upstream/model` (split at the first "/"), or just `upstream` to send the client's model
      name unchanged. A list is an ordered fallback chain; entries may be
      `{ target = "upstream/model", weight = 2 }` for `balance = "weighted"`.
    balance: `ordered` (the list is the fallback order), `weighted` (pick the first target by
      weight, the rest follow as fallbacks), `least-in-flight` (the target with the fewest
      requests in flight in this process first).
    retry: attempts, backoff and what is retryable (see Retry).
    request: override ops applied, in order, to the upstream request.
    response: the same ops on the unary answer the client gets (stream events pass unchanged).
    headers: `{ op = "set", name, value }` / `{ op = "remove", name }` on the upstream request's
      headers, after the upstream's own and the forwarded ones.
    ping-interval: seconds of upstream silence before a keep-alive `ping` event goes to the client.
    when: conditions on the request (headers, client key, thinking, images, tools, input
      tokens); all must hold, else the next route is tried (see When).
    limits: requests/tokens per minute for the whole route, all keys together (see `[limits]`).
    guardrail: an Amazon Bedrock guardrail for this route's requests to Bedrock upstreams (wins
      over the upstream's own).
    budget: the most this route may spend per period, all keys together (see Budget).
    trace-content: put this route's prompts and answers on its trace spans (see
      `[telemetry]` record-content).
    cache: answer repeated requests from a cache (see RouteCache); unset: never cached.
    """

    name: str
    models: list[str]
    to: str | list[str | WeightedTarget]
    balance: Literal["ordered", "weighted", "least-in-flight"] = "ordered"
    retry: Retry = Retry()
    clients: list[ClientProtocol] = msgspec.field(default_factory=lambda: list(ALL_CLIENT_PROTOCOLS))
    request: list[Op] = []
    response: list[Op] = []
    headers: list[HeaderOp] = []
    supports: Supports = Supports()
    ping_interval: float = 10.0
    when: When | None = None
    limits: Rate | None = None
    guardrail: Guardrail | None = None
    budget: Budget | None = None
    trace_content: bool = False
    cache: RouteCache | None = None


class KeyHash(_Strict, frozen=True):
    """A named client key: its sha256 hex digest (the key itself lives only with the client;
    `router keys add` makes one) or `key = "env:NAME"`, and what it may do.

    routes: the routes this key may use (by name); unset: all. Others answer 403.
    models: the model names or globs this key may ask for; unset: all.
    limits: this key's own requests/tokens per minute, on top of the route's.
    budget: the most this key may spend per period (see Budget), on top of the route's.
    """

    name: str
    sha256: str | None = None
    key: str | None = None
    routes: list[str] | None = None
    models: list[str] | None = None
    limits: Rate | None = None
    budget: Budget | None = None


class Auth(_Strict, frozen=True):
    """Client keys. Strings are `env:NAME` / `${NAME}` references; tables are named sha256 hashes.
    With `keys` or `keys-file` set, a client needs a listed key even when none is listed: revoking
    the last key refuses every client, it never opens the server. With neither the server is open
    (loopback only); with no key and bound beyond loopback, it generates one at first start.

    admin-keys: keys for the admin endpoints (`POST /admin/reload`, `GET /admin/config`), in the
      same forms as `keys`. A client key never opens them. With none, only loopback peers that
      did not come through a proxy may use them.
    keys-file: a file of `[[keys]]` tables (relative to this file) that `router keys add` and
      `revoke` write, so this file is never rewritten by a program; its keys join `keys`.
    """

    keys: list[str | KeyHash] = []
    admin_keys: list[str | KeyHash] = []
    keys_file: str | None = None


class Cors(_Strict, frozen=True):
    """Cross-origin access for browser clients (`[server] cors`); off when the table is absent.

    origins: allowed origins, e.g. `["https://app.example.com"]`; `["*"]` allows any.
    methods / headers: allowed in requests; `["*"]` allows any.
    expose-headers: response headers a page may read.
    credentials: allow cookies and `Authorization` from the browser (not with `origins = ["*"]`).
    max-age: seconds a browser may cache a preflight answer.
    """

    origins: list[str]
    methods: list[str] = msgspec.field(default_factory=lambda: ["*"])
    headers: list[str] = msgspec.field(default_factory=lambda: ["*"])
    expose_headers: list[str] = msgspec.field(
        default_factory=lambda: ["request-id", "retry-after", "x-router-route", "x-router-target"]
    )
    credentials: bool = False
    max_age: int = 600


class Server(_Strict, frozen=True):
    """Where `router serve` listens and how it serves; `--host`, `--port` and `--workers`
    override those three. Read at start: a reload changes only `log-bodies` and `access-log`.

    max-body-bytes: larger request bodies are refused with a 413 in the client's protocol.
    max-header-bytes: the request head (the request line's URL, each header's name and value)
      may hold this many bytes; a larger one is refused with a 431 in the client's protocol,
      before more than about this much of it is held in memory.
    max-headers: at most this many request headers; more are refused with a 431 too.
    cors: cross-origin access for browser clients (see `[server] cors`); unset: no CORS headers.
    forwarded-allow-ips: the load balancers (addresses or CIDR ranges) whose `X-Forwarded-For`
      and `X-Forwarded-Proto` are believed: the client address the access log shows. `["*"]`
      trusts any peer; `[]` none.
    shutdown-timeout: on SIGTERM, seconds to let running requests and streams finish before
      they are cut.
    drain-delay: on SIGTERM, seconds to keep accepting requests while `/ready` answers 503, so
      a load balancer stops sending new ones before the listener closes (5-10 behind Kubernetes).
    access-log: one JSON line per request on stderr (logger `router.access`).
    log-bodies: put request and response bodies in the access log. Debugging only: prompts
      and answers end up in the logs.
    """

    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    max_body_bytes: Annotated[int, msgspec.Meta(ge=1)] = 32 * 1024 * 1024
    max_header_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 64 * 1024
    max_headers: Annotated[int, msgspec.Meta(ge=1)] = 100
    cors: Cors | None = None
    forwarded_allow_ips: list[str] = msgspec.field(default_factory=lambda: ["127.0.0.1"])
    shutdown_timeout: Annotated[float, msgspec.Meta(ge=0)] = 30.0
    drain_delay: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    access_log: bool = True
    log_bodies: bool = False


class Limits(_Strict, frozen=True):
    """How rate limits are counted. The limits themselves are per key (`limits` on a key) and
    per route (`limits` on a route); a request must fit all that apply.

    backend: `memory` counts in each process (each replica and worker has its own budget);
      `redis` keeps one budget for every replica that shares the Redis.
    redis-url: `env:NAME`, or a literal `redis://host:port/db` without a password.
    fail-open: when Redis is unreachable, serve without limits (logged, counted) instead of
      answering 503.
    """

    backend: Literal["memory", "redis"] = "memory"
    redis_url: str | None = None
    fail_open: bool = True


class ResponseStore(_Strict, frozen=True):
    """Answers kept for clients that continue a conversation by reference (the Responses API's
    `store` and `previous_response_id`; `GET` and `DELETE /v1/responses/{id}`). Kept where
    `[limits]` counts: in Redis when its backend is `redis` (every replica sees every answer),
    else in each process's memory (with several workers or replicas and no Redis, a follow-up
    may reach a process that does not have the answer: use Redis there).

    enabled: keep answers that ask to be kept (`store` not false). Off: nothing is kept, and a
      request continuing an answer is refused unless its target keeps answers itself. Prompts
      and answers are held in memory or Redis: turn it off where that is not allowed.
    ttl: seconds an answer is kept (from when it was stored; reading it does not extend it).
    max-entries: at most this many answers per process (memory backend); the least recently
      used go first.
    max-bytes: at most this many bytes of answers per process (memory backend); the least
      recently used go first. No single answer (with its conversation) larger than this is kept,
      in memory or Redis.
    """

    enabled: bool = True
    ttl: Annotated[int, msgspec.Meta(ge=1)] = 3600
    max_entries: Annotated[int, msgspec.Meta(ge=1)] = 10_000
    max_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 64 * 1024 * 1024


class Telemetry(_Strict, frozen=True):
    """OpenTelemetry traces (`pip install 'router[otel]'`): one span per model request following
    the GenAI semantic conventions, a child span per upstream attempt, `traceparent` accepted
    from clients and sent to upstreams. On when this table is present (unless `enabled = false`)
    or when the environment configures an OTLP exporter (`OTEL_EXPORTER_OTLP_ENDPOINT`,
    `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or `OTEL_TRACES_EXPORTER=otlp`); `OTEL_SDK_DISABLED=true`
    turns it off. What the table leaves out, the standard `OTEL_*` variables set. Read at start: a
    reload changes only the routes' `trace-content`.

    enabled: `false` keeps the table but sends no traces.
    endpoint: the OTLP receiver's base URL (`http://collector:4318`; `/v1/traces` is added for
      http/json and http/protobuf unless the URL already ends with it); default
      `OTEL_EXPORTER_OTLP_ENDPOINT`, else the SDK's `http://localhost:4318`.
    protocol: `http/json` (OTLP's JSON encoding over HTTP), `http/protobuf` or `grpc` (also needs
      opentelemetry-exporter-otlp-proto-grpc installed); default `OTEL_EXPORTER_OTLP_PROTOCOL`,
      else http/json: the SDK's protobuf encoder costs ~110 µs a span of the router's CPU, the
      router's JSON spans a few µs a request (written once, from parts kept encoded), and OTLP
      receivers (the OTel Collector, Jaeger, Tempo) take both.
    headers: sent with every export, values from the environment only (`{ authorization =
      "env:OTLP_AUTH" }`); never logged.
    sampling-ratio: the share of requests traced (0 to 1), parent-based: a client's sampled
      `traceparent` is always followed. Default: `OTEL_TRACES_SAMPLER`, else every request.
    service-name: the traces' `service.name`; default `OTEL_SERVICE_NAME`, else "router".
    record-content: put prompts and answers on the spans (`gen_ai.input.messages`,
      `gen_ai.output.messages`) for every route; a route's `trace-content` does it for that
      route alone. Off by default: prompts and answers may hold what must not leave the router.
    """

    enabled: bool = True
    endpoint: str | None = None
    protocol: Literal["http/json", "http/protobuf", "grpc"] | None = None
    headers: dict[str, str] = {}
    sampling_ratio: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] | None = None
    service_name: str | None = None
    record_content: bool = False


class Cache(_Strict, frozen=True):
    """Where routes with `cache` keep their answers. Like `[response-store]`, in Redis when
    `[limits]` backend is `redis` (every replica shares the cache), else in each process's memory.
    Prompts are not kept (entries are named by a hash of the request), answers are.

    max-entries: at most this many answers per process (memory backend); the least recently
      used go first.
    max-bytes: at most this many bytes of answers per process (memory backend); the least
      recently used go first. No single answer larger than this is cached, in memory or Redis.
    """

    max_entries: Annotated[int, msgspec.Meta(ge=1)] = 10_000
    max_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 64 * 1024 * 1024


class KeysFile(_Strict, frozen=True):
    """The keys file (`[auth] keys-file`, written by `router keys`): one `[[keys]]` table per
    key, in the same form as `[auth] keys` tables."""

    keys: list[KeyHash] = []


class Config(_Strict, frozen=True):
    """The whole routes.toml."""

    server: Server = Server()
    auth: Auth = Auth()
    limits: Limits = Limits()
    response_store: ResponseStore = ResponseStore()
    cache: Cache = Cache()
    telemetry: Telemetry | None = None
    upstreams: dict[str, Upstream] = {}
    routes: list[Route] = []
