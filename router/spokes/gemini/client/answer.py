"""Hub (Anthropic) message → Gemini GenerateContentResponse: the functions the field table
(schemas/gemini.client.toml, [response]) calls, and `complete_answer`, which adds what only the
request knows (whether it asked for thoughts).

One candidate, its parts in the order the blocks came:
    text                        {"text"}; consecutive text blocks make one part
    thinking                    {"text", "thought": true}: shown only with includeThoughts
    thinking, redacted_thinking carried in the `thoughtSignature` of the next part (signature.py);
                                after the last part, on an empty text part of their own
    tool_use                    {"functionCall": {"id", "name", "args"}} (args an object)
    tool_use json_response      the answer itself: its input as JSON text (structured output)
A call's name goes back as the client declared it when the request's was rewritten for the hub
(names.py; complete_answer, which has the request).
The stop reason is the table's [values.finish_reason] (Gemini says STOP for an answer with
function calls too). Usage: `promptTokenCount` counts every input token, cached ones included
(`cachedContentTokenCount` says how many were read from a cache); the hub does not split the
thinking out of the output tokens, so `thoughtsTokenCount` is not given.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from router.config.target import TargetContext
from router.core.ids import new_id
from router.hub.messages import AnthropicMessage, Block, Usage
from router.spokes.common.tool_arguments import arguments_text
from router.spokes.gemini.client.names import function_names
from router.spokes.gemini.client.signature import carried, thought_signature
from router.spokes.gemini.client.tools import JSON_RESPONSE_TOOL
from router.spokes.gemini.request_wire import GenerateContentRequest, generation_config
from router.spokes.tables import read_pair_text

Part = dict[str, Any]

TABLE = "gemini.client"
MODEL_ROLE = "model"
RESPONSE_ID_PREFIX = "resp_"

# stop_reason → finishReason, as the table says (the stream machine gets the same map as `values`).
FINISH_REASONS: Mapping[str, str] = MappingProxyType(tomllib.loads(read_pair_text(TABLE))["values"]["finish_reason"])


def finish_reason(stop_reason: str | None, reasons: Mapping[str, str] = FINISH_REASONS) -> str:
    return reasons.get(stop_reason or "", reasons.get("*", "STOP"))


def candidates_of(src: AnthropicMessage) -> list[dict[str, Any]]:
    candidate: dict[str, Any] = {"content": {"role": MODEL_ROLE, "parts": answer_parts(src.content)},
                                 "finishReason": finish_reason(src.stop_reason), "index": 0}
    return [candidate]


def answer_parts(blocks: list[Block]) -> list[Part]:
    parts: list[Part] = []
    thinking: list[Block] = []  # blocks waiting for the next part to carry them
    for block in blocks:
        kind = block.get("type")
        part: Part
        if kind == "text":
            part = {"text": block.get("text") or ""}
        elif kind == "tool_use":
            part = json_text_part(block) if block.get("name") == JSON_RESPONSE_TOOL else function_call_part(block)
        elif kind in ("thinking", "redacted_thinking"):
            thought = thought_part(block)
            if thought is not None:
                parts.append(thought)
            kept = carried(block)
            if kept is not None:
                thinking.append(kept)
            continue
        else:
            continue  # server tool blocks have no Gemini form
        if thinking:
            part["thoughtSignature"] = thought_signature(thinking)
            thinking = []
        elif "text" in part and parts and _is_answer_text(parts[-1]):
            parts[-1]["text"] += part["text"]  # consecutive text blocks are one text, as the stream folds them
            continue
        parts.append(part)
    if thinking:
        parts.append({"text": "", "thoughtSignature": thought_signature(thinking)})
    return parts


def _is_answer_text(part: Part) -> bool:
    return "text" in part and part.get("thought") is not True


def thought_part(block: Block) -> Part | None:
    """A thinking block's text as a thought summary (kept or removed by complete_answer)."""
    text = block.get("thinking")
    return {"text": text, "thought": True} if block.get("type") == "thinking" and type(text) is str and text else None


def function_call_part(block: Block) -> Part:
    call: dict[str, Any] = {"name": block.get("name") or "", "args": _args(block.get("input"))}
    call_id = block.get("id")
    if type(call_id) is str and call_id:
        call = {"id": call_id, **call}
    return {"functionCall": call}


def json_text_part(block: Block) -> Part:
    return {"text": arguments_text(block.get("input"))}


def _args(value: Any) -> dict[str, Any]:
    return value if type(value) is dict else {}


def usage_metadata_of(usage: Usage | None) -> dict[str, int]:
    usage = usage or Usage()
    cached = usage.cache_read_input_tokens or 0
    prompt = (usage.input_tokens or 0) + cached + (usage.cache_creation_input_tokens or 0)
    output = usage.output_tokens or 0
    metadata = {"promptTokenCount": prompt, "candidatesTokenCount": output, "totalTokenCount": prompt + output}
    if cached:
        metadata["cachedContentTokenCount"] = cached
    return metadata


def model_version(src: AnthropicMessage, ctx: TargetContext) -> str:
    """The model the target was asked for (what the stream says too)."""
    return ctx.model or src.model or ""


def response_id_of(src: AnthropicMessage) -> str:
    return src.id or new_id(RESPONSE_ID_PREFIX)


# --- what only the request knows -----------------------------------------------------------------


def includes_thoughts(src: GenerateContentRequest) -> bool:
    config = generation_config(src)
    thinking = config.thinking_config if config is not None else None
    return thinking is not None and thinking.include_thoughts is True


def complete_answer(answer: dict[str, Any], src: GenerateContentRequest) -> dict[str, Any]:
    """Function calls under the client's names (a name the hub refused was rewritten in the
    request: names.py). Thought summaries are shown only to a client that asked for them
    (includeThoughts), as Gemini does; the thinking itself still rides in the signatures."""
    show_thoughts = includes_thoughts(src)
    for candidate in answer.get("candidates") or ():
        content = candidate.get("content")
        if content is None:
            continue
        calls = [part["functionCall"] for part in content["parts"] if "functionCall" in part]
        if calls:
            restore_names(calls, src)
        if not show_thoughts:
            content["parts"] = [part for part in content["parts"] if part.get("thought") is not True]
    return answer


def restore_names(calls: list[dict[str, Any]], src: GenerateContentRequest) -> None:
    """The answer's functionCalls under the names the client declared (the request's table is
    read only for an answer that calls a function)."""
    names = function_names(src)
    if names is not None:
        for call in calls:
            call["name"] = names.client(call["name"])


FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {
        "candidates_of": candidates_of,
        "usage_metadata_of": usage_metadata_of,
        "model_version": model_version,
        "response_id_of": response_id_of,
    }
)
