"""`kyb top`: the dashboard's summary as live terminal tables (rich)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from pipeline.app.dashboard.prom import BUSINESS


def fetch(url: str, token: str | None = None) -> dict[str, Any]:
    request = urllib.request.Request(f"{url.rstrip('/')}/api/summary")  # noqa: S310
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        data: dict[str, Any] = json.load(response)
    return data


def screen(summary: dict[str, Any]) -> Group:
    stages = Table(
        title=f"stages (last {len(summary['window_starts'])} x {summary['window_s']:.0f} s)"
    )
    for column in ("stage", "in", "out", "failures", "retries", "dead letters", "p95 ms"):
        stages.add_column(column, justify="left" if column == "stage" else "right")
    for name, s in summary["stages"].items():
        stages.add_row(
            name,
            *(f"{sum(s[k]):.0f}" for k in ("events_in", "events_out", "failures", "retries")),
            f"{sum(s['dead_letters']):.0f}",
            f"{max(s['latency_p95_ms']):.1f}",
        )
    lag = Table(title="consumer lag")
    for column in ("group", "topic", "lag"):
        lag.add_column(column)
    for group, topics in summary["lag"].items():
        for topic, value in topics.items():
            lag.add_row(group, topic, str(value))
    business = summary["business"]
    review = summary["review"]
    totals = Table(title="review and outcomes")
    for column in (
        "backlog",
        "open",
        "SLA breaches",
        "submitted",
        "verified",
        "rejected",
        "resubmission",
        "compliance ✓",
        "compliance ✗",
    ):
        totals.add_column(column, justify="right")
    totals.add_row(
        str(review.get("backlog", 0)),
        str(review.get("open_tasks", 0)),
        str(review.get("sla_breaches_total", 0)),
        *(f"{sum(business[k]):.0f}" for k in BUSINESS if k != "refused"),
    )
    return Group(stages, lag, totals)


def run_top(url: str, every: float, once: bool, console: Console, token: str | None = None) -> int:
    try:
        summary = fetch(url, token)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        console.print(f"[red]error:[/] cannot read the dashboard at {url}: {exc}")
        return 2
    if once:
        console.print(screen(summary))
        return 0
    with Live(screen(summary), console=console, refresh_per_second=4) as live:
        while True:
            time.sleep(every)
            try:
                live.update(screen(fetch(url, token)))
            except (urllib.error.URLError, OSError, ValueError):
                continue
