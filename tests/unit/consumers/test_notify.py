from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from email import message_from_bytes, policy
from pathlib import Path

import pytest
import redis

from consumers import notify
from consumers.notify_texts import TEXTS
from schemas.enums import Locale, NotificationTemplate, ReasonCode
from schemas.events import NotificationRequested, NotificationSent


def request(
    template: NotificationTemplate = NotificationTemplate.REJECTED, **context: object
) -> NotificationRequested:
    return NotificationRequested(
        event_id=uuid.uuid4(),
        occurred_at=datetime(2026, 11, 20, tzinfo=UTC),
        account_id="acct-1",
        submission_id="sub-1",
        producer="verdict",
        notification_id=f"sub-1.{template.value}",
        template=template,
        to="ops@customer.example",
        locale=Locale.EN,
        context={
            "company_name": "Acme https://evil.example/login <script>alert(1)</script>\r\n"
            "Bcc: evil@example.com"
        }
        | context,
    )


def test_same_request_twice_writes_one_email(ctx_for, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ctx = ctx_for("notify")
    event = request(reasons=["name_mismatch"])
    first = notify.handle(event, ctx)
    second = notify.handle(event, ctx)
    assert isinstance(first[0], NotificationSent)
    assert first[0].event_id == second[0].event_id
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 1


def test_customer_text_is_escaped_and_never_a_header() -> None:
    message = notify.render(
        request(reasons=["name_mismatch"]), "<id@kyb.example>", "kyb@kyb.example"
    )
    parsed = message_from_bytes(bytes(message), policy=policy.default)
    assert parsed["Bcc"] is None
    assert parsed["Subject"] == notify.SUBJECTS[NotificationTemplate.REJECTED]
    html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    for body in (html, text):  # typed text is never mailed: no link from our sender
        assert "evil.example" not in body
        assert "script" not in body
    assert "The company name does not match the registration document." in text


@pytest.mark.parametrize(("locale", "encoding"), [(Locale.EN, "7bit"), (Locale.ZH_CN, "base64")])
def test_email_reads_back_in_its_language_with_the_lightest_encoding(
    locale: Locale, encoding: str
) -> None:
    event = request(NotificationTemplate.RESUBMISSION_REQUIRED, reasons=["name_mismatch"])
    message = notify.render(
        event.model_copy(update={"locale": locale}), "<id@kyb.example>", "kyb@kyb.example"
    )
    parsed = message_from_bytes(bytes(message), policy=policy.default)
    texts = TEXTS[locale]
    assert parsed["Subject"] == texts.subjects[NotificationTemplate.RESUBMISSION_REQUIRED]
    assert parsed.get_content_type() == "multipart/alternative"
    for subtype in ("plain", "html"):
        part = parsed.get_body((subtype,))
        assert part is not None
        assert part["Content-Transfer-Encoding"] == encoding
        assert texts.reasons[ReasonCode.NAME_MISMATCH] in part.get_content()


@pytest.mark.parametrize("sender", ["kyb@kyb.example\r\nBcc: v@x.example", "kyb@kyb.example\nX: y"])
def test_a_line_break_in_a_header_is_refused_not_written(sender: str) -> None:
    with pytest.raises(ValueError, match="line break in the From header"):
        notify.render(request(reasons=["other"]), "<id@kyb.example>", sender)


def test_every_rejection_reason_reads_as_a_sentence_in_both_languages() -> None:
    positive = {ReasonCode.DOCUMENTS_CONSISTENT, ReasonCode.COMPLIANCE_CLEARED}
    for locale, texts in TEXTS.items():
        missing = [
            code for code in ReasonCode if code not in positive and code not in texts.reasons
        ]
        assert not missing, (locale, missing)
    message = notify.render(request(reasons=["other"]), "<id@kyb.example>", "kyb@kyb.example")
    text = message_from_bytes(bytes(message), policy=policy.default).get_body(("plain",))
    assert "- other" not in text.get_content()  # type: ignore[union-attr]
    assert "another problem" in text.get_content()  # type: ignore[union-attr]


class _RedisGoneAfterSending:
    """The state store goes away the moment the SMTP server has accepted the email."""

    def __init__(self, store: object, outbox: Path) -> None:
        self._store, self._outbox = store, outbox

    def __getattr__(self, name: str) -> object:
        call = getattr(self._store, name)
        if name not in ("set", "delete", "get"):
            return call

        def maybe_down(*args: object, **kwargs: object) -> object:
            if list(self._outbox.glob("*.eml")):
                raise redis.ConnectionError("Error 111 connecting to the state store")
            return call(*args, **kwargs)

        return maybe_down


def test_once_the_email_is_out_a_state_store_outage_does_not_make_it_run_again(
    ctx_for, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The request is answered (so its offset is committed), and a replay on the same worker
    sends nothing: the chaos run's duplicate was a worker killed while waiting for Redis."""
    ctx = ctx_for("notify")
    outbox = tmp_path / "outbox"
    ctx = dataclasses.replace(ctx, state=_RedisGoneAfterSending(ctx.state, outbox))
    event = request(reasons=["name_mismatch"])

    [answer] = notify.handle(event, ctx)
    [replayed] = notify.handle(event, ctx)

    assert isinstance(answer, NotificationSent)
    assert isinstance(replayed, NotificationSent)
    assert len(list(outbox.glob("*.eml"))) == 1
