"""The metrics middleware: one StageMetric per worker window, counted around the handler."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pipeline.documents import DocumentStore
from pipeline.metrics import StageMetrics, percentile
from pipeline.processing import Retries, Source, StageProcessor
from pipeline.settings import Settings
from pipeline.stage import Context, Stage
from pipeline.state import memory_state_store
from schemas import Envelope, catalog, encode_event
from schemas.events import QualityChecked, SubmissionReceived
from tests.helpers import application, company, submission

SOURCE = Source("kyb.submissions", 0, 1)


def test_percentiles_are_nearest_rank() -> None:
    values = sorted(float(v) for v in range(1, 101))
    assert (percentile(values, 0.5), percentile(values, 0.95)) == (50.0, 95.0)
    assert percentile([], 0.95) == 0.0


def test_a_window_counts_events_failures_retries_dead_letters_and_outcomes(
    tmp_path: Path,
) -> None:
    now = [1000.0]
    calls = {"n": 0}

    def handler(event: SubmissionReceived, ctx: Context) -> Sequence[Envelope]:
        calls["n"] += 1
        if event.application.company.city == "Flaky" and calls["n"] % 2:
            raise ConnectionError("once")  # fails, then succeeds on the retry
        passed = event.application.company.city != "Bad"
        return [ctx.derive(QualityChecked, event, application=event.application, passed=passed)]

    stage = Stage(
        "probe",
        (catalog.SUBMISSIONS,),
        (SubmissionReceived,),
        (QualityChecked,),
        handler,
        "test stage",
        outcomes=lambda out: ["passed" if getattr(out, "passed", False) else "failed"],
    )
    retries = Retries(max_attempts=2, backoff_s=0, sleep=lambda _: None)
    metrics = StageMetrics(stage, window_s=10, retries=retries, worker="w1", clock=lambda: now[0])
    ctx = Context("probe", Settings(), memory_state_store(), DocumentStore([tmp_path], 100))
    processor = StageProcessor(stage, ctx, [metrics, retries], metrics=metrics)
    for city in ("Singapore", "Bad", "Flaky"):
        processor.process(
            encode_event(submission(application=application(company=company(city=city)))), SOURCE
        )
    processor.process(b"not json", SOURCE)
    assert not metrics.due()
    now[0] += 10
    assert metrics.due()
    window = metrics.flush()
    assert (window.stage, window.worker_id) == ("probe", "w1")
    assert (window.events_in, window.events_out, window.failures) == (3, 3, 0)
    assert (window.retries, window.dead_letters) == (1, 1)
    assert window.outcomes == {"passed": 2, "failed": 1, "dead_letter:unparseable": 1}
    assert window.latency_max_ms >= window.latency_p95_ms >= window.latency_p50_ms > 0
    assert (window.window_end - window.window_start).total_seconds() == 10
    empty = metrics.flush()  # the next window starts empty
    assert (empty.events_in, empty.retries, empty.outcomes) == (0, 0, {})
