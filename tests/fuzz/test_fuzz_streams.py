"""Both stream machines, fed a generated upstream stream cut at random read boundaries: the
client's events folded into one answer equal the unary conversion of the same answer.

The folds and the normalisation are the recorded stream tests' own (tests/support/streamcases.py,
tests/spokes/openai/test_client_stream.py): the same oracle, on streams no one wrote by hand.
"""

from __future__ import annotations

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from router.config.target import Capabilities, TargetContext
from router.hub.messages import AnthropicMessage
from router.routing.compose import build_converters
from router.spokes.openai.client.stream import OpenAIStreamFromAnthropic
from router.spokes.openai.upstream.stream import AnthropicStreamFromOpenAI
from router.spokes.openai.wire import ChatCompletion
from tests.fuzz import strategies as s
from tests.spokes.openai.test_client_stream import (
    FINISH_VALUES as STOP_VALUES,
)
from tests.spokes.openai.test_client_stream import (
    fold_chunks,
    normalised,
    parse_chunks,
    unary_converter,
)
from tests.support.streamcases import (
    CTX,
    FINISH_VALUES,
    fold_anthropic,
    fold_openai,
    parse_events,
    translate,
)

CREATED = 1_700_000_000
_OPENAI_TO_ANTHROPIC = build_converters("anthropic__openai", CTX)


def openai_answer_as_completion(answer: s.Answer) -> ChatCompletion:
    """The unary twin of the generated stream: without usage when the stream carries none."""
    body = s.openai_completion(answer)
    if not answer.usage_chunk:
        del body["usage"]
    return msgspec.convert(body, ChatCompletion)


@given(answer=s.answers(), data=st.data())
def test_anthropic_stream_from_openai_folds_to_the_unary_conversion(answer: s.Answer, data: st.DataObject) -> None:
    sse = s.openai_sse(answer)
    completion = openai_answer_as_completion(answer)
    assert fold_openai(sse) == completion  # the generator's stream and body say the same thing
    pieces = data.draw(s.split_points(sse), label="reads")
    machine = AnthropicStreamFromOpenAI(
        CTX, message_id=f"msg_{answer.id}", model="m", input_tokens=None, finish_values=FINISH_VALUES,
    )
    streamed = fold_anthropic(parse_events(translate(machine, pieces)))
    assert streamed == _OPENAI_TO_ANTHROPIC.response.function(completion, CTX)


@given(answer=s.answers(), include_usage=st.booleans(), data=st.data())
def test_openai_stream_from_anthropic_folds_to_the_unary_conversion(
    answer: s.Answer, include_usage: bool, data: st.DataObject
) -> None:
    ctx = TargetContext(route="t", upstream="up", model="claude-test", caps=Capabilities())
    message = msgspec.convert(s.anthropic_message(answer), AnthropicMessage)
    sse = s.anthropic_sse(answer)
    pieces = data.draw(s.split_points(sse), label="reads")
    machine = OpenAIStreamFromAnthropic(
        ctx, completion_id=f"chatcmpl-{message.id}", model="claude-test", include_usage=include_usage,
        finish_values=STOP_VALUES, created=CREATED,
    )
    streamed = fold_chunks(parse_chunks(translate(machine, pieces)))
    unary = unary_converter(ctx)(message, ctx)
    if not include_usage:
        del unary["usage"]  # the client did not ask for it in the stream
    assert normalised(streamed) == normalised(unary)


@given(answer=s.answers(), data=st.data())
def test_stream_output_does_not_depend_on_read_boundaries(answer: s.Answer, data: st.DataObject) -> None:
    """Same bytes whatever the cuts (ids and the clock fixed): the relay may read anything."""
    sse = s.openai_sse(answer)

    def machine() -> AnthropicStreamFromOpenAI:
        return AnthropicStreamFromOpenAI(CTX, message_id="msg_x", model="m", input_tokens=None,
                                         finish_values=FINISH_VALUES)

    whole = translate(machine(), [sse])
    assert translate(machine(), data.draw(s.split_points(sse), label="reads")) == whole
