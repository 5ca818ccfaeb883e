"""Mail transports: SMTP (standard library) for real runs, an outbox folder of .eml for the demo."""

from __future__ import annotations

import smtplib
import ssl
from email.message import Message
from pathlib import Path
from typing import Protocol

from pipeline.errors import TransientError
from pipeline.settings import Settings


class PermanentMailError(Exception):
    """The server refused the message for good (5xx, bad recipient): retrying will not help."""


class MailTransport(Protocol):
    def send(self, message: Message) -> None: ...


class SmtpTransport:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, message: Message) -> None:
        s = self.settings
        try:
            if s.smtp_security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.smtp_host,
                    s.smtp_port,
                    timeout=s.smtp_timeout_s,
                    context=ssl.create_default_context(),
                )
            else:
                client = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s)
            try:
                if s.smtp_security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if s.smtp_user and s.smtp_password:
                    client.login(s.smtp_user, s.smtp_password.get_secret_value())
                client.send_message(message)
            except BaseException:
                client.close()
                raise
            # accepted: a failing QUIT must not make us send it again (found by the chaos run)
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentMailError("recipient refused") from exc
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentMailError(f"SMTP {exc.smtp_code}") from exc
            raise TransientError(f"SMTP {exc.smtp_code}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientError(f"SMTP unavailable: {type(exc).__name__}") from exc


class OutboxTransport:
    """Writes each message to `<dir>/<message-id>.eml`; used by `kyb demo`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: Message) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = str(message["Message-ID"]).strip("<>").split("@")[0]
        (self.directory / f"{name}.eml").write_bytes(bytes(message))


def build_transport(settings: Settings) -> MailTransport:
    if settings.mail_transport == "outbox":
        return OutboxTransport(settings.outbox_dir)
    return SmtpTransport(settings)
