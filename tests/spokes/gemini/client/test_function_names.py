"""Gemini function names the hub refuses (`math.add`, `server:tool`): rewritten to the hub's
alphabet on the way in (declarations, the history's calls, the forced tool), the client's names
given back in answers and streams, and left alone on passthrough (router/spokes/gemini/client/names.py)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from router.config.target import Capabilities, TargetContext
from router.routing.compose import build_converters
from router.spokes.gemini.client.names import FunctionNames, all_hub_names, function_names, is_hub_name, rewrites
from tests.spokes.gemini.client.client_table import decode, to_hub, to_response
from tests.spokes.gemini.client.test_client_stream import machine, run
from tests.support.hub_streams import message, stream_of, text, tool_use

HUB_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
OBJECT = {"type": "object", "properties": {"a": {"type": "number"}}}


def digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:8]


def declared(*names: str) -> list[dict[str, Any]]:
    return [{"functionDeclarations": [{"name": name, "parametersJsonSchema": OBJECT} for name in names]}]


def asking(*names: str, **more: Any) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": "add 1 and 2"}]}], "tools": declared(*names), **more}


HISTORY = {
    "contents": [
        {"role": "user", "parts": [{"text": "add 1 and 2"}]},
        {"role": "model", "parts": [{"functionCall": {"id": "c1", "name": "math.add", "args": {"a": 1}}},
                                    {"functionCall": {"name": "files:read", "args": {}}}]},
        {"role": "user", "parts": [{"functionResponse": {"id": "c1", "name": "math.add", "response": {"output": "3"}}},
                                   {"function_response": {"name": "files:read", "response": {"output": "ok"}}}]},
    ],
    "tools": declared("math.add", "files:read", "get_weather"),
}


# --- the rule ------------------------------------------------------------------------------------

def test_valid_names_need_no_table() -> None:
    assert function_names(decode(asking("get_weather", "run-shell_2"))) is None
    assert function_names(decode({"contents": [{"parts": [{"text": "hi"}]}]})) is None


def test_the_one_match_for_all_names_misses_none() -> None:
    assert all_hub_names(["a", "b_c-9", "x" * 64])
    for bad in (["a\nb"], ["a.b"], ["x" * 65], [""], ["a", ""], ["ok", "caf\u00e9"], ["a\n"]):
        assert not all_hub_names(bad), bad
    assert function_names(decode(asking("a\nb"))) is not None


def test_characters_outside_the_alphabet_become_underscores() -> None:
    assert rewrites(["math.add", "server:tool", "ok_name", "a.b:c-d"]) == {
        "math.add": "math_add", "server:tool": "server_tool", "a.b:c-d": "a_b_c-d"}


def test_a_rewrite_that_meets_a_kept_name_gets_the_originals_digest() -> None:
    assert rewrites(["math.add", "math_add"]) == {"math.add": f"math_add_{digest('math.add')}"}


def test_rewrites_that_meet_each_other_all_get_their_digest() -> None:
    """Neither takes the plain form, so which one came first does not matter."""
    got = rewrites(["a:b", "a.b"])
    assert got == {"a.b": f"a_b_{digest('a.b')}", "a:b": f"a_b_{digest('a:b')}"}
    assert got == rewrites(["a.b", "a:b"])


def test_the_structured_output_tool_is_taken() -> None:
    assert rewrites(["json.response"]) == {"json.response": f"json_response_{digest('json.response')}"}


def test_a_long_name_is_cut_to_64_and_stays_unique() -> None:
    first, second = "x." + "y" * 70, "x." + "y" * 71
    got = rewrites([first, second])
    assert got[first] != got[second]
    assert all(len(name) <= 64 and HUB_NAME.fullmatch(name) for name in got.values())
    assert got[first] == "x_" + "y" * 53 + "_" + digest(first)
    assert rewrites(["x." + "y" * 70]) == {first: "x_" + "y" * 62}  # alone: cut, no digest


def test_an_empty_name_gets_a_digest_alone() -> None:
    assert rewrites([""]) == {"": f"_{digest('')}"}


def test_rewriting_is_idempotent_and_valid_names_are_never_touched() -> None:
    names = ["math.add", "math_add", "server:tool", "café", "ok"]
    once = rewrites(names)
    assert "math_add" not in once and "ok" not in once
    assert all(is_hub_name(name) for name in once.values())
    assert rewrites([*once.values(), "math_add", "ok"]) == {}
    assert len(set(once.values()) | {"math_add", "ok"}) == len(once) + 2


def test_the_table_goes_both_ways() -> None:
    names = function_names(decode(HISTORY))
    assert isinstance(names, FunctionNames)
    assert dict(names.to_hub) == {"math.add": "math_add", "files:read": "files_read"}
    assert names.client("math_add") == "math.add" and names.client("get_weather") == "get_weather"
    assert names.client("invented.by.model") == "invented.by.model"


# --- the request ---------------------------------------------------------------------------------

def test_declarations_history_calls_and_responses_use_the_rewrite() -> None:
    hub = to_hub(HISTORY)
    assert [tool["name"] for tool in hub["tools"]] == ["math_add", "files_read", "get_weather"]
    calls = hub["messages"][1]["content"]
    assert [(call["id"], call["name"]) for call in calls] == [("c1", "math_add"), ("toolu_gemini_1_1", "files_read")]
    results = hub["messages"][2]["content"]
    assert [result["tool_use_id"] for result in results] == ["c1", "toolu_gemini_1_1"]  # paired on the client's names


def test_allowed_names_filter_on_the_clients_names_and_force_the_rewrite() -> None:
    body = asking("math.add", "math.sub", toolConfig={"functionCallingConfig": {
        "mode": "ANY", "allowedFunctionNames": ["math.add"]}})
    hub = to_hub(body)
    assert [tool["name"] for tool in hub["tools"]] == ["math_add"]
    assert hub["tool_choice"] == {"type": "tool", "name": "math_add"}


def test_snake_case_allowed_names_too() -> None:
    body = asking("math.add", "other", tool_config={"function_calling_config": {
        "mode": "ANY", "allowed_function_names": ["math.add"]}})
    hub = to_hub(body)
    assert hub["tool_choice"] == {"type": "tool", "name": "math_add"}


def test_a_rewrite_avoids_a_valid_name_used_only_in_the_history() -> None:
    body = {**asking("a.b"), "contents": [
        {"role": "user", "parts": [{"text": "go"}]},
        {"role": "model", "parts": [{"functionCall": {"id": "c", "name": "a_b", "args": {}}}]},
        {"role": "user", "parts": [{"functionResponse": {"id": "c", "name": "a_b", "response": {}}}]},
    ]}
    hub = to_hub(body)
    assert hub["tools"][0]["name"] == f"a_b_{digest('a.b')}"
    assert hub["messages"][1]["content"][0]["name"] == "a_b"


def test_valid_names_go_as_they_came() -> None:
    hub = to_hub(asking("get_weather", "run-shell"))
    assert [tool["name"] for tool in hub["tools"]] == ["get_weather", "run-shell"]


# --- the answer ----------------------------------------------------------------------------------

def test_the_unary_answer_calls_the_clients_names() -> None:
    answer = to_response(message(text("Adding."), tool_use("math_add", {"a": 1}, "toolu_1"),
                                 tool_use("files_read", {}, "toolu_2"), tool_use("get_weather", {}, "toolu_3"),
                                 tool_use("made_up", {}, "toolu_4"), stop_reason="tool_use"), HISTORY)
    calls = [part["functionCall"]["name"] for part in answer["candidates"][0]["content"]["parts"]
             if "functionCall" in part]
    assert calls == ["math.add", "files:read", "get_weather", "made_up"]


def test_an_answer_without_rewritten_names_is_left_as_it_is() -> None:
    answer = to_response(message(tool_use("math_add", {}), stop_reason="tool_use"), asking("math_add"))
    assert answer["candidates"][0]["content"]["parts"] == [{"functionCall": {"id": "toolu_1", "name": "math_add",
                                                                             "args": {}}}]


def test_the_stream_calls_the_clients_names() -> None:
    hub = message(tool_use("math_add", {"a": 1}, "toolu_1"), tool_use("unknown_fn", {}, "toolu_2"),
                  stop_reason="tool_use")
    chunks = run(stream_of(hub), HISTORY)
    calls = [part["functionCall"] for chunk in chunks for part in chunk["candidates"][0].get("content", {})
             .get("parts", []) if "functionCall" in part]
    assert calls == [{"id": "toolu_1", "name": "math.add", "args": {"a": 1}},
                     {"id": "toolu_2", "name": "unknown_fn", "args": {}}]


def test_a_stream_without_rewritten_names_holds_no_table() -> None:
    assert machine(asking("get_weather"))._client_names is None
    assert machine(HISTORY)._client_names == {"math_add": "math.add", "files_read": "files:read"}


# --- passthrough ---------------------------------------------------------------------------------

def test_passthrough_sends_the_names_as_they_came() -> None:
    ctx = TargetContext(route="t", upstream="up", model="gemini-up", caps=Capabilities())
    converters = build_converters("gemini__gemini", ctx)
    assert converters.passthrough
    body = {**HISTORY, "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["math.add"]}}}
    sent = converters.request.function(dict(body), ctx)
    assert [item["name"] for item in sent["tools"][0]["functionDeclarations"]] == ["math.add", "files:read",
                                                                                  "get_weather"]
    assert sent["contents"][1]["parts"][0]["functionCall"]["name"] == "math.add"
    assert sent["toolConfig"]["functionCallingConfig"]["allowedFunctionNames"] == ["math.add"]
