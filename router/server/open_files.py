"""The process's open-file limit, raised for serving.

Every open stream holds two descriptors (the client's connection and the upstream's), so the
soft RLIMIT_NOFILE is the ceiling on concurrent requests. Many systems start a process with a
soft limit of 1,024 (about 460 streams) under a hard limit hundreds of times larger, which any
process may raise itself to: `router serve` does, at start, before its workers are forked (they
inherit it), as nginx's worker_rlimit_nofile and Go's runtime do. Raising the hard limit needs
privilege (CAP_SYS_RESOURCE, systemd's LimitNOFILE, a container runtime's --ulimit): when the
hard limit is low, serve says so instead.
"""

from __future__ import annotations

from dataclasses import dataclass

try:
    import resource
except ImportError:  # not on Windows: nothing to raise there
    resource = None  # type: ignore[assignment]

# Descriptors the router holds besides two a request: listening sockets, epoll, the log, pipes,
# and the upstream pools' idle keep-alive connections (tests/bench/open_streams.py counts them).
OWN_DESCRIPTORS = 100
# Below this many concurrent streams a hard limit is worth a warning at start.
FEW_STREAMS = 4_000


@dataclass(frozen=True)
class OpenFiles:
    before: int  # the soft limit the process started with
    soft: int  # the soft limit now
    hard: int

    @property
    def streams(self) -> int:
        """How many requests (streams included) can be open at once within the soft limit."""
        return max(0, (self.soft - OWN_DESCRIPTORS) // 2)


def raise_open_file_limit() -> OpenFiles | None:
    """Soft RLIMIT_NOFILE up to the hard limit; None where the platform has no such limit."""
    if resource is None:
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
    if soft == resource.RLIM_INFINITY or wanted <= soft:
        return OpenFiles(soft, soft, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ValueError, OSError):  # e.g. macOS refuses more than OPEN_MAX under an unlimited hard limit
        return OpenFiles(soft, soft, hard)
    return OpenFiles(soft, wanted, hard)


def describe(limit: OpenFiles) -> str | None:
    """The line `router serve` prints about its limit: when it raised it, or when it is low."""
    if limit.streams < FEW_STREAMS:
        return (f"router: open files limited to {limit.soft:,} (hard limit {limit.hard:,}): at most "
                f"~{limit.streams:,} requests or streams open at once; raise the hard limit "
                f"(ulimit -Hn, systemd LimitNOFILE, --ulimit nofile=) for more")
    if limit.soft > limit.before:
        return f"router: open files limit raised from {limit.before:,} to {limit.soft:,} (~{limit.streams:,} open streams)"
    return None
