"""Gemini parts → hub (Anthropic) content blocks, one part at a time.

A part has no `type`: which member is set says its kind (`text`, `inlineData`, `fileData`,
`functionCall`, `functionResponse`, ...; the API takes snake_case too). Which kind becomes which
block is the table's `[variants.part]` (schemas/gemini.client.toml); kinds with no hub form
(Gemini's own code execution, video metadata, kinds added later) are left out, never rejected.

Files. Anthropic reads images (base64 or by URL) and PDFs (documents); a plain-text file is a
text document. Other media (audio, video, office files) cannot be read by a hub target: rather
than refuse a conversation over an attachment (a 400 would break a client that works against
Google), the part becomes a short text placeholder saying what was there, so the model knows. A
`fileData` URI Anthropic cannot fetch (a `gs://` URI, Google's Files API, which needs the key)
becomes such a placeholder too.

Calls. A `functionCall` may carry no `id` (AI Studio sends none; Gemini pairs a call and its
response by name and order), a tool_use must: calls.py invents one from the call's position,
and gives a `functionResponse` without one the id of the oldest unanswered call of its name.
A call's name the hub refuses (`math.add`) goes under its rewrite (names.py, through CallIds).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import msgspec

from router.spokes.common.invalid import field_required, require_str, wrong_type
from router.spokes.gemini.client.calls import CallIds
from router.spokes.openai.client.content import text_block
from router.spokes.tables import variant_dispatch

Block = dict[str, Any]
Part = dict[str, Any]
PartConverter = Callable[[Part, str, CallIds], Block | None]

TABLE = "gemini.client"
VARIANT_TABLE = "part"
PDF = "application/pdf"
PLAIN_TEXT = "text/plain"
_FETCHABLE = ("https://", "http://")
_GOOGLE_FILES = "https://generativelanguage.googleapis.com/"
_EXTENSION_TYPES: Mapping[str, str] = MappingProxyType({
    ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
    ".webp": "image/webp", ".pdf": PDF,
})

# A part's member → its kind in [variants.part] (the wire's camelCase and the API's snake_case).
PART_KINDS: Mapping[str, str] = MappingProxyType({
    "text": "text",
    "inlineData": "inlineData", "inline_data": "inlineData",
    "fileData": "fileData", "file_data": "fileData",
    "functionCall": "functionCall", "function_call": "functionCall",
    "functionResponse": "functionResponse", "function_response": "functionResponse",
    "executableCode": "executableCode", "executable_code": "executableCode",
    "codeExecutionResult": "codeExecutionResult", "code_execution_result": "codeExecutionResult",
})

_encode = msgspec.json.Encoder().encode


def member(obj: dict[str, Any], camel: str, snake: str) -> Any:
    """A field under either of its names (the wire's camelCase first)."""
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def part_kind(part: Part) -> str | None:
    for key in part:
        kind = PART_KINDS.get(key)
        if kind is not None:
            return kind
    return None


def is_thought(part: Part) -> bool:
    return part.get("thought") is True


def part_block(part: Any, path: str, calls: CallIds) -> Block | None:
    """The block a part stands for, None when it has none (dropped kinds, thought summaries,
    empty text). Thought signatures are turns.py's business."""
    if type(part) is not dict:
        raise wrong_type("object", part, path)
    kind = part_kind(part)
    if kind is None or is_thought(part):
        return None  # a part of no kind we know (only a signature, metadata); a thought summary
    convert = _CONVERTERS.get(kind, _OTHER)
    return convert(part, path, calls) if convert is not None else None


# --- one part per kind ---------------------------------------------------------------------------


def _text(part: Part, path: str, calls: CallIds) -> Block | None:
    text = part.get("text")
    if type(text) is not str:
        raise wrong_type("str", text, f"{path}.text")
    return text_block(text) if text else None  # Anthropic rejects empty text blocks


def _inline_data(part: Part, path: str, calls: CallIds) -> Block | None:
    blob_path = f"{path}.inlineData"
    blob = member(part, "inlineData", "inline_data")
    if type(blob) is not dict:
        raise wrong_type("object", blob, blob_path)
    mime_type = _mime_type(blob, blob_path)
    data = require_str(blob, "data", blob_path)
    if mime_type.startswith("image/"):
        return {"type": "image", "source": {"type": "base64", "media_type": mime_type, "data": data}}
    if mime_type == PDF:
        return {"type": "document", "source": {"type": "base64", "media_type": PDF, "data": data}}
    if mime_type == PLAIN_TEXT:
        return {"type": "document", "source": {"type": "text", "media_type": PLAIN_TEXT,
                                               "data": _base64_text(data, f"{blob_path}.data")}}
    return text_block(placeholder(mime_type, None))


def _file_data(part: Part, path: str, calls: CallIds) -> Block | None:
    file_path = f"{path}.fileData"
    file = member(part, "fileData", "file_data")
    if type(file) is not dict:
        raise wrong_type("object", file, file_path)
    uri = member(file, "fileUri", "file_uri")
    if type(uri) is not str:
        raise field_required("fileUri", file_path) if uri is None else wrong_type("str", uri, f"{file_path}.fileUri")
    mime_type = member(file, "mimeType", "mime_type")
    if type(mime_type) is not str or not mime_type:
        mime_type = _guessed_type(uri)
    if not uri.startswith(_FETCHABLE) or uri.startswith(_GOOGLE_FILES):
        return text_block(placeholder(mime_type or "file", uri))
    if mime_type.startswith("image/"):
        return {"type": "image", "source": {"type": "url", "url": uri}}
    if mime_type == PDF:
        return {"type": "document", "source": {"type": "url", "url": uri}}
    return text_block(placeholder(mime_type or "file", uri))


def _function_call(part: Part, path: str, calls: CallIds) -> Block:
    call_path = f"{path}.functionCall"
    call = member(part, "functionCall", "function_call")
    if type(call) is not dict:
        raise wrong_type("object", call, call_path)
    name = require_str(call, "name", call_path)
    args = call.get("args")
    if args is not None and type(args) is not dict:
        raise wrong_type("object", args, f"{call_path}.args")
    return {"type": "tool_use", "id": calls.call_id(call.get("id"), name, path), "name": calls.hub_name(name),
            "input": args or {}}


def _function_response(part: Part, path: str, calls: CallIds) -> Block:
    response_path = f"{path}.functionResponse"
    response = member(part, "functionResponse", "function_response")
    if type(response) is not dict:
        raise wrong_type("object", response, response_path)
    name = require_str(response, "name", response_path)
    block: Block = {"type": "tool_result", "tool_use_id": calls.response_id(response.get("id"), name, path)}
    value = response.get("response")
    text, is_error = result_text(value)
    content: list[Block] = [text_block(text)] if text else []
    content.extend(_response_parts(response.get("parts"), f"{response_path}.parts"))
    if content:
        block["content"] = text if len(content) == 1 and text else content
    if is_error:
        block["is_error"] = True
    return block


def result_text(response: Any) -> tuple[str, bool]:
    """A function's `response` as the tool result's text, and whether it is an error. Google's
    convention is `{"output": ...}` or `{"error": ...}`: a lone string there is the text
    itself; anything else is the JSON of the whole response, as the model would see it."""
    if type(response) is dict and len(response) == 1:
        key, value = next(iter(response.items()))
        if key in ("output", "error"):
            return (value if type(value) is str else _encode(value).decode()), key == "error"
    if response is None:
        return "", False
    return _encode(response).decode(), False


def _response_parts(parts: Any, path: str) -> list[Block]:
    """A function response's own media (`functionResponse.parts`: inline images, files)."""
    if type(parts) is not list:
        return []
    blocks = []
    for index, part in enumerate(parts):
        if type(part) is dict and part_kind(part) in ("inlineData", "fileData"):
            convert = _CONVERTERS.get(part_kind(part) or "")
            block = convert(part, f"{path}[{index}]", CallIds()) if convert is not None else None
            if block is not None:
                blocks.append(block)
    return blocks


# --- files ---------------------------------------------------------------------------------------


def placeholder(mime_type: str, uri: str | None) -> str:
    where = f" ({uri})" if uri else ""
    return f"[A {mime_type} file{where} was attached here; it cannot be shown to this model.]"


def _mime_type(blob: dict[str, Any], path: str) -> str:
    mime_type = member(blob, "mimeType", "mime_type")
    if type(mime_type) is not str:
        raise field_required("mimeType", path) if mime_type is None else wrong_type("str", mime_type, f"{path}.mimeType")
    return mime_type.lower()


def _guessed_type(uri: str) -> str:
    tail = uri.rsplit("?", 1)[0].rsplit(".", 1)
    return _EXTENSION_TYPES.get(f".{tail[1].lower()}", "") if len(tail) == 2 else ""


def _base64_text(data: str, path: str) -> str:
    try:
        return base64.b64decode(data).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        raise wrong_type("base64 string", data, path) from None


# The per-variant functions a `[variants.part]` entry may name.
VARIANTS: Mapping[str, PartConverter] = MappingProxyType(
    {
        "text_block_of": _text,
        "media_block_of_inline_data": _inline_data,
        "media_block_of_file_data": _file_data,
        "tool_use_of_function_call": _function_call,
        "tool_result_of_function_response": _function_response,
    }
)


def part_converters() -> Mapping[str, PartConverter | None]:
    """The shipped variant table as a dispatch dict (kind → function, None = dropped)."""
    return _CONVERTERS


# Read once, at import: an immutable table from package data, looked up per part.
_CONVERTERS: Mapping[str, PartConverter | None] = variant_dispatch(TABLE, VARIANT_TABLE, VARIANTS)
_OTHER: PartConverter | None = _CONVERTERS.get("*")
