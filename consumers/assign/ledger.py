"""Who reviews which task, with capacity: one atomic step per assignment.

In Redis the choice of reviewer and the capacity update are a single Lua script, so any number
of assign workers can run at once without over-assigning a reviewer or assigning a task twice.
`MemoryLedger` does the same under a lock for the local runtime.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

import redis

from consumers.assign.roster import ANY_COUNTRY, Reviewer, Roster
from schemas.enums import ReviewQueue

# KEYS: none (single-node Redis); ARGV: prefix, task_id, queue, country, now
_ASSIGN = """
local prefix, task, queue, country, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local task_key = prefix .. 'task:' .. task
local existing = redis.call('HGET', task_key, 'reviewer')
if existing then return existing end
local best, best_open, best_last = nil, nil, nil
for _, id in ipairs(redis.call('SMEMBERS', prefix .. 'reviewers')) do
  local r = redis.call('HMGET', prefix .. 'reviewer:' .. id,
                       'active', 'queues', 'countries', 'max_open', 'open', 'last')
  local open, max_open = tonumber(r[5] or '0'), tonumber(r[4] or '0')
  local last = tonumber(r[6] or '0')
  local queues, countries = ',' .. (r[2] or '') .. ',', ',' .. (r[3] or '') .. ','
  if r[1] == '1' and string.find(queues, ',' .. queue .. ',', 1, true)
     and (string.find(countries, ',*,', 1, true)
          or string.find(countries, ',' .. country .. ',', 1, true))
     and open < max_open then
    local better = best == nil or open < best_open
    if not better and open == best_open then
      better = last < best_last or (last == best_last and id < best)
    end
    if better then
      best, best_open, best_last = id, open, last
    end
  end
end
if best == nil then return false end
redis.call('HINCRBY', prefix .. 'reviewer:' .. best, 'open', 1)
redis.call('HSET', prefix .. 'reviewer:' .. best, 'last', now)
redis.call('HSET', task_key, 'reviewer', best, 'queue', queue, 'state', 'open')
return best
"""

# ARGV: prefix, task_id; frees the reviewer's slot once
_RELEASE = """
local task_key = ARGV[1] .. 'task:' .. ARGV[2]
local r = redis.call('HMGET', task_key, 'reviewer', 'state')
if not r[1] or r[2] ~= 'open' then return false end
redis.call('HSET', task_key, 'state', 'done')
redis.call('HINCRBY', ARGV[1] .. 'reviewer:' .. r[1], 'open', -1)
return r[1]
"""


class Ledger(Protocol):
    def load(self, roster: Roster) -> None: ...
    def assign(self, task_id: str, queue: ReviewQueue, country: str, now: float) -> str | None: ...
    def release(self, task_id: str) -> str | None: ...
    def open_tasks(self, reviewer_id: str) -> int: ...


class RedisLedger:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client = client
        self._prefix = f"{prefix}assign:"
        self._assign = client.register_script(_ASSIGN)
        self._release = client.register_script(_RELEASE)

    def load(self, roster: Roster) -> None:
        """Add or update reviewers; open-task counts survive a reload."""
        pipe = self._client.pipeline()
        for reviewer in roster.reviewers:
            pipe.sadd(f"{self._prefix}reviewers", reviewer.id)
            for name, value in _fields(reviewer).items():
                pipe.hset(f"{self._prefix}reviewer:{reviewer.id}", name, value)
        pipe.execute()

    def assign(self, task_id: str, queue: ReviewQueue, country: str, now: float) -> str | None:
        result = self._assign(args=[self._prefix, task_id, queue.value, country.upper(), now])
        return None if not result else _text(result)

    def release(self, task_id: str) -> str | None:
        result = self._release(args=[self._prefix, task_id])
        return None if not result else _text(result)

    def open_tasks(self, reviewer_id: str) -> int:
        value = self._client.hget(f"{self._prefix}reviewer:{reviewer_id}", "open")
        return int(value or 0)


@dataclass
class MemoryLedger:
    reviewers: dict[str, Reviewer] = field(default_factory=dict)
    open: dict[str, int] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)
    tasks: dict[str, tuple[str, bool]] = field(default_factory=dict)  # task -> (reviewer, open)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def load(self, roster: Roster) -> None:
        with self._lock:
            for reviewer in roster.reviewers:
                self.reviewers[reviewer.id] = reviewer

    def assign(self, task_id: str, queue: ReviewQueue, country: str, now: float) -> str | None:
        with self._lock:
            if task_id in self.tasks:
                return self.tasks[task_id][0]
            eligible = [
                r
                for r in self.reviewers.values()
                if r.may_review(queue, country) and self.open.get(r.id, 0) < r.max_open
            ]
            if not eligible:
                return None
            best = min(
                eligible, key=lambda r: (self.open.get(r.id, 0), self.last.get(r.id, 0.0), r.id)
            )
            self.open[best.id] = self.open.get(best.id, 0) + 1
            self.last[best.id] = now
            self.tasks[task_id] = (best.id, True)
            return best.id

    def release(self, task_id: str) -> str | None:
        with self._lock:
            reviewer, is_open = self.tasks.get(task_id, ("", False))
            if not is_open:
                return None
            self.tasks[task_id] = (reviewer, False)
            self.open[reviewer] -= 1
            return reviewer

    def open_tasks(self, reviewer_id: str) -> int:
        return self.open.get(reviewer_id, 0)


def _fields(reviewer: Reviewer) -> dict[str, str]:
    return {
        "active": "1" if reviewer.active else "0",
        "queues": ",".join(sorted(q.value for q in reviewer.queues)),
        "countries": ",".join(sorted(reviewer.countries)) or ANY_COUNTRY,
        "max_open": str(reviewer.max_open),
        "token_sha256": reviewer.token_sha256,
    }


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
