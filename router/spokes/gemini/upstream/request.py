"""Anthropic Messages request → Gemini GenerateContentRequest: the structural parts the field
table (schemas/gemini.upstream.toml, [request]) calls. The model and streaming are not in the
body: they are the URL's (router.spokes.gemini.upstream.endpoint).

The shapes differ mostly in the conversation:
- Anthropic's `system` is a top-level field; Gemini's is `systemInstruction` (parts of text).
- Roles are user and model. An Anthropic assistant message becomes one `model` content:
  text → text parts, tool_use → functionCall parts; thinking goes back only as the
  `thoughtSignature` a Gemini upstream (this one) issued, on the part that followed it.
- tool_result blocks become functionResponse parts, first in their user content (Gemini wants
  them together, as many as the calls they answer); a functionResponse names its function,
  which Anthropic's tool_result does not, so the name comes from the tool_use it answers.
Sampling, the token limit and thinking all go in `generationConfig`.
Output dicts are built fresh; the input is never mutated or copied wholesale.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import msgspec

from router.config.target import TargetContext
from router.core.errors import InvalidRequest
from router.hub.messages import NO_SCHEMA, Block, MessagesRequest, Tool
from router.spokes.common.block_text import TEXT_SEPARATOR
from router.spokes.common.hub_blocks import block_type, converted_blocks, system_texts
from router.spokes.common.invalid import (
    field_required,
    invalid_value,
    raw_object,
    raw_string,
    require_str,
    wrong_type,
)
from router.spokes.gemini.upstream.content import Part, content_part, text_part
from router.spokes.gemini.upstream.signature import thought_signature

Content = dict[str, Any]

_decode_schema = msgspec.json.Decoder(dict[str, Any]).decode

# Google's documented stand-in for a function call that has no signature of this model's (history
# written by another model, or by another upstream before a failover): Gemini 3 answers 400 to
# a call in the history without one, and the signature cannot be made up.
# https://ai.google.dev/gemini-api/docs/thought-signatures ("... from other models")
SKIP_SIGNATURE = "skip_thought_signature_validator"
# Gemini takes at most five stop sequences (400 beyond); the first five are kept.
MAX_STOP_SEQUENCES = 5
# The thinking budgets each model family takes (a budget outside them is a 400): Pro cannot
# turn thinking off, Flash and Flash-Lite can (budget 0).
_PRO_BUDGET = (128, 32768)
_FLASH_BUDGET = (1, 24576)
_FLASH_LITE_BUDGET = (512, 24576)
_NON_THINKING = ("gemini-1.", "gemini-2.0")
DYNAMIC_BUDGET = -1  # the model decides how much to think


# Model families known not to check signatures (1.x, 2.0, 2.5): they get none made up. Every
# other name does, Gemini 3 and whatever comes after it, and aliases such as gemini-flash-latest
# or a deployment's own name: for a model that validates, a call without one is a 400 the client
# cannot avoid (an OpenAI Chat client has nowhere to keep a signature), while a model that does
# not validate ignores the stand-in.
_UNCHECKED_SIGNATURES = ("gemini-1", "gemini-2")


def checks_signatures(model: str) -> bool:
    return not model.removeprefix("models/").startswith(_UNCHECKED_SIGNATURES)


def target_model(src: MessagesRequest, ctx: TargetContext) -> str:
    """The route's model, or the client's when the route names none (`to = "upstream"`)."""
    return ctx.model or src.model


# --- systemInstruction -------------------------------------------------------------------------


def system_instruction_of(src: MessagesRequest) -> Content | None:
    """One text part per system block (Anthropic allows only text there); None when empty."""
    system = src.system
    if system is None:
        return None
    parts = [text_part(text) for text in system_texts(system, "$.system") if text]
    return {"parts": parts} if parts else None


# --- contents ----------------------------------------------------------------------------------


def contents_of(src: MessagesRequest, ctx: TargetContext) -> list[Content]:
    gemini_3 = checks_signatures(target_model(src, ctx))
    tool_names: dict[str, str] = {}  # tool_use id → name, from the assistant turns so far
    contents: list[Content] = []
    for index, message in enumerate(src.messages):
        path = f"$.messages[{index}]"
        role = message.role
        if role == "user":
            parts = user_parts(message.content, path, ctx, tool_names)
        elif role == "assistant":
            parts = model_parts(message.content, path, ctx, tool_names, gemini_3)
        elif role == "system":
            # Claude Code puts a role:"system" message mid-conversation; Gemini has no such role,
            # so it stays where it was said, as the user's words.
            texts = system_texts(message.content, f"{path}.content")
            parts = [text_part(TEXT_SEPARATOR.join(texts))] if any(texts) else []
            role = "user"
        else:
            raise invalid_value(role, f"{path}.role")
        if parts:  # Gemini rejects a content without parts
            contents.append({"role": "model" if role == "assistant" else "user", "parts": parts})
    return contents


def user_parts(content: str | list[Block], path: str, ctx: TargetContext, tool_names: Mapping[str, str]) -> list[Part]:
    """tool_result blocks → functionResponse parts first (with the images they hold after
    them), then the other blocks' parts."""
    if type(content) is str:
        return [text_part(content)] if content else []
    if type(content) is not list:
        raise wrong_type("str | array", content, f"{path}.content")
    responses: list[Part] = []
    parts: list[Part] = []
    for index, block in enumerate(content):
        block_path = f"{path}.content[{index}]"
        if type(block) is not dict:
            raise wrong_type("object", block, block_path)
        if block_type(block, block_path) == "tool_result":
            responses.extend(function_response(block, block_path, ctx, tool_names))
        else:
            part = content_part(block, block_path, ctx)
            if part is not None:
                parts.append(part)
    return responses + parts if responses else parts


def function_response(block: Block, path: str, ctx: TargetContext, tool_names: Mapping[str, str]) -> list[Part]:
    """`{"output": text}`, or `{"error": text}` when the call failed (Google's documented keys);
    images and files in the result follow as parts of their own."""
    call_id = require_str(block, "tool_use_id", path)
    name = tool_names.get(call_id)
    if name is None:
        raise _unanswered(call_id, path)
    texts, media = _result_content(block.get("content"), f"{path}.content", ctx)
    key = "error" if block.get("is_error") is True else "output"
    response = {"id": call_id, "name": name, "response": {key: TEXT_SEPARATOR.join(texts)}}
    return [{"functionResponse": response}, *media]


def _unanswered(call_id: str, path: str) -> InvalidRequest:
    """Gemini needs the function's name with its result; Anthropic itself refuses a result that
    answers no call of the conversation."""
    return InvalidRequest(f"tool_result {call_id!r} answers no tool_use of an earlier assistant turn - at `{path}.tool_use_id`")


def _result_content(content: Any, path: str, ctx: TargetContext) -> tuple[list[str], list[Part]]:
    if content is None or type(content) is str:
        return ([content] if content else []), []
    texts: list[str] = []
    media: list[Part] = []
    for part in converted_blocks(content, path, ctx, content_part):
        text = part.get("text")
        if text is not None:
            texts.append(text)
        else:
            media.append(part)
    return texts, media


def model_parts(content: str | list[Block], path: str, ctx: TargetContext, tool_names: dict[str, str],
                gemini_3: bool) -> list[Part]:
    """text → text parts, tool_use → functionCall parts. A thinking block this upstream signed
    puts its thoughtSignature on the next part (where Gemini had it); at the turn's end, on the
    last part. Left out: thinking text (Gemini takes only the signature), others' signatures,
    redacted_thinking (encrypted for Anthropic), server tool blocks (they ran at Anthropic)."""
    if type(content) is str:
        return [text_part(content)] if content else []
    if type(content) is not list:
        raise wrong_type("str | array", content, f"{path}.content")
    parts: list[Part] = []
    signature: str | None = None
    signed_call = False  # the turn's first functionCall carries a signature of ours
    for index, block in enumerate(content):
        block_path = f"{path}.content[{index}]"
        if type(block) is not dict:
            raise wrong_type("object", block, block_path)
        kind = block_type(block, block_path)
        if kind == "thinking":
            signature = thought_signature(block.get("signature"), ctx.upstream) or signature
            continue
        if kind == "text":
            text = require_str(block, "text", block_path)
            if not text:  # Gemini rejects empty text; a pending signature waits for the next part
                continue
            part = text_part(text)
        elif kind == "tool_use":
            part = function_call(block, block_path)
            tool_names[part["functionCall"]["id"]] = part["functionCall"]["name"]
            if not any("functionCall" in earlier for earlier in parts):
                signed_call = signature is not None
        else:
            continue
        if signature is not None:
            part["thoughtSignature"] = signature
            signature = None
        parts.append(part)
    if signature is not None and parts:
        parts[-1].setdefault("thoughtSignature", signature)
    if gemini_3 and not signed_call:
        _skip_validation(parts)
    return parts


def _skip_validation(parts: list[Part]) -> None:
    """Gemini 3 checks the signature of the first functionCall of each step; a call this model
    did not sign (another model's history) gets Google's stand-in instead of a 400."""
    for part in parts:
        if "functionCall" in part:
            part.setdefault("thoughtSignature", SKIP_SIGNATURE)
            return


def function_call(block: Block, path: str) -> Part:
    """args is an object on Gemini's wire (never text)."""
    tool_input = block.get("input")
    if tool_input is None:
        tool_input = {}
    elif type(tool_input) is not dict:
        raise wrong_type("object", tool_input, f"{path}.input")
    call = {"id": require_str(block, "id", path), "name": require_str(block, "name", path), "args": tool_input}
    return {"functionCall": call}


# --- tools -------------------------------------------------------------------------------------


def is_function_tool(tool: Tool) -> bool:
    """Client tools; Anthropic server tools (web_search_…, bash_…, text_editor_…) run inside
    Anthropic's API, so they are left out."""
    return tool.type is None or tool.type == "custom"


def tools_to_gemini(src: MessagesRequest, ctx: TargetContext) -> list[dict[str, Any]] | None:
    if not src.tools:
        return None
    clean = ctx.caps.tool_schema == "clean"
    declarations = [function_declaration(tool, clean, f"$.tools[{index}]")
                    for index, tool in enumerate(src.tools) if is_function_tool(tool)]
    return [{"functionDeclarations": declarations}] if declarations else None


def function_declaration(tool: Tool, clean: bool, path: str) -> dict[str, Any]:
    """JSON Schema as the client wrote it (`parametersJsonSchema`, raw), or converted to
    Gemini's OpenAPI subset (`parameters`) for targets that take only that (`tool-schema =
    "clean"`). A tool without a schema takes no arguments and declares none."""
    out: dict[str, Any] = {"name": tool.name}
    description = raw_string(tool.description, f"{path}.description")
    if description is not None:
        out["description"] = description
    schema = tool.input_schema
    if schema == NO_SCHEMA:
        return out
    schema = raw_object(schema, f"{path}.input_schema")
    if clean:
        from router.spokes.gemini.schema import openapi_schema

        out["parameters"] = openapi_schema(_decode_schema(schema), f"{path}.input_schema")
    else:
        out["parametersJsonSchema"] = schema
    return out


def tool_config_for(src: MessagesRequest) -> dict[str, Any] | None:
    """auto → AUTO, any → ANY, tool → ANY limited to that function, none → NONE. Only with
    function tools: the choice means nothing without them. A forced `json_response` (structured
    output from an OpenAI or Responses client) is a forced function like any other: the answer
    comes back as its call, which the client's side turns into the answer's text."""
    choice = src.tool_choice
    if choice is None or not any(is_function_tool(tool) for tool in src.tools or ()):
        return None
    if choice.type == "tool":
        if choice.name is None:
            raise field_required("name", "$.tool_choice")
        return {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": [choice.name]}}
    mode = _MODES.get(choice.type)
    if mode is None:
        raise invalid_value(choice.type, "$.tool_choice.type")
    return {"functionCallingConfig": {"mode": mode}}


_MODES: Mapping[str, str] = MappingProxyType({"auto": "AUTO", "any": "ANY", "none": "NONE"})


# --- generationConfig --------------------------------------------------------------------------


def generation_config_for(src: MessagesRequest, ctx: TargetContext) -> dict[str, Any] | None:
    config: dict[str, Any] = {}
    tokens = max_output_tokens_for(src, ctx)
    if tokens is not None:
        config["maxOutputTokens"] = tokens
    if src.temperature is not None:
        config["temperature"] = src.temperature
    if src.top_p is not None:
        config["topP"] = src.top_p
    if src.top_k is not None:
        config["topK"] = src.top_k  # Gemini samples with top-k natively
    if src.stop_sequences:
        config["stopSequences"] = src.stop_sequences[:MAX_STOP_SEQUENCES]
    thinking = thinking_config_for(src, ctx)
    if thinking is not None:
        config["thinkingConfig"] = thinking
    return config or None


def max_output_tokens_for(src: MessagesRequest, ctx: TargetContext) -> int | None:
    """Clamped to what the target can produce (`supports.max-output-tokens`): Claude Code asks
    for 64000, and a smaller target rejects the request instead of producing less."""
    tokens = src.max_tokens
    if tokens is None:
        return None
    limit = ctx.caps.max_output_tokens
    return min(tokens, limit) if limit is not None else tokens


def thinking_config_for(src: MessagesRequest, ctx: TargetContext) -> dict[str, Any] | None:
    """enabled → its budget, with the thoughts shown (they become thinking blocks); adaptive →
    a dynamic budget; an effort alone (`output_config`) → that effort's budget, thoughts not
    shown; disabled → budget 0 where the model can stop thinking (Flash), else nothing (Pro
    and Gemini 3 always think). Nothing asked: the model's default."""
    model = target_model(src, ctx).removeprefix("models/")
    if model.startswith(_NON_THINKING):
        return None  # these models answer 400 to any thinkingConfig
    thinking = src.thinking
    effort = src.output_config.effort if src.output_config is not None else None
    kind = thinking.type if thinking is not None else None
    if kind == "disabled":
        return {"thinkingBudget": 0} if _can_stop_thinking(model) else None
    if kind == "enabled" and effort is None:
        assert thinking is not None
        budget = thinking.budget_tokens
        return {"thinkingBudget": _clamp_budget(model, budget) if budget is not None else DYNAMIC_BUDGET,
                "includeThoughts": True}
    if effort is not None:
        config: dict[str, Any] = {"thinkingBudget": _clamp_budget(model, _effort_budget(effort, ctx))}
        if kind in ("enabled", "adaptive"):
            config["includeThoughts"] = True
        return config
    if kind == "adaptive":
        return {"thinkingBudget": DYNAMIC_BUDGET, "includeThoughts": True}
    return None


def _can_stop_thinking(model: str) -> bool:
    return model.startswith("gemini-2.5-flash")


def _effort_budget(effort: str, ctx: TargetContext) -> int:
    """Claude's effort (low | medium | high | max) → the route's thinking budgets."""
    budgets = ctx.caps.thinking_budgets
    if effort == "low":
        return budgets.low
    if effort == "medium":
        return budgets.medium
    return budgets.high


def _clamp_budget(model: str, budget: int) -> int:
    if "flash-lite" in model:
        low, high = _FLASH_LITE_BUDGET
    elif "flash" in model:
        low, high = _FLASH_BUDGET
    else:
        low, high = _PRO_BUDGET
    return max(low, min(budget, high))


FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(
    {
        "system_instruction_of": system_instruction_of,
        "contents_of": contents_of,
        "tools_to_gemini": tools_to_gemini,
        "tool_config_for": tool_config_for,
        "generation_config_for": generation_config_for,
    }
)
