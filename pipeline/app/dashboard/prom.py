"""Prometheus metrics of the dashboard (own registry; names follow Prometheus conventions).

Counters only ever grow in this process; Prometheus computes rates. No label carries personal
data: stages, outcomes, reasons and topics are enum-like values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from schemas.enums import FINAL_COMPLIANCE_STATUSES, FINAL_IDENTITY_STATUSES, StatusTrack
from schemas.events import ConsumerLag, StageMetric, StatusChanged

#: The results charted per window (the page, `kyb top`), as "<track>:<status>".
BUSINESS = (
    "identity:submitted",
    "identity:verified",
    "identity:rejected",
    "identity:resubmission_required",
    "identity:refused",
    "compliance:approved",
    "compliance:rejected",
    "refused",
)


@dataclass
class DashboardMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        stage = ["stage"]
        self.events_in = Counter("kyb_stage_events_in", "Events handled.", stage, registry=r)
        self.events_out = Counter("kyb_stage_events_out", "Events emitted.", stage, registry=r)
        self.failures = Counter("kyb_stage_failures", "Handler failures.", stage, registry=r)
        self.retries = Counter("kyb_stage_retries", "Handler retries.", stage, registry=r)
        self.dead_letters = Counter(
            "kyb_stage_dead_letters", "Records sent to kyb.deadletter.", stage, registry=r
        )
        self.outcomes = Counter(
            "kyb_stage_outcomes", "Outcomes a stage declares.", ["stage", "outcome"], registry=r
        )
        self.latency_p95 = Gauge(
            "kyb_stage_latency_p95_seconds", "Handler p95 latency, last window.", stage, registry=r
        )
        self.latency_max = Gauge(
            "kyb_stage_latency_max_seconds", "Handler max latency, last window.", stage, registry=r
        )
        self.lag = Gauge(
            "kyb_consumer_lag",
            "Records (Tansu: batches) not yet consumed.",
            ["group", "topic"],
            registry=r,
        )
        self.backlog = Gauge(
            "kyb_review_backlog_tasks", "Tasks waiting for a reviewer.", registry=r
        )
        self.open_tasks = Gauge("kyb_review_open_tasks", "Tasks with a reviewer.", registry=r)
        self.sla_breaches = Gauge(
            "kyb_review_sla_breaches", "Tasks that went past due (running total).", registry=r
        )
        self.submissions = Counter("kyb_submissions", "Submissions received.", registry=r)
        self.identity = Counter(
            "kyb_identity_outcomes", "Identity results.", ["outcome"], registry=r
        )
        self.compliance = Counter(
            "kyb_compliance_outcomes", "Compliance results.", ["outcome"], registry=r
        )
        self.refusals = Counter("kyb_refused_changes", "Refused status changes.", registry=r)
        self.time_to_decision = Histogram(
            "kyb_time_to_decision_seconds",
            "From submission to the identity result.",
            buckets=(60, 600, 3600, 4 * 3600, 86_400, 2 * 86_400, 3 * 86_400, 5 * 86_400),
            registry=r,
        )

    def stage_metric(self, m: StageMetric) -> None:
        s = m.stage
        self.events_in.labels(s).inc(m.events_in)
        self.events_out.labels(s).inc(m.events_out)
        self.failures.labels(s).inc(m.failures)
        self.retries.labels(s).inc(m.retries)
        self.dead_letters.labels(s).inc(m.dead_letters)
        gauges = {"backlog": self.backlog, "open_tasks": self.open_tasks}
        for outcome, count in m.outcomes.items():
            if outcome in gauges:
                gauges[outcome].set(count)
            elif outcome == "sla_breaches_total":
                self.sla_breaches.set(count)
            elif outcome not in ("sla_breaches", "reassigned_idle"):
                self.outcomes.labels(s, outcome).inc(count)
        if m.events_in:
            self.latency_p95.labels(s).set(m.latency_p95_ms / 1000)
            self.latency_max.labels(s).set(m.latency_max_ms / 1000)

    def consumer_lag(self, lag: ConsumerLag) -> None:
        self.lag.labels(lag.group, lag.topic).set(lag.lag)

    def status(self, change: StatusChanged, submitted_at: float | None) -> None:
        if change.refused:
            self.refusals.inc()
            return
        if change.track is StatusTrack.IDENTITY:
            if change.to_status == "submitted":
                self.submissions.inc()
            elif change.to_status in FINAL_IDENTITY_STATUSES:
                self.identity.labels(change.to_status).inc()
                if submitted_at is not None:
                    waited = change.occurred_at.timestamp() - submitted_at
                    self.time_to_decision.observe(max(0.0, waited))
        elif (
            change.track is StatusTrack.COMPLIANCE and change.to_status in FINAL_COMPLIANCE_STATUSES
        ):
            self.compliance.labels(change.to_status).inc()
