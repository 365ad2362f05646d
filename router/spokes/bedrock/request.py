"""Anthropic Messages request → Bedrock Converse request: the structural parts the field table
(schemas/bedrock.upstream.toml, [request]) calls. The model and streaming are in the URL
(router.spokes.bedrock.endpoint), not the body.

Converse is close to the hub, block for block, with its own spelling and rules:
- `system` is a list of text blocks; a block's `cache_control` becomes a `cachePoint` after it
  (on messages and tools too; its `ttl` when it is one of Converse's, 5m or 1h), for the model
  families that cache (Claude, Nova) or when the route says `supports.cache-control`.
- turns alternate user / assistant (consecutive turns of a role are merged; a role:"system"
  message mid-conversation stays where it was said, as the user's words); blank text is left out.
- the conversation starts with a user turn: a history that opens with the assistant (an OpenAI
  client's greeting after its system message) gets a user turn of "." before it. A last
  assistant turn (a prefill) stays last: Claude continues it.
- a user turn with a document and no text gets a short text naming its documents after them
  (Bedrock: "A text block must be included when using documents").
- tool_use → `toolUse` {toolUseId, name, input}, tool_result → `toolResult` {toolUseId, content,
  status}; ids are kept to Converse's alphabet the same way on both, so they still match. Only
  Claude and Nova take `status`: for other families a failed result's text starts "Error: ".
  Tool names are not rewritten: Converse's alphabet for them is Anthropic's (at most 64 long).
- thinking goes back as `reasoningContent` with its signature, when it has one Bedrock can have
  issued (an Anthropic signature: no `<spoke>:` tag of another upstream); redacted_thinking as
  `redactedContent`. A thinking block without such a signature is left out.
- Converse requires `toolConfig` whenever the history holds toolUse or toolResult blocks, even
  with no tools in this request: the tools the history names are declared then, schema-less.
- tool_choice none has no Converse form: the request's tools are left out then (the model cannot
  call what it is not given), except the ones the history needs declared. `any` and `tool` only
  for the families that take them (models.tool_choices): Mistral Large's `tool` becomes `any`,
  and other families get no toolChoice (Converse's default, auto); `dropped_for_family` names
  what was lost.
Sampling and the token limit go in `inferenceConfig`; what Converse has no field for (top_k,
thinking) in `additionalModelRequestFields`, in the model family's own spelling; Claude's
effort in `outputConfig`.
Output dicts are built fresh; the input is never mutated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

from router.config.target import TargetContext
from router.hub.messages import NO_SCHEMA, Block, MessagesRequest, Tool
from router.spokes.bedrock.content import ContentBlock, content_block, text_block
from router.spokes.bedrock.models import (
    caches_prompts,
    is_anthropic_model,
    is_nova_model,
    keeps_tool_status,
    tool_choices,
)
from router.spokes.common.block_text import TEXT_SEPARATOR
from router.spokes.common.hub_blocks import (
    block_type,
    converted_blocks,
    indexed_blocks,
    system_texts,
)
from router.spokes.common.invalid import (
    field_required,
    invalid_value,
    raw_object,
    raw_string,
    require_str,
    wrong_type,
)

Turn = dict[str, Any]

CACHE_POINT: ContentBlock = {"cachePoint": {"type": "default"}}
# CachePointBlock.ttl's values (CacheTTL); Anthropic's cache_control.ttl has the same spelling.
_CACHE_TTLS = frozenset({"5m", "1h"})
# toolUseId's alphabet in Converse ([a-zA-Z0-9_.:-]+, at most 64).
_ID_FORBIDDEN = re.compile(r"[^A-Za-z0-9_.:-]")
MAX_ID = 64
# A tool result with nothing in it: Converse wants at least one content block.
EMPTY_RESULT: ContentBlock = {"text": "(no output)"}
# A failed result's first words for a family without toolResult.status: the model still learns
# the call failed.
ERROR_PREFIX = "Error: "
# The user turn before a history that opens with the assistant ("A conversation must start with a
# user message"). LiteLLM's "Please continue." answers an assistant turn; this one stands before
# the assistant's first words, so it says nothing.
OPENING_TEXT = "."
# A tool declared only because the history calls it: any arguments.
OPEN_SCHEMA: dict[str, Any] = {"type": "object"}
# Nova's reasoning effort (its reasoningConfig) for a thinking budget up to each bound.
_NOVA_EFFORT = ((4096, "low"), (16384, "medium"))


def target_model(src: MessagesRequest, ctx: TargetContext) -> str:
    return ctx.model or src.model


def caches(src: MessagesRequest, ctx: TargetContext) -> bool:
    """Whether `cache_control` becomes a cachePoint: for the families that take one."""
    return ctx.caps.cache_control or caches_prompts(target_model(src, ctx))


def cache_point(cache_control: Any) -> ContentBlock:
    """The cachePoint after a block with `cache_control`, with its TTL when Converse has it."""
    ttl = cache_control.get("ttl") if type(cache_control) is dict else None
    if ttl in _CACHE_TTLS:
        return {"cachePoint": {"type": "default", "ttl": ttl}}
    return CACHE_POINT


def tool_use_id(value: str) -> str:
    """An id in toolUseId's alphabet; the same id always gives the same one (call and result)."""
    return _ID_FORBIDDEN.sub("_", value)[:MAX_ID]


# --- system ------------------------------------------------------------------------------------


def system_of(src: MessagesRequest, ctx: TargetContext) -> list[ContentBlock] | None:
    system = src.system
    if system is None:
        return None
    if type(system) is str:
        return [text_block(system)] if system.strip() else None
    cache = caches(src, ctx)
    blocks: list[ContentBlock] = []
    for block, path in indexed_blocks(system, "$.system"):
        if block_type(block, path) != "text":
            continue
        text = require_str(block, "text", path)
        if text.strip():
            blocks.append(text_block(text))
        if cache and block.get("cache_control") is not None and blocks:
            blocks.append(cache_point(block["cache_control"]))
    return blocks or None


# --- messages ----------------------------------------------------------------------------------


def messages_of(src: MessagesRequest, ctx: TargetContext) -> list[Turn]:
    cache = caches(src, ctx)
    status = keeps_tool_status(target_model(src, ctx))
    turns: list[Turn] = []
    for index, message in enumerate(src.messages):
        path = f"$.messages[{index}]"
        role = message.role
        if role == "user":
            content = user_content(message.content, path, ctx, cache, status)
        elif role == "assistant":
            content = assistant_content(message.content, path, cache)
        elif role == "system":
            texts = [text for text in system_texts(message.content, f"{path}.content") if text.strip()]
            content = [text_block(TEXT_SEPARATOR.join(texts))] if texts else []
            role = "user"
        else:
            raise invalid_value(role, f"{path}.role")
        if not content:
            continue  # Converse rejects a turn without content
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] = _merged(turns[-1]["content"], content)  # Converse wants the roles to alternate
        else:
            turns.append({"role": role, "content": content})
    for turn in turns:
        if turn["role"] == "user":
            turn["content"] = with_document_note(turn["content"])
    if not turns or turns[0]["role"] != "user":  # the next turn is the assistant's: no merge
        turns.insert(0, {"role": "user", "content": [text_block(OPENING_TEXT)]})
    return turns


def with_document_note(content: list[ContentBlock]) -> list[ContentBlock]:
    """A user turn with documents (its own or in its tool results) and no text, with a text
    naming them after its other blocks (before a closing cachePoint, which stays last): Bedrock
    refuses documents without a text block. The names are the documents' own, so the text is
    the same on every request of a conversation (its cache prefix holds)."""
    if any("text" in block for block in content):  # blank text never gets here
        return content
    names = [name for block in content for name in _document_names(block)]
    if not names:
        return content
    note = text_block(f"(attached {'document' if len(names) == 1 else 'documents'}: {', '.join(names)})")
    cut = len(content) - 1 if "cachePoint" in content[-1] else len(content)
    return [*content[:cut], note, *content[cut:]]


def _document_names(block: ContentBlock) -> Iterator[str]:
    if "document" in block:
        yield block["document"]["name"]
    elif "toolResult" in block:
        for part in block["toolResult"]["content"]:
            if "document" in part:
                yield part["document"]["name"]


def _merged(earlier: list[ContentBlock], later: list[ContentBlock]) -> list[ContentBlock]:
    """Two turns of one role as one; a user turn's toolResult blocks stay first (Claude on
    Bedrock refuses a result after text)."""
    blocks = earlier + later
    if not any("toolResult" in block for block in later):
        return blocks
    return [block for block in blocks if "toolResult" in block] + [b for b in blocks if "toolResult" not in b]


def user_content(content: str | list[Block], path: str, ctx: TargetContext, cache: bool,
                 status: bool = True) -> list[ContentBlock]:
    """tool_result blocks → toolResult blocks first (Converse wants them before other content
    of the turn), then the other blocks. `status`: whether the family takes toolResult.status."""
    if type(content) is str:
        return [text_block(content)] if content.strip() else []
    results: list[ContentBlock] = []
    blocks: list[ContentBlock] = []
    for block, block_path in indexed_blocks(content, f"{path}.content"):
        if block_type(block, block_path) == "tool_result":
            results.append(tool_result(block, block_path, ctx, status))
            out = results
        else:
            converted = content_block(block, block_path, ctx)
            if converted is None:
                continue
            blocks.append(converted)
            out = blocks
        if cache and block.get("cache_control") is not None:
            out.append(cache_point(block["cache_control"]))
    return results + blocks


def tool_result(block: Block, path: str, ctx: TargetContext, status: bool = True) -> ContentBlock:
    """A failed result: `status` "error" where the family takes it, else its text says so."""
    call_id = require_str(block, "tool_use_id", path)
    content = block.get("content")
    if content is None or type(content) is str:
        parts = [text_block(content)] if content and content.strip() else []
    else:
        parts = converted_blocks(content, f"{path}.content", ctx, content_block)
    parts = parts or [EMPTY_RESULT]
    failed = block.get("is_error") is True
    if failed and not status:
        parts = said_failed(parts)
    result: dict[str, Any] = {"toolUseId": tool_use_id(call_id), "content": parts}
    if failed and status:
        result["status"] = "error"
    return {"toolResult": result}


def said_failed(parts: list[ContentBlock]) -> list[ContentBlock]:
    """A result's content starting with "Error: " (its first text, or a text of its own before
    an image or document)."""
    first = parts[0]
    if "text" in first:
        return [text_block(ERROR_PREFIX + first["text"]), *parts[1:]]
    return [text_block(ERROR_PREFIX.rstrip()), *parts]


def assistant_content(content: str | list[Block], path: str, cache: bool) -> list[ContentBlock]:
    """text → text, tool_use → toolUse, thinking → reasoningContent (with a signature Bedrock can
    have issued), redacted_thinking → redactedContent. Server tool blocks (they ran at
    Anthropic) and other types are left out."""
    if type(content) is str:
        return [text_block(content)] if content.strip() else []
    blocks: list[ContentBlock] = []
    for block, block_path in indexed_blocks(content, f"{path}.content"):
        kind = block_type(block, block_path)
        converted: ContentBlock | None = None
        if kind == "text":
            text = require_str(block, "text", block_path)
            converted = text_block(text) if text.strip() else None
        elif kind == "tool_use":
            converted = tool_use(block, block_path)
        elif kind == "thinking":
            converted = reasoning(block, block_path)
        elif kind == "redacted_thinking":
            converted = {"reasoningContent": {"redactedContent": require_str(block, "data", block_path)}}
        if converted is None:
            continue
        blocks.append(converted)
        if cache and block.get("cache_control") is not None:
            blocks.append(cache_point(block["cache_control"]))
    return blocks


def tool_use(block: Block, path: str) -> ContentBlock:
    tool_input = block.get("input")
    if tool_input is None:
        tool_input = {}
    elif type(tool_input) is not dict:
        raise wrong_type("object", tool_input, f"{path}.input")
    call = {"toolUseId": tool_use_id(require_str(block, "id", path)), "name": require_str(block, "name", path),
            "input": tool_input}
    return {"toolUse": call}


def reasoning(block: Block, path: str) -> ContentBlock | None:
    """Thinking Bedrock's Claude can verify: its text with an Anthropic signature (base64, no
    colon). Another upstream's (tagged `gemini:…`, `responses:…`, `router:…`) or none: left out,
    as Claude would reject it."""
    signature = block.get("signature")
    if type(signature) is not str or not signature or ":" in signature:
        return None
    return {"reasoningContent": {"reasoningText": {"text": require_str(block, "thinking", path),
                                                   "signature": signature}}}


# --- toolConfig --------------------------------------------------------------------------------


def is_function_tool(tool: Tool) -> bool:
    """Client tools; Anthropic server tools (web_search_…, bash_…) run inside Anthropic's API."""
    return tool.type is None or tool.type == "custom"


def tool_config_of(src: MessagesRequest, ctx: TargetContext) -> dict[str, Any] | None:
    cache = caches(src, ctx)
    tools: list[dict[str, Any]] = []
    history = history_tools(src)
    # tool_choice none: only the tools the history needs declared go, with their schemas.
    wanted = set(history) if src.tool_choice is not None and src.tool_choice.type == "none" else None
    for index, tool in enumerate(src.tools or ()):
        if not is_function_tool(tool) or (wanted is not None and tool.name not in wanted):
            continue
        tools.append({"toolSpec": tool_spec(tool, f"$.tools[{index}]")})
        if cache and tool.cache_control is not None:
            tools.append(cache_point(tool.cache_control))
    declared = {tool["toolSpec"]["name"] for tool in tools if "toolSpec" in tool}
    for name in history:
        if name not in declared:  # Converse requires toolConfig for a history with tool blocks
            tools.append({"toolSpec": {"name": name, "inputSchema": {"json": OPEN_SCHEMA}}})
            declared.add(name)
    if not declared and has_tool_results(src):  # results whose calls are no longer in the history
        tools.append({"toolSpec": {"name": HISTORY_TOOL, "inputSchema": {"json": OPEN_SCHEMA}}})
    if not tools:
        return None
    config: dict[str, Any] = {"tools": tools}
    choice = fitted_choice(tool_choice_of(src), target_model(src, ctx))
    if choice is not None:
        config["toolChoice"] = choice
    return config


def tool_spec(tool: Tool, path: str) -> dict[str, Any]:
    """The schema as the client wrote it (raw JSON); a tool without one takes no arguments."""
    spec: dict[str, Any] = {"name": tool.name}
    description = raw_string(tool.description, f"{path}.description")
    if description is not None and len(description) > 2:  # not the empty string ""
        spec["description"] = description
    schema = OPEN_SCHEMA if tool.input_schema == NO_SCHEMA else raw_object(tool.input_schema, f"{path}.input_schema")
    spec["inputSchema"] = {"json": schema}
    return spec


def history_tools(src: MessagesRequest) -> list[str]:
    """The names of the tools the conversation's assistant turns called, in order, once each."""
    names: dict[str, None] = {}
    for block in _history_blocks(src):
        if block.get("type") == "tool_use" and type(block.get("name")) is str:
            names[block["name"]] = None
    return list(names)


def has_tool_results(src: MessagesRequest) -> bool:
    return any(block.get("type") == "tool_result" for block in _history_blocks(src))


def _history_blocks(src: MessagesRequest) -> Iterator[Block]:
    for message in src.messages:
        if type(message.content) is list:
            yield from (block for block in message.content if type(block) is dict)


HISTORY_TOOL = "tool"  # declared for a history whose results answer calls no longer in it


def tool_choice_of(src: MessagesRequest) -> dict[str, Any] | None:
    """auto → auto, any → any, tool → that tool; none has no Converse form (tool_config_of
    leaves the request's tools out instead). Only with tools of the request."""
    choice = src.tool_choice
    if choice is None or not any(is_function_tool(tool) for tool in src.tools or ()):
        return None
    if choice.type == "tool":
        if choice.name is None:
            raise field_required("name", "$.tool_choice")
        return {"tool": {"name": choice.name}}
    if choice.type in ("auto", "any"):
        return {choice.type: {}}
    if choice.type == "none":
        return None
    raise invalid_value(choice.type, "$.tool_choice.type")


def fitted_choice(choice: dict[str, Any] | None, model: str) -> dict[str, Any] | None:
    """The toolChoice the model's family takes: as asked, `tool` as `any` where only `any` is
    taken (Mistral Large: a tool is still called), else none (Converse's default, auto: the
    model may answer in text; dropped_for_family says so)."""
    if choice is None:
        return None
    kinds = tool_choices(model)
    if next(iter(choice)) in kinds:
        return choice
    return {"any": {}} if "tool" in choice and "any" in kinds else None


def dropped_for_family(src: MessagesRequest, ctx: TargetContext) -> tuple[str, ...]:
    """What the target's family refuses that the request asked for, for the `x-router-dropped`
    header: a forced tool choice (`tool_choice.any`, `tool_choice.tool`) it gets as a weaker one
    or not at all. A failed tool result is not lost (its text says so)."""
    choice = tool_choice_of(src)
    if choice is None or "auto" in choice or fitted_choice(choice, target_model(src, ctx)) == choice:
        return ()  # auto left out is still auto
    return (f"tool_choice.{next(iter(choice))}",)


# --- inferenceConfig and the model's own fields ------------------------------------------------


def inference_config_of(src: MessagesRequest, ctx: TargetContext) -> dict[str, Any] | None:
    config: dict[str, Any] = {}
    tokens = src.max_tokens
    if tokens is not None:
        limit = ctx.caps.max_output_tokens  # clamped: a smaller target rejects rather than stops
        config["maxTokens"] = min(tokens, limit) if limit is not None else tokens
    if src.temperature is not None:
        config["temperature"] = src.temperature
    if src.top_p is not None:
        config["topP"] = src.top_p
    if src.stop_sequences:
        config["stopSequences"] = src.stop_sequences
    return config or None


def additional_fields_of(src: MessagesRequest, ctx: TargetContext) -> dict[str, Any] | None:
    """top_k and thinking, in the spelling of the model's family: Claude takes Anthropic's own
    fields; Nova its inferenceConfig.topK and reasoningConfig; other families top_k only when the
    route says `supports.top-k` (they reject what they do not know)."""
    model = target_model(src, ctx)
    if is_anthropic_model(model):
        return _claude_fields(src) or None
    if is_nova_model(model):
        return _nova_fields(src) or None
    if src.top_k is not None and ctx.caps.top_k:
        return {"top_k": src.top_k}
    return None


def _claude_fields(src: MessagesRequest) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if src.top_k is not None:
        fields["top_k"] = src.top_k
    thinking = src.thinking
    if thinking is not None and thinking.type == "enabled":
        if thinking.budget_tokens is None:
            raise field_required("budget_tokens", "$.thinking")
        fields["thinking"] = {"type": "enabled", "budget_tokens": thinking.budget_tokens}
    elif thinking is not None and thinking.type == "adaptive":
        fields["thinking"] = {"type": "adaptive"}
    return fields


def _nova_fields(src: MessagesRequest) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if src.top_k is not None:
        fields["inferenceConfig"] = {"topK": src.top_k}
    thinking = src.thinking
    if thinking is not None and thinking.type in ("enabled", "adaptive"):
        budget = thinking.budget_tokens or 0
        effort = next((name for bound, name in _NOVA_EFFORT if budget and budget <= bound), "high")
        fields["reasoningConfig"] = {"type": "enabled", "maxReasoningEffort": effort}
    return fields


def output_config_of(src: MessagesRequest, ctx: TargetContext) -> dict[str, Any] | None:
    """Claude's effort (low … max) as Converse's `outputConfig.effort`, which Bedrock hands to
    Claude; other families have no effort (Nova's reasoning effort follows `thinking`)."""
    effort = src.output_config.effort if src.output_config is not None else None
    if effort is None or not is_anthropic_model(target_model(src, ctx)):
        return None
    return {"effort": effort}


def response_field_paths_of(src: MessagesRequest, ctx: TargetContext) -> list[str] | None:
    """Claude says which stop sequence it stopped at only when asked."""
    if src.stop_sequences and is_anthropic_model(target_model(src, ctx)):
        return ["/stop_sequence"]
    return None


def guardrail_config_of(src: MessagesRequest, ctx: TargetContext) -> dict[str, Any] | None:
    """The route's (or upstream's) guardrail; its stream mode only on a stream (Converse's
    GuardrailConfiguration has no such field)."""
    guardrail = ctx.guardrail
    if guardrail is None:
        return None
    config: dict[str, Any] = {"guardrailIdentifier": guardrail.id, "guardrailVersion": guardrail.version}
    if guardrail.trace is not None:
        config["trace"] = guardrail.trace
    if src.stream and guardrail.stream_mode is not None:
        config["streamProcessingMode"] = guardrail.stream_mode
    return config


FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {
        "system_of": system_of,
        "messages_of": messages_of,
        "tool_config_of": tool_config_of,
        "inference_config_of": inference_config_of,
        "additional_fields_of": additional_fields_of,
        "output_config_of": output_config_of,
        "response_field_paths_of": response_field_paths_of,
        "guardrail_config_of": guardrail_config_of,
    }
)
