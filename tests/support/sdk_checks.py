"""End-to-end checks that the Anthropic and OpenAI Chat SDKs work on a route to a converted upstream
(a Responses upstream, a Gemini upstream ...): the same conversation whatever the upstream, so
each e2e module names only its model. Every mock upstream answers alike (tests/support/
mock_upstream.py): an echo of the prompt, a call of the tool the prompt names, and "The tool
returned: <result>" once the result is back."""

from __future__ import annotations

import anthropic
import openai

TIMEOUT = 20.0


def check_anthropic_tool_round_trip(base_url: str, key: str, model: str, input_schema: dict[str, object]) -> None:
    """A streamed turn that calls `get_weather`, then the tool's result sent back unary."""
    tool = {"name": "get_weather", "description": "Weather", "input_schema": input_schema}
    with anthropic.Anthropic(base_url=base_url, api_key=key, max_retries=0, timeout=TIMEOUT) as sdk:
        with sdk.messages.stream(model=model, max_tokens=200, tools=[tool],  # type: ignore[list-item]
                                 messages=[{"role": "user", "content": "use get_weather"}]) as stream:
            final = stream.get_final_message()
        use = next(block for block in final.content if block.type == "tool_use")
        assert use.name == "get_weather" and use.input == {"city": "demo"} and final.stop_reason == "tool_use"
        answer = sdk.messages.create(model=model, max_tokens=200, tools=[tool],  # type: ignore[list-item]
                                     messages=[{"role": "user", "content": "use get_weather"},
                                               {"role": "assistant", "content": final.content},
                                               {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                                                             "content": "rainy"}]}])
    assert answer.content[0].text == "The tool returned: rainy"  # type: ignore[union-attr]


def check_chat_text_and_stream(sdk: openai.OpenAI, model: str) -> None:
    """A unary answer, then a streamed one with its usage chunk."""
    completion = sdk.chat.completions.create(model=model, messages=[{"role": "user", "content": "hello chat"}])
    assert completion.choices[0].message.content == "Echo: hello chat"
    assert completion.choices[0].finish_reason == "stop" and completion.usage is not None
    chunks = list(sdk.chat.completions.create(model=model, stream=True, stream_options={"include_usage": True},
                                              messages=[{"role": "user", "content": "stream chat"}]))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: stream chat"
    assert chunks[-1].usage is not None
