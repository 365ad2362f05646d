"""router.hub.tokens: the offline input-token estimate behind count_tokens and long-context routing.

Accuracy against Claude's tokenizer is measured by tests/bench/token_accuracy.py; these tests pin
the behaviour: what is counted, how images and documents cost, and that nothing crashes.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from router.hub import tokens
from router.hub.messages import (
    CountTokensRequest,
    Message,
    MessagesRequest,
    request_from_python,
)
from router.hub.tokens import (
    HIGH_RES,
    STANDARD,
    count_input_tokens,
    estimate_text_tokens,
    image_size,
    image_tokens,
    pdf_pages,
    profile_for,
    request_text,
)
from tests.conftest import FIXTURES

FIXTURE_FILES = sorted((FIXTURES / "claude-code").glob("*/*.json"))
MODEL = "claude-sonnet-4-5"  # standard profile: text scale 1.0, 1568 px images

PROSE = (
    "The harbour town woke slowly that autumn. Fishing boats came in later than they used to, "
    "and the men who steered them talked less at the quay. Nobody could say when it had started.\n"
)


def request(messages: list[dict[str, Any]], model: str = MODEL, **fields: Any) -> MessagesRequest:
    return request_from_python({"model": model, "messages": messages, **fields}, MessagesRequest)


def user(*blocks: dict[str, Any]) -> MessagesRequest:
    return request([{"role": "user", "content": list(blocks)}])


def cost(*blocks: dict[str, Any]) -> int:
    """What the blocks add to a one-message request beyond an empty text block."""
    return count_input_tokens(user(*blocks)) - count_input_tokens(user({"type": "text", "text": ""}))


# --- images built here, headers and all ----------------------------------------------------------


def png(width: int, height: int) -> bytes:
    """A complete, valid grayscale PNG (all black)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + bytes(width) for _ in range(height)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def jpeg(width: int, height: int, *, exif: int = 0, sof: int = 0xC0) -> bytes:
    """A baseline (or, with sof=0xC2, progressive) JPEG header: JFIF, an optional EXIF segment of
    `exif` bytes before the frame header, DQT, SOF, DHT, SOS, EOI."""

    def segment(marker: int, payload: bytes) -> bytes:
        return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload

    parts = [b"\xff\xd8", segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")]
    if exif:
        parts.append(segment(0xE1, b"Exif\x00\x00" + bytes(exif)))
    parts.append(segment(0xDB, b"\x00" + bytes(range(64))))
    parts.append(segment(sof, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00"))
    parts.append(segment(0xC4, b"\x00" + bytes(16) + b"\x00"))
    parts.append(segment(0xDA, b"\x01\x01\x00\x00\x3f\x00") + b"\x00\xff\xd9")
    return b"".join(parts)


def gif(width: int, height: int) -> bytes:
    """A 1-colour GIF89a with one empty image."""
    screen = struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return b"GIF89a" + screen + image + b"\x3b"


def riff(chunk: bytes, payload: bytes) -> bytes:
    body = b"WEBP" + chunk + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_lossy(width: int, height: int) -> bytes:
    return riff(b"VP8 ", b"\x10\x02\x00" + b"\x9d\x01\x2a" + struct.pack("<HH", width, height) + bytes(8))


def webp_lossless(width: int, height: int) -> bytes:
    return riff(b"VP8L", b"\x2f" + struct.pack("<I", (width - 1) | (height - 1) << 14) + bytes(8))


def webp_extended(width: int, height: int) -> bytes:
    sizes = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return riff(b"VP8X", b"\x10\x00\x00\x00" + sizes)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def image_block(data: bytes, media_type: str = "image/png") -> dict[str, Any]:
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": b64(data)}}


# --- text ----------------------------------------------------------------------------------------


def test_empty_text_is_free() -> None:
    assert estimate_text_tokens("") == 0
    assert estimate_text_tokens(b"") == 0


def test_str_and_utf8_bytes_agree() -> None:
    text = PROSE + "中文 Ελληνικά 😀"
    assert estimate_text_tokens(text) == estimate_text_tokens(text.encode())


def test_monotonic_in_text_length() -> None:
    text = PROSE + '{"key": [1, 2, 3], "camelCase": "naïve café 東京"}\n    def f(x): return x\n'
    estimates = [estimate_text_tokens(text[:end]) for end in range(len(text) + 1)]
    assert estimates == sorted(estimates)
    repeated = [estimate_text_tokens(PROSE * n) for n in (1, 2, 4, 8)]
    assert repeated == sorted(repeated)
    assert repeated[3] == pytest.approx(8 * repeated[0], rel=0.02)


@pytest.mark.parametrize(
    ("text", "low", "high"),  # the published tokenizer says: 2, 10, 9, 13, 11, 4, 15
    [
        ("hello world", 2, 2),
        ("The quick brown fox jumps over the lazy dog.", 9, 11),
        ('{"type":"object","properties":{}}', 8, 11),  # JSON syntax costs more than len/4 (8)
        ("東京都の天気は晴れです", 10, 14),  # CJK: about one token per character
        ("Маршрутизатор читает файл", 9, 14),  # Cyrillic: about half a token per letter
        ("getWeatherForecast", 3, 5),  # camelCase humps split
        ("2025-03-14T09:26:53.589Z", 12, 18),  # digit groups and separators
    ],
)
def test_character_classes(text: str, low: int, high: int) -> None:
    assert low <= estimate_text_tokens(text) <= high


def test_bigger_than_len_over_4_for_cjk_and_json() -> None:
    cjk = "路由器负责把客户端的请求转发到合适的上游服务" * 10
    assert estimate_text_tokens(cjk) >= 0.8 * len(cjk)
    data = json.dumps([{"id": i, "ok": True} for i in range(50)])
    assert estimate_text_tokens(data) > len(data) / 4


# --- requests ------------------------------------------------------------------------------------


def test_anthropic_documented_examples() -> None:
    """The token-counting guide: 14 for a system prompt and one message; 403 with one tool."""
    plain = request([{"role": "user", "content": "Hello, Claude"}], system="You are a scientist")
    assert count_input_tokens(plain) == pytest.approx(14, abs=1)
    weather = {
        "name": "get_weather",
        "description": "Get the current weather in a given location",
        "input_schema": {
            "type": "object",
            "properties": {"location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"}},
            "required": ["location"],
        },
    }
    with_tool = request([{"role": "user", "content": "What's the weather like in San Francisco?"}], tools=[weather])
    assert count_input_tokens(with_tool) == pytest.approx(403, rel=0.03)


def test_count_tokens_and_messages_requests_agree() -> None:
    body = {"model": MODEL, "system": "Be brief.", "messages": [{"role": "user", "content": PROSE}]}
    assert count_input_tokens(request_from_python(body, CountTokensRequest)) == count_input_tokens(
        request_from_python(body, MessagesRequest)
    )


def test_deterministic() -> None:
    body = json.loads(FIXTURE_FILES[0].read_text())["body"]
    counts = {count_input_tokens(request_from_python(body, MessagesRequest)) for _ in range(3)}
    assert len(counts) == 1


def test_system_string_and_blocks_count_alike() -> None:
    as_string = request([{"role": "user", "content": "hi"}], system=PROSE)
    as_blocks = request([{"role": "user", "content": "hi"}], system=[{"type": "text", "text": PROSE}])
    assert count_input_tokens(as_string) == count_input_tokens(as_blocks)
    bare = request([{"role": "user", "content": "hi"}])
    assert count_input_tokens(as_string) - count_input_tokens(bare) >= estimate_text_tokens(PROSE)


def test_every_message_counts() -> None:
    one = request([{"role": "user", "content": PROSE}])
    two = request([{"role": "user", "content": PROSE}, {"role": "assistant", "content": PROSE}])
    assert count_input_tokens(two) - count_input_tokens(one) >= estimate_text_tokens(PROSE) + tokens.PER_MESSAGE


def test_tools_are_counted() -> None:
    schema = {"type": "object", "properties": {"path": {"type": "string", "description": "File to read"}}}
    read = {"name": "Read", "description": PROSE, "input_schema": schema}
    write = {"name": "Write", "description": "Write a file.", "input_schema": schema}
    messages = [{"role": "user", "content": "hi"}]
    none = count_input_tokens(request(messages))
    one = count_input_tokens(request(messages, tools=[read]))
    two = count_input_tokens(request(messages, tools=[read, write]))
    schema_text = json.dumps(schema, separators=(",", ":"))  # compact, as sent to the estimator
    assert one - none >= tokens.TOOL_USE_PROMPT + estimate_text_tokens(PROSE) + estimate_text_tokens(schema_text)
    assert two - one >= estimate_text_tokens("Write a file.") + estimate_text_tokens(schema_text)


def test_forced_tool_choice_has_the_shorter_prompt() -> None:
    messages = [{"role": "user", "content": "hi"}]
    tools = [{"name": "Read", "input_schema": {"type": "object"}}]
    auto = count_input_tokens(request(messages, tools=tools))
    forced = count_input_tokens(request(messages, tools=tools, tool_choice={"type": "tool", "name": "Read"}))
    assert auto - forced == tokens.TOOL_USE_PROMPT - tokens.TOOL_USE_PROMPT_FORCED


def test_tool_use_counts_name_and_json_input() -> None:
    tool_input = {"command": "ls -la ./src", "description": "List the files"}
    added = cost({"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": tool_input})
    assert added >= estimate_text_tokens(json.dumps(tool_input, separators=(",", ":")))


def test_tool_result_string_and_nested_blocks() -> None:
    as_string = cost({"type": "tool_result", "tool_use_id": "toolu_1", "content": PROSE})
    assert as_string >= estimate_text_tokens(PROSE)
    nested = cost(
        {
            "type": "tool_result",
            "tool_use_id": "toolu_1",
            "content": [
                {"type": "text", "text": PROSE},
                {"type": "text", "text": PROSE},
                image_block(png(300, 150)),
            ],
        }
    )
    assert nested >= 2 * estimate_text_tokens(PROSE) + image_tokens(300, 150)
    empty = cost({"type": "tool_result", "tool_use_id": "toolu_1", "content": []})
    assert empty <= 1


def test_thinking_and_redacted_thinking_are_counted() -> None:
    thinking = cost({"type": "thinking", "thinking": PROSE, "signature": "c2lnbmF0dXJl" * 50})
    assert estimate_text_tokens(PROSE) <= thinking <= estimate_text_tokens(PROSE) + 2  # not the signature
    redacted = cost({"type": "redacted_thinking", "data": "RXJyb3IgYmxvY2sgZGF0YQ==" * 20})
    assert redacted >= 100


TWO_PAGE_PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >> endobj\n"
    b"2 0 obj << /Type /Page /Parent 1 0 R >> endobj\n3 0 obj << /Type/Page /Parent 1 0 R >> endobj\n%%EOF\n"
)


def test_documents() -> None:
    plain = {"type": "text", "media_type": "text/plain", "data": PROSE}
    assert cost({"type": "document", "title": "Notes", "source": plain}) >= estimate_text_tokens(PROSE) + 1
    blocks = {"type": "content", "content": [{"type": "text", "text": PROSE}]}
    assert cost({"type": "document", "source": blocks}) >= estimate_text_tokens(PROSE)
    assert pdf_pages(b64(TWO_PAGE_PDF)) == 2
    pdf = {"type": "base64", "media_type": "application/pdf", "data": b64(TWO_PAGE_PDF)}
    assert cost({"type": "document", "source": pdf}) == 2 * tokens.PDF_PAGE_TOKENS
    url = {"type": "url", "url": "https://example.com/a.pdf"}
    assert cost({"type": "document", "source": url}) == tokens.PDF_PAGE_TOKENS


def test_pdf_without_visible_pages_counts_by_size() -> None:
    compressed = b"%PDF-1.7\n" + bytes(range(256)) * 800  # ~200 KB, page objects in object streams
    assert pdf_pages(b64(compressed)) == 4
    huge = b64(TWO_PAGE_PDF) + "A" * tokens.PDF_SCAN_LIMIT  # too big to scan: by size, ~750 KB
    assert pdf_pages(huge) == 15
    assert pdf_pages("%%%") == 1


def test_unknown_blocks_and_odd_shapes_do_not_crash() -> None:
    odd = request(
        [
            {
                "role": "user",
                "content": [
                    {"type": "future_block", "payload": {"words": ["alpha", "beta"], "n": 3, "none": None}},
                    {"no_type": True, "text": "orphan"},
                    {
                        "type": "web_search_tool_result",
                        "tool_use_id": "srvtoolu_1",
                        "content": [
                            {
                                "type": "web_search_result",
                                "title": "Result",
                                "url": "https://example.com",
                                "encrypted_content": "ZW5jcnlwdGVk" * 100,
                            }
                        ],
                    },
                    {
                        "type": "search_result",
                        "title": "Doc",
                        "source": "https://example.com",
                        "content": [{"type": "text", "text": PROSE}],
                    },
                    {"type": "image"},
                    {"type": "image", "source": None},
                    {"type": "document"},
                    {"type": "tool_use", "name": "Bash", "input": None},
                    {"type": "tool_result", "content": None},
                    {"type": "text", "text": None},
                    {"type": "thinking"},
                ],
            },
            {"role": "assistant", "content": []},
            {"role": "system", "content": "A system message inside messages, as Claude Code sends."},
        ]
    )
    total = count_input_tokens(odd)
    assert total > estimate_text_tokens(PROSE) + 2 * STANDARD.image_max_tokens
    assert b"alpha" in request_text(odd) and b"orphan" in request_text(odd)
    assert b"ZW5jcnlwdGVk" not in request_text(odd)  # encrypted content is opaque, not text


def test_hostile_nesting_does_not_crash() -> None:
    nested: Any = "deep"
    for _ in range(5_000):  # deeper than any recursion limit
        nested = {"type": "x", "v": [nested]}
    deep = MessagesRequest(model=MODEL, messages=[Message(role="user", content=[nested])])
    assert count_input_tokens(deep) == tokens.PER_MESSAGE  # too deep to be a prompt: not walked


# --- images --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [png, jpeg, gif, webp_lossy, webp_lossless, webp_extended, lambda w, h: jpeg(w, h, exif=20_000, sof=0xC2)],
    ids=["png", "jpeg", "gif", "webp-vp8", "webp-vp8l", "webp-vp8x", "jpeg-exif-progressive"],
)
def test_image_size_from_header(make: Any) -> None:
    assert image_size(b64(make(640, 480))) == (640, 480)
    assert image_size(b64(make(37, 1201))) == (37, 1201)


def test_image_size_decodes_only_the_header(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[int] = []
    real = binascii.a2b_base64

    def spy(data: str | bytes) -> bytes:
        decoded.append(len(data))
        return real(data)

    monkeypatch.setattr(binascii, "a2b_base64", spy)
    big = b64(png(2000, 1000)) + "A" * 4_000_000
    assert image_size(big) == (2000, 1000)
    assert max(decoded) <= 64
    decoded.clear()
    assert image_size(b64(jpeg(800, 600, exif=60_000))) == (800, 600)
    assert max(decoded) <= 44 and sum(decoded) <= 120  # 32 header bytes, then 9 per marker


def test_image_size_unreadable() -> None:
    assert image_size("") is None
    assert image_size("not base64 at all!") is None
    assert image_size(b64(b"BM" + bytes(64))) is None  # BMP: not a format Anthropic accepts
    assert image_size(b64(b"\xff\xd8\xff\xe0\x00")) is None  # truncated JPEG
    assert image_size("data:image/png;base64," + b64(png(10, 20))) == (10, 20)


@pytest.mark.parametrize(
    ("size", "profile", "expected"),
    [
        ((200, 150), STANDARD, 40),  # 30,000 px / 750
        ((1, 1), STANDARD, 1),
        ((1092, 1092), STANDARD, 1590),  # Anthropic's table: the largest 1:1 size that is not scaled
        ((784, 1568), STANDARD, 1600),  # 1,639 by area: at the cap
        ((3000, 2000), STANDARD, 1600),  # long edge to 1568, then the ~1,600-token cap
        ((1920, 1080), HIGH_RES, 2765),  # within 2576 px: unscaled
        ((8000, 8000), HIGH_RES, 4784),
    ],
)
def test_image_tokens(size: tuple[int, int], profile: tokens.ModelProfile, expected: int) -> None:
    assert image_tokens(*size, profile) == expected


def test_images_in_requests_cost_by_dimensions() -> None:
    assert cost(image_block(png(200, 150))) == 40
    assert cost(image_block(jpeg(600, 400), "image/jpeg")) == 320
    assert cost(image_block(gif(300, 300), "image/gif")) == 120
    assert cost(image_block(webp_lossy(1500, 1500), "image/webp")) == 1600
    small, large = cost(image_block(png(100, 100))), cost(image_block(png(1000, 1000)))
    assert small < large


def test_url_file_and_unreadable_images_cost_the_cap() -> None:
    url = {"type": "image", "source": {"type": "url", "url": "https://example.com/ant.jpg"}}
    assert cost(url) == STANDARD.image_max_tokens == 1600
    assert cost({"type": "image", "source": {"type": "file", "file_id": "file_1"}}) == 1600
    garbage = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "%%%%"}}
    assert cost(garbage) == 1600
    high_res = request([{"role": "user", "content": [url]}], model="claude-opus-4-8")
    text_only = request([{"role": "user", "content": []}], model="claude-opus-4-8")
    assert count_input_tokens(high_res) - count_input_tokens(text_only) == HIGH_RES.image_max_tokens


# --- models --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "profile"),
    [
        ("claude-opus-4-8", HIGH_RES),
        ("claude-opus-4-7", HIGH_RES),
        ("claude-sonnet-5", HIGH_RES),
        ("claude-opus-5-20270101", HIGH_RES),
        ("claude-mythos-preview", HIGH_RES),
        ("anthropic.claude-opus-4-7-v1:0", HIGH_RES),
        ("claude-opus-4-6", STANDARD),
        ("claude-opus-4-20250514", STANDARD),
        ("claude-sonnet-4-5-20250929", STANDARD),
        ("claude-haiku-4-5", STANDARD),
        ("claude-3-5-sonnet-20241022", STANDARD),
        ("gpt-4o", STANDARD),
        ("demo", STANDARD),
    ],
)
def test_profile_for(model: str, profile: tokens.ModelProfile) -> None:
    assert profile_for(model) is profile


def test_newer_tokenizer_scales_text_not_images() -> None:
    messages = [{"role": "user", "content": [{"type": "text", "text": PROSE * 20}, image_block(png(200, 150))]}]
    old = count_input_tokens(request(messages, model="claude-opus-4-6"))
    new = count_input_tokens(request(messages, model="claude-opus-4-7"))
    assert new - 40 == pytest.approx((old - 40) * HIGH_RES.text_scale, abs=1.5)


# --- the real thing ------------------------------------------------------------------------------


def test_fixtures_present() -> None:
    assert len(FIXTURE_FILES) >= 6, f"Claude Code fixtures missing under {FIXTURES}"


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: f"{p.parent.name}/{p.stem.split('-')[0]}")
def test_fixture_counts_are_plausible(path: Path) -> None:
    """Claude Code requests: 3 or 24 tools, a system prompt, a few messages, for claude-opus-4-8
    (the newer tokenizer). Their text is about 4 bytes a token on the published tokenizer."""
    req = request_from_python(json.loads(path.read_text())["body"], MessagesRequest)
    count = count_input_tokens(req)
    low, high = (800, 3_000) if path.parent.name == "plain-bare" else (18_000, 32_000)
    assert low <= count <= high
    text_tokens = count / HIGH_RES.text_scale - tokens.TOOL_USE_PROMPT
    assert 3.5 < len(request_text(req)) / text_tokens < 4.5


def test_fixture_tool_turn_text() -> None:
    """The second request of the tool case: thinking, tool_use input and tool_result are text;
    signatures, ids and cache hints are not."""
    body = json.loads((FIXTURES / "claude-code" / "tool" / "0002-anthropic_messages_stream.json").read_text())["body"]
    text = request_text(request_from_python(body, MessagesRequest))
    assert b"Thinking about it." in text
    assert b'{"command":"echo hi","description":"Print hi"}' in text
    assert b'"Print hi"}\nhi\n' in text  # the tool_result content, a plain string
    for plumbing in (b"toolu_fake_0001", b"ZmFrZXNlcnZlci1zaWduYXR1cmUtMQ==", b"ephemeral", b"tool_result"):
        assert plumbing not in text
