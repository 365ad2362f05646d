"""Offline estimate of a request's Anthropic input tokens.

`POST /v1/messages/count_tokens` must answer when the route's target has no native endpoint, and
routing (`min-input-tokens`, long-context targets) uses the same number, so it is computed here
without network access, deterministically, and in under 2 ms for an 80 KB Claude Code request
(the cost is a few C-level passes over the request's text bytes).

    count_input_tokens(request)
      = (estimate_text_tokens(request_text(request))    system, messages, tool definitions
         + fixed overheads)                             per message, system, tool-use prompt
        * model's tokenizer scale                       1.3 for the newer tokenizer (Opus 4.7+)
      + image and PDF tokens                            by pixel size / page count

What is text: system (string or blocks); every message's text, thinking, redacted_thinking data,
tool_use name and JSON input, tool_result content (string or blocks, recursively), document text;
each tool's name, description and JSON input_schema. Blocks of a type not known here count by the
string values they carry (opaque fields such as signatures and encrypted content excluded), so a
new block type costs roughly what it says instead of crashing or counting zero.

`request_text` is public so that tests/bench/token_accuracy.py measures the estimator on exactly
the text that `count_input_tokens` estimates. The constants are calibrated against the tokenizer
Anthropic published (the `anthropic` SDK's `tokenizer.json`, up to 0.34) and Anthropic's documented
examples; the benchmark prints the error table.
"""

from __future__ import annotations

import binascii
import math
import re
from dataclasses import dataclass, field
from typing import Any

import msgspec

from router.hub.messages import (
    NO_DESCRIPTION,
    NO_SCHEMA,
    Block,
    CountTokensRequest,
    MessagesRequest,
)

__all__ = [
    "HIGH_RES",
    "STANDARD",
    "ModelProfile",
    "count_input_tokens",
    "estimate_text_tokens",
    "image_size",
    "image_tokens",
    "pdf_pages",
    "profile_for",
    "request_text",
]

# --- text --------------------------------------------------------------------------------------
# One translation table per character class: `bytes.translate` maps every byte of the UTF-8 text
# to a class letter in one C pass, and `bytes.count` then counts class transitions (where a token
# starts) in another. Counting "-a" on a two-letter alphabet counts runs exactly, because that
# needle cannot overlap itself.


def _class_table(members: frozenset[int], mark: str) -> bytes:
    return bytes(ord(mark) if i in members else ord("-") for i in range(256))


_UPPER = frozenset(range(ord("A"), ord("Z") + 1))
_LOWER = frozenset(range(ord("a"), ord("z") + 1))
_DIGITS = frozenset(range(ord("0"), ord("9") + 1))
_PUNCT = frozenset(range(33, 127)) - _UPPER - _LOWER - _DIGITS

_LETTERS_TABLE = _class_table(_UPPER | _LOWER, "a")
_DIGITS_TABLE = _class_table(_DIGITS, "0")
_PUNCT_TABLE = _class_table(_PUNCT, "p")
# lower-case letters "a", upper-case "A": "aA" is a camelCase hump, which splits a token
_CASE_TABLE = bytes(ord("a") if i in _LOWER else ord("A") if i in _UPPER else ord("-") for i in range(256))


def _lead_class(byte: int) -> int:
    """UTF-8 lead byte -> its character's class: 2-byte (Latin accents, Greek, Cyrillic, Hebrew,
    Arabic), 3-byte (CJK, kana, most symbols), "h" for U+A000-U+DFFF (mostly Hangul syllables,
    which Claude's tokenizer splits finer than Chinese), 4-byte (emoji, rare CJK)."""
    if 0xC0 <= byte <= 0xDF:
        return ord("2")
    if 0xEA <= byte <= 0xED:
        return ord("h")
    if 0xE0 <= byte <= 0xEF:
        return ord("3")
    if 0xF0 <= byte <= 0xF7:
        return ord("4")
    return ord("-")


_LEAD_TABLE = bytes(_lead_class(i) for i in range(256))
_NOT_LEAD = bytes(i for i in range(256) if _lead_class(i) == ord("-"))

# Weights: least-squares fit (then rounded) of Claude's published tokenizer's counts on the
# segments of the Claude Code fixtures, English prose, Python, JSON, shell output, Markdown and C,
# checked on held-out files (tests/bench/token_accuracy.py prints the resulting error table).
WORD = 0.93  # a run of ASCII letters is about one token ...
LONG_WORD_PIECE = 0.32  # ... plus a third of one per six letters: rare long words split
CAMEL_HUMP = 0.85  # "getWeather": lower->upper starts a new token
DIGIT_RUN = 1.4  # short numbers are one token, long ones split ('600000' is '6' '00000')
PUNCT_RUN = 1.07  # punctuation merges ('":{"' is one token) but rarely with letters
NEWLINE = 0.85  # newlines merge with following indentation but not with each other
# Non-ASCII characters by UTF-8 length; 1 token per CJK character is the usual rule of thumb,
# measured here between 0.8 (modern Chinese prose) and 1.3 (traditional Chinese, Japanese).
NON_ASCII_WEIGHTS = ((b"2", 0.5), (b"3", 1.0), (b"h", 1.7), (b"4", 1.5))  # classes of _lead_class


def estimate_text_tokens(text: str | bytes) -> int:
    """Claude tokens in `text`, estimated from character classes, never by tokenizing.

    Claude's byte-level BPE starts a token at each run of ASCII letters, digits or punctuation (a
    single space rides on the next word, so spaces are free) and splits further at long words,
    camelCase humps and newlines, so we count those runs with one `bytes.translate` and one
    `bytes.count` per class. Non-ASCII characters cost by their UTF-8 length: half a token for
    accented Latin, Greek or Cyrillic, one for CJK. The weights are least-squares fits against
    Claude's published tokenizer; tests/bench/token_accuracy.py prints the error per prompt.
    """
    return round(_text_estimate(text.encode() if isinstance(text, str) else text))


def _text_estimate(data: bytes) -> float:
    letters = data.translate(_LETTERS_TABLE)
    digits = data.translate(_DIGITS_TABLE)
    punct = data.translate(_PUNCT_TABLE)
    estimate = (
        WORD * _runs(letters, b"a")
        + LONG_WORD_PIECE * letters.count(b"aaaaaa")
        + CAMEL_HUMP * data.translate(_CASE_TABLE).count(b"aA")
        + DIGIT_RUN * _runs(digits, b"0")
        + PUNCT_RUN * _runs(punct, b"p")
        + NEWLINE * data.count(b"\n")
    )
    if not data.isascii():
        estimate += _non_ascii_estimate(data)
    return estimate


def _runs(classes: bytes, mark: bytes) -> int:
    """Runs of `mark` in a two-letter string: the "-x" transitions, plus one if it starts with x."""
    return classes.count(b"-" + mark) + classes.startswith(mark)


def _non_ascii_estimate(data: bytes) -> float:
    leads = data.translate(_LEAD_TABLE, _NOT_LEAD)  # one class letter per non-ASCII character
    return sum(weight * leads.count(mark) for mark, weight in NON_ASCII_WEIGHTS)


# --- models ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelProfile:
    """What differs between Claude generations for counting: the tokenizer and the image limits.

    `text_scale` multiplies the estimate (calibrated on the published tokenizer); images are scaled
    down until the long edge is <= `image_long_edge` and they cost <= `image_max_tokens`."""

    name: str
    text_scale: float
    image_long_edge: int
    image_max_tokens: int


# Claude 3 and 4 up to Opus 4.6 / Sonnet 4.6 / Haiku 4.5: images up to 1568 px on the long edge
# and "~1,600 tokens" (Anthropic's vision guide; its largest listed size, 1092x1092, is 1590).
STANDARD = ModelProfile("standard", text_scale=1.0, image_long_edge=1568, image_max_tokens=1600)
# Opus 4.7 and later, and the 5 generation: a newer tokenizer that Anthropic says yields "about 30%
# more tokens" for the same text, and high-resolution images (2576 px, up to 4784 tokens).
HIGH_RES = ModelProfile("high-res", text_scale=1.3, image_long_edge=2576, image_max_tokens=4784)

# claude-opus-4-7, claude-opus-4-8 (not -4-20250514), claude-sonnet-5, claude-fable-5-..., any
# later major version, claude-mythos-*; also with provider prefixes (anthropic.claude-..., .../claude-...).
_NEWER_TOKENIZER = re.compile(r"claude-(?:mythos|opus-4[-.](?:[7-9]|\d\d)(?!\d)|[a-z]+-(?:[5-9]|\d\d)(?!\d))")


def profile_for(model: str) -> ModelProfile:
    """The counting profile of a model name; unknown names count as the standard generation."""
    return HIGH_RES if _NEWER_TOKENIZER.search(model) else STANDARD


# --- images ------------------------------------------------------------------------------------

PIXELS_PER_TOKEN = 750  # Anthropic: tokens = width * height / 750


def image_tokens(width: int, height: int, profile: ModelProfile = STANDARD) -> int:
    """Tokens of a width x height image after Anthropic's downscaling (long edge, then token cap)."""
    scale = min(1.0, profile.image_long_edge / max(width, height))
    pixels = (width * scale) * (height * scale)
    return min(profile.image_max_tokens, max(1, math.ceil(pixels / PIXELS_PER_TOKEN)))


def image_size(data: str) -> tuple[int, int] | None:
    """(width, height) from the header of a base64 PNG, JPEG, GIF or WebP; None if unreadable.

    Only the base64 characters covering the header bytes are decoded (a JPEG's markers are walked
    by decoding a few bytes at each one), never the whole image: requests can carry megabytes of
    images and counting must stay cheap. The format comes from the magic bytes, not media_type,
    which clients get wrong."""
    if data.startswith("data:"):  # tolerate a data URL
        data = data.partition(",")[2]
    head = _b64_slice(data, 0, 32)
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    if head.startswith((b"GIF87a", b"GIF89a")):
        return int.from_bytes(head[6:8], "little"), int.from_bytes(head[8:10], "little")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return _webp_size(head)
    if head.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    return None


def _b64_slice(data: str, offset: int, length: int) -> bytes:
    """Bytes [offset, offset+length) of base64 `data`, decoding only the 4-character groups that
    hold them (3 bytes per group). Line breaks inside the base64 break the arithmetic: the caller
    then sees garbage and falls back to the unknown-size cost."""
    start = offset // 3 * 4
    end = (offset + length + 2) // 3 * 4
    try:
        chunk = binascii.a2b_base64(data[start:end])
    except binascii.Error:
        return b""
    skip = offset % 3
    return chunk[skip : skip + length]


def _webp_size(head: bytes) -> tuple[int, int] | None:
    """The three WebP flavours keep the canvas size in different places of their first chunk."""
    chunk = head[12:16]
    if chunk == b"VP8X":  # extended: 24-bit (width - 1), (height - 1) at 24 and 27
        return int.from_bytes(head[24:27], "little") + 1, int.from_bytes(head[27:30], "little") + 1
    if chunk == b"VP8L" and head[20:21] == b"\x2f":  # lossless: 14-bit (width - 1), (height - 1)
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":  # lossy: 14-bit width, height at 26
        return int.from_bytes(head[26:28], "little") & 0x3FFF, int.from_bytes(head[28:30], "little") & 0x3FFF
    return None


# SOF0-SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not.
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_MAX_SEGMENTS = 64  # EXIF, ICC, XMP ... come first; a real SOF is within a handful


def _jpeg_size(data: str) -> tuple[int, int] | None:
    """Walk the JPEG segments from marker to marker, decoding 9 bytes at each, to the first SOF."""
    offset = 2
    for _ in range(_JPEG_MAX_SEGMENTS):
        head = _b64_slice(data, offset, 9)
        if len(head) < 4 or head[0] != 0xFF:
            return None
        marker = head[1]
        if marker == 0xFF:  # fill byte before a marker
            offset += 1
            continue
        if marker in _JPEG_SOF:
            return (int.from_bytes(head[7:9], "big"), int.from_bytes(head[5:7], "big")) if len(head) == 9 else None
        offset += 2 + int.from_bytes(head[2:4], "big")
    return None


# --- PDFs --------------------------------------------------------------------------------------

# Anthropic: each PDF page is its extracted text ("typically 1,500 to 3,000 tokens") plus the page
# as an image (~1,600 at the standard limits); we take the low end of the text plus the image.
PDF_PAGE_TOKENS = 3_000
PDF_BYTES_PER_PAGE = 50_000  # when pages cannot be seen (object streams, big files): a text-heavy page
# Counting page objects means decoding the whole document (about 7 ms per MB here); beyond this
# many base64 characters (~750 KB of PDF) the size alone decides, to keep counting cheap. Large
# PDFs are mostly scans, at least this many bytes a page, so the fallback errs towards more tokens.
PDF_SCAN_LIMIT = 1_000_000
_PDF_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def pdf_pages(data: str) -> int:
    """Pages of a base64 PDF: its /Type /Page objects when it is small enough to scan and they are
    not compressed away, else its size at PDF_BYTES_PER_PAGE."""
    if len(data) <= PDF_SCAN_LIMIT:
        try:
            pages = len(_PDF_PAGE.findall(binascii.a2b_base64(data)))
        except binascii.Error:
            pages = 0
        if pages:
            return pages
    return max(1, round(len(data) * 3 / 4 / PDF_BYTES_PER_PAGE))


# --- requests ----------------------------------------------------------------------------------

# Overheads Anthropic adds around the content, fitted to its token-counting guide's examples:
# system "You are a scientist" + user "Hello, Claude" (7 text tokens) counts 14 (we say 14); one
# get_weather tool + a 9-token question counts 403 = 346 (tool-use prompt) + 54 (text) + 3 (we
# say 409). A tool definition needs no constant of its own: the newlines joining its name,
# description and schema in the estimated text (~2.5 tokens) already stand for its wrapper.
PER_MESSAGE = 3  # role marker and turn separators
SYSTEM_PROMPT = 3  # the system turn's own framing, when a system prompt is given
# Anthropic's pricing page: the system prompt that enables tool use, Claude 3.7 to 4.5 (and, for
# lack of a newer figure, later models), "auto"/"none" vs "any"/"tool"; added once when tools exist.
TOOL_USE_PROMPT = 346
TOOL_USE_PROMPT_FORCED = 313

# Fields that never reach the model as text (ids, signatures, encrypted payloads, cache hints).
_OPAQUE_KEYS = frozenset(
    {
        "type",
        "id",
        "tool_use_id",
        "signature",
        "encrypted_content",
        "encrypted_index",
        "cache_control",
        "citations",
        "is_error",
        "media_type",
        "file_id",
    }
)
_encode_json = msgspec.json.Encoder().encode
# Content nested deeper than this is an attack on the stack, not a prompt: it is not walked (the
# JSON decoder allows ~1000 levels, the walk would hit Python's recursion limit before).
_MAX_DEPTH = 64


@dataclass(slots=True)
class _Tally:
    """What one request adds up to, filled by the block walk (one per call: no shared state)."""

    profile: ModelProfile
    texts: list[bytes] = field(default_factory=list)
    media: int = 0  # image and PDF tokens: not text, not scaled by the tokenizer


def count_input_tokens(request: MessagesRequest | CountTokensRequest) -> int:
    """Estimated `input_tokens` of a Messages or count_tokens request, offline and deterministic."""
    tally = _Tally(profile_for(request.model))
    _collect(request, tally)
    overhead = PER_MESSAGE * len(request.messages)
    if request.system:
        overhead += SYSTEM_PROMPT
    if request.tools:
        overhead += _tool_prompt(request)
    text = _text_estimate(b"\n".join(tally.texts))
    return round((text + overhead) * tally.profile.text_scale) + tally.media


def request_text(request: MessagesRequest | CountTokensRequest) -> bytes:
    """The request's text parts as `count_input_tokens` estimates them: UTF-8, newline-joined."""
    tally = _Tally(profile_for(request.model))
    _collect(request, tally)
    return b"\n".join(tally.texts)


def _collect(request: MessagesRequest | CountTokensRequest, tally: _Tally) -> None:
    _content(request.system, tally)
    for message in request.messages:
        _content(message.content, tally)
    for tool in request.tools or ():
        tally.texts.append(tool.name.encode())
        if tool.description != NO_DESCRIPTION:
            description = msgspec.json.decode(tool.description)  # raw JSON: escapes would count
            if isinstance(description, str) and description:
                tally.texts.append(description.encode())
        if tool.input_schema != NO_SCHEMA:
            tally.texts.append(bytes(tool.input_schema))  # the client's JSON, as sent


def _tool_prompt(request: MessagesRequest | CountTokensRequest) -> int:
    choice = getattr(request, "tool_choice", None)  # count_tokens requests carry none
    return TOOL_USE_PROMPT_FORCED if choice is not None and choice.type in ("any", "tool") else TOOL_USE_PROMPT


def _content(content: Any, tally: _Tally, depth: int = 0) -> None:
    """A string, a block or a list of them: system, message content, tool_result content, and any
    value inside a block of unknown type. Numbers, booleans and nulls cost nothing."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(content, str):
        tally.texts.append(content.encode())
    elif isinstance(content, list):
        for item in content:
            _content(item, tally, depth + 1)
    elif isinstance(content, dict):
        _block(content, tally, depth)


def _block(block: dict[str, Any], tally: _Tally, depth: int) -> None:
    kind = block.get("type")
    if kind == "text":
        _string(block.get("text"), tally)
    elif kind == "thinking":
        _string(block.get("thinking"), tally)
    elif kind == "redacted_thinking":
        _string(block.get("data"), tally)
    elif kind in ("tool_use", "server_tool_use", "mcp_tool_use"):
        _string(block.get("name"), tally)
        tally.texts.append(_encode_json(block.get("input")))
    elif kind == "tool_result":
        _content(block.get("content"), tally, depth + 1)
    elif kind == "image":
        tally.media += _image(block, tally.profile)
    elif kind == "document":
        _document(block, tally, depth)
    else:  # search_result, web_search_tool_result, whatever comes next: the strings it carries
        for key, value in block.items():
            if key not in _OPAQUE_KEYS:
                _content(value, tally, depth + 1)


def _string(value: Any, tally: _Tally) -> None:
    if isinstance(value, str):
        tally.texts.append(value.encode())


def _image(block: Block, profile: ModelProfile) -> int:
    """Base64 images by their header's pixel size; URL, file or unreadable ones at the cap."""
    source = block.get("source")
    if isinstance(source, dict) and source.get("type") == "base64" and isinstance(source.get("data"), str):
        size = image_size(source["data"])
        if size is not None and size[0] > 0 and size[1] > 0:
            return image_tokens(size[0], size[1], profile)
    return profile.image_max_tokens


def _document(block: Block, tally: _Tally, depth: int) -> None:
    """Text documents as text, content documents block by block, PDFs by pages."""
    _string(block.get("title"), tally)
    _string(block.get("context"), tally)
    source = block.get("source")
    if not isinstance(source, dict):
        return
    kind = source.get("type")
    if kind == "text":
        _string(source.get("data"), tally)
    elif kind == "content":
        _content(source.get("content"), tally, depth + 1)
    elif kind == "base64" and isinstance(source.get("data"), str):
        tally.media += PDF_PAGE_TOKENS * pdf_pages(source["data"])
    else:  # url or file: the size is not in the request
        tally.media += PDF_PAGE_TOKENS
