"""The topology, declared once: which stage reads and writes what.

Runtimes, the CLI's help, the README diagram, the AsyncAPI document and the deploy files are
all derived from `STAGES`; `validate()` runs at every start.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from consumers import assign, compliance, notify, ocr, quality, verdict
from consumers.assign.ledger import open_ledger
from pipeline.priority import Waiting
from pipeline.stage import Scaling, Stage
from schemas import TOPICS, TOPICS_BY_NAME, catalog
from schemas.events import (
    AccountErasureRequested,
    ComplianceRequested,
    ComplianceSelectionChanged,
    FieldsMatched,
    NotificationFailed,
    NotificationRequested,
    NotificationSent,
    QualityChecked,
    ReviewDecision,
    ReviewTask,
    StageMetric,
    StatusChanged,
    SubmissionReceived,
)

#: The CPU request (so the weight on a busy node) of a stage only reviewers wait on: about the
#: SCHED_IDLE of one machine between pods; notify's default 100m is the nice 10 of an email.
REVIEWER_CPU: Final = "50m"

STAGES: Final[tuple[Stage, ...]] = (
    Stage(
        name="quality",
        reads=(catalog.SUBMISSIONS,),
        accepts=(SubmissionReceived, AccountErasureRequested),
        emits=(QualityChecked,),
        handler=quality.handle,
        outcomes=quality.outcomes,
        prepare_child=quality.prepare_child,
        description="Checks both document images before anyone spends time on them.",
        cpu_bound=True,
        records_at_once=2,  # the next submission is read while the children check this one
        # A submission's checks take ~20 ms of CPU: 64 a poll keep a batch near a second in a
        # burst, and the children idle while a batch's last submission ends and the next batch
        # is read only once per 64 (at 16 they waited 18.5-20.4 % of a held burst for their
        # next call, at 64 12.5-18.9 %, median 16.1 %). Files built to stall the decoder are cut
        # off per side, and a batch starts no record past half the poll interval.
        records_per_poll=64,
        # decoding runs in two children (KYB_SANDBOX_CHILDREN: the sides at once), each capped
        # at KYB_SANDBOX_MEMORY_MB of address space; a decode's buffers are bounded by
        # KYB_QUALITY__MAX_DECODED_MB (250 MB), so both and the worker fit the limit
        scaling=Scaling(
            replicas=2, lag_threshold=20, cpu_request="1", memory_request="1Gi", memory_limit="3Gi"
        ),
    ),
    Stage(
        name="ocr",
        reads=(catalog.QUALITY_CHECKED,),
        accepts=(QualityChecked,),
        emits=(FieldsMatched,),
        handler=ocr.handle,
        outcomes=ocr.outcomes,
        on_startup=ocr.on_startup,
        prepare_child=ocr.prepare_child,
        description="Reads the certificate and matches it against the typed fields.",
        cpu_bound=True,
        waiting=Waiting.REVIEWERS,  # the customer waits for quality's answer, not for OCR's
        # The request is the pod's weight on a busy node (`Scaling.cpu_shares`), and SCHED_IDLE
        # inside a pod yields only to that pod's own threads: a stage only reviewers wait on
        # requests REVIEWER_CPU, so a node's cores go to quality's answer first and OCR takes
        # what is left. Its throughput comes from KEDA adding replicas on lag (and, where it
        # must be guaranteed, a node pool of its own), not from its request.
        scaling=Scaling(
            replicas=3,
            lag_threshold=10,
            cpu_request=REVIEWER_CPU,
            memory_request="1Gi",
            memory_limit="3Gi",
        ),
    ),
    Stage(
        name="ocr-china",
        reads=(catalog.QUALITY_CHECKED,),
        accepts=(QualityChecked,),
        emits=(FieldsMatched,),
        handler=ocr.handle_china,
        outcomes=ocr.outcomes,
        on_startup=ocr.on_startup,
        prepare_child=ocr.prepare_child,
        guards=(),  # `ocr` reports the topic's bad records
        description="Reads China-site business licences (KYB_OCR_ENGINE_CHINA) and matches them.",
        cpu_bound=True,
        waiting=Waiting.REVIEWERS,
        # PP-OCRv4 on ONNX Runtime: about 640 MB in the sandbox child, plus the worker
        scaling=Scaling(
            replicas=1,
            lag_threshold=10,
            cpu_request=REVIEWER_CPU,
            memory_request="1536Mi",
            memory_limit="3Gi",
        ),
    ),
    Stage(
        name="assign",
        reads=(
            catalog.SUBMISSIONS,
            catalog.OCR_MATCHED,
            catalog.COMPLIANCE_REQUESTED,
            catalog.REVIEW_DECISIONS,
        ),
        accepts=(
            SubmissionReceived,
            ComplianceSelectionChanged,
            AccountErasureRequested,
            FieldsMatched,
            ComplianceRequested,
            ReviewDecision,
        ),
        emits=(ReviewTask, StageMetric),
        handler=assign.handle,
        outcomes=assign.outcomes,
        on_startup=open_ledger,
        tick=assign.tick,
        guards=(catalog.OCR_MATCHED, catalog.COMPLIANCE_REQUESTED, catalog.REVIEW_DECISIONS),
        description="Gives each case to a reviewer with capacity; backlog, idle reassignment, SLA.",
        waiting=Waiting.REVIEWERS,  # a customer does not wait on it: quality's answer first
        scaling=Scaling(cpu_request=REVIEWER_CPU),
    ),
    Stage(
        name="compliance",
        reads=(catalog.SUBMISSIONS, catalog.STATUS),
        accepts=(
            SubmissionReceived,
            ComplianceSelectionChanged,
            AccountErasureRequested,
            StatusChanged,
        ),
        emits=(ComplianceRequested,),
        handler=compliance.handle,
        guards=(catalog.STATUS,),
        outcomes=compliance.outcomes,
        description="Starts the separate mainland compliance review when the customer says yes.",
        waiting=Waiting.REVIEWERS,  # it reads the same burst as quality, for reviewers
        scaling=Scaling(cpu_request=REVIEWER_CPU),
    ),
    Stage(
        name="verdict",
        reads=(
            catalog.SUBMISSIONS,
            catalog.QUALITY_CHECKED,
            catalog.REVIEW_TASKS,
            catalog.REVIEW_DECISIONS,
            catalog.COMPLIANCE_REQUESTED,
        ),
        accepts=(
            SubmissionReceived,
            ComplianceSelectionChanged,
            AccountErasureRequested,
            QualityChecked,
            ReviewTask,
            ReviewDecision,
            ComplianceRequested,
        ),
        emits=(StatusChanged, NotificationRequested),
        handler=verdict.handle,
        guards=(catalog.REVIEW_TASKS,),
        answer_unusable=verdict.answer_unusable,  # quality dead-letters them; verdict answers
        outcomes=verdict.outcomes,
        on_startup=open_ledger,
        description="Owns the account's status machines and decides what the customer is told.",
        # the status the portal shows is made here from quality's answer, at ~a third of
        # quality's CPU a submission: half quality's weight keeps pace with its answers in a
        # burst (at 100m the status fell seconds behind them on a busy node)
        scaling=Scaling(cpu_request="500m"),
    ),
    Stage(
        name="notify",
        reads=(catalog.NOTIFICATIONS,),
        accepts=(NotificationRequested,),
        emits=(NotificationSent, NotificationFailed),
        handler=notify.handle,
        outcomes=notify.outcomes,
        description="Sends each email exactly once.",
        # the portal shows the status at once; an email may follow a burst by seconds
        waiting=Waiting.CUSTOMER_LATER,
    ),
)
STAGES_BY_NAME: Final[dict[str, Stage]] = {stage.name: stage for stage in STAGES}

#: Topics written from outside the stages, and who writes them.
EXTERNAL_WRITERS: Final[dict[str, str]] = {
    catalog.SUBMISSIONS.name: "portal",  # and operators' `kyb erase`
    catalog.REVIEW_DECISIONS.name: "reviewers",
    catalog.METRICS.name: "every stage (runtime), lag reporter",
    catalog.DEADLETTER.name: "every stage (runtime)",
}
#: Topics read from outside the stages, and who reads them.
EXTERNAL_READERS: Final[dict[str, str]] = {
    catalog.REVIEW_TASKS.name: "reviewers",
    catalog.STATUS.name: "portal, dashboards",
    catalog.NOTIFICATION_RESULTS.name: "dashboards",
    catalog.METRICS.name: "dashboards",
    catalog.DEADLETTER.name: "operators",
}


class TopologyError(ValueError):
    """The declared topology is inconsistent; the message lists every problem."""


def problems(stages: Iterable[Stage] = STAGES) -> list[str]:
    """Every inconsistency in `stages`, empty when the topology is sound."""
    stages = tuple(stages)
    found: list[str] = []
    names = [stage.name for stage in stages]
    found += [
        f"stage name {name!r} is declared twice" for name in set(names) if names.count(name) > 1
    ]
    written = {
        catalog.topic_for_type(cls).name
        for stage in stages
        for cls in stage.emits
        if catalog.topic_for_type_or_none(cls) is not None
    }
    for stage in stages:
        for cls in stage.emits:
            if catalog.topic_for_type_or_none(cls) is None:
                found.append(f"stage {stage.name!r} emits {cls.__name__}, which no topic carries")
        for topic in stage.reads:
            if topic.name not in TOPICS_BY_NAME:
                found.append(
                    f"stage {stage.name!r} reads {topic.name!r}, which is not in the catalog"
                )
            elif topic.name not in written and topic.name not in EXTERNAL_WRITERS:
                found.append(
                    f"stage {stage.name!r} reads {topic.name!r}, which nothing writes "
                    "(add a writer or mark it external)"
                )
        for cls in stage.accepts:
            if not any(cls in topic.event_types for topic in stage.reads):
                found.append(
                    f"stage {stage.name!r} accepts {cls.__name__} but reads no topic carrying it"
                )
    for name in sorted({topic.name for stage in stages for topic in stage.reads}):
        readers = [stage for stage in stages if any(t.name == name for t in stage.reads)]
        guards = [stage.name for stage in readers if stage.guards_topic(name)]
        if len(guards) != 1:
            found.append(
                f"topic {name!r} must have exactly one stage reporting its bad records, "
                f"has {guards or 'none'}"
            )
    read = {topic.name for stage in stages for topic in stage.reads}
    for topic in TOPICS:
        if topic.name not in written and topic.name not in EXTERNAL_WRITERS:
            found.append(f"topic {topic.name!r} has no writer")
        if topic.name not in read and topic.name not in EXTERNAL_READERS:
            found.append(f"topic {topic.name!r} has no reader")
    return found


def validate(stages: Iterable[Stage] = STAGES) -> None:
    found = problems(stages)
    if found:
        raise TopologyError("invalid topology:\n- " + "\n- ".join(found))


def stage_named(name: str) -> Stage:
    try:
        return STAGES_BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown stage {name!r}; known: {', '.join(STAGES_BY_NAME)}") from None


def mermaid() -> str:
    """The architecture as a Mermaid flowchart (embedded in the README, checked by a test)."""
    lines = ["flowchart LR"]
    topic_id = {topic.name: f"t{index}" for index, topic in enumerate(TOPICS)}
    for topic in TOPICS:
        lines.append(f'    {topic_id[topic.name]}[["{topic.name}"]]')
    for stage in STAGES:
        lines.append(f"    {_node(stage.name)}({stage.name})")
    for name, writer in EXTERNAL_WRITERS.items():
        if "runtime" not in writer:
            lines.append(f"    {writer.replace(' ', '_')}>{writer}] --> {topic_id[name]}")
    for stage in STAGES:
        for topic in stage.reads:
            lines.append(f"    {topic_id[topic.name]} --> {_node(stage.name)}")
        for name in sorted({catalog.topic_for_type(cls).name for cls in stage.emits}):
            lines.append(f"    {_node(stage.name)} --> {topic_id[name]}")
    for name, reader in EXTERNAL_READERS.items():
        lines.append(
            f"    {topic_id[name]} --> {reader.replace(', ', '_').replace(' ', '_')}>{reader}]"
        )
    return "\n".join(lines)


def _node(stage_name: str) -> str:
    """A Mermaid node id (no hyphens) for a stage."""
    return stage_name.replace("-", "_")
