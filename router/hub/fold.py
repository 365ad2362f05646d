"""Hub stream events folded back into the whole hub answer they carry (the inverse of
router.hub.replay), for the response cache: a streamed answer is kept once its stream has
completed. Only streams that reach message_stop without an error fold into an answer."""

from __future__ import annotations

from typing import Any

import msgspec

_decode = msgspec.json.Decoder(dict[str, Any]).decode


class HubFolder:
    """Fed each hub event's data (JSON bytes) in order; `answer` is the whole message once the
    stream completed, else None (cut, failed, or not over yet)."""

    __slots__ = ("_json", "_message", "complete", "failed")

    def __init__(self) -> None:
        self._message: dict[str, Any] | None = None
        self._json: dict[int, list[str]] = {}  # tool input arriving as partial JSON, per block
        self.complete = False
        self.failed = False

    def feed(self, data: bytes) -> None:
        if self.failed or self.complete:
            return
        try:
            self._fold(_decode(data))
        except (msgspec.DecodeError, KeyError, IndexError, TypeError, ValueError, RecursionError):
            self.failed = True  # not a stream we can make a whole answer of: nothing is kept

    def feed_sse(self, events: bytes) -> None:
        """Hub events as our own machines write them: whole events of one `data:` line each."""
        for event in events.split(b"\n\n"):
            at = event.find(b"data: ")
            if at >= 0:
                self.feed(event[at + 6:])

    @property
    def answer(self) -> dict[str, Any] | None:
        return self._message if self.complete and not self.failed else None

    def _fold(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "message_start":
            self._message = dict(event["message"])
            self._message["content"] = []
            return
        message = self._message
        if kind in ("ping", None):
            return
        if message is None or kind == "error":
            self.failed = True
        elif kind == "content_block_start":
            content = message["content"]
            while len(content) <= event["index"]:
                content.append({})
            content[event["index"]] = dict(event["content_block"])
        elif kind == "content_block_delta":
            self._delta(message["content"][event["index"]], event["index"], event["delta"])
        elif kind == "content_block_stop":
            self._stopped(message["content"][event["index"]], event["index"])
        elif kind == "message_delta":
            message.update(event.get("delta") or {})
            message["usage"] = {**(message.get("usage") or {}), **(event.get("usage") or {})}
        elif kind == "message_stop":
            self.complete = True

    def _delta(self, block: dict[str, Any], index: int, delta: dict[str, Any]) -> None:
        kind = delta.get("type")
        if kind == "text_delta":
            block["text"] = block.get("text", "") + delta["text"]
        elif kind == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + delta["thinking"]
        elif kind == "signature_delta":
            block["signature"] = block.get("signature", "") + delta["signature"]
        elif kind == "input_json_delta":
            self._json.setdefault(index, []).append(delta["partial_json"])
        elif kind == "citations_delta":
            block.setdefault("citations", []).append(delta["citation"])
        else:
            self.failed = True  # a delta this folder does not know: the answer would be incomplete

    def _stopped(self, block: dict[str, Any], index: int) -> None:
        parts = self._json.pop(index, None)
        if parts is not None:
            joined = "".join(parts)
            block["input"] = _decode(joined.encode()) if joined else {}
