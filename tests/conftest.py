"""Shared fixtures: a real mock upstream and a real router server, both on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.fuzz.profiles import load_default
from tests.support.servers import free_port, running

# The fuzz suite's hypothesis profiles, registered here (an initial conftest, read before pytest
# configures hypothesis) so `pytest --hypothesis-profile=long` works from the top as well.
load_default()

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"


@pytest.fixture(scope="session")
def mock_upstream_url() -> Iterator[str]:
    port = free_port()
    with running(["tests.support.mock_upstream", "--port", str(port)], port):
        yield f"http://127.0.0.1:{port}"


RouterFactory = Callable[..., str]


@pytest.fixture(scope="module")
def start_router(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RouterFactory]:
    """start_router(routes_toml_text, env={...}) -> base URL of a running `router serve`; the
    servers a test module starts live until the module ends (starting one costs about a second)."""
    tmp_path = tmp_path_factory.mktemp("routers")
    with ExitStack() as stack:

        def start(routes: str, env: dict[str, str] | None = None, args: list[str] | None = None) -> str:
            config = tmp_path / f"routes-{free_port()}.toml"
            config.write_text(routes)
            port = free_port()
            command = ["router", "serve", "--config", str(config), "--port", str(port), *(args or [])]
            stack.enter_context(running(command, port, env))
            return f"http://127.0.0.1:{port}"

        yield start
