"""OpenAI content parts → Anthropic content blocks, one part at a time.

Which message a block lands in is messages.py's business. Part types we do not know (input_audio,
a `file` referenced by id ...) are dropped, never rejected: a 400 would break a client that works
against OpenAI directly. Fields a conversion *needs* are checked, with the JSON path in the error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from router.core.errors import InvalidRequest
from router.spokes.common.invalid import (
    field_required,
    require_object,
    require_str,
    wrong_type,
)
from router.spokes.tables import variant_dispatch

Block = dict[str, Any]
Part = dict[str, Any]
PartConverter = Callable[[Part, str], Block | None]

# Which part type becomes which block is the table's `[variants.content_part]`: tag → one of
# VARIANTS below, or "drop: reason".
TABLE = "openai.client"
VARIANT_TABLE = "content_part"

# What joins the text parts of a system prompt: parts are paragraphs.
TEXT_SEPARATOR = "\n\n"


def text_block(text: str, part: Part | None = None) -> Block:
    """A text block, keeping the part's `cache_control` (OpenRouter-style clients put Anthropic's
    cache breakpoints on OpenAI parts; they are worth real money on an Anthropic upstream)."""
    block: Block = {"type": "text", "text": text}
    if part is not None:
        cache_control = part.get("cache_control")
        if type(cache_control) is dict:
            block["cache_control"] = cache_control
    return block


def content_blocks(content: str | list[Part] | None, path: str) -> list[Block]:
    """A message's content as blocks. Empty text becomes nothing: Anthropic rejects empty text
    blocks, and an empty string carries nothing the model could use."""
    if content is None:
        return []
    if isinstance(content, str):
        return [text_block(content)] if content else []
    blocks = []
    for index, part in enumerate(content):
        block = part_block(part, f"{path}[{index}]")
        if block is not None:
            blocks.append(block)
    return blocks


def text_of(content: str | list[Part] | None, path: str) -> list[Block]:
    """Only the text of a content (system and developer messages: Anthropic's `system` is text)."""
    if content is None or isinstance(content, str):
        return [text_block(content)] if content else []
    blocks = []
    for index, part in enumerate(content):
        part_path = f"{path}[{index}]"
        if _part_type(part, part_path) == "text":
            text = require_str(part, "text", part_path)
            if text:
                blocks.append(text_block(text, part))
    return blocks


def part_block(part: Part, path: str) -> Block | None:
    convert = _CONVERTERS.get(_part_type(part, path), _OTHER)
    return convert(part, path) if convert is not None else None


def _part_type(part: Part, path: str) -> str:
    return require_str(part, "type", path)  # parts are objects: the wire struct says so


def _text_part(part: Part, path: str) -> Block | None:
    text = require_str(part, "text", path)
    return text_block(text, part) if text else None


def _refusal_part(part: Part, path: str) -> Block | None:
    """An assistant's earlier refusal, sent back in history: it was text the model said."""
    text = require_str(part, "refusal", path)
    return text_block(text, part) if text else None


def _image_part(part: Part, path: str) -> Block:
    """`image_url` is an object `{url, detail}`; a few clients send the URL string itself."""
    image = part.get("image_url")
    if type(image) is dict:
        url, url_path = require_str(image, "url", f"{path}.image_url"), f"{path}.image_url.url"
    elif type(image) is str:
        url, url_path = image, f"{path}.image_url"
    elif "image_url" not in part:
        raise field_required("image_url", path)
    else:
        raise wrong_type("object", image, f"{path}.image_url")
    block: Block = {"type": "image", "source": image_source(url, url_path)}
    if type(part.get("cache_control")) is dict:
        block["cache_control"] = part["cache_control"]
    return block


def image_source(url: str, path: str) -> dict[str, str]:
    """A data: URL → a base64 source; anything else is a URL Anthropic fetches itself."""
    if url.startswith("data:"):
        media_type, data = parse_data_url(url, path)
        return {"type": "base64", "media_type": media_type, "data": data}
    return {"type": "url", "url": url}


def parse_data_url(url: str, path: str) -> tuple[str, str]:
    """`data:<media type>;base64,<data>` → (media type, data). Anthropic takes base64 only."""
    header, comma, data = url[5:].partition(",")
    media_type, _, encoding = header.partition(";")
    if not comma or encoding != "base64" or not media_type:
        raise InvalidRequest(f"Expected a base64 data URL (`data:<media type>;base64,...`) - at `{path}`")
    return media_type, data


def _file_part(part: Part, path: str) -> Block | None:
    """Inline files (`file_data` as a data URL) → a document block: PDFs as base64, plain text as
    text. Files referenced by id live in OpenAI's storage and mean nothing to Anthropic."""
    file = require_object(part, "file", path)
    data_url = file.get("file_data")
    if type(data_url) is not str:
        return None
    media_type, data = parse_data_url(data_url, f"{path}.file.file_data")
    if media_type != "application/pdf":
        return None
    block: Block = {"type": "document", "source": {"type": "base64", "media_type": media_type, "data": data}}
    filename = file.get("filename")
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


# Read once, at import: an immutable table from package data, looked up per block on the hot path.
_CONVERTERS: Mapping[str, PartConverter | None] = variant_dispatch(TABLE, VARIANT_TABLE, VARIANTS)
_OTHER: PartConverter | None = _CONVERTERS.get("*")  # types the table does not name
