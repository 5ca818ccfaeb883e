"""CR/LF and HTML in every customer field: the email arrives with only our headers, the text
escaped, and an injected address never becomes a recipient (real aiosmtpd, real stages)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from pipeline.app.topology import stage_named
from pipeline.documents import DocumentStore
from pipeline.local_runtime import LocalRuntime
from pipeline.settings import Settings
from pipeline.state import memory_state_store
from pipeline.wiring import build_processor
from producers.portal import PortalPublisher, SubmissionError
from producers.synthetic import random_spec, write_pair
from tests.conftest import SmtpServer

INJECTION = "Evil <b>Co</b>\r\nBcc: victim@attacker.example\r\nSubject: pwned\r\n\r\nbody"
SHORT = "1\r\nBcc: v@attacker.example"  # the registration number allows 64 characters
FIELDS = (
    "company_name",
    "registration_number",
    "state_province",
    "city",
    "address_line1",
    "address_line2",
)
OUR_HEADERS = {"subject", "from", "to", "message-id", "date", "mime-version", "content-type"}


def form(**company: str) -> dict[str, object]:
    values = {name: f"{name[:3]} {INJECTION}" for name in FIELDS}
    values["registration_number"] = SHORT
    return {
        "account_id": "acct-inject",
        "registered_country": "SG",
        "contact_email": "owner@customer.example",
        "company": values | company,
    }


def test_injected_text_never_becomes_a_header_or_a_recipient(
    smtp_server: SmtpServer, tmp_path: Path
) -> None:
    root = tmp_path / "documents"
    root.mkdir()
    settings = Settings(
        document_roots=[root], smtp_port=smtp_server.port, mail_transport="smtp", smtp_timeout_s=2
    )
    documents = DocumentStore([root], 25_000_000)
    state = memory_state_store()
    runtime = LocalRuntime(
        build_processor(stage_named(name), settings, state, documents)
        for name in ("verdict", "notify")
    )
    front, back = write_pair(random_spec(random.Random(1), "SG"), tmp_path / "up", "x")
    PortalPublisher(runtime, documents).submit(form(), front, back)
    runtime.run_until_idle()
    [message] = smtp_server.messages
    assert {key.lower() for key in message} <= OUR_HEADERS
    assert message["Subject"] == "We received your enterprise verification"
    assert [rcpt for _sender, rcpts in smtp_server.handler.envelopes for rcpt in rcpts] == [
        "owner@customer.example"
    ]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    for body in (html, text):  # typed fields are never mailed (issue 14.4): nothing to inject
        assert "Co</b>" not in body
        assert "attacker.example" not in body
        assert "pwned" not in body


@pytest.mark.parametrize(
    "email",
    ["owner@customer.example\r\nBcc: victim@attacker.example", "a@b.c\nCc: x@y.z", "not-an-email"],
)
def test_an_injected_contact_email_is_refused_at_the_portal(tmp_path: Path, email: str) -> None:
    root = tmp_path / "documents"
    root.mkdir()
    documents = DocumentStore([root], 25_000_000)
    runtime = LocalRuntime([])
    front, back = write_pair(random_spec(random.Random(2), "SG"), tmp_path / "up", "x")
    with pytest.raises(SubmissionError, match="contact_email"):
        PortalPublisher(runtime, documents).submit(form() | {"contact_email": email}, front, back)
    assert not list(root.rglob("*.jpg"))  # nothing stored for a refused form
