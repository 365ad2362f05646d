"""Anthropic content blocks → Gemini parts (`text`, `inlineData`, `fileData`), for user content
and the content of a tool_result.

One block becomes one part or nothing; which content a part lands in is request.py's business.
Which block type becomes which part is the table's `[variants.content_block]`
(schemas/gemini.upstream.toml): tag → one of VARIANTS below, or "drop: reason". Block types we
do not know are dropped, never rejected (a 400 would break clients that work against Anthropic
directly); fields a conversion needs are checked, the JSON path in the error.
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
    search_result_text,
)
from router.spokes.common.hub_blocks import block_type
from router.spokes.common.invalid import require_object, require_str
from router.spokes.tables import variant_dispatch

Part = dict[str, Any]
PartConverter = Callable[[dict[str, Any], str, TargetContext], Part | None]

TABLE = "gemini.upstream"
VARIANT_TABLE = "content_block"
PDF = "application/pdf"
# A URL's media type, guessed from its extension: fileData needs one, and an image URL seldom
# says more. Unknown extensions are sent as "image/*" and left to the upstream.
_IMAGE_TYPES: Mapping[str, str] = MappingProxyType({
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
    "webp": "image/webp", "heic": "image/heic", "heif": "image/heif",
})
ANY_IMAGE = "image/*"


def text_part(text: str) -> Part:
    return {"text": text}


def content_part(block: dict[str, Any], path: str, ctx: TargetContext) -> Part | None:
    """A user or tool-result content block as a part; None for types with nothing to send."""
    convert = _CONVERTERS.get(block_type(block, path), _OTHER)
    return convert(block, path, ctx) if convert is not None else None


def image_media_type(url: str) -> str:
    """The media type an image URL's extension says (query and fragment left out)."""
    name = url.split("?", 1)[0].split("#", 1)[0]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name.rsplit("/", 1)[-1] else ""
    return _IMAGE_TYPES.get(extension, ANY_IMAGE)


def _text_block(block: dict[str, Any], path: str, ctx: TargetContext) -> Part | None:
    """Empty text is left out: Gemini rejects a part with empty text."""
    text = require_str(block, "text", path)
    return text_part(text) if text else None


def _image_block(block: dict[str, Any], path: str, ctx: TargetContext) -> Part:
    """base64 → inlineData, url → fileData (the upstream fetches it)."""
    source_path = f"{path}.source"
    source = require_object(block, "source", path)
    kind = require_str(source, "type", source_path)
    if kind == "base64":
        media_type = require_str(source, "media_type", source_path)
        data = require_str(source, "data", source_path)
        if not ctx.caps.vision:
            return text_part(IMAGE_OMITTED)
        return {"inlineData": {"mimeType": media_type, "data": data}}
    if kind == "url":
        url = require_str(source, "url", source_path)
        if not ctx.caps.vision:
            return text_part(IMAGE_OMITTED)
        return {"fileData": {"mimeType": image_media_type(url), "fileUri": url}}
    return text_part(IMAGE_OMITTED if not ctx.caps.vision else IMAGE_SOURCE_UNSUPPORTED)


def _document_block(block: dict[str, Any], path: str, ctx: TargetContext) -> Part | None:
    """Plain-text and content documents become text; a base64 PDF inlineData, a URL document
    fileData (Gemini reads PDFs natively)."""
    source_path = f"{path}.source"
    source = require_object(block, "source", path)
    kind = require_str(source, "type", source_path)
    text = document_text(block, source, kind, source_path)
    if text is not None:
        return text_part(text)
    if kind == "base64" and source.get("media_type") == PDF:
        data = require_str(source, "data", source_path)
        return text_part(FILE_OMITTED) if not ctx.caps.vision else {"inlineData": {"mimeType": PDF, "data": data}}
    if kind == "url":
        url = require_str(source, "url", source_path)
        return text_part(FILE_OMITTED) if not ctx.caps.vision else {"fileData": {"mimeType": PDF, "fileUri": url}}
    return None  # Anthropic Files API ids mean nothing to another upstream


def _search_result_block(block: dict[str, Any], path: str, ctx: TargetContext) -> Part:
    return text_part(search_result_text(block, path))


# The per-variant functions a `[variants.content_block]` entry may name.
VARIANTS: Mapping[str, PartConverter] = MappingProxyType(
    {
        "text_part_of": _text_block,
        "image_part_of": _image_block,
        "document_part_of": _document_block,
        "search_result_text_of": _search_result_block,
    }
)

# Read once, at import: an immutable table from package data, looked up per block on the hot path.
_CONVERTERS: Mapping[str, PartConverter | None] = variant_dispatch(TABLE, VARIANT_TABLE, VARIANTS)
_OTHER: PartConverter | None = _CONVERTERS.get("*")  # types the table does not name
