"""Who reviews which task: every change of a task's owner is one atomic Redis script.

Any number of assign workers (and the verdict stage, which checks decisions) share this ledger.
Each script picks and updates in one step, so a reviewer is never given more than `max_open`
tasks and a task never has two owners. The local runtime runs the same scripts on fakeredis, so
there is one implementation, not a twin.

Every change that the reviewers must hear about is written as a *notice* ("action|task|reviewer|n")
into a list in the same script: `caused:<event id>` when an input event caused it (a replay of
that event finds the list and re-emits the same notices), or the `outbox` when the periodic tick
did (the tick acknowledges notices only after the broker has them). Nothing is lost by a crash
between the script and the produce.

Keys (under `<prefix>assign:`): `reviewers` (set), `reviewer:<id>` (hash), `tasks_of:<id>` (set),
`task:<id>` (hash), `history:<id>` (list), `backlog` (zset by due), `open` (zset by assignment
time), `pending_due` (zset by due, unfinished and not yet breached), `caused:<event>` and `outbox`
(lists of notices), `breaches` (counter); per account, expiring 400 days after their last change:
`account:<acct>:<queue>` (its current task), `tasks_of_account:<acct>`, `latest:<acct>`,
`superseded:<acct>`. Finished tasks expire after 30 days; `erase_account` blanks what an erased
account's tasks show at once.
"""

from __future__ import annotations

import hmac
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import redis
from redis.typing import EncodableT, FieldT

from consumers.assign.roster import ANY_COUNTRY, Reviewer, Roster
from pipeline.state import StateStore
from schemas.enums import ReviewQueue, TaskAction

CAUSED_TTL_S: Final = 14 * 24 * 3600
DONE_TTL_S: Final = 30 * 24 * 3600  # decided/cancelled tasks are kept this long for replays
ACCOUNT_TTL_S: Final = 400 * 24 * 3600  # per-account ids (latest submission, task slots)

_LIB = (
    """
local P = ARGV[1]
local function notice(list, action, task, reviewer, n)
  if list ~= '' then
    redis.call('RPUSH', P .. list, action .. '|' .. task .. '|' .. reviewer .. '|' .. n)
    if list ~= 'outbox' then redis.call('EXPIRE', P .. list, CAUSED_TTL) end
  end
end
local function history(task, now, action, reviewer, reason)
  redis.call('RPUSH', P .. 'history:' .. task,
             now .. '|' .. action .. '|' .. (reviewer or '') .. '|' .. (reason or ''))
end
local function has(csv, item)
  return string.find(',' .. (csv or '') .. ',', ',' .. item .. ',', 1, true) ~= nil
end
-- least-loaded eligible reviewer; ties: least recently assigned, then id
local function pick(queue, country, exclude)
  local best, best_open, best_last = nil, nil, nil
  for _, id in ipairs(redis.call('SMEMBERS', P .. 'reviewers')) do
    local r = redis.call('HMGET', P .. 'reviewer:' .. id,
                         'active', 'queues', 'countries', 'max_open', 'open', 'last')
    local open, max_open = tonumber(r[5] or '0'), tonumber(r[4] or '0')
    local last = tonumber(r[6] or '0')
    if id ~= exclude and r[1] == '1' and has(r[2], queue)
       and (has(r[3], '*') or has(r[3], country)) and open < max_open then
      local better = best == nil or open < best_open
      if not better and open == best_open then
        better = last < best_last or (last == best_last and id < best)
      end
      if better then best, best_open, best_last = id, open, last end
    end
  end
  return best
end
local function give(task, reviewer, now, reason, list)
  local key = P .. 'task:' .. task
  redis.call('HINCRBY', P .. 'reviewer:' .. reviewer, 'open', 1)
  redis.call('HSET', P .. 'reviewer:' .. reviewer, 'last', now)
  local n = redis.call('HINCRBY', key, 'n', 1)
  redis.call('HSET', key, 'state', 'open', 'reviewer', reviewer, 'assigned_at', now)
  redis.call('SADD', P .. 'tasks_of:' .. reviewer, task)
  redis.call('ZADD', P .. 'open', now, task)
  redis.call('ZREM', P .. 'backlog', task)
  history(task, now, 'assigned', reviewer, reason)
  notice(list, 'assigned', task, reviewer, n)
end
-- frees the owner's slot; the task keeps its hash
local function take_back(task)
  local key = P .. 'task:' .. task
  local owner = redis.call('HGET', key, 'reviewer')
  if owner and owner ~= '' and redis.call('HGET', key, 'state') == 'open' then
    redis.call('HINCRBY', P .. 'reviewer:' .. owner, 'open', -1)
    redis.call('SREM', P .. 'tasks_of:' .. owner, task)
  end
  redis.call('ZREM', P .. 'open', task)
  return owner
end
local function requeue(task, now, reason, list)
  local key = P .. 'task:' .. task
  local owner = take_back(task)
  redis.call('HSET', key, 'state', 'waiting', 'reviewer', '')
  redis.call('ZADD', P .. 'backlog', redis.call('HGET', key, 'due'), task)
  history(task, now, 'unassigned', owner, reason)
  notice(list, 'unassigned', task, owner or '', redis.call('HGET', key, 'n'))
end
local function finish(task, state)
  redis.call('HSET', P .. 'task:' .. task, 'state', state)
  redis.call('ZREM', P .. 'backlog', task)
  redis.call('ZREM', P .. 'pending_due', task)
  redis.call('EXPIRE', P .. 'task:' .. task, DONE_TTL)
  redis.call('EXPIRE', P .. 'history:' .. task, DONE_TTL)
end
local function cancel(task, now, reason, list)
  local key = P .. 'task:' .. task
  local state = redis.call('HGET', key, 'state')
  if state ~= 'open' and state ~= 'waiting' then return end
  local owner = take_back(task)
  finish(task, 'cancelled')
  history(task, now, 'cancelled', owner, reason)
  if state == 'open' then notice(list, 'cancelled', task, owner, redis.call('HGET', key, 'n')) end
end
local function per_account(key)
  redis.call('EXPIRE', key, ACCOUNT_TTL)
end
""".replace("CAUSED_TTL", str(CAUSED_TTL_S))
    .replace("DONE_TTL", str(DONE_TTL_S))
    .replace("ACCOUNT_TTL", str(ACCOUNT_TTL_S))
)

# ARGV: P, task, queue, country, due, now, spec, account, submission, list
_OPEN = """
local task, queue, country, due, now, spec, account, submission, list =
  ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local key = P .. 'task:' .. task
if redis.call('EXISTS', key) == 0 then
  if redis.call('SISMEMBER', P .. 'superseded:' .. account, submission) == 1 then
    return 'superseded'
  end
  local slot = P .. 'account:' .. account .. ':' .. queue
  local previous = redis.call('GET', slot)
  if previous and previous ~= task then cancel(previous, now, 'superseded by ' .. task, list) end
  redis.call('SET', slot, task)
  per_account(slot)
  redis.call('SADD', P .. 'tasks_of_account:' .. account, task)
  per_account(P .. 'tasks_of_account:' .. account)
  redis.call('HSET', key, 'queue', queue, 'country', country, 'due', due, 'spec', spec,
             'account', account, 'submission', submission, 'state', 'waiting', 'n', 0,
             'created_at', now)
  redis.call('ZADD', P .. 'pending_due', due, task)
  history(task, now, 'created', '', '')
  local reviewer = pick(queue, country, nil)
  if reviewer then give(task, reviewer, now, 'new', list)
  else
    redis.call('ZADD', P .. 'backlog', due, task)
    history(task, now, 'waiting', '', 'no eligible reviewer with capacity')
  end
end
return redis.call('HGET', key, 'state')
"""

# ARGV: P, account, queue, now, reason, list
_CANCEL_ACCOUNT = """
local slot = P .. 'account:' .. ARGV[2] .. ':' .. ARGV[3]
local task = redis.call('GET', slot)
if task then cancel(task, ARGV[4], ARGV[5], ARGV[6]) end
return task
"""

# ARGV: P, account, now, reason, list. Cancels the account's tasks and blanks what they show
# (the application, findings, fields): the hashes keep ids and history until they expire.
_ERASE = """
local account, now, reason, list = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local index = P .. 'tasks_of_account:' .. account
local tasks = redis.call('SMEMBERS', index)
for _, queue in ipairs({'identity', 'compliance'}) do
  local slot = P .. 'account:' .. account .. ':' .. queue
  local task = redis.call('GET', slot)
  if task then table.insert(tasks, task) end
  redis.call('DEL', slot)
end
local blanked = 0
for _, task in ipairs(tasks) do
  local key = P .. 'task:' .. task
  if redis.call('EXISTS', key) == 1 then
    cancel(task, now, reason, list)
    if redis.call('HGET', key, 'spec') ~= '' then
      redis.call('HSET', key, 'spec', '')
      blanked = blanked + 1
    end
  end
end
redis.call('DEL', index, P .. 'latest:' .. account, P .. 'superseded:' .. account)
return blanked
"""

# ARGV: P, account, submission, submitted_at, now, list. The newest submission wins; the
# tasks of every older one are cancelled, and an older one arriving late never gets a task.
_SUBMITTED = """
local account, submission, at, now, list = ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local latest_key = P .. 'latest:' .. account
local latest = redis.call('HMGET', latest_key, 'submission', 'at')
if latest[1] == submission then return 0 end
if latest[1] and tonumber(latest[2]) > tonumber(at) then
  redis.call('SADD', P .. 'superseded:' .. account, submission)
  per_account(P .. 'superseded:' .. account)
  return 0
end
if latest[1] then
  redis.call('SADD', P .. 'superseded:' .. account, latest[1])
  per_account(P .. 'superseded:' .. account)
end
redis.call('HSET', latest_key, 'submission', submission, 'at', at)
per_account(latest_key)
local cancelled = 0
for _, queue in ipairs({'identity', 'compliance'}) do
  local task = redis.call('GET', P .. 'account:' .. account .. ':' .. queue)
  if task and redis.call('HGET', P .. 'task:' .. task, 'submission') ~= submission then
    cancel(task, now, 'superseded by a newer submission', list)
    cancelled = cancelled + 1
  end
end
return cancelled
"""

# ARGV: P, now, limit, list
_DRAIN = """
local now, limit, list = ARGV[2], tonumber(ARGV[3]), ARGV[4]
local given = 0
for _, task in ipairs(redis.call('ZRANGE', P .. 'backlog', 0, limit - 1)) do
  local t = redis.call('HMGET', P .. 'task:' .. task, 'queue', 'country')
  local reviewer = pick(t[1], t[2], nil)
  if reviewer then
    give(task, reviewer, now, 'capacity freed', list)
    given = given + 1
  end
end
return given
"""

# ARGV: P, task, reviewer, event, account, queue, now
_DECIDE = """
local task, reviewer, event, account, queue, now =
  ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local key = P .. 'task:' .. task
local t = redis.call('HMGET', key, 'state', 'reviewer', 'decision_event', 'account', 'queue', 'due')
if not t[1] then return 'unknown_task' end
if t[3] == event then return 'replay' end
if t[4] ~= account or t[5] ~= queue then return 'unknown_task' end
if redis.call('SISMEMBER', P .. 'reviewers', reviewer) == 0 then return 'unknown_reviewer' end
if t[2] ~= reviewer then return 'not_assigned' end
if t[1] == 'cancelled' then return 'cancelled' end
if t[1] == 'decided' then return 'already_decided' end
if t[1] ~= 'open' then return 'not_assigned' end
take_back(task)
redis.call('HSET', key, 'decision_event', event, 'decided_at', now)
if tonumber(now) > tonumber(t[6]) and redis.call('HGET', key, 'breached') ~= '1' then
  redis.call('HSET', key, 'breached', '1')
  redis.call('INCR', P .. 'breaches')
end
finish(task, 'decided')
history(task, now, 'decided', reviewer, '')
return 'accepted'
"""

# ARGV: P, now, idle_s, limit; reassigns to someone else, or restarts the idle clock
_REASSIGN_IDLE = """
local now, idle, limit = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local moved = 0
for _, task in ipairs(redis.call('ZRANGEBYSCORE', P .. 'open', '-inf', now - idle,
                                 'LIMIT', 0, limit)) do
  local t = redis.call('HMGET', P .. 'task:' .. task, 'queue', 'country', 'reviewer')
  local other = pick(t[1], t[2], t[3])
  if other then
    take_back(task)
    history(task, now, 'unassigned', t[3], 'idle')
    give(task, other, now, 'reassigned: ' .. t[3] .. ' idle', 'outbox')
    moved = moved + 1
  else
    redis.call('ZADD', P .. 'open', now, task)
    history(task, now, 'kept', t[3], 'idle, but no other eligible reviewer')
  end
end
return moved
"""

# ARGV: P, now, limit
_SLA = """
local now, limit = ARGV[2], tonumber(ARGV[3])
local late = redis.call('ZRANGEBYSCORE', P .. 'pending_due', '-inf', '(' .. now, 'LIMIT', 0, limit)
for _, task in ipairs(late) do
  redis.call('HSET', P .. 'task:' .. task, 'breached', '1')
  redis.call('ZREM', P .. 'pending_due', task)
  history(task, now, 'sla_breached', '', 'past due')
end
redis.call('INCRBY', P .. 'breaches', #late)
return #late
"""

# ARGV: P, reviewer, now, reason, remove ('1' drops them from the roster)
_RETIRE = """
local reviewer, now, reason = ARGV[2], ARGV[3], ARGV[4]
local tasks = redis.call('SMEMBERS', P .. 'tasks_of:' .. reviewer)
for _, task in ipairs(tasks) do requeue(task, now, reason, 'outbox') end
if ARGV[5] == '1' then redis.call('SREM', P .. 'reviewers', reviewer) end
return #tasks
"""


class Refusal(StrEnum):
    """Why a decision is not applied."""

    UNKNOWN_TASK = "unknown_task"
    UNKNOWN_REVIEWER = "unknown_reviewer"
    NOT_ASSIGNED = "not_assigned"
    CANCELLED = "cancelled"
    ALREADY_DECIDED = "already_decided"


_REFUSAL_TEXT: Final = {
    Refusal.UNKNOWN_TASK: "no such review task for this account and queue",
    Refusal.UNKNOWN_REVIEWER: "the reviewer is not on the roster",
    Refusal.NOT_ASSIGNED: "the task is not assigned to this reviewer",
    Refusal.CANCELLED: "the task was cancelled (superseded by a newer submission)",
    Refusal.ALREADY_DECIDED: "the task was already decided",
}


def describe(refusal: Refusal) -> str:
    return _REFUSAL_TEXT[refusal]


@dataclass(frozen=True)
class Notice:
    """One change reviewers must hear about, as written by a ledger script."""

    action: TaskAction
    task_id: str
    reviewer_id: str
    assignment: int
    raw: str

    @classmethod
    def parse(cls, raw: str) -> Notice:
        action, task_id, reviewer_id, assignment = raw.split("|")
        return cls(TaskAction(action), task_id, reviewer_id, int(assignment), raw)


@dataclass(frozen=True)
class HistoryEntry:
    at: float
    action: str
    reviewer_id: str
    reason: str


@dataclass(frozen=True)
class TaskRecord:
    task_id: str
    state: str
    queue: ReviewQueue
    reviewer_id: str
    due: float
    assigned_at: float | None
    spec: str  # "" once the account was erased
    breached: bool
    history: tuple[HistoryEntry, ...]
    account_id: str = ""
    submission_id: str = ""
    assignment: int = 0  # how many times it was given out


@dataclass(frozen=True)
class LedgerStats:
    backlog: int
    open: int
    breaches_total: int


class Ledger:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client = client
        self._prefix = f"{prefix}assign:"
        self._scripts = {
            name: client.register_script(_LIB + body)
            for name, body in {
                "open": _OPEN,
                "cancel_account": _CANCEL_ACCOUNT,
                "erase": _ERASE,
                "submitted": _SUBMITTED,
                "drain": _DRAIN,
                "decide": _DECIDE,
                "reassign_idle": _REASSIGN_IDLE,
                "sla": _SLA,
                "retire": _RETIRE,
            }.items()
        }

    def _run(self, script: str, *args: str | float) -> Any:
        return self._scripts[script](args=[self._prefix, *args])

    # --- roster
    def load(self, roster: Roster, now: float) -> int:
        """Add or update reviewers; open counts survive. Removed or deactivated reviewers' open
        tasks go back to the backlog. Returns how many tasks were put back."""
        pipe = self._client.pipeline()
        for reviewer in roster.reviewers:
            pipe.sadd(f"{self._prefix}reviewers", reviewer.id)
            pipe.hset(f"{self._prefix}reviewer:{reviewer.id}", mapping=_fields(reviewer))
        pipe.execute()
        listed = {reviewer.id for reviewer in roster.reviewers}
        put_back = 0
        for reviewer_id in self.reviewer_ids():
            if reviewer_id not in listed:
                put_back += int(self._run("retire", reviewer_id, now, "removed from roster", "1"))
        for reviewer in roster.reviewers:
            if not reviewer.active:
                put_back += int(self._run("retire", reviewer.id, now, "deactivated", "0"))
        return put_back

    def reviewer_ids(self) -> set[str]:
        return {_text(member) for member in self._client.smembers(f"{self._prefix}reviewers")}

    def reviewer_by_token_hash(self, token_sha256: str) -> str | None:
        """The active reviewer holding this token (compared in constant time)."""
        found = None
        for reviewer_id in sorted(self.reviewer_ids()):
            fields = self._hash(f"reviewer:{reviewer_id}")
            stored = fields.get("token_sha256", "")
            if hmac.compare_digest(stored, token_sha256) and fields.get("active") == "1":
                found = reviewer_id
        return found

    def open_tasks(self, reviewer_id: str) -> int:
        return int(self._hash(f"reviewer:{reviewer_id}").get("open", 0))

    def tasks_of(self, reviewer_id: str) -> set[str]:
        return {_text(t) for t in self._client.smembers(f"{self._prefix}tasks_of:{reviewer_id}")}

    # --- tasks
    def open(
        self,
        task_id: str,
        queue: ReviewQueue,
        country: str,
        due: float,
        now: float,
        spec: str,
        account_id: str,
        submission_id: str,
        cause: str,
    ) -> str:
        """Create the task once (cancelling the account's previous one in this queue) and give it
        to a reviewer or the backlog. Returns its state, or "superseded" (no task made)."""
        state = self._run(
            "open",
            task_id,
            queue.value,
            country.upper(),
            due,
            now,
            spec,
            account_id,
            submission_id,
            _caused(cause),
        )
        return _text(state)

    def submitted(
        self, account_id: str, submission_id: str, submitted_at: float, now: float, cause: str
    ) -> int:
        """Record a submission; cancels the older submission's tasks. Returns how many."""
        return int(
            self._run("submitted", account_id, submission_id, submitted_at, now, _caused(cause))
        )

    def cancel_account(
        self, account_id: str, queue: ReviewQueue, now: float, reason: str, cause: str
    ) -> None:
        self._run("cancel_account", account_id, queue.value, now, reason, _caused(cause))

    def erase_account(self, account_id: str, now: float, cause: str) -> int:
        """Cancel the account's tasks and blank what they show; returns how many were blanked.
        The cancellations are notices of `cause`, like any other change."""
        return int(self._run("erase", account_id, now, "account erased", _caused(cause)))

    def drain(self, now: float, cause: str | None = None, limit: int = 1000) -> int:
        """Give backlog tasks (earliest due first) to whoever has capacity now."""
        return int(self._run("drain", now, limit, _caused(cause) if cause else "outbox"))

    def decide(
        self,
        task_id: str,
        reviewer_id: str,
        event_id: str,
        account_id: str,
        queue: ReviewQueue,
        now: float,
    ) -> Refusal | None:
        """Apply a decision once; `None` means accepted (or this very decision again)."""
        outcome = _text(
            self._run("decide", task_id, reviewer_id, event_id, account_id, queue.value, now)
        )
        return None if outcome in ("accepted", "replay") else Refusal(outcome)

    def reassign_idle(self, now: float, idle_s: float, limit: int = 500) -> int:
        return int(self._run("reassign_idle", now, idle_s, limit))

    def check_sla(self, now: float, limit: int = 10_000) -> int:
        """Count tasks that just went past due (each task once); returns how many."""
        return int(self._run("sla", now, limit))

    def stats(self) -> LedgerStats:
        return LedgerStats(
            backlog=int(self._client.zcard(f"{self._prefix}backlog")),
            open=int(self._client.zcard(f"{self._prefix}open")),
            breaches_total=int(_text(self._client.get(f"{self._prefix}breaches") or 0)),
        )

    def open_task_ids(self, limit: int = 100_000) -> list[str]:
        """Tasks a reviewer holds now, the longest held first."""
        return [_text(t) for t in self._client.zrange(f"{self._prefix}open", 0, limit - 1)]

    def account_tasks(self, account_id: str) -> set[str]:
        """Tasks the account had in the last 400 days (empty once it was erased)."""
        key = f"{self._prefix}tasks_of_account:{account_id}"
        return {_text(t) for t in self._client.smembers(key)}

    def backlog(self) -> list[str]:
        return [_text(t) for t in self._client.zrange(f"{self._prefix}backlog", 0, -1)]

    def task(self, task_id: str) -> TaskRecord | None:
        fields = self._hash(f"task:{task_id}")
        if not fields:
            return None
        entries = []
        for raw in self._client.lrange(f"{self._prefix}history:{task_id}", 0, -1):
            at, action, reviewer, reason = _text(raw).split("|", 3)
            entries.append(HistoryEntry(float(at), action, reviewer, reason))
        assigned_at = fields.get("assigned_at")
        return TaskRecord(
            task_id=task_id,
            state=fields["state"],
            queue=ReviewQueue(fields["queue"]),
            reviewer_id=fields.get("reviewer", ""),
            due=float(fields["due"]),
            assigned_at=float(assigned_at) if assigned_at else None,
            spec=fields["spec"],
            breached=fields.get("breached") == "1",
            history=tuple(entries),
            account_id=fields.get("account", ""),
            submission_id=fields.get("submission", ""),
            assignment=int(fields.get("n", 0)),
        )

    # --- notices
    def caused_by(self, cause: str) -> list[Notice]:
        return self._notices(_caused(cause))

    def outbox(self, limit: int = 500) -> list[Notice]:
        return self._notices("outbox", limit)

    def acknowledge(self, notices: Sequence[Notice]) -> None:
        """Drop outbox notices once their events are on the broker."""
        pipe = self._client.pipeline()
        for item in notices:
            pipe.lrem(f"{self._prefix}outbox", 1, item.raw)
        pipe.execute()

    def _notices(self, key: str, limit: int = 10_000) -> list[Notice]:
        raw = self._client.lrange(f"{self._prefix}{key}", 0, limit - 1)
        return [Notice.parse(_text(item)) for item in raw]

    def _hash(self, key: str) -> dict[str, str]:
        raw = self._client.hgetall(f"{self._prefix}{key}")
        return {_text(k): _text(v) for k, v in raw.items()}


def ledger_for(state: StateStore) -> Ledger:
    """The ledger living in the same Redis (or fakeredis) as the stage's state."""
    client = getattr(state, "client", None)
    prefix = getattr(state, "prefix", None)
    if not isinstance(client, redis.Redis) or not isinstance(prefix, str):
        raise TypeError("the assignment ledger needs a Redis-protocol state store")
    cached = _LEDGERS.get(state)
    if cached is None:
        cached = _LEDGERS[state] = Ledger(client, prefix)
    return cached


_LEDGERS: weakref.WeakKeyDictionary[StateStore, Ledger] = weakref.WeakKeyDictionary()


def _caused(cause: str) -> str:
    return f"caused:{cause}"


def _fields(reviewer: Reviewer) -> dict[FieldT, EncodableT]:
    return {
        "name": reviewer.name,
        "email": reviewer.email,
        "active": "1" if reviewer.active else "0",
        "queues": ",".join(sorted(q.value for q in reviewer.queues)),
        "countries": ",".join(sorted(reviewer.countries)) or ANY_COUNTRY,
        "max_open": str(reviewer.max_open),
        "token_sha256": reviewer.token_sha256,
    }


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
