"""router serve raises its soft open-file limit to the hard one (two descriptors an open stream)."""

from __future__ import annotations

import resource
import subprocess
import sys
import textwrap

import pytest

from router.server.open_files import OWN_DESCRIPTORS, OpenFiles, describe, raise_open_file_limit

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="no RLIMIT_NOFILE")


def test_the_soft_limit_is_raised_to_the_hard_one() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard < 2048:
        pytest.skip("needs a finite hard limit above 2,048")
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))
    try:
        limit = raise_open_file_limit()
        assert limit == OpenFiles(before=1024, soft=hard, hard=hard)
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_limit_already_at_the_hard_one_is_left_alone() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    limit = raise_open_file_limit()
    assert limit is not None and limit.hard == hard
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == limit.soft >= soft


def test_what_serve_says_about_it() -> None:
    raised = describe(OpenFiles(before=1024, soft=524_288, hard=524_288))
    assert raised is not None and "raised from 1,024 to 524,288" in raised
    assert f"~{(524_288 - OWN_DESCRIPTORS) // 2:,} open streams" in raised
    low = describe(OpenFiles(before=1024, soft=4096, hard=4096))
    assert low is not None and "at most ~1,998 requests or streams" in low and "raise the hard limit" in low
    assert describe(OpenFiles(before=65_536, soft=65_536, hard=65_536)) is None


def test_workers_inherit_it_from_serve() -> None:
    """A child started with a low soft limit ends up at its hard limit, as router serve's workers do."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard < 2048:
        pytest.skip("needs a finite hard limit above 2,048")
    code = textwrap.dedent("""
        import resource, subprocess, sys
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
        from router.cli.main import _raise_open_file_limit
        _raise_open_file_limit()
        child = "import resource; print(resource.getrlimit(resource.RLIMIT_NOFILE)[0])"
        print(subprocess.run([sys.executable, "-c", child], capture_output=True, text=True).stdout.strip())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert f"raised from 1,024 to {hard:,}" in out
    assert out.strip().splitlines()[-1] == str(hard)
