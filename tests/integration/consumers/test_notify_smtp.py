"""The notify stage against a real SMTP server (aiosmtpd on loopback) and real Redis."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from consumers import notify
from pipeline.documents import DocumentStore
from pipeline.errors import TransientError
from pipeline.settings import Settings
from pipeline.stage import Context
from pipeline.state import RedisStateStore
from schemas.enums import Locale, NotificationTemplate
from schemas.events import NotificationRequested, NotificationSent
from tests.conftest import SmtpServer
from tests.helpers import free_port


def request() -> NotificationRequested:
    return NotificationRequested(
        event_id=uuid.uuid4(),
        occurred_at=datetime.now(UTC),
        account_id="acct-9",
        submission_id="sub-9",
        producer="verdict",
        notification_id=f"sub-9.verified.{uuid.uuid4().hex[:6]}",
        template=NotificationTemplate.VERIFIED,
        to="owner@customer.example",
        locale=Locale.EN,
        context={"company_name": "Harbour Logistics"},
    )


def context(port: int, store: RedisStateStore, tmp_path: Path) -> Context:
    settings = Settings(smtp_port=port, mail_transport="smtp", smtp_timeout_s=2)
    return Context("notify", settings, store, DocumentStore([tmp_path], 10))


def test_email_is_delivered_once_even_when_requested_three_times(
    smtp_server: SmtpServer, redis_store: RedisStateStore, tmp_path: Path
) -> None:
    ctx = context(smtp_server.port, redis_store, tmp_path)
    event = request()
    results = [notify.handle(event, ctx) for _ in range(3)]
    assert all(isinstance(r[0], NotificationSent) for r in results)
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["Subject"] == "Your enterprise identity is verified"
    assert message["Message-ID"] == f"<{event.notification_id}@kyb.example>"
    assert smtp_server.handler.envelopes[0][1] == ["owner@customer.example"]


def test_smtp_down_is_a_transient_error(redis_store: RedisStateStore, tmp_path: Path) -> None:
    ctx = context(free_port(), redis_store, tmp_path)
    with pytest.raises(TransientError, match="SMTP unavailable"):
        notify.handle(request(), ctx)
