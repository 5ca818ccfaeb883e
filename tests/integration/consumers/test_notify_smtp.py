"""The notify stage against a real SMTP server (aiosmtpd on loopback) and real Redis."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from consumers import notify
from consumers.notify_texts import TEXTS
from pipeline.app.topology import stage_named
from pipeline.documents import DocumentStore
from pipeline.processing import Source, StageProcessor
from pipeline.settings import Settings
from pipeline.stage import Context
from pipeline.state import RedisStateStore
from schemas import encode_event
from schemas.enums import DeadLetterReason, Locale, NotificationTemplate
from schemas.events import DeadLetter, NotificationFailed, NotificationRequested, NotificationSent
from tests.conftest import SmtpServer
from tests.helpers import free_port, wait_for

EVIL_NAME = "Acme <script>alert(1)</script>\r\nBcc: evil@attacker.example"


def request(
    template: NotificationTemplate = NotificationTemplate.VERIFIED,
    locale: Locale = Locale.EN,
    **context: Any,
) -> NotificationRequested:
    return NotificationRequested(
        event_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        account_id="acct-9",
        submission_id="sub-9",
        producer="verdict",
        notification_id=f"sub-9.{template.value}.{uuid.uuid4().hex[:6]}",
        template=template,
        to="owner@customer.example",
        locale=locale,
        context={"company_name": "Harbour Logistics"} | context,
    )


def context(port: int, store: RedisStateStore, tmp_path: Path, **settings: Any) -> Context:
    values: dict[str, Any] = {
        "smtp_port": port,
        "mail_transport": "smtp",
        "smtp_timeout_s": 2,
        "mail_retry_attempts": 2,
        "mail_retry_initial_s": 0.1,
    }
    return Context("notify", Settings(**(values | settings)), store, DocumentStore([tmp_path], 10))


@pytest.mark.parametrize("locale", list(Locale))
def test_every_template_arrives_with_its_subject_and_reasons(
    locale: Locale, smtp_server: SmtpServer, redis_store: RedisStateStore, tmp_path: Path
) -> None:
    ctx = context(smtp_server.port, redis_store, tmp_path)
    texts = TEXTS[locale]
    reasons = {
        NotificationTemplate.REJECTED: ["name_mismatch"],
        NotificationTemplate.COMPLIANCE_REJECTED: ["compliance_restricted"],
        NotificationTemplate.RESUBMISSION_REQUIRED: ["The front photo is blurry. Hold steady."],
    }
    for template in NotificationTemplate:
        extra: dict[str, Any] = {"reasons": reasons.get(template, [])}
        if template is NotificationTemplate.RESUBMISSION_REQUIRED:
            extra["quality"] = [{"code": "blurry", "side": "front"}]
        if template is NotificationTemplate.VERIFIED:
            extra["restrictions"] = ["reseller programmes"]
        [sent] = notify.handle(request(template, locale, **extra), ctx)
        assert isinstance(sent, NotificationSent)
    by_subject = {str(m["Subject"]): m for m in smtp_server.messages}
    assert set(by_subject) == set(texts.subjects.values())

    def body(template: NotificationTemplate) -> str:
        part = by_subject[texts.subjects[template]].get_body(("plain",))
        return part.get_content()  # type: ignore[union-attr,no-any-return]

    for template in NotificationTemplate:
        assert texts.intros[template] in body(template)
    assert texts.reasons[notify.ReasonCode.NAME_MISMATCH] in body(NotificationTemplate.REJECTED)
    assert "reseller programmes" in body(NotificationTemplate.VERIFIED)
    resubmit = body(NotificationTemplate.RESUBMISSION_REQUIRED)
    if locale is Locale.ZH_CN:
        assert "正面: 照片模糊" in resubmit
    else:
        assert "The front photo is blurry. Hold steady." in resubmit


def test_customer_text_arrives_escaped_and_adds_no_header(
    smtp_server: SmtpServer, redis_store: RedisStateStore, tmp_path: Path
) -> None:
    ctx = context(smtp_server.port, redis_store, tmp_path)
    notify.handle(request(NotificationTemplate.REJECTED, company_name=EVIL_NAME), ctx)
    [message] = smtp_server.messages
    assert message["Bcc"] is None
    assert [to for _frm, tos in smtp_server.handler.envelopes for to in tos] == [
        "owner@customer.example"
    ]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    for body in (html, text):  # the typed name is never mailed, so neither is its markup
        assert "script" not in body
        assert "attacker.example" not in body


def test_email_is_delivered_once_even_when_requested_three_times(
    smtp_server: SmtpServer, redis_store: RedisStateStore, tmp_path: Path
) -> None:
    ctx = context(smtp_server.port, redis_store, tmp_path)
    event = request()
    results = [notify.handle(event, ctx) for _ in range(3)]
    assert all(isinstance(r[0], NotificationSent) for r in results)
    assert len({r[0].event_id for r in results}) == 1
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["Subject"] == "Your enterprise identity is verified"
    assert message["Message-ID"] == f"<{event.notification_id}@kyb.example>"


def test_smtp_down_for_ten_seconds_then_up_delivers_once(
    redis_store: RedisStateStore, tmp_path: Path
) -> None:
    server = SmtpServer()  # bound to its port only when started
    ctx = context(
        server.port,
        redis_store,
        tmp_path,
        mail_retry_attempts=12,
        mail_retry_initial_s=1,
        mail_retry_max_delay_s=2,
    )
    starter = threading.Timer(10, server.start)
    started = time.monotonic()
    starter.start()
    try:
        [sent] = notify.handle(request(), ctx)
        elapsed = time.monotonic() - started
        assert isinstance(sent, NotificationSent)
        assert sent.attempts > 1
        assert 10 <= elapsed < 20
        wait_for(lambda: len(server.messages) == 1, 5, what="the email")
        notify.handle(request().model_copy(update={"notification_id": sent.notification_id}), ctx)
        assert len(server.messages) == 1
    finally:
        starter.join()
        server.stop()


def test_a_permanent_refusal_is_a_failure_result_and_a_dead_letter(
    redis_store: RedisStateStore, tmp_path: Path
) -> None:
    server = SmtpServer(refuse_recipients=True)
    server.start()
    try:
        ctx = context(server.port, redis_store, tmp_path)
        processor = StageProcessor(stage_named("notify"), ctx)
        result = processor.process(encode_event(request()), Source("kyb.notifications", 0, 3))
        failed, letter = result.outputs
        assert isinstance(failed, NotificationFailed)
        assert (failed.permanent, failed.attempts) == (True, 1)
        assert isinstance(letter, DeadLetter)
        assert letter.reason is DeadLetterReason.PROCESSING_FAILED
        assert "recipient refused" in letter.error
    finally:
        server.stop()


def test_smtp_down_for_good_is_a_failure_after_the_retries(
    redis_store: RedisStateStore, tmp_path: Path
) -> None:
    ctx = context(free_port(), redis_store, tmp_path, mail_retry_attempts=3)
    processor = StageProcessor(stage_named("notify"), ctx)
    failed, letter = processor.process(encode_event(request()), Source("kyb.notifications")).outputs
    assert isinstance(failed, NotificationFailed)
    assert (failed.permanent, failed.attempts) == (False, 3)
    assert isinstance(letter, DeadLetter)
    assert "SMTP unavailable" in failed.error


class FlakyStore(RedisStateStore):
    """Real Redis whose first write of a sent record fails, as during a Redis restart."""

    def __init__(self, inner: RedisStateStore) -> None:
        super().__init__(inner.client, inner.prefix)
        self.failed = False

    def set(self, key: str, value: str, ttl_s: int | None = None) -> None:
        if key.startswith("notify:sent:") and not self.failed:
            self.failed = True
            import redis

            raise redis.ConnectionError("Connection refused (restarting)")
        super().set(key, value, ttl_s)


def test_redis_lost_right_after_the_send_does_not_send_twice(
    smtp_server: SmtpServer, redis_store: RedisStateStore, tmp_path: Path
) -> None:
    """Accepted by SMTP, but the record could not be written: the request is still answered
    (so it is committed, not redelivered to a worker that would not remember it), and a replay
    on this worker sends nothing and writes the record once Redis is back."""
    flaky = FlakyStore(redis_store)
    ctx = context(smtp_server.port, flaky, tmp_path)
    event = request()
    [answered] = notify.handle(event, ctx)
    assert isinstance(answered, NotificationSent)
    assert flaky.failed
    assert redis_store.get(f"notify:sent:{event.notification_id}") is None
    [replayed] = notify.handle(event, ctx)
    assert isinstance(replayed, NotificationSent)
    assert len(smtp_server.messages) == 1
    assert redis_store.get(f"notify:sent:{event.notification_id}") is not None
