"""Gemini function names → names every hub target accepts, and back.

Gemini's `FunctionDeclaration.name` may hold letters, digits, `_`, `.`, `:` and `-` (an MCP
client declares `server.tool` or `server:tool`); the hub's tool names, and those of every
converting upstream (OpenAI Chat, Responses, Bedrock Converse's ToolName), are
`[a-zA-Z0-9_-]{1,64}`: an upstream refuses any other with a 400. So towards the hub:

- a name the hub accepts is kept as it is (the common case costs one regex match a name, and
  no table is built);
- any other: each character outside the hub's alphabet becomes `_`, cut to 64 characters;
- when that is empty, or a name already taken in the request (a name kept as it is, the
  structured-output tool `json_response`, another rewrite), the rewrite ends in `_` and the
  first 8 hex digits of the original's SHA-256 instead, its start cut so the whole fits 64.

The table is made from every function name of the request (declarations, `allowedFunctionNames`,
the history's `functionCall` and `functionResponse` parts), so the same request always converts
the same way and the declaration, the forced tool and the history's calls agree. The answer's
calls (answer.py complete_answer, stream.py) are mapped back with the same table, built from the
same request; a name the model invents that is not in it passes unchanged. Passthrough
(a Gemini upstream) never reads this module: the pair relays the client's body as it came.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import count
from types import MappingProxyType

from router.spokes.gemini.client.parts import member
from router.spokes.gemini.request_wire import GenerateContentRequest, tool_config
from router.spokes.openai.client.tools import JSON_RESPONSE_TOOL

MAX_NAME = 64  # the hub's (Anthropic's), OpenAI's and Bedrock's limit on a tool name
DIGEST_LENGTH = 8
_HUB_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_ALL_HUB_NAMES = re.compile(r"[a-zA-Z0-9_-]{1,64}(?:\n[a-zA-Z0-9_-]{1,64})*")  # names joined by "\n"
_OUTSIDE_ALPHABET = re.compile(r"[^a-zA-Z0-9_-]")
_DECLARATION_KEYS = ("functionDeclarations", "function_declarations")
_CALL_KEYS = (("functionCall", "function_call"), ("functionResponse", "function_response"))


@dataclass(frozen=True, slots=True)
class FunctionNames:
    """The request's rewritten names, both ways; a name in neither table is the same on both sides."""

    to_hub: Mapping[str, str]  # the client's name → the hub's (only names that needed a rewrite)
    to_client: Mapping[str, str]  # the hub's name → the client's

    def hub(self, name: str) -> str:
        return self.to_hub.get(name, name)

    def client(self, name: str) -> str:
        return self.to_client.get(name, name)


def is_hub_name(name: str) -> bool:
    return _HUB_NAME.fullmatch(name) is not None


def function_names(src: GenerateContentRequest) -> FunctionNames | None:
    """The request's table; None when every name is one the hub accepts."""
    names = names_in(src)
    if not names or all_hub_names(names):
        return None
    to_hub = rewrites(names)
    return FunctionNames(MappingProxyType(to_hub), MappingProxyType({hub: name for name, hub in to_hub.items()}))


def all_hub_names(names: list[str]) -> bool:
    """One regex match for all the names, joined by a newline (a name holding one is no hub name:
    the count of newlines tells it)."""
    joined = "\n".join(names)
    return _ALL_HUB_NAMES.fullmatch(joined) is not None and joined.count("\n") == len(names) - 1


def rewrites(names: list[str]) -> dict[str, str]:
    """Each name the hub refuses → its rewrite (the module docstring's rule), unique among the
    names kept and the other rewrites."""
    invalid = sorted({name for name in names if not _HUB_NAME.fullmatch(name)})
    taken = {name for name in names if _HUB_NAME.fullmatch(name)}
    taken.add(JSON_RESPONSE_TOOL)
    plain = {name: _OUTSIDE_ALPHABET.sub("_", name)[:MAX_NAME] for name in invalid}
    shared = Counter(plain.values())
    out: dict[str, str] = {}
    for name in invalid:
        rewrite = plain[name]
        if not rewrite or rewrite in taken or shared[rewrite] > 1:
            rewrite = suffixed(name, rewrite, taken)
        taken.add(rewrite)
        out[name] = rewrite
    return out


def suffixed(name: str, plain: str, taken: set[str]) -> str:
    """`<plain, cut>_<8 hex digits of the name's SHA-256>`; salted in the (astronomically rare)
    case that this too is taken."""
    head = plain[:MAX_NAME - DIGEST_LENGTH - 1]
    for attempt in count():
        salted = f"{name}#{attempt}" if attempt else name
        candidate = f"{head}_{hashlib.sha256(salted.encode()).hexdigest()[:DIGEST_LENGTH]}"
        if candidate not in taken:
            return candidate
    raise AssertionError("unreachable")  # count() never ends


def names_in(src: GenerateContentRequest) -> list[str]:
    """Every function name the request holds (string ones: the converters refuse the others,
    naming the field). One plain loop: it runs for every converted request."""
    names: list[str] = []
    for tool in src.tools or ():
        declarations = member(tool, *_DECLARATION_KEYS) if type(tool) is dict else None
        if type(declarations) is list:
            for declaration in declarations:
                name = declaration.get("name") if type(declaration) is dict else None
                if type(name) is str:
                    names.append(name)
    config = tool_config(src)
    calling = config.function_calling_config if config is not None else None
    if calling is not None and calling.allowed_function_names:
        names.extend(calling.allowed_function_names)
    for content in src.contents:
        parts = content.get("parts") if type(content) is dict else None
        if type(parts) is list:
            for part in parts:
                if type(part) is dict:
                    _add_call_names(part, names)
    return names


def _add_call_names(part: dict[str, object], names: list[str]) -> None:
    for camel, snake in _CALL_KEYS:
        call = part.get(camel) or part.get(snake)
        name = call.get("name") if type(call) is dict else None
        if type(name) is str:
            names.append(name)
