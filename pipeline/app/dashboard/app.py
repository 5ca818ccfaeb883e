"""The dashboard's faust-streaming app: the one place faust-streaming is used (ARCHITECTURE.md,
"Why faust only here").

Two agents fold `kyb.metrics` and `kyb.status` into tumbling-window tables (per stage: events,
failures, dead letters, p95 latency; outcomes; business results) and into Prometheus metrics.
Faust's own web server serves `/metrics`, `/api/summary` (the numbers behind the charts) and the
HTML page. No CPU-bound work runs here, so nothing blocks the loop that heartbeats.
"""

from __future__ import annotations

import time
from importlib.resources import files
from typing import Any

import faust
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from pipeline.app.dashboard.guard import guard
from pipeline.app.dashboard.prom import BUSINESS, DashboardMetrics
from pipeline.app.topology import STAGES
from pipeline.kafka_security import faust_credentials
from pipeline.settings import Settings
from schemas import UndecodableEvent, catalog, decode_event
from schemas.enums import StatusTrack
from schemas.events import ConsumerLag, StageMetric, StatusChanged

APP_ID = "kyb-dashboard"
STAGE_FIELDS = ("events_in", "events_out", "failures", "dead_letters", "retries")
GAUGE_OUTCOMES = ("backlog", "open_tasks", "sla_breaches_total", "sla_breaches")
MAX_OUTCOME_KEYS = 2_000  # a producer inventing labels cannot grow the tables without bound


class Dashboard:
    def __init__(self, settings: Settings, web_host: str, web_port: int) -> None:
        self.settings = settings
        self.metrics = DashboardMetrics()
        self.latest: dict[str, Any] = {"lag": {}, "review": {}}
        self.outcome_keys: set[str] = set()  # windowed tables cannot list keys without an index
        window, keep = settings.dashboard_window_s, settings.dashboard_windows
        secret = settings.dashboard_token
        token = secret.get_secret_value() if secret else None
        self.app = faust.App(
            APP_ID,
            broker=";".join(f"kafka://{h}" for h in settings.bootstrap_servers.split(",")),
            broker_credentials=faust_credentials(settings),
            web_application_options={"middlewares": [guard(token)]},
            store="memory://",
            datadir=str(settings.dashboard_data_dir),
            web_host=web_host,
            web_port=web_port,
            web_bind=web_host,
            topic_replication_factor=settings.replication_factor,
            broker_session_timeout=settings.session_timeout_ms / 1000,
            broker_heartbeat_interval=settings.heartbeat_interval_ms / 1000,
            consumer_auto_offset_reset="earliest",
        )
        metrics_topic = self.app.topic(catalog.METRICS.name, value_serializer="raw")
        status_topic = self.app.topic(catalog.STATUS.name, value_serializer="raw")

        def windowed(name: str, partitions: int, default: type) -> Any:
            table = self.app.Table(name, default=default, partitions=partitions)
            return table.tumbling(window, expires=window * keep)

        self.stage_window = windowed("stage_window", catalog.METRICS.partitions, float)
        self.outcome_window = windowed("outcome_window", catalog.METRICS.partitions, int)
        self.status_window = windowed("status_window", catalog.STATUS.partitions, int)
        self.submitted_at = self.app.Table(
            "submitted_at", default=float, partitions=catalog.STATUS.partitions
        )
        self.app.agent(metrics_topic, name="metrics")(self._on_metrics)
        self.app.agent(status_topic, name="status")(self._on_status)
        # faust's stubs expect (view, request); a bound method receives the request only
        self.app.page("/metrics")(self._prometheus)  # type: ignore[arg-type]
        self.app.page("/api/summary")(self._summary)  # type: ignore[arg-type]
        self.app.page("/")(self._index)  # type: ignore[arg-type]
        self.app.page("/static/dashboard.js")(self._script)  # type: ignore[arg-type]
        self.app.page("/static/dashboard.css")(self._style)  # type: ignore[arg-type]

    def changelog_topics(self) -> dict[str, int]:
        """Faust's own topics; created before start (Tansu assigns only topics that exist)."""
        topics = {f"{APP_ID}-__assignor-__leader": 1}
        for table in self.app.tables.values():
            topics[table.changelog_topic.get_topic_name()] = table.partitions or 1
        return topics

    # --- agents
    async def _on_metrics(self, stream: Any) -> None:
        async for raw in stream:
            event = _decode(raw)
            if isinstance(event, StageMetric):
                self._stage_metric(event)
            elif isinstance(event, ConsumerLag):
                self.metrics.consumer_lag(event)
                self.latest["lag"].setdefault(event.group, {})[event.topic] = event.lag

    def _stage_metric(self, m: StageMetric) -> None:
        self.metrics.stage_metric(m)
        for name in STAGE_FIELDS:
            self.stage_window[f"{m.stage}:{name}"] += getattr(m, name)
        if m.events_in:
            key = f"{m.stage}:latency_p95_ms"
            self.stage_window[key] = max(self.stage_window[key].current(), m.latency_p95_ms)
        for outcome, count in m.outcomes.items():
            key = f"{m.stage}:{outcome}"
            if outcome in GAUGE_OUTCOMES:
                self.latest["review"][outcome] = count
                if outcome == "sla_breaches":
                    self.stage_window[f"{m.stage}:sla_breaches"] += count
            elif len(self.outcome_keys) < MAX_OUTCOME_KEYS or key in self.outcome_keys:
                self.outcome_window[key] += count
                self.outcome_keys.add(key)

    async def _on_status(self, stream: Any) -> None:
        async for raw in stream:
            change = _decode(raw)
            if not isinstance(change, StatusChanged):
                continue
            submitted = None
            if change.track is StatusTrack.IDENTITY and change.to_status == "submitted":
                self.submitted_at[change.submission_id] = change.occurred_at.timestamp()
            elif change.track is StatusTrack.IDENTITY:
                submitted = self.submitted_at.get(change.submission_id)
            self.metrics.status(change, submitted)
            key = "refused" if change.refused else f"{change.track.value}:{change.to_status}"
            if key in BUSINESS:
                self.status_window[key] += 1

    # --- web
    # faust turns these bound methods into views and calls them with the request only
    async def _prometheus(self, request: Any) -> Any:
        # the text exposition format; aiohttp adds the charset itself
        body = generate_latest(self.metrics.registry).decode()
        return self.app.web.text(body, content_type=CONTENT_TYPE_LATEST.split(";")[0])

    async def _summary(self, request: Any) -> Any:
        return self.app.web.json(self.summary(time.time()))

    async def _index(self, request: Any) -> Any:
        return self.app.web.html(_asset("dashboard.html"))

    async def _script(self, request: Any) -> Any:
        return self.app.web.text(_asset("dashboard.js"), content_type="application/javascript")

    async def _style(self, request: Any) -> Any:
        return self.app.web.text(_asset("dashboard.css"), content_type="text/css")

    def summary(self, now: float) -> dict[str, Any]:
        """The charts' numbers: per stage and window (oldest first), outcomes, lag, review."""
        window, keep = self.settings.dashboard_window_s, self.settings.dashboard_windows
        starts = [now - (keep - 1 - i) * window for i in range(keep)]

        def series(table: Any, key: str) -> list[float]:
            return [table.relative_to(lambda _event, t=t: t)[key].value() for t in starts]

        stages = {
            stage.name: {
                name: series(self.stage_window, f"{stage.name}:{name}")
                for name in (*STAGE_FIELDS, "latency_p95_ms", "sla_breaches")
            }
            for stage in STAGES
        }
        outcomes: dict[str, dict[str, int]] = {}
        for name in sorted(self.outcome_keys):
            stage, outcome = name.split(":", 1)
            total = int(sum(series(self.outcome_window, name)))
            if total:
                outcomes.setdefault(stage, {})[outcome] = total
        return {
            "window_s": window,
            "window_starts": [int(t - t % window) for t in starts],
            "stages": stages,
            "outcomes": outcomes,
            "business": {key: series(self.status_window, key) for key in BUSINESS},
            "lag": self.latest["lag"],
            "review": self.latest["review"],
        }


def _decode(raw: bytes) -> Any:
    try:
        return decode_event(raw)
    except (UndecodableEvent, ValueError):
        return None  # the dashboard only reads; stages dead-letter bad records


def _asset(name: str) -> str:
    return files("pipeline.app.dashboard").joinpath(name).read_text(encoding="utf-8")
