"""Anthropic content blocks → Responses input content parts (`input_text`, `input_image`,
`input_file`), for user and system content and the content of a tool_result.

One block becomes one part or nothing; which item a part lands in is request.py's business.
Which block type becomes which part is the table's `[variants.content_block]`
(schemas/responses.upstream.toml): tag → one of VARIANTS below, or "drop: reason". Block types
we do not know are dropped, never rejected (a 400 would break clients that work against
Anthropic directly); fields a conversion needs are checked, the JSON path in the error.
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
    document_text,
    pdf_filename,
    search_result_text,
)
from router.spokes.common.hub_blocks import block_type
from router.spokes.common.invalid import require_object, require_str
from router.spokes.openai.upstream.content import image_url
from router.spokes.tables import variant_dispatch

Part = dict[str, Any]
PartConverter = Callable[[dict[str, Any], str, TargetContext], Part | None]

TABLE = "responses.upstream"
VARIANT_TABLE = "content_block"


def input_text(text: str) -> Part:
    return {"type": "input_text", "text": text}


def content_part(block: dict[str, Any], path: str, ctx: TargetContext) -> Part | None:
    """A user, system or tool-result content block as a part; None for types with nothing to send."""
    convert = _CONVERTERS.get(block_type(block, path), _OTHER)
    return convert(block, path, ctx) if convert is not None else None


def _text_block(block: dict[str, Any], path: str, ctx: TargetContext) -> Part:
    return input_text(require_str(block, "text", path))


def _image_block(block: dict[str, Any], path: str, ctx: TargetContext) -> Part:
    """base64 → a data: URL, url → the URL. `detail` is required by the API's schema; `auto`
    is its default."""
    url = image_url(require_object(block, "source", path), f"{path}.source")
    if not ctx.caps.vision:
        return input_text(IMAGE_OMITTED)
    if url is None:
        return input_text(IMAGE_SOURCE_UNSUPPORTED)
    return {"type": "input_image", "image_url": url, "detail": "auto"}


def _document_block(block: dict[str, Any], path: str, ctx: TargetContext) -> Part | None:
    """Plain-text and content documents become text; a base64 PDF becomes an `input_file` with
    its data, a URL document one with its `file_url` (the upstream fetches it)."""
    source_path = f"{path}.source"
    source = require_object(block, "source", path)
    kind = require_str(source, "type", source_path)
    text = document_text(block, source, kind, source_path)
    if text is not None:
        return input_text(text)
    if kind == "base64" and source.get("media_type") == "application/pdf":
        if not ctx.caps.vision:  # text-only targets reject files as they reject images
            return input_text(FILE_OMITTED)
        data = require_str(source, "data", source_path)
        return {"type": "input_file", "filename": pdf_filename(block), "file_data": f"data:application/pdf;base64,{data}"}
    if kind == "url":
        url = require_str(source, "url", source_path)
        return input_text(FILE_OMITTED) if not ctx.caps.vision else {"type": "input_file", "file_url": url}
    return None  # Anthropic Files API ids mean nothing to another upstream


def _search_result_block(block: dict[str, Any], path: str, ctx: TargetContext) -> Part:
    return input_text(search_result_text(block, path))


# The per-variant functions a `[variants.content_block]` entry may name.
VARIANTS: Mapping[str, PartConverter] = MappingProxyType(
    {
        "input_text_of": _text_block,
        "input_image_of": _image_block,
        "input_file_of": _document_block,
        "search_result_text_of": _search_result_block,
    }
)

# Read once, at import: an immutable table from package data, looked up per block on the hot path.
_CONVERTERS: Mapping[str, PartConverter | None] = variant_dispatch(TABLE, VARIANT_TABLE, VARIANTS)
_OTHER: PartConverter | None = _CONVERTERS.get("*")  # types the table does not name
