"""What a stage is: a name, the topics it reads, and a pure handler `(event, ctx) -> events`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, cast
from uuid import UUID, uuid5

from pipeline.documents import DocumentStore
from pipeline.priority import Waiting
from pipeline.sandbox import Sandbox, SandboxFailure
from pipeline.settings import Settings
from pipeline.state import StateStore
from schemas import Envelope, TopicSpec

E = TypeVar("E", bound=Envelope)
R = TypeVar("R")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Context:
    """Everything a handler may touch besides its event. Handlers never see Kafka."""

    stage: str
    settings: Settings
    state: StateStore
    documents: DocumentStore
    clock: Callable[[], datetime] = utc_now
    sandbox: Sandbox | None = None  # bounded child process for decoding hostile files
    #: This worker's long-lived objects (a Redis script holder, an OCR engine), like arq's
    #: ctx dict: made by the stage's `on_startup` or on first use, closed by `on_shutdown`.
    resources: dict[str, Any] = field(default_factory=dict)

    def resource(self, name: str, create: Callable[[], R]) -> R:
        """The worker's `name` resource, made by `create` the first time it is asked for."""
        if name not in self.resources:
            self.resources[name] = create()
        return cast(R, self.resources[name])

    def bounded(self, timeout_s: float, fn: Callable[..., R], *args: Any) -> R:
        """`fn(*args)` under a hard wall-clock and memory limit when the runtime gave this
        context a sandbox (workers do); inline otherwise (unit tests of pure logic).
        Raises `pipeline.sandbox.SandboxTimeout` / `SandboxCrashed`."""
        if self.sandbox is None:
            return fn(*args)
        return self.sandbox.run(timeout_s, fn, *args)

    def bounded_each(
        self, timeout_s: float, fn: Callable[..., R], calls: Sequence[Sequence[Any]]
    ) -> list[R | SandboxFailure]:
        """`bounded` for several independent calls, run at once when the sandbox has the
        children for it; a call that failed its limits comes back as that failure."""
        if self.sandbox is None:
            return [fn(*args) for args in calls]
        return self.sandbox.run_each(timeout_s, fn, calls)

    def derive(self, cls: type[E], cause: Envelope, tag: str = "", **fields: Any) -> E:
        """An output event caused by `cause`.

        Its id is derived from the cause's id, so a replayed input yields the very same output
        ids and every consumer downstream can drop the duplicate.
        """
        envelope = {
            "event_id": uuid5(cause.event_id, f"{self.stage}/{cls.__name__}/{tag}"),
            "occurred_at": self.clock(),
            "account_id": cause.account_id,
            "submission_id": cause.submission_id,
            "producer": self.stage,
        }
        return cls(**(envelope | fields))


Handler = Callable[[Any, Context], Sequence[Envelope]]


def _nothing() -> None:
    """Default acknowledgement: nothing to confirm."""


@dataclass(frozen=True)
class TickResult:
    """What a stage's periodic work produced. The runtime publishes `outputs`, waits until the
    broker has them, then calls `acknowledge` (so the stage may forget them)."""

    outputs: Sequence[Envelope] = ()
    acknowledge: Callable[[], None] = _nothing


def no_outcomes(_event: Envelope) -> tuple[str, ...]:
    return ()


#: Outcome labels a stage declares for one of its outputs (enum values only: no personal data).
Outcomes = Callable[[Envelope], Sequence[str]]

#: Periodic work with no input event (backlog, idle reassignment, SLA); like arq's cron jobs.
Ticker = Callable[[Context], TickResult]


@dataclass(frozen=True)
class UnusableRecord:
    """A record on a topic no stage can use (unparseable, invalid, newer version, wrong key),
    with whatever ids could be read from it, so its sender can be answered."""

    reason: str  # a DeadLetterReason value
    event_type: str | None
    account_id: str
    submission_id: str
    answer_id: UUID  # deterministic: a redelivered record is answered with the same id


#: Answers an unusable record (e.g. a status for the portal); runs in the topic's guard stage.
Answer = Callable[[UnusableRecord, "Context"], Sequence[Envelope]]


@dataclass(frozen=True)
class Scaling:
    """How a stage runs in production: replicas to start with (compose), consumer lag per
    replica before the autoscaler adds one (KEDA), and CPU/memory per replica."""

    replicas: int = 1
    lag_threshold: int = 50
    cpu_request: str = "100m"
    memory_request: str = "256Mi"
    memory_limit: str = "768Mi"

    def millicores(self) -> int:
        """The CPU request in millicores ("1" → 1000, "500m" → 500, "0.25" → 250)."""
        request = self.cpu_request
        if request.endswith("m"):
            return int(request[:-1])
        return round(float(request) * 1000)

    def cpu_shares(self) -> int:
        """The weight the CPU request becomes on a busy node: the kubelet sets each container's
        cgroup to `cpu.shares` = millicores x 1024 / 1000 (at least 2), and compose's
        `cpu_shares` is the same weight. Who gets the cores in a burst follows from it, whatever
        the worker's own scheduling policy inside its cgroup."""
        return min(max(self.millicores() * 1024 // 1000, 2), 262_144)

    def resources(self) -> dict[str, dict[str, str]]:
        """Kubernetes container resources."""
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"memory": self.memory_limit},
        }


@dataclass(frozen=True)
class Stage:
    name: str
    reads: tuple[TopicSpec, ...]
    accepts: tuple[type[Envelope], ...]
    emits: tuple[type[Envelope], ...]
    handler: Handler
    description: str
    cpu_bound: bool = False
    #: Who waits on its output (`pipeline.priority.Waiting`): on a shared machine the stages a
    #: customer waits on now (the quality feedback and its status) get the CPU first, the email
    #: next (niced), the stages only reviewers wait on last (`settings.yield_policy`).
    waiting: Waiting = Waiting.CUSTOMER_NOW
    #: Records a Kafka worker of this stage handles at once (results still in order, one
    #: account's records one after the other): a handler that waits on sandbox children leaves
    #: the worker thread idle, so a second record's reading and the first one's publishing
    #: overlap the children's work (`pipeline.overlap`).
    records_at_once: int = 1
    #: Records a CPU-bound stage's worker reads per poll; None: `max_poll_records_cpu_bound`
    #: for each record it handles at once. Its handlers idle while a batch's last record ends
    #: and the next batch is read, so a stage whose records take milliseconds, not a second,
    #: reads more of them at once.
    records_per_poll: int | None = None
    tick: Ticker | None = None  # run every `settings.tick_interval_s` by each worker
    outcomes: Outcomes = no_outcomes  # counted per window by the metrics middleware
    on_startup: Callable[[Context], None] | None = None  # once per worker, before any event
    on_shutdown: Callable[[Context], None] | None = None  # once per worker, at the end
    #: Run in each sandbox child as it starts, before its first call (loads the code and
    #: OpenCV's first-use tables), so no event waits for a child to get ready.
    prepare_child: Callable[[Settings], None] | None = None
    scaling: Scaling = Scaling()
    #: Topics whose unusable records (unparseable, invalid, wrong topic, newer version) this
    #: stage dead-letters; None: every topic it reads. Where several stages read a topic, one
    #: of them reports a bad record, so operators get one letter, not one per reader.
    guards: tuple[TopicSpec, ...] | None = None
    answer_unusable: Answer | None = None  # besides the dead letter, for records it guards

    def guards_topic(self, topic: str) -> bool:
        """Does this stage dead-letter unusable records from `topic`? (A topic it does not
        read at all is nobody else's to report.)"""
        if self.guards is None or all(spec.name != topic for spec in self.reads):
            return True
        return any(spec.name == topic for spec in self.guards)

    @property
    def max_replicas(self) -> int:
        """More consumers than partitions would sit idle."""
        return max(topic.partitions for topic in self.reads)

    @property
    def group_id(self) -> str:
        return f"kyb-{self.name}"

    def wants(self, event: Envelope) -> bool:
        return isinstance(event, self.accepts)
