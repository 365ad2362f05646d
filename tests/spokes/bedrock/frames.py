"""AWS event-stream frames, encoded: what a Bedrock mock answers ConverseStream and
InvokeModelWithResponseStream with (tests/spokes/bedrock/test_eventstream.py decodes them back
with botocore's parser to prove the encoding).

The format, as botocore/eventstream.py reads it (all integers big-endian):

    prelude   total length u32 (the whole frame), headers length u32, CRC32 of those 8 bytes
    headers   each: name length u8, name (UTF-8), value type u8 (7 = string), length u16, value
    payload   the rest, up to
    CRC32     of everything before it (prelude and its CRC included)
"""

from __future__ import annotations

import base64
import json
import struct
from binascii import crc32
from typing import Any

_STRING = 7  # botocore's EventStreamHeaderParser type tags: 7 is a UTF-8 string


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One frame with string headers (all Bedrock's headers are strings)."""
    encoded = b"".join(_header(name, value) for name, value in headers.items())
    total = 12 + len(encoded) + len(payload) + 4
    lengths = struct.pack("!II", total, len(encoded))
    prelude = lengths + struct.pack("!I", crc32(lengths) & 0xFFFFFFFF)
    message = prelude + encoded + payload
    return message + struct.pack("!I", crc32(message) & 0xFFFFFFFF)


def _header(name: str, value: str) -> bytes:
    name_bytes, value_bytes = name.encode(), value.encode()
    return (struct.pack("!B", len(name_bytes)) + name_bytes + struct.pack("!BH", _STRING, len(value_bytes))
            + value_bytes)


def event_frame(event_type: str, payload: dict[str, Any]) -> bytes:
    """An event (ConverseStream's messageStart ... metadata), its payload compact JSON as AWS sends it."""
    return frame({":event-type": event_type, ":content-type": "application/json", ":message-type": "event"},
                 _json(payload))


def exception_frame(exception_type: str, message: str) -> bytes:
    """An exception inside the stream (`throttlingException`, `modelStreamErrorException` ...)."""
    return frame({":exception-type": exception_type, ":content-type": "application/json",
                  ":message-type": "exception"}, _json({"message": message}))


def chunk_frame(anthropic_event: dict[str, Any]) -> bytes:
    """InvokeModelWithResponseStream's `chunk`: one Anthropic stream event, base64 in `bytes`."""
    return event_frame("chunk", {"bytes": base64.b64encode(_json(anthropic_event)).decode()})


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
