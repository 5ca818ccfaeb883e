"""The reviewer console in a real headless Chromium (Debian's, driven by Playwright).

Real components: the broker, Redis, a `kyb worker assign` process that assigns the task, and
`kyb console` serving it. The reviewer signs in with their roster token, opens the task (both
images with the OCR word boxes drawn over them), decides, and the decision arrives on
`kyb.review.decisions`; the assign worker accepts it (the ledger marks the task decided).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from kafka import KafkaConsumer

from consumers.assign.ledger import Ledger
from pipeline.documents import DocumentStore
from pipeline.kafka_runtime import consumer_config
from pipeline.publishing import KafkaPublisher
from pipeline.settings import Settings
from producers.synthetic import random_spec, write_pair
from schemas import decode_event
from schemas.enums import Decision, FieldName, MatchStatus, ReasonCode, Recommendation, Side
from schemas.events import Evidence, FieldMatch, FieldsMatched, ReviewDecision
from tests.conftest import stop_process
from tests.helpers import (
    application,
    free_port,
    kyb_command,
    roster,
    serve_kyb,
    start_kyb,
    wait_for,
)

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def console_env(
    kafka_broker: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> Iterator[tuple[dict[str, str], int]]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: run scripts/install-system-deps.sh (make test does)")
    (tmp_path / "documents").mkdir()
    env = os.environ | {
        "KYB_BOOTSTRAP_SERVERS": kafka_broker,
        "KYB_STATE_BACKEND": "redis",
        "KYB_REDIS_URL": redis_url,
        "KYB_KEY_PREFIX": redis_prefix,
        "KYB_DOCUMENT_ROOTS": json.dumps([str(tmp_path / "documents")]),
        "KYB_SESSION_TIMEOUT_MS": "6000",
        "KYB_HEARTBEAT_INTERVAL_MS": "1000",
    }
    created = subprocess.run(kyb_command("topics", "create"), env=env, capture_output=True)
    assert created.returncode == 0, created.stderr.decode()
    Ledger(redis.Redis.from_url(redis_url), redis_prefix).load(
        roster(ana={"token": "ana-secret-token"}, bo={"token": "bo-secret-token"}), 0
    )
    port = free_port()
    assign = start_kyb(["worker", "assign"], env, tmp_path / "assign.log")
    try:
        console = serve_kyb(["console", "--port", str(port)], env, tmp_path / "console.log", port)
    except BaseException:
        stop_process(assign, timeout=20)
        raise
    try:
        yield env, port
    finally:
        stop_process(console, timeout=15)
        stop_process(assign, timeout=20)


def publish_match(settings: Settings, root: Path, tmp_path: Path) -> FieldsMatched:
    spec = random_spec(random.Random(11), "SG")
    front, back = write_pair(spec, tmp_path / "uploads", "console")
    store = DocumentStore([root], 25_000_000)
    submission_id = f"sub-{uuid.uuid4().hex[:8]}"
    refs = (store.put(front, Side.FRONT, submission_id), store.put(back, Side.BACK, submission_id))
    app = application(documents=refs, registered_country="SG")
    event = FieldsMatched(
        event_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        account_id="acct-console-1",
        submission_id=submission_id,
        producer="test",
        application=app,
        submitted_at=datetime.now(UTC),
        fields=(
            FieldMatch(
                field=FieldName.COMPANY_NAME,
                submitted=app.company.company_name,
                found=app.company.company_name,
                score=100,
                status=MatchStatus.MATCH,
                evidence=Evidence(side=Side.FRONT, box=(120, 200, 900, 60), confidence=93),
            ),
            FieldMatch(
                field=FieldName.REGISTRATION_NUMBER,
                submitted=app.company.registration_number,
                found="201912346K",
                score=90,
                status=MatchStatus.MISMATCH,
                evidence=Evidence(side=Side.FRONT, box=(120, 300, 400, 50), confidence=88),
            ),
        ),
        recommendation=Recommendation.ATTENTION,
        reasons=("registration number differs",),
        engine="test",
    )
    publisher = KafkaPublisher(settings)
    publisher.publish(event)
    publisher.flush()
    publisher.close()
    return event


def test_a_reviewer_decides_in_the_browser_and_the_decision_reaches_kafka(
    console_env: tuple[dict[str, str], int], tmp_path: Path, redis_url: str, redis_prefix: str
) -> None:
    from playwright.sync_api import expect, sync_playwright

    env, port = console_env
    settings = Settings(bootstrap_servers=env["KYB_BOOTSTRAP_SERVERS"])
    matched = publish_match(settings, Path(json.loads(env["KYB_DOCUMENT_ROOTS"])[0]), tmp_path)
    task_id = f"{matched.submission_id}.identity"
    ledger = Ledger(redis.Redis.from_url(redis_url), redis_prefix)
    wait_for(lambda: ledger.task(task_id), 60, what="the assign worker to assign the task")
    owner = ledger.task(task_id).reviewer_id  # type: ignore[union-attr]
    other = "bo" if owner == "ana" else "ana"
    base = f"http://127.0.0.1:{port}"

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        try:
            page = browser.new_page()
            page.goto(base + "/")
            page.fill("#token", "not-a-token")
            page.click("#sign-in")
            expect(page.get_by_role("alert")).to_contain_text("Unknown or inactive")

            # the other reviewer signs in and does not see the task
            page.fill("#token", f"{other}-secret-token")
            page.click("#sign-in")
            expect(page.locator("#reviewer")).to_have_text(other)
            expect(page.locator("#empty")).to_be_visible()
            page.goto(f"{base}/tasks/{task_id}")
            expect(page.get_by_role("heading", level=1)).to_have_text("Not in your queue")
            page.click("text=Sign out")

            # the owner sees it (the console follows the topic; reload until it arrives)
            page.fill("#token", f"{owner}-secret-token")
            page.click("#sign-in")
            # the sign-in navigation must finish before the page is reloaded, or Chromium
            # reports the reload against a detached page (seen once in CI under load)
            expect(page.locator("#reviewer")).to_have_text(owner)

            def listed() -> bool:
                page.goto(base + "/", wait_until="load")
                return page.locator("a.task-link").count() == 1

            wait_for(listed, 30, interval=0.5, what="the task in the list")
            expect(page.locator("td.countdown")).to_contain_text("due in")
            page.click("a.task-link")
            expect(page.locator("#doc-front svg image")).to_have_count(1)
            expect(page.locator("#doc-back svg image")).to_have_count(1)
            boxes = page.locator("#doc-front rect.box")
            expect(boxes).to_have_count(2)
            expect(page.locator("rect.box.mismatch")).to_have_attribute(
                "data-field", "registration_number"
            )
            loaded = page.evaluate("Array.from(document.querySelectorAll('svg image')).length")
            assert loaded == 2
            status = page.request.get(f"{base}/tasks/{task_id}/documents/front").status
            assert status == 200
            page.screenshot(path=str(tmp_path / "console-task.png"), full_page=True)
            page.check("input[name=decision][value=reject]")
            page.check("input[name=reason][value=registration_number_mismatch]")
            page.fill("#note", "number on the certificate differs")
            page.click("#send-decision")
            expect(page.get_by_role("status")).to_contain_text(f"Decision sent for {task_id}")
            expect(page.locator("#empty")).to_be_visible()
            page.screenshot(path=str(tmp_path / "console-after-decision.png"))
        finally:
            browser.close()

    consumer = KafkaConsumer("kyb.review.decisions", **consumer_config(settings, None))
    found: list[ReviewDecision] = []

    def arrived() -> bool:
        for records in consumer.poll(timeout_ms=200).values():
            found.extend(decode_event(r.value) for r in records)  # type: ignore[misc]
        return bool(found)

    try:
        wait_for(arrived, 30, interval=0, what="the decision on kyb.review.decisions")
    finally:
        consumer.close()
    [decision] = found
    assert (decision.task_id, decision.reviewer_id, decision.decision) == (
        task_id,
        owner,
        Decision.REJECT,
    )
    assert decision.reason_codes == (ReasonCode.REGISTRATION_NUMBER_MISMATCH,)
    wait_for(
        lambda: ledger.task(task_id).state == "decided",  # type: ignore[union-attr]
        30,
        what="the assign worker to accept the decision",
    )
