"""The loader: what a LoadedConfig holds, how it fails, env references, config discovery, the
seed environment, and positions of problems in the text."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from router.config.envref import parse_env_ref, resolve
from router.config.load import (
    LoadedConfig,
    config_from_seed_env,
    find_config_path,
    load_config_file,
    load_config_text,
)
from router.config.positions import SourceMap
from router.config.problems import InvalidConfig, Problem, format_path
from router.config.schema import MockUpstream, OpenAIUpstream
from router.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]

TABLE = """\
[auth]
keys = [
  "env:ROUTER_KEY",
  { name = "team-a", sha256 = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08" },
]

[upstreams.deepseek]
kind = "openai"
base-url = "https://api.deepseek.com/v1"
api-key = "env:DEEPSEEK_API_KEY"

[upstreams.openrouter]
kind = "openai"
base-url = "https://openrouter.ai/api/v1"
api-key = "${OPENROUTER_API_KEY}"
optional = true

[upstreams.groq]
kind = "openai"
base-url = "https://api.groq.com/openai/v1"
api-key = "env:GROQ_API_KEY"
optional = true

[upstreams.local]
kind = "mock"

[[routes]]
name = "demo"
models = ["demo"]
to = "local"

[[routes]]
name = "claude"
models = ["claude-*"]
to = ["openrouter/anthropic/claude-sonnet-4.5", "deepseek/deepseek-chat"]

[[routes]]
name = "or-only"
models = ["or/*"]
to = "openrouter"

[[routes]]
name = "fast"
models = ["fast"]
to = ["groq/llama", "openrouter/x"]
"""

ENV = {"DEEPSEEK_API_KEY": "sk-deepseek", "ROUTER_KEY": "client-key", "GROQ_API_KEY": "gsk"}


def load(text: str = TABLE, environ: dict[str, str] | None = None) -> LoadedConfig:
    environ = ENV if environ is None else environ
    return load_config_text(text, filename="routes.toml", environ=environ)


def errors_of(text: str, environ: dict[str, str] | None = None) -> tuple[Problem, ...]:
    with pytest.raises(ConfigError) as caught:
        load(text, environ)
    assert isinstance(caught.value, InvalidConfig)
    return caught.value.problems


def test_decoded_config() -> None:
    loaded = load()
    assert loaded.filename == "routes.toml"
    assert loaded.source_sha256 == hashlib.sha256(TABLE.encode()).hexdigest()
    assert [route.name for route in loaded.config.routes] == ["demo", "claude", "or-only", "fast"]
    assert isinstance(loaded.config.upstreams["deepseek"], OpenAIUpstream)
    assert isinstance(loaded.config.upstreams["local"], MockUpstream)


def test_upstream_keys_are_resolved() -> None:
    loaded = load()
    assert dict(loaded.upstream_api_keys) == {
        "deepseek": "sk-deepseek",
        "openrouter": None,  # optional, unset: disabled
        "groq": "gsk",
        "local": None,  # mock: no key at all
    }


def test_client_keys_are_kept_only_as_hashes() -> None:
    loaded = load()
    digest = hashlib.sha256(b"client-key").hexdigest()
    assert dict(loaded.client_key_hashes) == {
        digest: "ROUTER_KEY",
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08": "team-a",
    }
    assert "client-key" not in repr(loaded)


def test_optional_upstreams_without_keys_are_disabled_with_their_routes() -> None:
    loaded = load()
    assert loaded.disabled_upstreams == frozenset({"openrouter"})
    # claude and fast still have a live target; or-only has none left
    assert loaded.disabled_routes == frozenset({"or-only"})
    assert [w.path for w in loaded.warnings] == ["upstreams.openrouter.api-key"]
    assert loaded.warnings[0].severity == "warning"


def test_everything_disabled_when_no_optional_key_is_set() -> None:
    loaded = load(environ={"DEEPSEEK_API_KEY": "x", "ROUTER_KEY": "y"})
    assert loaded.disabled_upstreams == frozenset({"openrouter", "groq"})
    assert loaded.disabled_routes == frozenset({"or-only", "fast"})


def test_loaded_config_is_immutable_and_its_repr_has_no_secrets() -> None:
    loaded = load()
    with pytest.raises(AttributeError):
        loaded.filename = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        loaded.upstream_api_keys["deepseek"] = "y"  # type: ignore[index]
    assert "sk-deepseek" not in repr(loaded)


def test_every_problem_is_collected() -> None:
    text = TABLE.replace('models = ["demo"]', 'modles = ["demo"]').replace(
        'to = "openrouter"', 'to = "opnrouter"'
    )
    problems = errors_of(text, {})
    assert [p.path for p in problems] == [
        "auth.keys[0]",
        "upstreams.deepseek.api-key",
        "routes[0].modles",
        "routes[2].to",
    ]
    assert all(p.file == "routes.toml" and p.line is not None for p in problems)
    assert problems[2].route == "demo" and problems[3].route == "or-only"
    assert problems[3].fix == 'did you mean "openrouter"?'


def test_config_error_message_summarises() -> None:
    with pytest.raises(ConfigError) as caught:
        load(TABLE, {})
    assert str(caught.value).startswith("routes.toml:3:3: auth (auth.keys[0]): ")
    assert str(caught.value).endswith("(and 1 more)")


def test_warnings_travel_with_the_error() -> None:
    with pytest.raises(InvalidConfig) as caught:
        load(TABLE, {"DEEPSEEK_API_KEY": "x"})
    assert [w.path for w in caught.value.warnings] == [
        "upstreams.openrouter.api-key",
        "upstreams.groq.api-key",
    ]


def test_syntax_error_position() -> None:
    (problem,) = errors_of('[server]\nport = 80\nhost = "x\n')
    assert (problem.line, problem.column) == (3, 10)
    assert problem.route == "server" and problem.path == "server"
    assert problem.message.startswith("invalid TOML: ")
    assert "(at line" not in problem.message


def test_render_and_json() -> None:
    problem = Problem(
        "error", "routes.toml", 14, 1, "claude-on-deepseek", "routes[1].modles",
        'unknown key "modles"', 'did you mean "models"?',
    )  # fmt: skip
    assert problem.render() == (
        'routes.toml:14:1: route "claude-on-deepseek" (routes[1].modles): '
        'unknown key "modles" — did you mean "models"?'
    )
    assert problem.as_json()["route"] == "claude-on-deepseek"
    upstream = Problem("warning", "r.toml", None, None, "upstream x", "upstreams.x", "m", "f")
    assert upstream.render() == 'r.toml: warning: upstream "x" (upstreams.x): m — f'


def test_load_config_file(tmp_path: Path) -> None:
    path = tmp_path / "routes.toml"
    path.write_text(TABLE)
    assert load_config_file(path, ENV).filename == str(path)
    with pytest.raises(ConfigError) as caught:
        load_config_file(tmp_path / "missing.toml", ENV)
    assert "cannot read the file" in caught.value.problems[0].message  # type: ignore[attr-defined]


def test_shipped_routes_toml_loads_offline() -> None:
    loaded = load_config_file(ROOT / "routes.toml", {})
    assert "demo" not in loaded.disabled_routes


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("env:KEY", "KEY"),
        ("${_K9}", "_K9"),
        ("env:9KEY", None),
        ("$KEY", None),
        ("${KEY", None),
        ("sk-abc", None),
        ("env:KEY ", None),
        ("", None),
    ],
)
def test_parse_env_ref(value: str, name: str | None) -> None:
    assert parse_env_ref(value) == name


def test_resolve() -> None:
    environ = {"A": "secret", "EMPTY": ""}
    assert resolve("env:A", environ) == "secret"
    assert resolve("${A}", environ) == "secret"
    assert resolve("env:B", environ) is None
    assert resolve("env:EMPTY", environ) is None  # empty counts as unset
    assert resolve("A", environ) is None


def test_find_config_path(tmp_path: Path) -> None:
    assert find_config_path("x.toml", {"ROUTER_CONFIG": "y.toml"}, cwd=tmp_path) == Path("x.toml")
    assert find_config_path(None, {"ROUTER_CONFIG": "y.toml"}, cwd=tmp_path) == Path("y.toml")
    assert find_config_path(None, {}, cwd=tmp_path) is None
    (tmp_path / "routes.toml").write_text("")
    assert find_config_path(None, {}, cwd=tmp_path) == tmp_path / "routes.toml"


def test_seed_env_absent() -> None:
    assert config_from_seed_env({}) is None
    assert config_from_seed_env({"UPSTREAM_BASE_URL": "https://x", "UPSTREAM_MODEL": "m"}) is None


def test_seed_env_builds_one_upstream_one_route() -> None:
    environ = {
        "UPSTREAM_BASE_URL": "https://api.deepseek.com/v1",
        "UPSTREAM_API_KEY": "sk-seed",
        "UPSTREAM_MODEL": "deepseek-chat",
    }
    loaded = config_from_seed_env(environ)
    assert loaded is not None
    (name, upstream), = loaded.config.upstreams.items()
    assert isinstance(upstream, OpenAIUpstream)
    assert upstream.api_key == "env:UPSTREAM_API_KEY"  # a reference, not the key
    assert loaded.upstream_api_keys[name] == "sk-seed"
    (route,) = loaded.config.routes
    assert route.models == ["*"] and route.to == f"{name}/deepseek-chat"
    named = config_from_seed_env({**environ, "CUSTOM_MODEL_NAME": "my-model"})
    assert named is not None and named.config.routes[0].models == ["my-model"]


def test_seed_env_is_validated() -> None:
    environ = {"UPSTREAM_BASE_URL": "ftp://x", "UPSTREAM_API_KEY": "k", "UPSTREAM_MODEL": "m"}
    with pytest.raises(ConfigError):
        config_from_seed_env(environ)


POSITIONS = """\
[server]
port = 1

[upstreams."deep.seek"]
kind = "openai"
timeout.connect = 3

[[routes]]
name = "a"
models = ["a", "b["]  # c

[[routes]]
name = "b"
request = [
  { op = "drop", field = "top_k" },
  { op = "set", field = "x", value = [1, { a = 2 }] }, { op = "drop", field = "y" },
]
[routes.supports]
vision = 1
"""


@pytest.mark.parametrize(
    ("path", "position"),
    [
        (("server", "port"), (2, 1)),
        (("upstreams", "deep.seek"), (4, 1)),
        (("upstreams", "deep.seek", "timeout", "connect"), (6, 9)),
        (("routes", 0, "models", 1), (10, 16)),
        (("routes", 1), (12, 1)),
        (("routes", 1, "request", 0, "field"), (15, 18)),
        (("routes", 1, "request", 2, "field"), (16, 71)),
        (("routes", 1, "supports", "vision"), (19, 1)),
        (("routes", 1, "missing"), (12, 1)),
        (("routes", 7), (None, None)),
    ],
)
def test_source_positions(
    path: tuple[str | int, ...], position: tuple[int | None, int | None]
) -> None:
    assert SourceMap.from_text(POSITIONS).locate(path) == position


def test_format_path() -> None:
    assert format_path(("routes", 2, "request", 0, "field")) == "routes[2].request[0].field"
    assert format_path(("upstreams", "deep.seek", "api-key")) == 'upstreams."deep.seek".api-key'
