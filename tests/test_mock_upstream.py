"""The built-in mock answers deterministically, over the same httpx interface as real upstreams."""

from __future__ import annotations

import httpx
import msgspec

from router.upstream.mock import MockTransport, chunks, completion

TOOLS = [{"type": "function", "function": {"name": "Bash", "parameters": {
    "type": "object", "properties": {"command": {"type": "string"}, "timeout": {"type": "integer"}},
    "required": ["command"]}}}]


def test_echo_think_and_tool() -> None:
    base = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}
    assert completion(base)["choices"][0]["message"]["content"] == "Echo: hello"
    thinking = completion({**base, "reasoning_effort": "low"})["choices"][0]["message"]
    assert thinking["reasoning_content"]
    tool = completion({**base, "tools": TOOLS, "messages": [{"role": "user", "content": "run Bash please"}]})
    call = tool["choices"][0]["message"]["tool_calls"][0]
    assert tool["choices"][0]["finish_reason"] == "tool_calls"
    assert msgspec.json.decode(call["function"]["arguments"]) == {"command": "demo"}
    after = completion({**base, "tools": TOOLS, "messages": [{"role": "tool", "tool_call_id": "c", "content": "hi"}]})
    assert after["choices"][0]["message"]["content"] == "The tool returned: hi"


def test_stream_folds_to_the_same_answer() -> None:
    request = {"model": "m", "stream": True, "stream_options": {"include_usage": True},
               "messages": [{"role": "user", "content": "one two three"}]}
    parts = list(chunks(request))
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in parts if c["choices"])
    assert text == "Echo: one two three"
    assert parts[-1]["choices"] == [] and parts[-1]["usage"]["completion_tokens"] > 0


async def test_transport_serves_unary_and_stream() -> None:
    async with httpx.AsyncClient(transport=MockTransport()) as client:
        unary = await client.post("http://mock/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}]})
        assert unary.json()["choices"][0]["message"]["content"] == "Echo: x"
        async with client.stream("POST", "http://mock/v1/chat/completions",
                                 json={"stream": True, "messages": [{"role": "user", "content": "x"}]}) as stream:
            body = b"".join([part async for part in stream.aiter_bytes()])
        assert body.endswith(b"data: [DONE]\n\n")
        missing = await client.get("http://mock/v1/other")
        assert missing.status_code == 404


def test_a_trailing_system_message_is_not_the_users_turn() -> None:
    """Claude Code ends `messages` with a system message naming its tools: the mock answered it,
    called the Agent tool it names every turn, and `claude --model demo` never finished."""
    tools = [{"type": "function", "function": {"name": "Agent", "parameters": {"type": "object"}}}]
    request = {"model": "demo", "tools": tools, "messages": [
        {"role": "user", "content": "say hi"},
        {"role": "system", "content": "Available agents: Agent, general-purpose"},
    ]}
    message = completion(request)["choices"][0]["message"]
    assert message["content"] == "Echo: say hi" and not message.get("tool_calls")
