"""The dashboard's parts on their own: the recent window (rates, error rate, percentiles, the
per-minute chart, buckets that age out), the session cookie, the upstream error ring and the
histogram quantile read from a Prometheus registry."""

from __future__ import annotations

from router.core.usage_entry import UsageEntry
from router.observe.metrics import Metrics
from router.observe.recent import RESERVOIR, RecentWindow
from router.observe.upstream_errors import PER_TARGET, RecentUpstreamErrors
from router.server.dashboard.figures import Figures
from router.server.dashboard.session import SessionKeys
from router.server.dashboard.sparkline import HEIGHT, sparkline

T0 = 1_800_000_000.0  # a minute boundary


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def entry(at: float, status: int = 200, latency_ms: float = 100.0) -> UsageEntry:
    return UsageEntry(time=at - latency_ms / 1000, key="", route="r", target="u/m", client="anthropic", stream=False,
                      input_tokens=1, output_tokens=1, cache_read_tokens=0, cache_write_tokens=0, cost_usd=0.0,
                      priced=False, status=status, latency_ms=latency_ms, retried=False, failed_over=False)


def test_rates_and_error_rate_over_the_last_seconds() -> None:
    clock = Clock(T0 + 299)
    window = RecentWindow(clock)
    for second in range(300):  # one request a second for 5 minutes, every 10th an error
        window.record(entry(T0 + second + 0.5, 500 if second % 10 == 0 else 200))
    assert window.requests_per_second(60) == 1.0
    assert window.requests_per_second(300) == 1.0
    assert window.error_rate(300) == 0.1
    clock.now += 240  # four minutes of silence
    assert window.requests_per_second(60) == 0.0
    assert window.requests_per_second(300) == 60 / 300
    clock.now += 600
    assert window.error_rate(300) is None


def test_latency_percentiles_come_from_a_bounded_sample() -> None:
    clock = Clock(T0 + 30)
    window = RecentWindow(clock)
    for index in range(1000):
        window.record(entry(T0 + 10, latency_ms=float(index % 100)))
    assert all(len(minute.latencies_ms) <= RESERVOIR for minute in window._minutes)  # noqa: SLF001 - the bound itself
    latency = window.latency_ms(5)
    assert latency is not None
    p50, p95 = latency
    assert 30 <= p50 <= 70 and p95 >= 80
    clock.now += 3600
    assert window.latency_ms(5) is None


def test_per_minute_counts_the_last_hour_oldest_first() -> None:
    clock = Clock(T0 + 59 * 60 + 5)
    window = RecentWindow(clock)
    window.record(entry(T0 + 1))  # the oldest minute shown
    window.record(entry(T0 + 59 * 60 + 1, 502))
    window.record(entry(T0 + 59 * 60 + 2))
    minutes = window.per_minute()
    assert len(minutes) == 60 and minutes[0].start == T0 and minutes[-1].start == T0 + 59 * 60
    assert (minutes[0].requests, minutes[-1].requests, minutes[-1].errors) == (1, 2, 1)
    assert sum(minute.requests for minute in minutes[1:-1]) == 0
    clock.now += 60
    assert window.per_minute()[0].start == T0 + 60  # the first minute has aged out


def test_a_session_is_valid_for_its_key_until_it_expires() -> None:
    sessions = SessionKeys()
    value = sessions.issue("digest-a", T0)
    assert sessions.valid(value, ["digest-b", "digest-a"], T0 + 60)
    assert not sessions.valid(value, ["digest-b"], T0 + 60)  # that admin key was removed
    assert not sessions.valid(value, ["digest-a"], T0 + sessions.lifetime + 1)
    assert not SessionKeys().valid(value, ["digest-a"], T0)  # another process's secret
    assert not sessions.valid(value.replace(".", ".0", 1), ["digest-a"], T0)
    assert not sessions.valid(None, ["digest-a"], T0) and not sessions.valid("garbage", ["digest-a"], T0)
    assert "digest-a" not in value


def test_upstream_errors_keep_the_last_few_per_target() -> None:
    errors = RecentUpstreamErrors(Clock(T0))
    for index in range(PER_TARGET + 5):
        errors.record("u/m", 502, 500, "UpstreamStatusError", f"failure {index}")
    kept = errors.of("u/m")
    assert len(kept) == PER_TARGET and kept[0].message == f"failure {PER_TARGET + 4}"
    assert errors.of("other/m") == []


def test_histogram_quantile_reads_the_registry() -> None:
    metrics = Metrics()
    for value in (0.0002,) * 50 + (0.003,) * 50:
        metrics.overhead_seconds("anthropic__openai", "false").observe(value)
    figures = Figures.of(metrics)
    p50 = figures.histogram_quantile("router_overhead_seconds", 0.5)
    p95 = figures.histogram_quantile("router_overhead_seconds", 0.95)
    assert p50 is not None and 0.0001 <= p50 <= 0.00025
    assert p95 is not None and 0.0025 <= p95 <= 0.005
    assert Figures.of(Metrics()).histogram_quantile("router_overhead_seconds", 0.5) is None


def test_sparkline_scales_to_the_peak() -> None:
    line = sparkline([0, 5, 10], 10)
    points = [tuple(map(float, point.split(","))) for point in line.points.split()]
    assert points[0][1] == HEIGHT - 1 and points[-1][1] == 1.0
