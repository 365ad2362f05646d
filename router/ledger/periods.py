"""Budget periods: calendar periods in UTC (a day from 00:00, a week from Monday 00:00, a month
from the 1st). Times are epoch seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

Period = Literal["day", "week", "month"]
PERIODS: tuple[Period, ...] = ("day", "week", "month")


def period_start(now: float, period: Period) -> float:
    """The start of the period that contains `now`."""
    day = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "week":
        day -= timedelta(days=day.weekday())
    elif period == "month":
        day = day.replace(day=1)
    return day.timestamp()


def period_end(now: float, period: Period) -> float:
    """When the period that contains `now` ends (the next one's start)."""
    start = datetime.fromtimestamp(period_start(now, period), UTC)
    if period == "day":
        end = start + timedelta(days=1)
    elif period == "week":
        end = start + timedelta(days=7)
    else:
        end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return end.timestamp()


def iso(timestamp: float) -> str:
    """`2026-12-05T00:00:00Z`."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
