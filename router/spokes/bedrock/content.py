"""Anthropic content blocks → Converse content blocks (`text`, `image`, `document`), for user
content and the content of a tool result.

One block becomes one Converse block or nothing; which turn it lands in is request.py's
business, as is the `cachePoint` that follows a block carrying `cache_control`. Which block type
becomes which is the table's `[variants.content_block]` (schemas/bedrock.upstream.toml). Block
types we do not know are dropped, never rejected.

Converse takes files as bytes (base64 in JSON) or from S3, never from a web URL: an `s3://` URL
goes as an `s3Location`; any other URL becomes a short placeholder text, as for a text-only
model. Documents need a name of Bedrock's alphabet (letters, digits, single spaces, hyphens,
parentheses, square brackets), unique in the request: the block's title, cleaned, with its place
in the conversation after it.
"""

from __future__ import annotations

import re
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

ContentBlock = dict[str, Any]
BlockConverter = Callable[[dict[str, Any], str, TargetContext], ContentBlock | None]

TABLE = "bedrock.upstream"
VARIANT_TABLE = "content_block"
S3 = "s3://"
# Converse's image formats, by media type (its ImageFormat enum).
_IMAGE_FORMATS: Mapping[str, str] = MappingProxyType({
    "image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif", "image/webp": "webp",
})
# Converse's document formats, by media type (its DocumentFormat enum); text documents arrive
# as text and are sent as text.
_DOCUMENT_FORMATS: Mapping[str, str] = MappingProxyType({
    "application/pdf": "pdf", "text/csv": "csv", "text/html": "html", "text/markdown": "md", "text/plain": "txt",
    "application/msword": "doc", "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
})
_NAME_FORBIDDEN = re.compile(r"[^A-Za-z0-9\s\-()\[\]]+")
_SPACES = re.compile(r"\s+")
_PLACE = re.compile(r"\d+")
MAX_NAME = 200


def text_block(text: str) -> ContentBlock:
    return {"text": text}


def content_block(block: dict[str, Any], path: str, ctx: TargetContext) -> ContentBlock | None:
    """A user or tool-result content block as a Converse block; None for types with nothing to send."""
    convert = _CONVERTERS.get(block_type(block, path), _OTHER)
    return convert(block, path, ctx) if convert is not None else None


def document_name(block: dict[str, Any], path: str) -> str:
    """The block's title in Bedrock's alphabet (other characters become spaces, runs of spaces
    one), and its place (`$.messages[3].content[1]` → "3-1") so two documents never share one."""
    title = block.get("title")
    base = _SPACES.sub(" ", _NAME_FORBIDDEN.sub(" ", title)).strip() if type(title) is str else ""
    place = "-".join(_PLACE.findall(path))
    base = base[: MAX_NAME - len(place) - 1].rstrip() or "document"  # 200 at most, one space at a time
    return f"{base} {place}"


def _text(block: dict[str, Any], path: str, ctx: TargetContext) -> ContentBlock | None:
    """Empty text is left out: Converse rejects a blank text block."""
    text = require_str(block, "text", path)
    return text_block(text) if text.strip() else None


def _image(block: dict[str, Any], path: str, ctx: TargetContext) -> ContentBlock:
    source_path = f"{path}.source"
    source = require_object(block, "source", path)
    kind = require_str(source, "type", source_path)
    if not ctx.caps.vision:
        return text_block(IMAGE_OMITTED)
    if kind == "base64":
        media_type = require_str(source, "media_type", source_path)
        data = require_str(source, "data", source_path)
        image_format = _IMAGE_FORMATS.get(media_type.lower())
        if image_format is None:
            return text_block(IMAGE_SOURCE_UNSUPPORTED)
        return {"image": {"format": image_format, "source": {"bytes": data}}}
    if kind == "url":
        url = require_str(source, "url", source_path)
        image_format = _IMAGE_FORMATS.get(_media_type_of(url))
        if url.startswith(S3) and image_format is not None:
            return {"image": {"format": image_format, "source": {"s3Location": {"uri": url}}}}
    return text_block(IMAGE_SOURCE_UNSUPPORTED)


def _document(block: dict[str, Any], path: str, ctx: TargetContext) -> ContentBlock | None:
    """Text documents as text; a base64 file of one of Converse's formats (PDF, Office, CSV,
    HTML, Markdown) as a document with bytes; an S3 URL as a document from S3."""
    source_path = f"{path}.source"
    source = require_object(block, "source", path)
    kind = require_str(source, "type", source_path)
    text = document_text(block, source, kind, source_path)
    if text is not None:
        return text_block(text) if text.strip() else None
    if kind == "base64":
        media_type = require_str(source, "media_type", source_path)
        data = require_str(source, "data", source_path)
        document_format = _DOCUMENT_FORMATS.get(media_type.lower())
        if document_format is None or not ctx.caps.vision:
            return text_block(FILE_OMITTED)
        return {"document": {"format": document_format, "name": document_name(block, path), "source": {"bytes": data}}}
    if kind == "url":
        url = require_str(source, "url", source_path)
        document_format = _DOCUMENT_FORMATS.get(_media_type_of(url), "pdf")
        if url.startswith(S3) and ctx.caps.vision:
            return {"document": {"format": document_format, "name": document_name(block, path),
                                 "source": {"s3Location": {"uri": url}}}}
        return text_block(FILE_OMITTED)
    return None  # Anthropic Files API ids mean nothing to Bedrock


def _search_result(block: dict[str, Any], path: str, ctx: TargetContext) -> ContentBlock:
    return text_block(search_result_text(block, path))


_EXTENSION_TYPES: Mapping[str, str] = MappingProxyType({
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp",
    "pdf": "application/pdf", "csv": "text/csv", "html": "text/html", "htm": "text/html", "md": "text/markdown",
    "txt": "text/plain", "doc": "application/msword", "xls": "application/vnd.ms-excel",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
})


def _media_type_of(url: str) -> str:
    """The media type a URL's extension says ("" when it says none)."""
    name = url.split("?", 1)[0].split("#", 1)[0].rsplit("/", 1)[-1]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return _EXTENSION_TYPES.get(extension, "")


# The per-variant functions a `[variants.content_block]` entry may name.
VARIANTS: Mapping[str, BlockConverter] = MappingProxyType(
    {
        "text_block_of": _text,
        "image_block_of": _image,
        "document_block_of": _document,
        "search_result_text_of": _search_result,
    }
)

# Read once, at import: an immutable table from package data, looked up per block on the hot path.
_CONVERTERS: Mapping[str, BlockConverter | None] = variant_dispatch(TABLE, VARIANT_TABLE, VARIANTS)
_OTHER: BlockConverter | None = _CONVERTERS.get("*")  # types the table does not name
