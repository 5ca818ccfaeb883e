"""Notify stage: renders a result email and sends it exactly once per notification id.

Issue-2 scope: English templates, SMTP or outbox delivery, idempotency record in the state
store, transient failures retried by the runtime's retry middleware. Chinese templates and
backoff for longer outages come with issue 6.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from pipeline.mail import PermanentMailError, build_transport
from pipeline.stage import Context
from schemas import Envelope
from schemas.enums import NotificationTemplate, ReasonCode
from schemas.events import NotificationFailed, NotificationRequested, NotificationSent

_ENV = Environment(
    loader=PackageLoader("consumers", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

SUBJECTS = {
    NotificationTemplate.RECEIVED: "We received your enterprise verification",
    NotificationTemplate.RESUBMISSION_REQUIRED: "Action needed: please resubmit your documents",
    NotificationTemplate.VERIFIED: "Your enterprise identity is verified",
    NotificationTemplate.REJECTED: "Your enterprise verification was not approved",
    NotificationTemplate.COMPLIANCE_PENDING: "Chinese mainland compliance review started",
    NotificationTemplate.COMPLIANCE_APPROVED: "Chinese mainland compliance review approved",
    NotificationTemplate.COMPLIANCE_REJECTED: "Chinese mainland compliance review not approved",
}

REASON_TEXT = {
    ReasonCode.NAME_MISMATCH: "The company name does not match the registration document.",
    ReasonCode.REGISTRATION_NUMBER_MISMATCH: "The registration number does not match the document.",
    ReasonCode.ADDRESS_MISMATCH: "The address does not match the registration document.",
    ReasonCode.DOCUMENT_EXPIRED: "The registration document has expired.",
    ReasonCode.COUNTRY_MISMATCH: "The document was not issued in your account's country.",
    ReasonCode.DOCUMENT_ILLEGIBLE: "The document photo is not legible.",
    ReasonCode.DOCUMENT_ALTERED: "The document appears to have been altered.",
    ReasonCode.NOT_OWN_ORGANIZATION: "The document does not belong to your organization.",
}


def handle(event: NotificationRequested, ctx: Context) -> list[Envelope]:
    record_key = f"notify:sent:{event.notification_id}"
    message_id = f"<{event.notification_id}@{ctx.settings.mail_domain}>"
    if ctx.state.get(record_key) is None:
        try:
            build_transport(ctx.settings).send(render(event, message_id, ctx.settings.mail_from))
        except PermanentMailError as exc:
            return [
                ctx.derive(
                    NotificationFailed,
                    event,
                    notification_id=event.notification_id,
                    error=str(exc),
                    permanent=True,
                    attempts=1,
                )
            ]
        ctx.state.set(record_key, message_id)
    return [
        ctx.derive(
            NotificationSent,
            event,
            notification_id=event.notification_id,
            message_id=message_id,
            attempts=1,
        )
    ]


def render(event: NotificationRequested, message_id: str, sender: str) -> EmailMessage:
    """The email for `event`. Customer text only ever lands in bodies, never in headers."""
    variables: dict[str, Any] = {
        "template": event.template.value,
        "company_name": event.context.get("company_name") or "",
        "submission_id": event.submission_id,
        "reasons": [_plain(reason) for reason in event.context.get("reasons", [])],
    }
    message = EmailMessage()
    message["Subject"] = SUBJECTS[event.template]
    message["From"] = sender
    message["To"] = str(event.to)
    message["Message-ID"] = message_id
    message["Date"] = formatdate(event.occurred_at.timestamp(), usegmt=True)
    message.set_content(_ENV.get_template("email.txt.j2").render(variables))
    message.add_alternative(_ENV.get_template("email.html.j2").render(variables), subtype="html")
    return message


def _plain(reason: str) -> str:
    try:
        return REASON_TEXT.get(ReasonCode(reason), reason)
    except ValueError:
        return reason
