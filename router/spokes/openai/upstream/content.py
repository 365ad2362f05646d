"""Anthropic content blocks → OpenAI Chat Completions content parts.

One block becomes one part (or nothing): text, images, documents, search results, and the content
of a tool_result. Which message a part lands in is anthropic_to_openai.py's business.

Block types we do not know are dropped, never rejected: Anthropic adds block types faster than
any gateway can name them, and a 400 would break a client that works against Anthropic directly.
Fields a conversion *needs* are checked, with the JSON path in the error (router/spokes/common/invalid.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from router.config.target import TargetContext
from router.spokes.common.block_text import (
    FILE_OMITTED,
    IMAGE_OMITTED,
    IMAGE_SOURCE_UNSUPPORTED,
    TEXT_SEPARATOR,
    document_text,
    pdf_filename,
    search_result_text,
)
from router.spokes.common.hub_blocks import block_type, converted_blocks
from router.spokes.common.invalid import require_object, require_str
from router.spokes.tables import variant_dispatch

Part = dict[str, Any]
PartConverter = Callable[[dict[str, Any], str, TargetContext], Part | None]

# Which block type becomes which part is the table's `[variants.content_block]`: tag → one of
# VARIANTS below, or "drop: reason".
TABLE = "openai.upstream"
VARIANT_TABLE = "content_block"


def text_part(text: str, block: dict[str, Any], ctx: TargetContext) -> Part:
    """A text part, carrying the block's `cache_control` when the target understands it."""
    part: Part = {"type": "text", "text": text}
    if ctx.caps.cache_control:
        cache_control = block.get("cache_control")
        if cache_control is not None:
            part["cache_control"] = cache_control
    return part


def collapse(parts: list[Part]) -> str | list[Part]:
    """One string when every part is plain text: requests stay small, and several OpenAI-compatible
    servers reject content arrays. Parts stay a list when any needs its structure (an image, a
    file, a kept `cache_control`)."""
    for part in parts:
        if part["type"] != "text" or len(part) != 2:
            return parts
    if len(parts) == 1:
        return parts[0]["text"]  # type: ignore[no-any-return]
    return TEXT_SEPARATOR.join(part["text"] for part in parts)


def content_part(block: dict[str, Any], path: str, ctx: TargetContext) -> Part | None:
    """A user or system content block as a part; None for block types with nothing to send."""
    convert = _CONVERTERS.get(block_type(block, path), _OTHER)
    return convert(block, path, ctx) if convert is not None else None


def _text_block(block: dict[str, Any], path: str, ctx: TargetContext) -> Part:
    return text_part(require_str(block, "text", path), block, ctx)


def _image_block(block: dict[str, Any], path: str, ctx: TargetContext) -> Part:
    url = image_url(require_object(block, "source", path), f"{path}.source")
    if not ctx.caps.vision:
        return {"type": "text", "text": IMAGE_OMITTED}
    if url is None:
        return {"type": "text", "text": IMAGE_SOURCE_UNSUPPORTED}
    part: Part = {"type": "image_url", "image_url": {"url": url}}
    if ctx.caps.cache_control and block.get("cache_control") is not None:
        part["cache_control"] = block["cache_control"]
    return part


def image_url(source: dict[str, Any], path: str) -> str | None:
    """base64 → a data: URL, url → the URL; None for sources an OpenAI upstream cannot fetch
    (Anthropic Files API ids mean nothing to it)."""
    kind = require_str(source, "type", path)
    if kind == "base64":
        media_type = require_str(source, "media_type", path)
        return f"data:{media_type};base64,{require_str(source, 'data', path)}"
    if kind == "url":
        return require_str(source, "url", path)
    return None


def _document_block(block: dict[str, Any], path: str, ctx: TargetContext) -> Part | None:
    """Plain-text and content documents become text; base64 PDFs become an OpenAI `file` part.
    A URL document has no OpenAI form, so the model at least learns where it was."""
    source_path = f"{path}.source"
    source = require_object(block, "source", path)
    kind = require_str(source, "type", source_path)
    text = document_text(block, source, kind, source_path)
    if text is not None:
        return text_part(text, block, ctx)
    if kind == "base64" and source.get("media_type") == "application/pdf":
        return _pdf_part(block, require_str(source, "data", source_path), ctx)
    if kind == "url":
        return text_part(f"[document not attached: {require_str(source, 'url', source_path)}]", block, ctx)
    return None


def _pdf_part(block: dict[str, Any], data: str, ctx: TargetContext) -> Part:
    # Text-only targets reject file parts as they reject images (`vision` is the one switch).
    if not ctx.caps.vision:
        return {"type": "text", "text": FILE_OMITTED}
    return {
        "type": "file",
        "file": {"filename": pdf_filename(block), "file_data": f"data:application/pdf;base64,{data}"},
    }


def _search_result_block(block: dict[str, Any], path: str, ctx: TargetContext) -> Part:
    return text_part(search_result_text(block, path), block, ctx)


# The per-variant functions a `[variants.content_block]` entry may name.
VARIANTS: Mapping[str, PartConverter] = MappingProxyType(
    {
        "text_part_of": _text_block,
        "image_part_of": _image_block,
        "document_part_of": _document_block,
        "search_result_part_of": _search_result_block,
    }
)


def part_converters() -> Mapping[str, PartConverter | None]:
    """The shipped variant table as a dispatch dict (tag → function, None = dropped)."""
    return _CONVERTERS


# Read once, at import: an immutable table from package data, looked up per block on the hot path.
_CONVERTERS: Mapping[str, PartConverter | None] = variant_dispatch(TABLE, VARIANT_TABLE, VARIANTS)
_OTHER: PartConverter | None = _CONVERTERS.get("*")  # types the table does not name


# Some OpenAI-compatible servers reject a tool message with empty content.
NO_OUTPUT = "(no output)"
ATTACHMENTS_FOLLOW = "(the tool returned attachments; they follow in the next message)"


def tool_result_content(block: dict[str, Any], path: str, ctx: TargetContext) -> tuple[str, list[Part]]:
    """The text of a tool_result for the `tool` message, and its images/files. OpenAI tool
    messages carry text only, so those go to a user message right after the tool messages."""
    content = block.get("content")
    if content is None or type(content) is str:
        text, media = content or "", []
    else:
        parts = converted_blocks(content, f"{path}.content", ctx, content_part)
        text = TEXT_SEPARATOR.join(part["text"] for part in parts if part["type"] == "text" and part["text"])
        media = [part for part in parts if part["type"] != "text"]
    if not text:
        text = ATTACHMENTS_FOLLOW if media else NO_OUTPUT
    # The model must know the call failed, and OpenAI has no is_error flag.
    return (f"Error: {text}" if block.get("is_error") is True else text), media
