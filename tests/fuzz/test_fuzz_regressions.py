"""Plain regression tests for what the fuzz properties found, one minimal input each.

- A TOML syntax error at the very end of a file without a final newline (a table header or a
  string left open: tomllib then says "at end of document" instead of "at line N, column M") is
  reported without a line or column (found by test_fuzz_check; fixed in router/config/load.py).
- A table defined only by a sub-table's header (`[upstreams.x.y.z]` and no `[upstreams.x]`)
  had its problems ("missing key kind") reported without a line (found by the long profile;
  fixed in router/config/positions.py).
- A Responses request with a list or an object as an input message's `role`, a content part's
  `type` or a tool's `type` was a 500 (`TypeError: unhashable type` where the converter tests set
  membership) on converted routes, unary and stream, instead of a 400 naming the field (found by
  test_fuzz_invalid; fixed in router/spokes/responses/client/items.py, content.py, tools.py).
- A Gemini client's stream from a Chat Completions upstream always ends `finishReason: STOP`,
  whatever the upstream's finish_reason (`length` → STOP where the unary answer says MAX_TOKENS):
  router/routing/compose.py gives a two-stage pair's stream machines the two tables' value maps
  merged by name (`{**upstream_spec.values, **client_spec.values}`), and gemini.client's
  `[values.finish_reason]` (stop_reason → finishReason) shadows openai.upstream's
  `[values.finish_reason]` (finish_reason → stop_reason), so the OpenAI upstream's machine maps
  `length` through Gemini's table to its `*`, STOP (found by test_fuzz_gemini's fold property;
  fixed: each stage's machine gets its own table's values, Converters.upstream_values).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from router.cli.check import run_check
from tests.fuzz.app import post, running_app
from tests.fuzz.gemini import gemini_path
from tests.fuzz.shapes import encode, names_a_field, openai_error
from tests.fuzz.strategies import Answer


def test_a_syntax_error_at_the_end_of_the_file_has_a_line(tmp_path: Path) -> None:
    path = tmp_path / "routes.toml"
    path.write_text('[upstreams.local]\nkind = "mock"\n[server', "utf-8")  # no final newline
    out, err = io.StringIO(), io.StringIO()
    assert run_check([str(path), "--json"], {}, out, err) == 1
    (problem,) = json.loads(out.getvalue())["errors"]
    assert problem["message"].startswith("invalid TOML")
    assert problem["line"] == 3


def test_a_table_defined_only_by_a_sub_tables_header_has_a_line(tmp_path: Path) -> None:
    path = tmp_path / "routes.toml"
    path.write_text('[upstreams.local]\nkind = "mock"\n\n[upstreams.x.y.z]\n', "utf-8")
    out, err = io.StringIO(), io.StringIO()
    assert run_check([str(path), "--json"], {}, out, err) == 1
    (problem,) = json.loads(out.getvalue())["errors"]
    assert problem["path"] == "upstreams.x" and problem["line"] == 4


UNHASHABLE_AT: dict[str, dict[str, Any]] = {
    "role": {"input": [{"role": [], "content": "hi"}]},
    "type": {"input": [{"role": "user", "content": [{"type": {}, "text": "hi"}]}]},
    "tools": {"input": "hi", "tools": [{"type": [], "name": "t"}]},
}


@pytest.mark.parametrize("model", ["conv-plain", "conv-anthropic"])
@pytest.mark.parametrize("field", sorted(UNHASHABLE_AT))
def test_a_list_or_object_where_a_responses_converter_expects_a_string_is_a_400(field: str, model: str) -> None:
    with running_app() as (client, upstream):
        upstream.answer = Answer(id="a", model="m", thinking="", signature="c2ln", text="ok", calls=(), finish="stop",
                                 input_tokens=1, output_tokens=1, cached_tokens=0)
        reply = post(client, "/v1/responses", encode({"model": model, **UNHASHABLE_AT[field]}))
    assert reply.status == 400, (reply.status, reply.body)
    assert names_a_field(openai_error(reply), field)


def test_a_gemini_clients_stream_from_a_chat_upstream_keeps_max_tokens() -> None:
    with running_app() as (client, upstream):
        upstream.answer = Answer(id="a", model="m", thinking="", signature="c2ln", text="ok", calls=(), finish="length",
                                 input_tokens=1, output_tokens=1, cached_tokens=0)
        body = encode({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]})
        unary, streamed = (client.post(gemini_path("gem-plain", stream), content=body) for stream in (False, True))
    assert unary.json()["candidates"][0]["finishReason"] == "MAX_TOKENS"  # the unary answer is right
    chunks = [line for line in streamed.content.split(b"\r\n\r\n") if line]
    assert b'"finishReason":"MAX_TOKENS"' in chunks[-1], chunks[-1]
