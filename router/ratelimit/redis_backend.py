"""The shared backend: every replica pointed at one Redis draws on one budget.

The sliding-window log of window.py, kept in Redis and changed only by Lua scripts, so a check
and its write are one atomic step however many replicas race. Per budget two keys, namespaced
`router:rl:`: `<name>:log`, a sorted set of `id|weight` members scored by their time in ms,
and `<name>:sum`, the running total. Both get a TTL of the window (plus a second) on every
write, so idle budgets vanish. Time comes from Redis (`TIME`), so replicas whose clocks disagree
still agree on the window.

A Redis that does not answer within `timeout` raises BackendUnavailable, and for `pause`
seconds after that the backend does not try again (every request would otherwise wait for its
own timeout while Redis is down).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from router.config.access import Rule
from router.ratelimit.window import WINDOW_SECONDS, BackendUnavailable, Budget, Decision

PREFIX = "router:rl:"

# KEYS: log1, sum1, log2, sum2 ...; ARGV: window_ms, entry id, limit1, cost1, limit2, cost2 ...
# Returns {allowed, used1, reset_ms1, retry_ms1, used2, ...}; retry -1 means never.
ACQUIRE = """
local window = tonumber(ARGV[1])
local id = ARGV[2]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local n = #KEYS / 2
local used, resets, retries = {}, {}, {}
local allowed = 1
for i = 1, n do
  local log, sum = KEYS[2 * i - 1], KEYS[2 * i]
  local limit, cost = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  local cutoff = now - window
  local total = tonumber(redis.call('GET', sum) or '0')
  local expired = redis.call('ZRANGEBYSCORE', log, '-inf', cutoff)
  if #expired > 0 then
    for _, member in ipairs(expired) do
      total = total - tonumber(string.match(member, '|(%d+)$'))
    end
    redis.call('ZREMRANGEBYSCORE', log, '-inf', cutoff)
  end
  local oldest = redis.call('ZRANGE', log, 0, 0, 'WITHSCORES')
  if #oldest == 0 then
    total = 0
    resets[i] = 0
  else
    resets[i] = tonumber(oldest[2]) + window - now
  end
  redis.call('SET', sum, total, 'PX', window + 1000)
  used[i] = total
  retries[i] = 0
  if total + cost > limit then
    allowed = 0
    if cost > limit then
      retries[i] = -1
    else
      local freed = 0
      local members = redis.call('ZRANGE', log, 0, -1, 'WITHSCORES')
      for j = 1, #members, 2 do
        freed = freed + tonumber(string.match(members[j], '|(%d+)$'))
        if total - freed + cost <= limit then
          retries[i] = tonumber(members[j + 1]) + window - now
          break
        end
      end
    end
  end
end
if allowed == 1 then
  for i = 1, n do
    local log, sum = KEYS[2 * i - 1], KEYS[2 * i]
    local cost = tonumber(ARGV[2 + 2 * i])
    redis.call('ZADD', log, now, id .. '|' .. cost)
    used[i] = redis.call('INCRBY', sum, cost)
    if resets[i] == 0 then resets[i] = window end
    redis.call('PEXPIRE', log, window + 1000)
    redis.call('PEXPIRE', sum, window + 1000)
  end
end
local out = {allowed}
for i = 1, n do
  out[#out + 1] = used[i]
  out[#out + 1] = resets[i]
  out[#out + 1] = retries[i]
end
return out
"""

# KEYS: log1, sum1, ...; ARGV: window_ms, entry id, old weight, new weight.
ADJUST = """
local window = tonumber(ARGV[1])
local old, new = ARGV[2] .. '|' .. ARGV[3], ARGV[2] .. '|' .. ARGV[4]
local delta = tonumber(ARGV[4]) - tonumber(ARGV[3])
for i = 1, #KEYS / 2 do
  local log, sum = KEYS[2 * i - 1], KEYS[2 * i]
  local score = redis.call('ZSCORE', log, old)
  if score then
    redis.call('ZREM', log, old)
    redis.call('ZADD', log, score, new)
    redis.call('INCRBY', sum, delta)
    redis.call('PEXPIRE', log, window + 1000)
    redis.call('PEXPIRE', sum, window + 1000)
  end
end
return 1
"""


class RedisBackend:
    def __init__(
        self, url: str, *, timeout: float = 0.5, pause: float = 1.0, window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # Imported here: a deployment without Redis limits never loads the client.
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self._client: Any = Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0),
        )
        self._acquire = self._client.register_script(ACQUIRE)
        self._adjust = self._client.register_script(ADJUST)
        self._window_ms = int(window * 1000)
        self._timeout = timeout
        self._pause = pause
        self._clock = clock
        self._down_until = -math.inf

    async def acquire(self, rules: Sequence[Rule], entry: str, costs: Sequence[int]) -> Decision:
        args: list[Any] = [self._window_ms, entry]
        for rule, cost in zip(rules, costs):
            args += (rule.limit, cost)
        reply = await self._call(self._acquire, _keys(rules), args)
        return _decision(rules, reply)

    async def adjust(self, rules: Sequence[Rule], entry: str, old: int, new: int) -> None:
        await self._call(self._adjust, _keys(rules), [self._window_ms, entry, old, new])

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        if self._clock() < self._down_until:
            raise BackendUnavailable("Redis did not answer a moment ago")
        try:
            # The socket timeout bounds each read; this bounds the whole call (connect included).
            return await asyncio.wait_for(script(keys=keys, args=args), self._timeout * 2)
        except Exception as exc:  # noqa: BLE001 - the one boundary for Redis: every failure is "unavailable"
            self._down_until = self._clock() + self._pause
            raise BackendUnavailable(f"{type(exc).__name__}: {exc}") from None


def _keys(rules: Sequence[Rule]) -> list[str]:
    return [key for rule in rules for key in (f"{PREFIX}{rule.name}:log", f"{PREFIX}{rule.name}:sum")]


def _decision(rules: Sequence[Rule], reply: Sequence[Any]) -> Decision:
    budgets = []
    for index, rule in enumerate(rules):
        used, reset_ms, retry_ms = (int(value) for value in reply[1 + 3 * index : 4 + 3 * index])
        retry = math.inf if retry_ms < 0 else retry_ms / 1000
        budgets.append(Budget(rule, used, reset_ms / 1000, retry))
    return Decision(bool(int(reply[0])), tuple(budgets))
