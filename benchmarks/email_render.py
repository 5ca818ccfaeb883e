"""CPU per result email: `notify.render` and the bytes smtplib sends, against the same email
built with `EmailMessage` (the modern API notify used before), alternated in one run.

The notify worker renders an email for every result and was, with verdict, the largest CPU
user next to quality while customers waited for their quality answer (see `chain.py`).
Prints JSON: CPU ms per email for each way and language, their ratio, and the sizes.

    python benchmarks/email_render.py --emails 500
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.generator import BytesGenerator
from email.message import EmailMessage, Message
from email.utils import formatdate
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from consumers import notify
from consumers.notify_texts import TEXTS
from schemas.enums import Locale, NotificationTemplate
from schemas.events import NotificationRequested

MESSAGE_ID, SENDER = "<bench@kyb.example>", "kyb@kyb.example"


def request(locale: Locale) -> NotificationRequested:
    return NotificationRequested(
        event_id=uuid.uuid4(),
        occurred_at=datetime(2026, 12, 1, tzinfo=UTC),
        account_id="acct-bench",
        submission_id="sub-bench",
        producer="verdict",
        notification_id="sub-bench.resubmission_required",
        template=NotificationTemplate.RESUBMISSION_REQUIRED,
        to="owner@customer.example",
        locale=locale,
        context={
            "reasons": ["The photo is blurry.", "name_mismatch"],
            "quality": [{"code": "blurry", "side": "front"}],
        },
    )


def with_email_message(event: NotificationRequested) -> Message:
    """The same email through `EmailMessage` and the default policy (notify before)."""
    texts = TEXTS[event.locale]
    variables = {
        "t": texts,
        "locale": event.locale.value,
        "template": event.template,
        "submission_id": event.submission_id,
        "reasons": notify._reasons(event, texts),
        "restrictions": [],
    }
    message = EmailMessage()
    message["Subject"] = texts.subjects[event.template]
    message["From"] = SENDER
    message["To"] = str(event.to)
    message["Message-ID"] = MESSAGE_ID
    message["Date"] = formatdate(event.occurred_at.timestamp(), usegmt=True)
    message.set_content(notify._ENV.get_template("email.txt.j2").render(variables))
    message.add_alternative(
        notify._ENV.get_template("email.html.j2").render(variables), subtype="html"
    )
    return message


def with_render(event: NotificationRequested) -> Message:
    return notify.render(event, MESSAGE_ID, SENDER)


def wire_bytes(message: Message) -> bytes:
    """What `smtplib.SMTP.send_message` writes: the message flattened with CRLF."""
    buffer = io.BytesIO()
    BytesGenerator(buffer).flatten(message, linesep="\r\n")
    return buffer.getvalue()


def cpu_ms(
    build: Callable[[NotificationRequested], Message], event: NotificationRequested, emails: int
) -> float:
    started = time.process_time()
    for _ in range(emails):
        wire_bytes(build(event))
    return (time.process_time() - started) / emails * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--emails", type=int, default=500, help="per way, language and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    ways = {"email_message": with_email_message, "render": with_render}
    report: dict[str, object] = {}
    for locale in Locale:
        event = request(locale)
        samples: dict[str, list[float]] = {name: [] for name in ways}
        for build in ways.values():
            cpu_ms(build, event, 20)  # templates compiled, caches warm
        for _ in range(args.rounds):  # alternated: the machine's noise hits both alike
            for name, build in ways.items():
                samples[name].append(cpu_ms(build, event, args.emails))
        parsed = message_from_bytes(wire_bytes(with_render(event)), policy=policy.default)
        medians = {name: statistics.median(values) for name, values in samples.items()}
        report[locale.value] = {
            "cpu_ms_per_email": {name: round(value, 3) for name, value in medians.items()},
            "render_vs_email_message": round(medians["render"] / medians["email_message"], 2),
            "bytes": {name: len(wire_bytes(build(event))) for name, build in ways.items()},
            "subject_round_trips": parsed["Subject"] == TEXTS[locale].subjects[event.template],
        }
    print(json.dumps({"benchmark": "email_render", "rounds": args.rounds, **report}, indent=2))


if __name__ == "__main__":
    main()
