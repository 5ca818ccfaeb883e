"""The ops dashboard end to end: real broker, `kyb dashboard` (faust-streaming), `kyb top`, and
the page in Debian's headless Chromium showing the numbers a test run produced."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.publishing import KafkaPublisher
from pipeline.settings import Settings
from schemas.events import ConsumerLag, StageMetric, StatusChanged
from tests.conftest import stop_process
from tests.e2e.test_console_browser import CHROMIUM
from tests.helpers import free_port, kyb_command, serve_kyb, wait_for

pytestmark = pytest.mark.e2e
TOKEN = "dash-secret-token"


@pytest.fixture
def dashboard(kafka_broker: str, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    env = os.environ | {
        "KYB_BOOTSTRAP_SERVERS": kafka_broker,
        "KYB_DASHBOARD_WINDOW_S": "10",
        "KYB_DASHBOARD_WINDOWS": "12",
        "KYB_DASHBOARD_DATA_DIR": str(tmp_path / "dash"),
        "KYB_SESSION_TIMEOUT_MS": "6000",
        "KYB_HEARTBEAT_INTERVAL_MS": "1000",
        "KYB_LOG_LEVEL": "WARNING",
        "KYB_DASHBOARD_TOKEN": TOKEN,
    }
    created = subprocess.run(kyb_command("topics", "create"), env=env, capture_output=True)
    assert created.returncode == 0, created.stderr.decode()
    port = free_port()
    proc = serve_kyb(["dashboard", "--port", str(port)], env, tmp_path / "dashboard.log", port)
    try:
        yield f"http://127.0.0.1:{port}", env
    finally:
        stop_process(proc, timeout=20)


def envelope(producer: str) -> dict[str, Any]:
    return {
        "event_id": uuid.uuid4(),
        "occurred_at": datetime.now(UTC),
        "account_id": "-",
        "submission_id": "-",
        "producer": producer,
    }


def publish_a_run(settings: Settings) -> None:
    """What a small run produces: two quality windows, an assign tick, lag, three results."""
    now = datetime.now(UTC)
    publisher = KafkaPublisher(settings)
    for events_in, dead in ((4, 1), (3, 1)):
        publisher.publish(
            StageMetric(
                **envelope("quality"),
                stage="quality",
                worker_id="w1",
                window_start=now - timedelta(seconds=10),
                window_end=now,
                events_in=events_in,
                events_out=events_in - dead,
                dead_letters=dead,
                latency_p50_ms=40,
                latency_p95_ms=55 + events_in,
                latency_max_ms=80,
                outcomes={"passed": events_in - dead - 1, "failed": 1, "finding:blurry": 1},
            )
        )
    publisher.publish(
        StageMetric(
            **envelope("assign"),
            stage="assign",
            worker_id="w2",
            window_start=now,
            window_end=now,
            outcomes={"backlog": 5, "open_tasks": 9, "sla_breaches": 2, "sla_breaches_total": 2},
        )
    )
    publisher.publish(
        ConsumerLag(
            **envelope("lag-reporter"),
            stage="ocr",
            group="kyb-ocr",
            topic="kyb.quality.checked",
            partitions=6,
            committed=10,
            end=13,
            lag=3,
        )
    )
    for n, to in enumerate(("submitted", "submitted", "verified", "rejected")):
        fields = envelope("verdict") | {"account_id": f"acct-{n % 2}", "submission_id": f"s{n % 2}"}
        publisher.publish(
            StatusChanged(
                **fields,
                track="identity",
                from_status=None,
                to_status=to,
                cause_event_id="x",
            )
        )
    publisher.flush()
    publisher.close()


def get(url: str, token: str | None = TOKEN) -> Any:
    request = urllib.request.Request(url)  # noqa: S310
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    return urllib.request.urlopen(request, timeout=5)  # noqa: S310


def summary(url: str) -> dict[str, Any]:
    with get(f"{url}/api/summary") as response:
        data: dict[str, Any] = json.load(response)
    return data


def publish_hostile_metrics(kafka_broker: str) -> None:
    """Markup as an outcome name, written raw (a producer that skips our schemas)."""
    from kafka import KafkaProducer

    metric = json.loads(
        StageMetric(
            **envelope("quality"),
            stage="quality",
            worker_id="w9",
            window_start=datetime.now(UTC),
            window_end=datetime.now(UTC),
        ).model_dump_json()
    )
    metric["outcomes"] = {"<img src=x onerror=\"document.title='pwned'\">": 1}
    producer = KafkaProducer(bootstrap_servers=kafka_broker)
    producer.send("kyb.metrics", json.dumps(metric).encode())
    producer.flush()
    producer.close()


def test_the_dashboard_shows_what_a_run_produced(
    dashboard: tuple[str, dict[str, str]], kafka_broker: str
) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, env = dashboard
    publish_hostile_metrics(kafka_broker)
    publish_a_run(Settings(bootstrap_servers=kafka_broker))

    def counted() -> bool:
        s = summary(url)
        return (
            sum(s["stages"]["quality"]["events_in"]) == 7
            and sum(s["business"]["identity:submitted"]) == 2
            and s["lag"].get("kyb-ocr", {}).get("kyb.quality.checked") == 3
        )

    wait_for(counted, 60, interval=0.5, what="the dashboard to count the run")
    s = summary(url)
    assert sum(s["stages"]["quality"]["dead_letters"]) == 2
    assert max(s["stages"]["quality"]["latency_p95_ms"]) == 59
    assert s["outcomes"]["quality"] == {"passed": 3, "failed": 2, "finding:blurry": 2}
    assert s["review"] == {
        "backlog": 5,
        "open_tasks": 9,
        "sla_breaches": 2,
        "sla_breaches_total": 2,
    }

    assert "<img" not in json.dumps(s)  # the hostile label never reached the tables
    for path in ("/", "/api/summary", "/metrics", "/static/dashboard.js"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            get(url + path, token=None)
        assert refused.value.code == 401
        assert "Basic" in refused.value.headers["WWW-Authenticate"]
        with pytest.raises(urllib.error.HTTPError) as wrong:
            get(url + path, token="dash-secret-tokem")
        assert wrong.value.code == 401
    with get(url + "/") as page:
        csp = page.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert page.headers["X-Content-Type-Options"] == "nosniff"
    with pytest.raises(urllib.error.HTTPError) as missing:
        get(url + "/no-such-page")
    assert missing.value.code == 404
    assert (
        missing.value.headers["Content-Security-Policy"] == page.headers["Content-Security-Policy"]
    )

    with get(f"{url}/metrics") as response:
        prometheus = response.read().decode()
    for line in (
        'kyb_stage_events_in_total{stage="quality"} 7.0',
        'kyb_stage_dead_letters_total{stage="quality"} 2.0',
        'kyb_stage_outcomes_total{outcome="finding:blurry",stage="quality"} 2.0',
        'kyb_consumer_lag{group="kyb-ocr",topic="kyb.quality.checked"} 3.0',
        "kyb_review_backlog_tasks 5.0",
        "kyb_submissions_total 2.0",
        'kyb_identity_outcomes_total{outcome="verified"} 1.0',
        "kyb_time_to_decision_seconds_count 2.0",
    ):
        assert line in prometheus, line
    assert "acct-" not in prometheus  # no account (or other personal) data in metrics

    top = subprocess.run(
        kyb_command("top", "--url", url, "--once"),
        env=env | {"COLUMNS": "160"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert top.returncode == 0, top.stderr
    assert "quality" in top.stdout
    assert "kyb.quality.checked" in top.stdout

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(http_credentials={"username": "ops", "password": TOKEN})
            page.goto(url + "/")
            expect(page.locator("#review-backlog")).to_have_text("5")
            expect(page.locator("#review-breaches")).to_have_text("2")
            expect(page.locator("#biz-submitted")).to_have_text("2")
            expect(page.locator("#biz-approval")).to_have_text("50%")
            quality = page.locator("#chart-throughput polyline[data-series=quality]")
            expect(quality).to_have_attribute("data-total", "7")
            expect(page.locator("#stage-quality td").nth(5)).to_have_text("2")
            expect(page.locator("#lag tbody")).to_contain_text("kyb.quality.checked")
            expect(page.locator("#outcomes tbody")).to_contain_text("finding:blurry")
            assert page.title() == "KYB pipeline · operations"  # no injected script ran
            page.screenshot(path=str(Path(env["KYB_DASHBOARD_DATA_DIR"]).parent / "dash.png"))
        finally:
            browser.close()
