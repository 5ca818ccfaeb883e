"""Per-worker stage metrics as runtime middleware (as in dramatiq), never code in a stage.

`StageMetrics` wraps the handler (latency, events in/out, failures, the outcome labels the stage
declares from its outputs), observes each processed record (dead letters), reads the retry
middleware's counter, and every `window_s` turns it all into one `StageMetric` on `kyb.metrics`.
Outcome labels are enum values only, so no personal data can reach a metric.
"""

from __future__ import annotations

import math
import os
import re
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from pipeline.processing import HandlerCall, ProcessResult, Retries
from pipeline.stage import Context, Stage
from schemas import Envelope
from schemas.events import StageMetric


def worker_id() -> str:
    """host-pid, fit for an Identifier: tells the replicas of a stage apart."""
    raw = f"{socket.gethostname()}-{os.getpid()}"
    return re.sub(r"[^A-Za-z0-9_.:-]", "-", raw)[:128]


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values (0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[rank]


class StageMetrics:
    """Collects one worker's numbers for the current window; thread-safe."""

    def __init__(
        self,
        stage: Stage,
        window_s: float,
        retries: Retries | None = None,
        worker: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.stage = stage
        self.window_s = window_s
        self.worker = worker or worker_id()
        self._retries = retries
        self._retries_seen = 0
        self._clock = clock
        self._lock = threading.Lock()
        self._start = clock()
        self._reset()

    def _reset(self) -> None:
        self.events_in = self.events_out = self.failures = self.dead_letters = 0
        self.latencies_ms: list[float] = []
        self.outcomes: Counter[str] = Counter()

    # --- middleware
    def wrap(self, stage: Stage, call: HandlerCall) -> HandlerCall:
        def measured(event: Envelope, ctx: Context) -> Sequence[Envelope]:
            started = time.perf_counter()
            try:
                outputs = call(event, ctx)
            except Exception:
                self._record(started, (), failed=True)
                raise
            self._record(started, outputs, failed=False)
            return outputs

        return measured

    def _record(self, started: float, outputs: Sequence[Envelope], failed: bool) -> None:
        elapsed_ms = (time.perf_counter() - started) * 1000
        labels = [label for out in outputs for label in self.stage.outcomes(out)]
        with self._lock:
            self.events_in += 1
            self.events_out += len(outputs)
            self.failures += failed
            self.latencies_ms.append(elapsed_ms)
            self.outcomes.update(labels)

    # --- observer
    def observe(self, result: ProcessResult) -> None:
        if result.dead_letters:
            with self._lock:
                self.dead_letters += len(result.dead_letters)
                self.outcomes.update(f"dead_letter:{d.reason.value}" for d in result.dead_letters)

    # --- windows
    def due(self) -> bool:
        return self._clock() - self._start >= self.window_s

    def flush(self) -> StageMetric:
        """The finished window as an event; starts the next window."""
        now = self._clock()
        with self._lock:
            retried = self._retries.retried if self._retries else 0
            latencies = sorted(self.latencies_ms)
            metric = StageMetric(
                event_id=uuid.uuid4(),
                occurred_at=datetime.fromtimestamp(now, UTC),
                account_id="-",
                submission_id="-",
                producer=self.stage.name,
                stage=self.stage.name,
                worker_id=self.worker,
                window_start=datetime.fromtimestamp(self._start, UTC),
                window_end=datetime.fromtimestamp(now, UTC),
                events_in=self.events_in,
                events_out=self.events_out,
                failures=self.failures,
                dead_letters=self.dead_letters,
                retries=retried - self._retries_seen,
                latency_p50_ms=round(percentile(latencies, 0.50), 3),
                latency_p95_ms=round(percentile(latencies, 0.95), 3),
                latency_max_ms=round(latencies[-1], 3) if latencies else 0.0,
                outcomes=dict(self.outcomes),
            )
            self._retries_seen = retried
            self._start = now
            self._reset()
        return metric
