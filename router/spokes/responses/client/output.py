"""The pieces of a Responses `response` object made from a hub answer: ids, output items, parts,
usage. The unary answer (answer.py, complete.py) and the stream (stream.py, whose
`response.output_item.done` items and `response.completed` object must equal the unary answer of
the same hub answer) both build them here, so the two agree field for field.

Reasoning round-trips through `encrypted_content`: a thinking block's signature is written there
as it is; a redacted_thinking block's data is written with REDACTED_MARK in front (base64 never
contains `:`), so the request side (items.py, `thinking_block_of`) knows which block to rebuild.
The summary is the thinking text, one summary_text part per block, so the text the signature
covers comes back unchanged.
"""

from __future__ import annotations

from typing import Any

import msgspec

from router.core.ids import new_id
from router.hub.messages import Block, Usage
from router.spokes.responses.names import CUSTOM_ARGUMENT, ClientTool

Item = dict[str, Any]

REDACTED_MARK = "redacted:"
RESPONSE_PREFIX = "resp_"
REASONING_PREFIX = "rs_"
MESSAGE_PREFIX = "msg_"
FUNCTION_CALL_PREFIX = "fc_"
CUSTOM_CALL_PREFIX = "ctc_"
COMPLETED = "completed"

_decode = msgspec.json.decode


# --- ids -----------------------------------------------------------------------------------------


def response_id() -> str:
    """A new id for every answer, never one made from the upstream's: kept answers are found by
    it, and upstreams repeat theirs (Ollama's `chatcmpl-123`, mocks), so a second answer would
    overwrite the first in the response store."""
    return new_id(RESPONSE_PREFIX)


def item_id(prefix: str) -> str:
    return new_id(prefix)


# --- reasoning -----------------------------------------------------------------------------------


def encrypted_content_of(block: Block) -> str | None:
    """What a thinking (signature) or redacted_thinking (marked data) block leaves in
    `encrypted_content`; None when the block carries nothing to send back."""
    if block.get("type") == "redacted_thinking":
        data = block.get("data")
        return f"{REDACTED_MARK}{data}" if type(data) is str and data else None
    signature = block.get("signature")
    return signature if type(signature) is str and signature else None


def reasoning_item(id_: str, text: str, encrypted_content: str | None) -> Item:
    """A reasoning output item: the thinking text as its one summary part (none when empty)."""
    return {
        "id": id_,
        "type": "reasoning",
        "summary": [summary_part(text)] if text else [],
        "encrypted_content": encrypted_content,
    }


def summary_part(text: str) -> dict[str, str]:
    return {"type": "summary_text", "text": text}


def thinking_block_of(summary_text: str, encrypted_content: str) -> Block:
    """The hub block a reasoning item sent back stands for (the inverse of the two above)."""
    if encrypted_content.startswith(REDACTED_MARK):
        return {"type": "redacted_thinking", "data": encrypted_content[len(REDACTED_MARK):]}
    return {"type": "thinking", "thinking": summary_text, "signature": encrypted_content}


# --- messages ------------------------------------------------------------------------------------


def message_item(id_: str, content: list[dict[str, Any]]) -> Item:
    return {"id": id_, "type": "message", "status": COMPLETED, "role": "assistant", "content": content}


def output_text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": []}


def refusal_part(text: str) -> dict[str, Any]:
    return {"type": "refusal", "refusal": text}


# --- tool calls ----------------------------------------------------------------------------------


def function_call_item(id_: str, call_id: str, name: str, arguments: str, namespace: str | None = None,
                       status: str = COMPLETED) -> Item:
    item: Item = {"id": id_, "type": "function_call", "status": status, "call_id": call_id, "name": name,
                  "arguments": arguments}
    if namespace is not None:
        item["namespace"] = namespace
    return item


def custom_tool_call_item(id_: str, call_id: str, name: str, input_: str, namespace: str | None = None,
                          status: str = COMPLETED) -> Item:
    item: Item = {"id": id_, "type": "custom_tool_call", "status": status, "call_id": call_id, "name": name,
                  "input": input_}
    if namespace is not None:
        item["namespace"] = namespace
    return item


def custom_input(arguments: str) -> str:
    """A custom tool's text from the function-call arguments it travelled as (`{"input": ...}`).
    A model that sent something else gets its arguments passed on as they are."""
    try:
        value = _decode(arguments)
    except msgspec.DecodeError:
        return arguments
    if type(value) is dict and type(value.get(CUSTOM_ARGUMENT)) is str:
        text: str = value[CUSTOM_ARGUMENT]
        return text
    return arguments


def client_call_item(fc_id: str, call_id: str, arguments: str, tool: ClientTool, status: str = COMPLETED) -> Item:
    """The call of the tool as the client declared it (names.ToolNames.client_tool): a
    custom_tool_call (id `ctc_…`, same suffix as `fc_id`) for a custom tool, else a function_call
    with the bare name and its namespace."""
    if tool.custom:
        suffix = fc_id.removeprefix(FUNCTION_CALL_PREFIX)
        return custom_tool_call_item(CUSTOM_CALL_PREFIX + suffix, call_id, tool.name, custom_input(arguments),
                                     tool.namespace, status)
    return function_call_item(fc_id, call_id, tool.name, arguments, tool.namespace, status)


# --- usage ---------------------------------------------------------------------------------------


def usage_dict(usage: Usage | None) -> dict[str, Any]:
    """The hub's input_tokens exclude cached ones (read or written); Responses' include both."""
    if usage is None:
        usage = Usage()
    cached, written = usage.cache_read_input_tokens or 0, usage.cache_creation_input_tokens or 0
    input_tokens = (usage.input_tokens or 0) + cached + written
    output_tokens = usage.output_tokens or 0
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": written},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }
