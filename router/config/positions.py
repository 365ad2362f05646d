"""Where a schema path lives in routes.toml text, so problems can say `routes.toml:14:1`.

tomllib returns plain data without positions, so this scans the text: table headers (`[server]`,
`[upstreams.deepseek]`, the Nth `[[routes]]`), then `key =` lines inside a section, then the
elements of an inline array (`request = [ {...}, {...} ]`). It is best effort by design: an
unusual layout yields no line, never a wrong guess about the file's meaning (headers are parsed
with tomllib itself, so quoting and dotted names follow TOML's rules).
"""

from __future__ import annotations

import bisect
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass

from router.config.problems import SchemaPath

_HEADER = re.compile(r"^\s*(\[\[?)([^\[\]#]+?)(\]\]?)\s*(?:#.*)?$")

Position = tuple[int | None, int | None]


@dataclass(frozen=True, slots=True)
class _Header:
    path: SchemaPath  # concrete: array-of-tables headers carry their index
    line: int  # 0-based


@dataclass(frozen=True, slots=True)
class SourceMap:
    """Positions in one routes.toml text; lines and columns it returns are 1-based."""

    text: str
    lines: tuple[str, ...]
    line_starts: tuple[int, ...]
    headers: tuple[_Header, ...]

    @classmethod
    def from_text(cls, text: str) -> SourceMap:
        lines = tuple(text.split("\n"))
        starts = [0]
        for line in lines[:-1]:
            starts.append(starts[-1] + len(line) + 1)
        return cls(text, lines, tuple(starts), tuple(_scan_headers(lines)))

    def locate(self, path: SchemaPath) -> Position:
        """Line and column of `path`: the deepest part of it that can be found cheaply."""
        header = self._section_of(path)
        if header is None:
            within = self._first_within(path)
            if within is not None:  # only a sub-table's header ([upstreams.x.y]) defines it
                return within.line + 1, 1
        start = header.line if header else -1
        position: Position = (start + 1, 1) if header else (None, None)
        rest = path[len(header.path) :] if header else path
        offset = None
        for part in rest:
            offset = self._find(part, start, offset)
            if offset is None:
                break
            position = self._line_col(offset)
        return position

    def section_at(self, line: int) -> SchemaPath:
        """The concrete path of the table a (1-based) line belongs to; () for the top level."""
        current: SchemaPath = ()
        for header in self.headers:
            if header.line + 1 > line:
                break
            current = header.path
        return current

    def _section_of(self, path: SchemaPath) -> _Header | None:
        best = None
        for header in self.headers:
            if path[: len(header.path)] == header.path and (
                best is None or len(header.path) > len(best.path)
            ):
                best = header
        return best

    def _first_within(self, path: SchemaPath) -> _Header | None:
        """The first header of a table inside `path`, which TOML defines implicitly."""
        return next((h for h in self.headers if h.path[: len(path)] == path and len(h.path) > len(path)), None)

    def _find(self, part: str | int, header_line: int, offset: int | None) -> int | None:
        if isinstance(part, int):
            return None if offset is None else _array_element(self.text, offset, part)
        if offset is None:
            return self._key_in_section(part, header_line)
        return _key_in_inline_table(self.text, offset, part)

    def _key_in_section(self, key: str, header_line: int) -> int | None:
        pattern = _key_pattern(key)
        for index in range(header_line + 1, self._section_end(header_line)):
            match = pattern.match(self.lines[index])
            if match:
                return self.line_starts[index] + match.start("key")
        return None

    def _section_end(self, header_line: int) -> int:
        later = [h.line for h in self.headers if h.line > header_line]
        return min(later, default=len(self.lines))

    def _line_col(self, offset: int) -> Position:
        index = bisect.bisect_right(self.line_starts, offset) - 1
        return index + 1, offset - self.line_starts[index] + 1


def _key_pattern(key: str) -> re.Pattern[str]:
    quoted = re.escape(key)
    return re.compile(rf"^\s*(?P<key>{quoted}|\"{quoted}\"|'{quoted}')\s*[=.]")


def _scan_headers(lines: tuple[str, ...]) -> Iterator[_Header]:
    """Every table header, with array-of-tables indexes filled in the way TOML assigns them: a
    `[[routes]]` header opens the next element; `[routes.supports]` belongs to the last one."""
    counts: dict[SchemaPath, int] = {}
    for number, line in enumerate(lines):
        match = _HEADER.match(line)
        if match is None or len(match.group(1)) != len(match.group(3)):
            continue
        keys = _header_keys(match.group(2))
        if keys is not None:
            yield _Header(_concrete(keys, match.group(1) == "[[", counts), number)


def _header_keys(inner: str) -> tuple[str, ...] | None:
    """The key parts of a header's inside, parsed by tomllib so `"a.b"` stays one key."""
    try:
        data = tomllib.loads(f"{inner} = 0")
    except tomllib.TOMLDecodeError:
        return None
    keys: list[str] = []
    node: object = data
    while isinstance(node, dict) and len(node) == 1:
        key, node = next(iter(node.items()))
        keys.append(key)
    return tuple(keys) if node == 0 else None


def _concrete(keys: tuple[str, ...], is_array: bool, counts: dict[SchemaPath, int]) -> SchemaPath:
    path: list[str | int] = []
    for number, key in enumerate(keys):
        path.append(key)
        prefix = tuple(path)
        if is_array and number == len(keys) - 1:
            counts[prefix] = counts.get(prefix, -1) + 1
            path.append(counts[prefix])
        elif prefix in counts:
            path.append(counts[prefix])
    return tuple(path)


def _key_in_inline_table(text: str, offset: int, key: str) -> int | None:
    """A key inside the inline table starting at `offset` (same line only: best effort)."""
    end = text.find("\n", offset)
    line = text[offset : end if end >= 0 else len(text)]
    match = re.search(rf"(?<![\w-]){re.escape(key)}\s*=", line)
    return offset + match.start() if match else None


def _array_element(text: str, offset: int, index: int) -> int | None:
    """Offset of element `index` of the inline array whose value starts after `offset`."""
    starts = list(_element_starts(text, text.find("=", offset)))
    return starts[index] if 0 <= index < len(starts) else None


def _element_starts(text: str, equals: int) -> Iterator[int]:
    """Offsets where the elements of the array after `=` begin, skipping strings and comments."""
    if equals < 0:
        return
    depth, expect, position = 0, False, equals + 1
    while position < len(text):
        char = text[position]
        if char in " \t\r\n,":
            expect = expect or (char == "," and depth == 1)
        elif char == "#":
            position = _line_end(text, position)
            continue
        elif depth == 0 and char != "[":
            return  # not an array value
        else:
            if depth == 1 and expect:
                yield position
                expect = False
            if char in "\"'":
                position = _string_end(text, position)
                continue
            if char in "[{":
                depth += 1
                expect = depth == 1
            elif char in "]}":
                depth -= 1
                if depth <= 0:
                    return
        position += 1


def _line_end(text: str, position: int) -> int:
    end = text.find("\n", position)
    return len(text) if end < 0 else end


def _string_end(text: str, position: int) -> int:
    """Offset just past the string starting at `position` (basic, literal, multi-line)."""
    quote = text[position]
    delimiter = quote * 3 if text.startswith(quote * 3, position) else quote
    cursor = position + len(delimiter)
    while cursor < len(text):
        if quote == '"' and text[cursor] == "\\":
            cursor += 2
            continue
        if text.startswith(delimiter, cursor):
            return cursor + len(delimiter)
        cursor += 1
    return len(text)
