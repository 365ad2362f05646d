"""The README's routes.toml reference and schemas/routes.schema.json are generated from the schema;
these tests fail when either drifts (regenerate with `router schema --markdown` / `router schema`)."""

from __future__ import annotations

from pathlib import Path

from router.config.reference import BEGIN, END, json_schema, reference_markdown

REPO = Path(__file__).resolve().parents[1]


def test_readme_reference_is_generated_from_the_schema() -> None:
    readme = (REPO / "README.md").read_text()
    start, end = readme.index(BEGIN), readme.index(END) + len(END) + 1
    assert readme[start:end] == reference_markdown(), "run: router schema --markdown, paste into README.md"


def test_json_schema_file_is_current() -> None:
    assert (REPO / "schemas" / "routes.schema.json").read_bytes() == json_schema(), "run: router schema > schemas/routes.schema.json"


def test_every_schema_field_is_documented() -> None:
    text = reference_markdown()
    for key in ("base-url", "api-key", "stream-idle", "max-output-tokens", "ping-interval", "max-wait", "anthropic-version"):
        assert f"`{key}`" in text
