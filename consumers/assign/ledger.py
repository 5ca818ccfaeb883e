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
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib.resources import files
from typing import Any, Final

import redis
from redis.typing import EncodableT, FieldT

from consumers.assign.roster import ANY_COUNTRY, Reviewer, Roster
from pipeline.stage import Context
from pipeline.state import StateStore
from schemas.enums import ReviewQueue, TaskAction

_SCRIPT_NAMES: Final = (
    "open",
    "cancel_account",
    "erase",
    "submitted",
    "drain",
    "decide",
    "reassign_idle",
    "sla",
    "retire",
)


def _lua(name: str) -> str:
    return (files("consumers.assign") / "lua" / f"{name}.lua").read_text(encoding="utf-8")


#: Each script is `lua/lib.lua` (shared helpers, TTLs) followed by its own file; read once.
_SCRIPTS: Final = {name: _lua("lib") + _lua(name) for name in _SCRIPT_NAMES}


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
        self._scripts = {name: client.register_script(text) for name, text in _SCRIPTS.items()}

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
    """The ledger living in the same Redis (or fakeredis) as `state`."""
    return Ledger(state.client, state.prefix)


def worker_ledger(ctx: Context) -> Ledger:
    """The stage worker's ledger, made once (its scripts registered once) per worker."""
    return ctx.resource("ledger", lambda: ledger_for(ctx.state))


def open_ledger(ctx: Context) -> None:
    """`on_startup` of the stages that use the ledger."""
    worker_ledger(ctx)


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
