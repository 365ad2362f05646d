"""Plain regression tests for what the fuzz properties found, one minimal input each.

- A TOML syntax error at the very end of a file without a final newline (a table header or a
  string left open: tomllib then says "at end of document" instead of "at line N, column M") is
  reported without a line or column (found by test_fuzz_check; fixed in router/config/load.py).
- A table defined only by a sub-table's header (`[upstreams.x.y.z]` and no `[upstreams.x]`)
  had its problems ("missing key kind") reported without a line (found by the long profile;
  fixed in router/config/positions.py).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

from router.cli.check import run_check


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
