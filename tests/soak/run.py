"""The soak (not a test): `python -m tests.soak.run --minutes 10 --concurrency 64 --faults 0.10`.

Starts, on loopback only (127.0.0.1), a real mock upstream (tests.support.mock_upstream: OpenAI
Chat Completions and Anthropic Messages in one process) and a real `router serve` (through
tests.soak.serve_with_task_probe, which adds only a SIGUSR1 probe for the asyncio task count)
with a routes.toml covering the four protocol pairs:

  anthropic->openai     converted    /v1/messages          -> OpenAI upstream
  anthropic->anthropic  passthrough  /v1/messages          -> Anthropic upstream
  openai->anthropic     converted    /v1/chat/completions  -> Anthropic upstream
  openai->openai        passthrough  /v1/chat/completions  -> OpenAI upstream

Then `--concurrency` client loops (asyncio, httpx over the aiohttp transport, raw HTTP) send
requests for `--minutes`: a pair at random, stream or unary, each prompt unique so every answer
is checked word for word ("Echo: <prompt>"). A `--faults` share of the requests asks for a
fault. The mock scripts faults only on its OpenAI side (the model name: fail-<status>, echo-key,
cut-stream, slow-<ms>), so the two pairs with an OpenAI upstream get those, plus a failover route
whose first target always answers 503; the two with an Anthropic upstream get a client that
disconnects after the stream's first bytes. Each loop stops at the deadline or after
`--max-requests-per-loop`, each request after 30 s, and a watchdog bounds the whole run.

Each result is classified:

  ok              200 with the right answer; a stream ended in its terminal event
                  (message_stop / [DONE]) with the right text, and no error event
  expected_error  the fault asked for, as a JSON error in the client protocol's shape and status
                  (fail-500: 500; fail-429: 429 with retry-after; fail-503: 529 Anthropic, 503
                  OpenAI; echo-key: 502, with no trace of the upstream key in the body)
  stream_error    a 200 stream that ended in the protocol's error event (event: error / a data
                  chunk holding "error", with nothing after it): what cut-stream must give
  client_abort    the client closed a stream on purpose before its end (slow-<ms>, disconnect)
  unexpected      anything else: a wrong status or error shape, an error where 200 was due, a
                  stream that ended cleanly after a fault, a stream with no terminal event or
                  with data after its error event, a wrong answer text, a transport error

The router process is sampled from /proc by pid (VmRSS, entries of /proc/PID/fd): at start
(after a warm-up of `--warmup` requests with the same mix and then `--idle` seconds of quiet, so
the upstream pool's keep-alive connections have expired as they will have at the end), every
0.5 s during the load (peak), at the end of the load, and after `--idle` seconds with no client
connection open. The asyncio task count is probed (SIGUSR1) at start and after the idle period.

Exit status 1 when any check fails (thresholds):

  unexpected          == 0 (warm-up included)
  RSS after idle      <= RSS at start + max(30 MiB, 25 % of start): both must be exceeded to fail,
                         since CPython keeps its high-water mark of arenas; a leak grows with the
                         requests served and passes both within minutes
  fds after idle      <= fds at start + 5
  tasks after idle    <= tasks at start + 5
  CPU while idle      <= 5 % of one core over the idle period (nothing left spinning: timers,
                         pings, watchers of requests that are over)
  router log          no "Traceback" in the router's output
  router metrics      router_requests_total summed == requests the clients sent: every request,
                         aborted ones included, was recorded as over (none left hanging)
  upstream aborts     the mock counted at least as many abandoned streams as the clients
                         abandoned slow streams (a client that goes away stops the upstream too;
                         a leave is not made when the client's transport holds the whole body)

Loopback ports are free ones chosen at start; the logs live in a temporary directory, removed at
the end (`--keep` keeps it and prints where).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec
from httpx_aiohttp import AiohttpTransport

from tests.support.servers import free_port, running

CLIENT_KEY = "soak-client-key-0123456789"
UPSTREAM_KEY = "sk-soak-upstream-6b1f0c2e9a4d8e7f5a3c"
PAIRS = ("anthropic->openai", "anthropic->anthropic", "openai->anthropic", "openai->openai")
CLASSES = ("ok", "expected_error", "stream_error", "client_abort", "unexpected")
OPENAI_UPSTREAM_FAULTS = ("fail-500", "fail-429", "fail-503", "echo-key", "cut-stream", "slow", "slow-disconnect", "failover")
ANTHROPIC_UPSTREAM_FAULTS = ("disconnect",)
STREAM_ONLY = {"cut-stream", "slow", "slow-disconnect", "disconnect"}
# fault -> (status, Anthropic error type, OpenAI error type) of the JSON error the client must get
EXPECTED_ERRORS = {
    "fail-500": {"anthropic": (500, "api_error"), "openai": (500, "server_error")},
    "fail-429": {"anthropic": (429, "rate_limit_error"), "openai": (429, "rate_limit_exceeded")},
    "fail-503": {"anthropic": (529, "overloaded_error"), "openai": (503, "server_error")},
    "echo-key": {"anthropic": (502, "api_error"), "openai": (502, "server_error")},
}
RSS_LIMIT_MIB, RSS_LIMIT_SHARE, FD_LIMIT, TASK_LIMIT = 30.0, 0.25, 5, 5
IDLE_CPU_LIMIT = 0.05  # share of one core the router may use while nobody sends anything
REQUEST_TIMEOUT = 30.0
TICKS = os.sysconf("SC_CLK_TCK")

ROUTES = """
[server]
host = "127.0.0.1"

[auth]
keys = ["env:SOAK_CLIENT_KEY"]

[upstreams.oai]
kind = "openai"
base-url = "{upstream}/v1"
api-key = "env:SOAK_UPSTREAM_KEY"

[upstreams.anth]
kind = "anthropic"
base-url = "{upstream}"
api-key = "env:SOAK_UPSTREAM_KEY"

[[routes]]
name = "failover"
models = ["failover"]
to = ["oai/fail-503", "oai/gpt-failover"]
retry = {{ attempts = 2, backoff = 0.01, max-wait = 0.05 }}

[[routes]]
name = "anthropic-to-openai"
clients = ["anthropic"]
models = ["gpt-*", "fail-*", "echo-key", "cut-stream", "slow-*"]
to = "oai"
retry = {{ attempts = 1 }}

[[routes]]
name = "anthropic-passthrough"
clients = ["anthropic"]
models = ["claude-*"]
to = "anth"

[[routes]]
name = "openai-to-anthropic"
clients = ["openai"]
models = ["claude-*"]
to = "anth"

[[routes]]
name = "openai-passthrough"
clients = ["openai"]
models = ["gpt-*", "fail-*", "echo-key", "cut-stream", "slow-*"]
to = "oai"
retry = {{ attempts = 1 }}
"""

_decode = msgspec.json.decode


@dataclass
class Plan:
    pair: str
    client: str  # "anthropic" | "openai": the front door
    model: str
    stream: bool
    fault: str  # "" for none
    prompt: str

    @property
    def expected_text(self) -> str:
        return f"Echo: {self.prompt}"


@dataclass
class Tally:
    by_class: Counter[str] = field(default_factory=Counter)
    by_pair: Counter[tuple[str, str]] = field(default_factory=Counter)
    by_fault: Counter[tuple[str, str]] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    slow_abandoned: int = 0  # slow OpenAI-upstream streams the client closed before their end
    late_leaves: int = 0  # a leave not done: the client's transport had the whole body already

    def add(self, plan: Plan, kind: str, detail: str = "") -> None:
        self.by_class[kind] += 1
        self.by_pair[plan.pair, kind] += 1
        self.by_fault[plan.fault or "none", kind] += 1
        if kind == "unexpected" and len(self.unexpected) < 30:
            self.unexpected.append(f"{plan.pair} model={plan.model} stream={plan.stream} fault={plan.fault or '-'}: {detail}")

    @property
    def total(self) -> int:
        return sum(self.by_class.values())


def make_plan(rng: random.Random, faults: float, loop_id: int, number: int) -> Plan:
    pair = rng.choice(PAIRS)
    client, upstream = pair.split("->")
    prompt = f"soak {loop_id} {number} hello there"
    fault = ""
    if rng.random() < faults:
        fault = rng.choice(OPENAI_UPSTREAM_FAULTS if upstream == "openai" else ANTHROPIC_UPSTREAM_FAULTS)
    if fault.startswith("slow"):
        # ~40 chunks, 20-80 ms apart: 0.8 s or more still to come when the client leaves after
        # the first text, so a client whose loop lags has not read the end yet
        prompt += " word" * 36
    stream = True if fault in STREAM_ONLY else rng.random() < 0.5
    if fault in EXPECTED_ERRORS or fault in ("cut-stream", "failover"):
        model = fault
    elif fault.startswith("slow"):
        model = f"slow-{rng.randint(20, 80)}"
    else:
        model = ("gpt-" if upstream == "openai" else "claude-") + pair.replace("->", "-")
    return Plan(pair, client, model, stream, fault, prompt)


def request_of(plan: Plan) -> tuple[str, dict[str, str], bytes]:
    body: dict[str, Any] = {"model": plan.model, "messages": [{"role": "user", "content": plan.prompt}], "stream": plan.stream}
    if plan.client == "anthropic":
        body["max_tokens"] = 64
        headers = {"x-api-key": CLIENT_KEY, "anthropic-version": "2023-06-01", "content-type": "application/json"}
        return "/v1/messages", headers, msgspec.json.encode(body)
    headers = {"authorization": f"Bearer {CLIENT_KEY}", "content-type": "application/json"}
    return "/v1/chat/completions", headers, msgspec.json.encode(body)


# ---------------------------------------------------------------- classification


def leaks_key(text: bytes) -> bool:
    half = len(UPSTREAM_KEY) // 2
    return any(part.encode() in text for part in (UPSTREAM_KEY, UPSTREAM_KEY[:half], UPSTREAM_KEY[half:]))


def classify_error(plan: Plan, status: int, headers: httpx.Headers, body: bytes) -> tuple[str, str]:
    """A non-200 answer: expected only when it is the fault asked for, in the client's shape."""
    expected = EXPECTED_ERRORS.get(plan.fault, {}).get(plan.client)
    snippet = body[:200].decode(errors="replace")
    if expected is None:
        return "unexpected", f"status {status} where 200 was due: {snippet}"
    if status != expected[0]:
        return "unexpected", f"status {status}, expected {expected[0]}: {snippet}"
    try:
        doc = _decode(body)
        error = doc["error"]
        shaped = (doc.get("type") == "error") if plan.client == "anthropic" else ("type" not in doc)
        if not shaped or error.get("type") != expected[1] or not isinstance(error.get("message"), str):
            return "unexpected", f"error shape, expected type {expected[1]}: {snippet}"
    except (msgspec.DecodeError, KeyError, TypeError, AttributeError):
        return "unexpected", f"error body not the protocol's JSON: {snippet}"
    if plan.fault == "fail-429" and headers.get("retry-after") is None:
        return "unexpected", "429 without retry-after"
    if leaks_key(body) or any(leaks_key(value.encode()) for value in headers.values()):
        return "unexpected", f"upstream key in the answer: {snippet}"
    return "expected_error", ""


def classify_unary(plan: Plan, body: bytes) -> tuple[str, str]:
    if plan.fault in EXPECTED_ERRORS:
        return "unexpected", f"200 after fault {plan.fault}: {body[:200]!r}"
    try:
        doc = _decode(body)
        if plan.client == "anthropic":
            text = "".join(block.get("text", "") for block in doc["content"] if block.get("type") == "text")
            finished = doc["type"] == "message" and doc["stop_reason"] == "end_turn"
        else:
            choice = doc["choices"][0]
            text, finished = choice["message"]["content"], choice["finish_reason"] == "stop"
    except (msgspec.DecodeError, KeyError, IndexError, TypeError, AttributeError):
        return "unexpected", f"200 body not a {plan.client} answer: {body[:200]!r}"
    if not finished or text != plan.expected_text:
        return "unexpected", f"wrong answer {text!r} (finished={finished}), expected {plan.expected_text!r}"
    return "ok", ""


def sse_events(raw: bytes) -> list[tuple[str | None, bytes]]:
    """(event name, data) per SSE event; comments and pings without data are skipped."""
    events = []
    for block in raw.replace(b"\r\n", b"\n").split(b"\n\n"):
        name, data = None, []
        for line in block.split(b"\n"):
            if line.startswith(b"event:"):
                name = line[6:].strip().decode()
            elif line.startswith(b"data:"):
                data.append(line[5:].removeprefix(b" "))
        if data:
            events.append((name, b"\n".join(data)))
    return events


def classify_stream(plan: Plan, raw: bytes, complete: bool) -> tuple[str, str]:
    """A 200 stream read to its end (complete) or until the client closed it on purpose."""
    try:
        if plan.client == "anthropic":
            ended, errored, text = _anthropic_stream(raw)
        else:
            ended, errored, text = _openai_stream(raw)
    except ValueError as exc:
        return "unexpected", str(exc)
    if not complete:
        return ("client_abort", "") if plan.fault in ("slow-disconnect", "disconnect") else ("unexpected", "stream cut")
    if errored:
        if plan.fault == "cut-stream":
            return "stream_error", ""
        return "unexpected", f"stream error event where none was due: {raw[-300:]!r}"
    if not ended:
        return "unexpected", f"stream without its terminal event: {raw[-300:]!r}"
    if plan.fault in EXPECTED_ERRORS or plan.fault == "cut-stream":
        return "unexpected", f"stream ended cleanly after fault {plan.fault}"
    if text != plan.expected_text:
        return "unexpected", f"wrong stream text {text!r}, expected {plan.expected_text!r}"
    return "ok", ""


def _anthropic_stream(raw: bytes) -> tuple[bool, bool, str]:
    """(ended in message_stop, ended in an error event, text). Raises ValueError on a malformed
    stream: undecodable data, anything after message_stop or after an error event."""
    ended = errored = False
    text = []
    for name, data in sse_events(raw):
        if name == "ping":
            continue
        if ended or errored:
            raise ValueError(f"event {name} after the stream's end: {raw[-300:]!r}")
        try:
            doc = _decode(data)
        except msgspec.DecodeError:
            raise ValueError(f"event data not JSON: {data[:200]!r}") from None
        if name == "error":
            error = doc.get("error") or {}
            if doc.get("type") != "error" or not isinstance(error.get("type"), str):
                raise ValueError(f"error event not in Anthropic shape: {data[:200]!r}")
            errored = True
        elif name == "message_stop":
            ended = True
        elif name == "content_block_delta" and doc["delta"].get("type") == "text_delta":
            text.append(doc["delta"]["text"])
    return ended, errored, "".join(text)


def _openai_stream(raw: bytes) -> tuple[bool, bool, str]:
    """(ended in [DONE] after a finish_reason, ended in an error chunk, text)."""
    done = errored = finished = False
    text = []
    for _, data in sse_events(raw):
        if done or errored:
            raise ValueError(f"data after the stream's end: {raw[-300:]!r}")
        if data == b"[DONE]":
            done = True
            continue
        try:
            doc = _decode(data)
        except msgspec.DecodeError:
            raise ValueError(f"chunk not JSON: {data[:200]!r}") from None
        if "error" in doc:
            if not isinstance((doc["error"] or {}).get("message"), str):
                raise ValueError(f"error chunk not in OpenAI shape: {data[:200]!r}")
            errored = True
            continue
        for choice in doc.get("choices") or ():
            text.append(choice.get("delta", {}).get("content") or "")
            finished = finished or choice.get("finish_reason") == "stop"
    return done and finished, errored, "".join(text)


# ---------------------------------------------------------------- the client loops


async def one_request(http: httpx.AsyncClient, plan: Plan, tally: Tally) -> None:
    path, headers, body = request_of(plan)
    try:
        if not plan.stream:
            response = await http.post(path, headers=headers, content=body)
            if response.status_code == 200:
                tally.add(plan, *classify_unary(plan, response.content))
            else:
                tally.add(plan, *classify_error(plan, response.status_code, response.headers, response.content))
            return
        async with http.stream("POST", path, headers=headers, content=body) as response:
            if response.status_code != 200:
                tally.add(plan, *classify_error(plan, response.status_code, response.headers, await response.aread()))
                return
            raw = b""
            leave = plan.fault in ("slow-disconnect", "disconnect")
            async for chunk in response.aiter_raw():
                raw += chunk
                if leave and _has_text(raw) and not _has_end(raw):
                    if _body_all_in(response):
                        tally.late_leaves += 1  # leaving would close nothing the router still sends
                        leave = False
                        continue
                    tally.add(plan, *classify_stream(plan, raw, complete=False))
                    if plan.fault == "slow-disconnect":
                        tally.slow_abandoned += 1
                    return  # leaving the block closes the connection mid-body
            tally.add(plan, *classify_stream(plan, raw, complete=True))
    except (httpx.HTTPError, OSError, asyncio.TimeoutError) as exc:
        tally.add(plan, "unexpected", f"transport error {type(exc).__name__}: {exc}")


def _body_all_in(response: httpx.Response) -> bool:
    """Has the client's transport already received the whole body (aiohttp fed its EOF), though
    this loop has not read it yet? Then the router has written its last byte and leaving is no
    disconnect. Reaches through httpx's and httpx-aiohttp's stream wrappers (their private
    attributes); False if their shape changes."""
    inner = getattr(response.stream, "_stream", None)
    content = getattr(getattr(inner, "_aiohttp_response", None), "content", None)
    is_eof = getattr(content, "is_eof", None)
    return bool(is_eof()) if callable(is_eof) else False


def _has_text(raw: bytes) -> bool:
    return b'"text_delta"' in raw or b'"content":"E' in raw or b'"content": "E' in raw


def _has_end(raw: bytes) -> bool:
    return b"message_stop" in raw or b"[DONE]" in raw or b'"error"' in raw


def client(base_url: str, concurrency: int) -> httpx.AsyncClient:
    """httpx over aiohttp: httpx's own pool serializes many concurrent connections."""
    limits = httpx.Limits(max_connections=concurrency + 8, max_keepalive_connections=concurrency + 8)
    return httpx.AsyncClient(base_url=base_url, transport=AiohttpTransport(limits=limits), timeout=REQUEST_TIMEOUT)


async def drive(base_url: str, concurrency: int, faults: float, deadline: float, per_loop: int,
                seed: int, tally: Tally) -> None:
    """`concurrency` loops, each stopping at the deadline or after `per_loop` requests."""

    async def loop(loop_id: int, http: httpx.AsyncClient) -> None:
        rng = random.Random(seed * 100_003 + loop_id)
        for number in range(per_loop):
            if time.monotonic() >= deadline:
                return
            await one_request(http, make_plan(rng, faults, loop_id, number), tally)

    async with client(base_url, concurrency) as http:
        await asyncio.gather(*(loop(i, http) for i in range(concurrency)))


# ---------------------------------------------------------------- sampling the router


def rss_mib(pid: int) -> float:
    match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) / 1024 if match else 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def task_count(pid: int, probe: Path) -> tuple[int, dict[str, int]]:
    """Ask serve_with_task_probe (SIGUSR1) and wait for its answer file; (-1, {}) if none comes."""
    probe.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR1)
    for _ in range(100):
        await asyncio.sleep(0.05)
        if probe.exists():
            doc = _decode(probe.read_bytes())
            return int(doc["tasks"]), dict(doc["by_coro"])
    return -1, {}


@dataclass
class Sample:
    rss: float
    fds: int
    tasks: int = -1
    by_coro: dict[str, int] = field(default_factory=dict)


async def sample(pid: int, probe: Path | None = None) -> Sample:
    tasks, by_coro = await task_count(pid, probe) if probe is not None else (-1, {})
    return Sample(rss_mib(pid), fd_count(pid), tasks, by_coro)


async def watch(pid: int, series: list[tuple[float, float, int]], stop: asyncio.Event) -> None:
    started = time.monotonic()
    while not stop.is_set():
        series.append((time.monotonic() - started, rss_mib(pid), fd_count(pid)))
        try:
            await asyncio.wait_for(stop.wait(), 0.5)
        except asyncio.TimeoutError:
            pass


# ---------------------------------------------------------------- the run


@dataclass
class Outcome:
    warmup: Tally
    run: Tally
    seconds: float
    start: Sample
    end: Sample
    idle: Sample
    series: list[tuple[float, float, int]]
    idle_cpu: float = 0.0  # the router's CPU seconds per second during the idle period
    metrics_total: float = -1.0
    metrics_by_status: dict[str, float] = field(default_factory=dict)
    mock_stats: dict[str, int] = field(default_factory=dict)


async def soak(args: argparse.Namespace, base_url: str, mock_url: str, pid: int, probe: Path) -> Outcome:
    warmup = Tally()
    per_loop = max(1, args.warmup // args.concurrency)
    await drive(base_url, args.concurrency, args.faults, time.monotonic() + 120, per_loop, args.seed + 1, warmup)
    await asyncio.sleep(args.idle)
    start = await sample(pid, probe)

    run, stop = Tally(), asyncio.Event()
    series: list[tuple[float, float, int]] = []
    watcher = asyncio.create_task(watch(pid, series, stop))
    began = time.monotonic()
    await drive(base_url, args.concurrency, args.faults, began + args.minutes * 60, args.max_requests_per_loop, args.seed, run)
    seconds = time.monotonic() - began
    stop.set()
    await watcher
    end = await sample(pid)
    cpu_before = cpu_seconds(pid)
    await asyncio.sleep(args.idle)
    idle_cpu = (cpu_seconds(pid) - cpu_before) / args.idle
    idle = await sample(pid, probe)
    outcome = Outcome(warmup, run, seconds, start, end, idle, series, idle_cpu)
    async with httpx.AsyncClient(timeout=10) as http:  # after the probe: this request is not counted
        metrics = (await http.get(f"{base_url}/metrics")).text
        outcome.mock_stats = (await http.get(f"{mock_url}/stats")).json()
    for line in metrics.splitlines():
        if line.startswith("router_requests_total{"):
            status = re.search(r'status="([^"]*)"', line)
            value = float(line.rsplit(" ", 1)[1])
            outcome.metrics_total = max(outcome.metrics_total, 0.0) + value
            key = status.group(1) if status else "?"
            outcome.metrics_by_status[key] = outcome.metrics_by_status.get(key, 0.0) + value
    return outcome


def checks(outcome: Outcome, router_log: str) -> list[tuple[str, bool, str]]:
    start, idle = outcome.start, outcome.idle
    unexpected = outcome.warmup.by_class["unexpected"] + outcome.run.by_class["unexpected"]
    rss_allowance = max(RSS_LIMIT_MIB, RSS_LIMIT_SHARE * start.rss)
    sent = outcome.warmup.total + outcome.run.total
    tracebacks = router_log.count("Traceback")
    aborted = outcome.mock_stats.get("aborted", 0)
    return [
        ("unexpected results", unexpected == 0, f"{unexpected} (warm-up included)"),
        ("RSS after idle", idle.rss <= start.rss + rss_allowance,
         f"{idle.rss:.1f} MiB vs start {start.rss:.1f} + {rss_allowance:.1f} allowed"),
        ("fds after idle", idle.fds <= start.fds + FD_LIMIT, f"{idle.fds} vs start {start.fds} + {FD_LIMIT}"),
        ("tasks after idle", start.tasks >= 0 and 0 <= idle.tasks <= start.tasks + TASK_LIMIT,
         f"{idle.tasks} vs start {start.tasks} + {TASK_LIMIT}"),
        ("CPU while idle", outcome.idle_cpu <= IDLE_CPU_LIMIT,
         f"{outcome.idle_cpu:.1%} of a core (limit {IDLE_CPU_LIMIT:.0%})"),
        ("router log", tracebacks == 0, f"{tracebacks} tracebacks"),
        ("router_requests_total", outcome.metrics_total == sent, f"{outcome.metrics_total:.0f} recorded, {sent} sent"),
        ("upstream aborts", aborted >= outcome.warmup.slow_abandoned + outcome.run.slow_abandoned,
         f"mock aborted {aborted} streams; clients abandoned {outcome.warmup.slow_abandoned + outcome.run.slow_abandoned} slow ones"),
    ]


def report(args: argparse.Namespace, outcome: Outcome, results: list[tuple[str, bool, str]]) -> str:
    run, lines = outcome.run, list[str]()
    add: Callable[[str], None] = lines.append
    add(f"## Soak: {args.minutes:g} min, concurrency {args.concurrency}, faults {args.faults:.0%}\n")
    add(f"Requests: {run.total} in {outcome.seconds:.1f} s ({run.total / max(outcome.seconds, 1e-9):.0f}/s), "
        f"plus {outcome.warmup.total} warm-up ({outcome.warmup.by_class['unexpected']} unexpected).\n")
    add("| pair | " + " | ".join(CLASSES) + " | total |")
    add("|---|" + "---:|" * (len(CLASSES) + 1))
    for pair in PAIRS:
        counts = [run.by_pair[pair, kind] for kind in CLASSES]
        add(f"| {pair} | " + " | ".join(map(str, counts)) + f" | {sum(counts)} |")
    add("| **all** | " + " | ".join(str(run.by_class[kind]) for kind in CLASSES) + f" | **{run.total}** |\n")
    add("| fault | " + " | ".join(CLASSES) + " |")
    add("|---|" + "---:|" * len(CLASSES))
    for fault in ("none", *OPENAI_UPSTREAM_FAULTS, *ANTHROPIC_UPSTREAM_FAULTS):
        add(f"| {fault} | " + " | ".join(str(run.by_fault[fault, kind]) for kind in CLASSES) + " |")
    peak_rss = max([rss for _, rss, _ in outcome.series] or [0.0])
    peak_fds = max([fds for _, _, fds in outcome.series] or [0])
    s, e, i = outcome.start, outcome.end, outcome.idle
    add("\n| router process | start (after warm-up) | peak (load) | end of load | after idle |")
    add("|---|---:|---:|---:|---:|")
    add(f"| RSS MiB | {s.rss:.1f} | {peak_rss:.1f} | {e.rss:.1f} | {i.rss:.1f} |")
    add(f"| open fds | {s.fds} | {peak_fds} | {e.fds} | {i.fds} |")
    add(f"| asyncio tasks | {s.tasks} | | | {i.tasks} |\n")
    if outcome.series:
        tenths = [outcome.series[min(len(outcome.series) - 1, round(k * (len(outcome.series) - 1) / 10))] for k in range(11)]
        add("RSS MiB over the load, by tenth: " + ", ".join(f"{rss:.1f}" for _, rss, _ in tenths) + "  ")
        minutes = (tenths[-1][0] - tenths[1][0]) / 60
        if minutes > 0:  # after the first tenth, the high-water mark of the concurrency is mostly reached
            add(f"RSS growth from the first tenth to the end: {tenths[-1][1] - tenths[1][1]:+.1f} MiB "
                f"over {minutes:.1f} min  ")
    add(f"Tasks at idle: {i.by_coro}  ")
    statuses = ", ".join(f"{k}: {v:.0f}" for k, v in sorted(outcome.metrics_by_status.items()))
    add(f"router_requests_total by status: {statuses}  ")
    add(f"Mock upstream: {outcome.mock_stats}; client leaves not done (body already all in): "
        f"{outcome.warmup.late_leaves + run.late_leaves}\n")
    add("| check | result | detail |")
    add("|---|---|---|")
    for name, passed, detail in results:
        add(f"| {name} | {'pass' if passed else '**FAIL**'} | {detail} |")
    unexpected = outcome.warmup.unexpected + run.unexpected
    if unexpected:
        add("\nUnexpected results (first 30):\n")
        lines.extend(f"- {line}" for line in unexpected[:30])
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.soak.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the load (default 10)")
    parser.add_argument("--concurrency", type=int, default=64, help="client loops (default 64)")
    parser.add_argument("--faults", type=float, default=0.10, help="share of requests asking for a fault (default 0.10)")
    parser.add_argument("--warmup", type=int, default=400, help="warm-up requests before the start sample (default 400)")
    parser.add_argument("--idle", type=float, default=10.0,
                        help="seconds of quiet before the start sample and before the idle one (default 10; "
                             "more than the mock's 5 s keep-alive, so idle upstream connections are gone in both)")
    parser.add_argument("--max-requests-per-loop", type=int, default=200_000, help="a bound on each loop (default 200000)")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (routes.toml, logs)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="soak-"))
    mock_port, router_port = free_port(), free_port()
    mock_url, base_url = f"http://127.0.0.1:{mock_port}", f"http://127.0.0.1:{router_port}"
    (tmp / "routes.toml").write_text(ROUTES.format(upstream=mock_url))
    probe = tmp / "tasks.json"
    env = {"SOAK_CLIENT_KEY": CLIENT_KEY, "SOAK_UPSTREAM_KEY": UPSTREAM_KEY, "SOAK_TASK_PROBE": str(probe)}
    command = ["tests.soak.serve_with_task_probe", "serve", "--config", str(tmp / "routes.toml"),
               "--host", "127.0.0.1", "--port", str(router_port)]
    budget = args.warmup / max(args.concurrency, 1) * REQUEST_TIMEOUT + args.minutes * 60 + 2 * args.idle + 120
    with ExitStack() as stack:
        stack.enter_context(running(["tests.support.mock_upstream", "--port", str(mock_port)], mock_port,
                                    log_file=tmp / "mock.log"))
        router = stack.enter_context(running(command, router_port, env=env, log_file=tmp / "router.log"))
        try:
            outcome = asyncio.run(asyncio.wait_for(soak(args, base_url, mock_url, router.pid, probe), budget))
        except asyncio.TimeoutError:
            print(f"soak: watchdog: the run did not finish within {budget:.0f} s", file=sys.stderr)
            return 1
    router_log = (tmp / "router.log").read_text(errors="replace")
    results = checks(outcome, router_log)
    print(report(args, outcome, results))
    if "Traceback" in router_log:
        first = router_log.index("Traceback")
        print("\nFirst traceback in the router's log:\n```\n" + router_log[first:first + 3000] + "\n```")
    if args.keep:
        print(f"\nlogs and routes.toml kept in {tmp}")
    else:
        for path in tmp.iterdir():
            path.unlink()
        tmp.rmdir()
    return 0 if all(passed for _, passed, _ in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
