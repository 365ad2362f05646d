"""Responses content parts → hub (Anthropic) content blocks, one part at a time.

Parts appear in a message item's `content` and in a tool output's `output` list. Which part type
becomes which block is the table's `[variants.content_part]` (schemas/responses.client.toml).
Parts we cannot carry (files and images by `file_id`, which live in OpenAI's storage; part types
added later) are left out, never rejected: a 400 would break a client that works against OpenAI.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from router.spokes.common.invalid import invalid_value, require_str, wrong_type
from router.spokes.openai.client.content import image_source, parse_data_url, text_block
from router.spokes.tables import variant_dispatch

Block = dict[str, Any]
Part = dict[str, Any]
PartConverter = Callable[[Part, str], Block | None]

TABLE = "responses.client"
VARIANT_TABLE = "content_part"
PDF = "application/pdf"


def content_blocks(content: Any, path: str) -> list[Block]:
    """A message's `content` (a string or a list of parts) as blocks. Empty text becomes
    nothing: Anthropic rejects empty text blocks."""
    if content is None:
        return []
    if type(content) is str:
        return [text_block(content)] if content else []
    if type(content) is not list:
        return [text_block(str(content))] if content else []
    blocks = []
    for index, part in enumerate(content):
        block = part_block(part, f"{path}[{index}]")
        if block is not None:
            blocks.append(block)
    return blocks


def text_of(content: Any, path: str) -> list[Block]:
    """Only the text of a content (system and developer messages: the hub's `system` is text)."""
    if type(content) is not list:
        return content_blocks(content, path)
    return [block for block in content_blocks(content, path) if block["type"] == "text"]


def part_block(part: Any, path: str) -> Block | None:
    if type(part) is not dict:
        return None  # a part that is not an object has no type to dispatch on: left out
    kind = part.get("type")
    if type(kind) is not str:  # a list or object cannot be looked up; any other non-string is no type we know
        raise wrong_type("string", kind, f"{path}.type") if isinstance(kind, (list, dict)) else invalid_value(kind, f"{path}.type")
    convert = _CONVERTERS.get(kind, _OTHER)
    return convert(part, path) if convert is not None else None


def _text_part(part: Part, path: str) -> Block | None:
    """input_text (what the user or a tool said) and output_text (what the model said)."""
    text = require_str(part, "text", path)
    return text_block(text) if text else None


def _refusal_part(part: Part, path: str) -> Block | None:
    """An assistant's earlier refusal, sent back in history: it was text the model said."""
    text = require_str(part, "refusal", path)
    return text_block(text) if text else None


def _image_part(part: Part, path: str) -> Block | None:
    """`image_url` is a data: URL (→ base64) or a web URL (→ url source); by `file_id` → left out."""
    url = part.get("image_url")
    if type(url) is not str or not url:
        return None
    return {"type": "image", "source": image_source(url, f"{path}.image_url")}


def _file_part(part: Part, path: str) -> Block | None:
    """Inline PDFs (`file_data`, a data URL or bare base64) → a base64 document; `file_url` → a
    url document. Other media types and files by `file_id` have no hub form: left out."""
    data = part.get("file_data")
    if type(data) is str and data:
        media_type, payload = parse_data_url(data, f"{path}.file_data") if data.startswith("data:") else (PDF, data)
        if media_type != PDF:
            return None
        block: Block = {"type": "document", "source": {"type": "base64", "media_type": PDF, "data": payload}}
    else:
        url = part.get("file_url")
        if type(url) is not str or not url:
            return None
        block = {"type": "document", "source": {"type": "url", "url": url}}
    filename = part.get("filename")
    if type(filename) is str and filename:
        block["title"] = filename
    return block


# The per-variant functions a `[variants.content_part]` entry may name.
VARIANTS: Mapping[str, PartConverter] = MappingProxyType(
    {
        "text_block_of": _text_part,
        "refusal_block_of": _refusal_part,
        "image_block_of": _image_part,
        "document_block_of": _file_part,
    }
)


def part_converters() -> Mapping[str, PartConverter | None]:
    """The shipped variant table as a dispatch dict (tag → function, None = dropped)."""
    return _CONVERTERS


# Read once, at import: an immutable table from package data, looked up per part on the hot path.
_CONVERTERS: Mapping[str, PartConverter | None] = variant_dispatch(TABLE, VARIANT_TABLE, VARIANTS)
_OTHER: PartConverter | None = _CONVERTERS.get("*")
