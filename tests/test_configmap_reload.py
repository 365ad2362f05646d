"""The Kubernetes ConfigMap update path, end to end: a real `router serve` process reads its table
from a directory laid out exactly as the kubelet lays out a ConfigMap/Secret volume (the README's
"Run on Kubernetes" mounts routes.toml and the keys file as one projected directory), requests and
a long stream are running, and the kubelet's atomic `..data` swap replaces both files at once.

Claims: the new table serves (a route answers from its new target, a new route exists, a key added
to the keys file is accepted) within two polls (one sees the change, the next confirms it settled)
plus a margin; nothing failed: every request answered 200 and complete, and the stream that was in
flight across the swap, whose upstream's client the new table replaced, ended with its every word
and `message_stop`; one reload, none refused.

Bounded: about seven seconds (server start, half a second of traffic, the reload, the stream's end).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import msgspec

from tests.support.kubelet import project
from tests.support.servers import free_port, running

POLL_INTERVAL = 1.0  # the default, what a pod runs with (ROUTER_RELOAD_INTERVAL unset)
RELOAD_MARGIN = 4.0  # seconds on top of two polls: loading and building the table on a busy machine
STEADY_KEY, ROLLED_KEY = "rk-steady-0123456789", "rk-rolled-0123456789"
LOAD_WORKERS = 4
STREAM_WORDS = 60  # × 0.08 s a chunk: a stream of ~5 s, in flight across the swap

BEFORE = """\
[auth]
keys-file = "routes.keys.toml"

[upstreams.blue]
kind = "mock"

[upstreams.green]
kind = "mock"

[upstreams.slow]
kind = "mock"
delay = 0.08

[[routes]]
name = "demo"
models = ["demo"]
to = "blue"

[[routes]]
name = "slow"
models = ["slow"]
to = "slow"
"""
# demo moves to green, a route is added, and slow's settings change, so the client the stream in
# flight uses is retired (it must still finish the stream).
AFTER = BEFORE.replace('to = "blue"', 'to = "green"').replace("delay = 0.08", "delay = 0.05") + """
[[routes]]
name = "fresh"
models = ["fresh"]
to = "green"
"""


def key_entry(name: str, key: str) -> str:
    return f'[[keys]]\nname = "{name}"\nsha256 = "{hashlib.sha256(key.encode()).hexdigest()}"\n\n'


KEYS_BEFORE = key_entry("steady", STEADY_KEY)
KEYS_AFTER = KEYS_BEFORE + key_entry("rolled", ROLLED_KEY)


def message(model: str, text: str, stream: bool = False) -> dict[str, object]:
    return {"model": model, "max_tokens": 64, "stream": stream, "messages": [{"role": "user", "content": text}]}


@dataclass
class Outcome:
    """One request: its status, the target that answered, and whether the answer was whole."""

    status: int
    target: str
    complete: bool
    detail: str = ""


def stream_text(body: bytes) -> tuple[str, list[str]]:
    """An Anthropic SSE body's text and its event types, in order."""
    text, events = [], []
    for line in body.decode().splitlines():
        if line.startswith("event: "):
            events.append(line[7:])
        elif line.startswith("data: ") and '"text_delta"' in line:
            text.append(msgspec.json.decode(line[6:])["delta"]["text"])
    return "".join(text), events


def judge(answer: httpx.Response, text: str, stream: bool) -> Outcome:
    target = answer.headers.get("x-router-target", "")
    if answer.status_code != 200:
        return Outcome(answer.status_code, target, False, answer.text[:200])
    if stream:
        received, events = stream_text(answer.content)
        complete = received == f"Echo: {text}" and events[-1:] == ["message_stop"] and "error" not in events
        return Outcome(200, target, complete, "" if complete else f"{events[-3:]} {received[-40:]!r}")
    received = answer.json()["content"][0]["text"]
    return Outcome(200, target, received == f"Echo: {text}", received[:80])


async def ask(http: httpx.AsyncClient, model: str, text: str, *, stream: bool = False,
              key: str = STEADY_KEY) -> Outcome:
    try:
        answer = await http.post("/v1/messages", json=message(model, text, stream), headers={"x-api-key": key})
    except httpx.HTTPError as exc:
        return Outcome(0, "", False, repr(exc))
    return judge(answer, text, stream)


@dataclass
class Traffic:
    """Workers asking `demo` in a loop (every third request a stream) until told to stop."""

    http: httpx.AsyncClient
    outcomes: list[Outcome] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def worker(self, number: int) -> None:
        sent = 0
        while not self.stopping.is_set():
            text = f"steady {number} {sent}"
            self.outcomes.append(await ask(self.http, "demo", text, stream=sent % 3 == 2))
            sent += 1
            await asyncio.sleep(0.01)  # steady, not a flood: the machine is shared


async def served_from_green(http: httpx.AsyncClient, deadline: float) -> Outcome:
    """Ask `demo` until the new table's target answers; the last answer (which must be 200)."""
    asked = 0
    while True:
        outcome = await ask(http, "demo", f"watch {asked}")
        if outcome.status != 200 or outcome.target.startswith("green") or time.monotonic() > deadline:
            return outcome
        asked += 1
        await asyncio.sleep(0.02)


async def test_a_configmap_swap_reloads_a_real_server_losing_no_request(tmp_path: Path) -> None:
    config = tmp_path / "config"
    project(config, {"routes.toml": BEFORE, "routes.keys.toml": KEYS_BEFORE})
    port = free_port()
    command = ["router", "serve", "--config", str(config / "routes.toml"), "--port", str(port)]
    env = {"ROUTER_RELOAD_INTERVAL": str(POLL_INTERVAL)}
    with running(command, port, env, log_file=tmp_path / "server.log") as server:
        limits = httpx.Limits(max_connections=LOAD_WORKERS + 4)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30, limits=limits) as http:
            assert (await ask(http, "demo", "before")).target.startswith("blue")
            assert (await ask(http, "fresh", "before")).status == 404
            assert (await ask(http, "demo", "before", key=ROLLED_KEY)).status == 401

            long_text = " ".join(f"w{i}" for i in range(STREAM_WORDS))
            stream = asyncio.create_task(ask(http, "slow", long_text, stream=True))
            traffic = Traffic(http)
            workers = [asyncio.create_task(traffic.worker(n)) for n in range(LOAD_WORKERS)]
            await asyncio.sleep(0.5)

            swapped = time.monotonic()
            project(config, {"routes.toml": AFTER, "routes.keys.toml": KEYS_AFTER})
            first_new = await served_from_green(http, swapped + 2 * POLL_INTERVAL + RELOAD_MARGIN)
            seen_after = time.monotonic() - swapped
            assert first_new.status == 200 and first_new.target.startswith("green"), (
                f"the new table was not serving {seen_after:.1f}s after the swap: {first_new}\n{server.output()}")
            fresh = await ask(http, "fresh", "after")
            rolled = await ask(http, "demo", "after", key=ROLLED_KEY)

            long_stream = await stream
            stream_done_after = time.monotonic() - swapped
            traffic.stopping.set()
            await asyncio.gather(*workers)
            reloads = (await http.get("/admin/config")).json()["reloads"]

    print(f"\nconfigmap swap: new table served {seen_after:.2f}s after the swap (poll {POLL_INTERVAL}s); "
          f"stream ended {stream_done_after:.2f}s after it; {len(traffic.outcomes)} requests during the swap")
    assert fresh.status == 200 and fresh.complete and fresh.target.startswith("green")
    assert rolled.status == 200 and rolled.complete, "the key added to the keys file is accepted"
    assert long_stream.status == 200 and long_stream.complete, long_stream
    assert stream_done_after > seen_after, "the stream was not in flight across the reload"
    failed = [o for o in traffic.outcomes if o.status != 200 or not o.complete]
    assert not failed, f"{len(failed)} of {len(traffic.outcomes)} failed: {failed[:5]}"
    targets = Counter(o.target.split("/")[0] for o in traffic.outcomes)
    assert targets["blue"] > 0 and targets["green"] > 0, f"the traffic did not cross the swap: {targets}"
    assert (reloads["ok"], reloads["failed"]) == (1, 0), reloads
