"""Notify stage: renders a result email in the customer's language and sends it exactly once.

Exactly once, as far as SMTP allows: the Message-ID is derived from the notification id, a
record in the state store marks it sent, and a short claim keeps two workers (a redelivery
during a rebalance) from sending it at the same time. Temporary failures (connection refused,
timeouts, 4xx) are retried with exponential backoff; a permanent one (5xx, a refused recipient)
or running out of tries gives a `NotificationFailed` plus a dead letter. Customer text is only
ever in the bodies (HTML autoescaped), never in a header.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Collection
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from consumers.notify_texts import TEXTS, Texts
from pipeline.errors import PermanentError, TransientError, is_dependency_down
from pipeline.mail import PermanentMailError, build_transport
from pipeline.retry import backoff_delays
from pipeline.stage import Context
from schemas import Envelope, catalog
from schemas.enums import Locale, NotificationTemplate, QualityCode, ReasonCode, Side
from schemas.events import NotificationFailed, NotificationRequested, NotificationSent

log = logging.getLogger(__name__)

_ENV = Environment(
    loader=PackageLoader("consumers", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

SUBJECTS = TEXTS[Locale.EN].subjects


class _Recent:
    """Ids this worker has sent, newest last: if Redis is unreachable right after the SMTP
    server accepted a message, the redelivered request must not send it again (found by the
    chaos run's Redis restart). A worker killed in that instant can still send twice; the
    deterministic Message-ID lets the receiving side drop the copy."""

    def __init__(self, size: int = 10_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def remember(self, notification_id: str) -> None:
        self._ids[notification_id] = None
        while len(self._ids) > self._size:
            self._ids.popitem(last=False)

    def __contains__(self, notification_id: object) -> bool:
        return notification_id in self._ids


CLAIM_TTL_S = 30  # renewed before every attempt; a crashed sender's claim lapses soon
#: "Sent" is remembered while a replay of the request can still come: the topic's retention.
SENT_TTL_S = int((catalog.NOTIFICATIONS.retention_days + 1) * 86_400)


def handle(event: NotificationRequested, ctx: Context) -> list[Envelope]:
    sent_key = f"notify:sent:{event.notification_id}"
    message_id = f"<{event.notification_id}@{ctx.settings.mail_domain}>"
    attempts = 0
    sent_here = ctx.resource("sent_here", _Recent)
    if event.notification_id in sent_here:
        _mark_sent(ctx, sent_key, message_id)  # sent before the state store went away
    elif ctx.state.get(sent_key) is None:
        claim_key = f"notify:claim:{event.notification_id}"
        _claim(claim_key, ctx, lambda: ctx.state.get(sent_key) is not None)
        try:
            if ctx.state.get(sent_key) is None:
                message = render(event, message_id, ctx.settings.mail_from)
                attempts = _send(message, event, ctx, claim_key)
                sent_here.remember(event.notification_id)
                _mark_sent(ctx, sent_key, message_id)
        finally:
            _best_effort(ctx.state.delete, claim_key)  # unreleased, it lapses in CLAIM_TTL_S
    return [
        ctx.derive(
            NotificationSent,
            event,
            notification_id=event.notification_id,
            message_id=message_id,
            attempts=max(attempts, 1),
        )
    ]


def _mark_sent(ctx: Context, key: str, message_id: str) -> None:
    """Record that the email went out. Once it has, a state store outage must not make the
    request run again: the handler still answers NotificationSent, so the request's offset is
    committed and it is not redelivered (before, a worker killed while waiting for Redis to
    come back sent the email a second time: found by the chaos run)."""
    _best_effort(ctx.state.set, key, message_id, SENT_TTL_S)


def _best_effort(call: Callable[..., object], *args: object) -> None:
    try:
        call(*args)
    except Exception as exc:
        if not is_dependency_down(exc):
            raise
        log.warning("notify: state store unreachable (%s); going on", type(exc).__name__)


def _claim(key: str, ctx: Context, sent: Callable[[], bool]) -> None:
    """Become the one worker sending this email; wait while another one is at it."""
    deadline = time.monotonic() + CLAIM_TTL_S
    while not ctx.state.set_if_absent(key, ctx.settings.client_id, ttl_s=CLAIM_TTL_S):
        if sent():
            return
        if time.monotonic() > deadline:
            raise TransientError("another worker holds the send claim")
        time.sleep(0.2)


def _send(message: Message, event: NotificationRequested, ctx: Context, claim: str) -> int:
    """Send with backoff; returns the attempts it took. Failures become NotificationFailed."""
    s = ctx.settings
    transport = build_transport(s)
    delays = backoff_delays(s.mail_retry_initial_s, s.mail_retry_attempts, s.mail_retry_max_delay_s)
    for attempt in range(1, s.mail_retry_attempts + 1):
        ctx.state.set(claim, s.client_id, ttl_s=CLAIM_TTL_S)  # still ours while we try
        try:
            transport.send(message)
            return attempt
        except PermanentMailError as exc:
            raise _failed(event, ctx, str(exc), permanent=True, attempts=attempt) from exc
        except TransientError as exc:
            if attempt == s.mail_retry_attempts:
                raise _failed(event, ctx, str(exc), permanent=False, attempts=attempt) from exc
            delay = next(delays)
            log.warning("notify: attempt %d failed (%s); next in %.1f s", attempt, exc, delay)
            time.sleep(delay)
    raise AssertionError("unreachable")


def _failed(
    event: NotificationRequested, ctx: Context, error: str, permanent: bool, attempts: int
) -> PermanentError:
    failed = ctx.derive(
        NotificationFailed,
        event,
        notification_id=event.notification_id,
        error=error,
        permanent=permanent,
        attempts=attempts,
    )
    kind = "permanently" if permanent else f"after {attempts} attempts"
    return PermanentError(f"email {event.notification_id} failed {kind}: {error}", [failed])


def render(event: NotificationRequested, message_id: str, sender: str) -> Message:
    """The email for `event`: our sentences, reason and finding texts, the submission id.

    Nothing the customer typed is mailed (the contact address is not ours to trust, so a
    company "name" carrying a link would be phishing from our sender); nothing lands in a
    header but the fixed subject and the recipient.

    Built with `email.mime` (the compat32 policy), not `EmailMessage`: the modern API parses
    every header it sets, the parts' included, through its header registry, and rendering and
    serialising an email took 1.4 ms, a third of the notify worker's CPU in a burst; this
    takes 0.3-0.35 ms for the same MIME structure (see `benchmarks/email_render.py`)."""
    texts = TEXTS.get(event.locale, TEXTS[Locale.EN])
    variables: dict[str, Any] = {
        "t": texts,
        "locale": event.locale.value,
        "template": event.template,
        "submission_id": event.submission_id,
        "reasons": _reasons(event, texts),
        "restrictions": [str(item) for item in event.context.get("restrictions", [])],
    }
    bodies = {
        subtype: _ENV.get_template(name).render(variables)
        for subtype, name in (("plain", "email.txt.j2"), ("html", "email.html.j2"))
    }
    message = MIMEMultipart("alternative", boundary=_boundary(bodies.values()))
    headers = {
        "Subject": texts.subjects[event.template],
        "From": sender,
        "To": str(event.to),
        "Message-ID": message_id,
        "Date": formatdate(event.occurred_at.timestamp(), usegmt=True),
    }
    for name, value in headers.items():
        # typeshed types compat32 headers as str only; the generator folds a Header itself
        message[name] = _header_value(name, value)  # type: ignore[assignment]
    for subtype, body in bodies.items():
        message.attach(_text_part(body, subtype))
    return message


def _boundary(bodies: Collection[str]) -> str:
    """A boundary none of the bodies contains (base64 never has "_"). Chosen here: the
    generator's own compiles a new regular expression for every message to check it."""
    while True:
        boundary = f"=_kyb_{uuid.uuid4().hex}"
        if not any(boundary in body for body in bodies):
            return boundary


def _header_value(name: str, value: str) -> str | Header:
    """`value` as a header: RFC 2047-encoded when not ASCII, refused with a line break in it
    (compat32 writes a header as given, and this Python's generator does not check)."""
    if "\r" in value or "\n" in value:
        raise ValueError(f"a line break in the {name} header")
    return value if value.isascii() else Header(value, "utf-8")


def _text_part(body: str, subtype: str) -> MIMEText:
    """7-bit when the body is ASCII (an English email reads as sent), else UTF-8 in base64."""
    part = MIMEText(body, subtype, "us-ascii" if body.isascii() else "utf-8")
    del part["MIME-Version"]  # the message's own is the one that counts (RFC 2045)
    return part


def _reasons(event: NotificationRequested, texts: Texts) -> list[str]:
    """Reason codes and quality findings in plain words in the customer's language."""
    quality = event.context.get("quality") or []
    reasons = [str(r) for r in event.context.get("reasons", [])]
    if event.template is NotificationTemplate.RESUBMISSION_REQUIRED and len(quality) == len(
        reasons
    ):
        return [
            _quality_text(item, text, texts) for item, text in zip(quality, reasons, strict=True)
        ]
    return [_reason_text(reason, texts) for reason in reasons]


def _quality_text(finding: dict[str, Any], fallback: str, texts: Texts) -> str:
    try:
        text = texts.quality[QualityCode(str(finding.get("code")))]
    except (KeyError, ValueError):
        return fallback  # English messages are written for the customer already
    side = str(finding.get("side"))
    return f"{texts.sides[Side(side)]}: {text}" if side in Side.__members__.values() else text


def _reason_text(reason: str, texts: Texts) -> str:
    try:
        return texts.reasons.get(ReasonCode(reason), reason)
    except ValueError:
        return reason


def outcomes(event: Envelope) -> list[str]:
    if isinstance(event, NotificationSent):
        return ["sent"]
    if isinstance(event, NotificationFailed):
        return ["failed:permanent" if event.permanent else "failed:transient"]
    return []
