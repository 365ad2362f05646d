"""`router check` on mutated tables: the shipped routes.toml and the check cases, with lines
deleted, duplicated or swapped, values of another type, keys renamed, garbage inserted, the text
cut short. Always exit 0 or 1 and never a traceback; with 1, every problem that points into the
file (it has a schema path, or is a TOML syntax error) carries its line.

Driven in-process through `run_check`, the function `router check` runs (router.cli.main.main calls it
with os.environ and sys.stdout/sys.stderr), here with an environment and buffers of our own.
"""

from __future__ import annotations

import io
import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.cli.check import run_check
from tests.fuzz import strategies as s

ROOT = Path(__file__).resolve().parents[2]
SEEDS = [ROOT / "routes.toml", *sorted((ROOT / "tests" / "cases" / "check").glob("*.toml"))]
SEED_TEXTS = [path.read_text("utf-8") for path in SEEDS]
# Every variable the seeds mention is set, so an unmutated seed fails only on its own mistakes.
ENVIRON = {name: "sk-fuzz-value-0123456789" for text in SEED_TEXTS for name in re.findall(r"[A-Z][A-Z0-9_]{2,}", text)}

_VALUE = re.compile(r"^(\s*[A-Za-z0-9_.\"-]+\s*=\s*)(.+)$")
_KEY = re.compile(r"^(\s*)([A-Za-z0-9_-]+)(\s*=)")
OTHER_VALUES = ['"text"', "7", "-1", "1.5", "true", "[]", '["a", 1]', "{}", '{ x = 1 }', "1979-05-27", '"env:"', '""',
                "9999999999999999999999", "inf", "nan", '"\u2028"', '"*"']
GARBAGE = ["[", "]]", "[[routes]]", "[upstreams]", "[upstreams.x.y.z]", "= 1", "x =", '"unterminated', "\x00",
           "key = \"\u202e\"", "[[routes]]\nname = 1", "models = [", "# just a comment", "a.b.c = 1", "\u2028"]


def _delete(lines: list[str], at: int, data: st.DataObject) -> list[str]:
    return lines[:at] + lines[at + 1 :]


def _duplicate(lines: list[str], at: int, data: st.DataObject) -> list[str]:
    return lines[: at + 1] + lines[at:]


def _swap(lines: list[str], at: int, data: st.DataObject) -> list[str]:
    other = data.draw(st.integers(0, len(lines) - 1), label="swap with")
    out = list(lines)
    out[at], out[other] = out[other], out[at]
    return out


def _retype(lines: list[str], at: int, data: st.DataObject) -> list[str]:
    match = _VALUE.match(lines[at])
    if match is None:
        return lines
    value = data.draw(st.sampled_from(OTHER_VALUES), label="value")
    return [*lines[:at], match.group(1) + value, *lines[at + 1 :]]


def _rename(lines: list[str], at: int, data: st.DataObject) -> list[str]:
    match = _KEY.match(lines[at])
    if match is None:
        return lines
    key = match.group(2)
    new = data.draw(st.sampled_from([key[:-1] or "k", key + "s", key.replace("-", "_"), key.upper(), "bogus"]), label="key")
    return [*lines[:at], _KEY.sub(lambda m: m.group(1) + new + m.group(3), lines[at], count=1), *lines[at + 1 :]]


def _garbage(lines: list[str], at: int, data: st.DataObject) -> list[str]:
    junk = data.draw(st.sampled_from(GARBAGE) | s.texts(20), label="garbage")
    return [*lines[:at], junk, *lines[at:]]


MUTATIONS = [_delete, _duplicate, _swap, _retype, _retype, _rename, _rename, _garbage]


@st.composite
def mutated_tables(draw: st.DrawFn) -> str:
    """A seed with one to four line mutations, then sometimes cut at a random character."""
    data = draw(st.data())
    lines = draw(st.sampled_from(SEED_TEXTS)).splitlines()
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        mutation = draw(st.sampled_from(MUTATIONS))
        lines = mutation(lines, draw(st.integers(0, len(lines) - 1)), data)
    text = "\n".join(lines) + "\n"
    if draw(st.integers(0, 4)) == 0:
        text = text[: draw(st.integers(0, len(text)))]
    return text


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="fuzz-check-") as name:
        yield Path(name)


def check(path: Path, *flags: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_check([str(path), *flags], ENVIRON, out, err)
    return code, out.getvalue(), err.getvalue()


@given(text=mutated_tables())
def test_check_of_a_mutated_table_reports_problems_with_lines_or_passes(workdir: Path, text: str) -> None:
    path = workdir / "routes.toml"
    path.write_text(text, "utf-8")
    code, out, err = check(path)
    assert code in (0, 1), (code, out, err)
    assert "Traceback" not in out + err
    json_code, report_text, json_err = check(path, "--json")
    assert json_code == code and "Traceback" not in json_err
    report = json.loads(report_text)
    assert report["ok"] is (code == 0)
    if code == 1:
        assert report["errors"], report
    for problem in report["errors"] + report["warnings"]:
        # A schema path points into the file; a TOML syntax error is at a place in the text.
        if problem["path"] is not None or problem["message"].startswith("invalid TOML"):
            assert problem["line"] is not None, problem
