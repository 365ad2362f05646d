"""Rate limits per client key and per route: requests and tokens per minute over a sliding window,
counted in memory (per process) or in Redis (one budget for every replica). See limiter.py."""

from router.ratelimit.limiter import Limiter, LimiterStats, Ticket

__all__ = ["Limiter", "LimiterStats", "Ticket"]
