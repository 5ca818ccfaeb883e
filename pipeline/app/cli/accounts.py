"""One account: its status and audit trail, erasure, and a submission as the portal sends it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pipeline.app.cli.common import (
    app,
    fail,
)
from pipeline.app.cli.reviewing import reviewer_ledger
from pipeline.settings import get_settings


@app.command()
def status(account: Annotated[str, typer.Argument(help="The account id.")]) -> None:
    """Print an account's identity and compliance status and its full audit history."""
    from rich.table import Table

    from consumers.verdict import load_account
    from pipeline.wiring import build_state

    settings = get_settings()
    if settings.state_backend != "redis":
        raise fail("set KYB_STATE_BACKEND=redis (the local runtime keeps nothing between runs)")
    try:
        state = load_account(build_state(settings), account)
    except Exception as exc:  # a clear message instead of a traceback, whatever Redis says
        raise fail(f"cannot read the account from Redis at {settings.redis_url}: {exc}") from None
    if state is None:
        raise fail(f"no account {account!r}", code=1)
    out = Console()
    out.print(f"[bold]{account}[/]  account type: {state.account_type.value}")
    identity = state.identity.value if state.identity else "-"
    out.print(f"identity:   {identity}   (submission {state.submission_id})")
    mainland = state.mainland_resources or "-"
    out.print(f"compliance: {state.compliance.value}   (mainland resources: {mainland})")
    if state.sole_proprietorship:
        out.print("sole proprietorship: verified with restrictions")
    table = Table(title="History (kyb.status)")
    for column in ("at (UTC)", "track", "from", "to", "refused", "reasons"):
        table.add_column(column)
    for entry in state.history:
        table.add_row(
            str(entry["occurred_at"])[:19].replace("T", " "),
            entry["track"],
            entry["from_status"] or "-",
            entry["to_status"],
            "REFUSED" if entry["refused"] else "",
            "; ".join(entry["reasons"]),
        )
    out.print(table)


@app.command()
def erase(
    account: Annotated[str, typer.Argument(help="The account id.")],
    by: Annotated[str, typer.Option(help="Who asks (operator id or ticket), for the audit.")],
    wait: Annotated[float, typer.Option(help="Seconds to wait for the stages to confirm.")] = 60,
) -> None:
    """Erase an account's personal data: Redis state, review tasks, document files; every
    stage drops the account's records made before now (see README, Security)."""
    import time

    from pydantic import ValidationError

    from pipeline.publishing import KafkaPublisher
    from pipeline.wiring import build_state
    from producers.erasure import remaining, request_erasure

    settings = get_settings()
    if settings.state_backend != "redis":
        raise fail("set KYB_STATE_BACKEND=redis (the local runtime keeps nothing between runs)")
    ledger = reviewer_ledger()
    state = build_state(settings)
    publisher = KafkaPublisher(settings)
    try:
        event = request_erasure(publisher, state, account, by)
    except ValidationError as exc:
        raise fail(f"not an account id or operator id: {exc.errors()[0]['msg']}") from None
    except Exception as exc:  # the broker or Redis: say which, no traceback
        raise fail(f"erasure not requested: {type(exc).__name__}: {exc}") from None
    finally:
        publisher.close()
    deadline = time.monotonic() + wait
    left = remaining(state, ledger, account)
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = remaining(state, ledger, account)
    report = {
        "account_id": account,
        "event_id": str(event.event_id),
        "erased_at": event.occurred_at.isoformat(),
        "confirmed": not left,
        "still_held": left,
    }
    typer.echo(json.dumps(report))
    if left:
        raise fail(
            f"the stages have not erased {', '.join(left)} within {wait:g} s; the request is on "
            "kyb.submissions and is applied when they run",
            code=1,
        )


@app.command()
def submit(
    account: Annotated[str, typer.Option(help="Account id.")],
    front: Annotated[Path, typer.Option(help="Photo of the front side.")],
    back: Annotated[Path, typer.Option(help="Photo of the back side.")],
    company: Annotated[str, typer.Option(help="Company name as on the document.")],
    regno: Annotated[str, typer.Option(help="Business registration number.")],
    country: Annotated[str, typer.Option(help="Account's registered country (ISO 3166-1).")],
    state: Annotated[str, typer.Option(help="State or province.")],
    city: Annotated[str, typer.Option(help="City.")],
    address: Annotated[str, typer.Option(help="Address line 1.")],
    email: Annotated[str, typer.Option(help="Where the result is emailed.")],
    address2: Annotated[str | None, typer.Option(help="Address line 2.")] = None,
    site: Annotated[str, typer.Option(help="international or china.")] = "international",
    mainland: Annotated[
        bool, typer.Option(help="Will buy resources in the Chinese mainland.")
    ] = False,
    sole_proprietorship: Annotated[
        bool, typer.Option(help="Declared sole proprietorship.")
    ] = False,
    locale: Annotated[str, typer.Option(help="en or zh-CN.")] = "en",
) -> None:
    """Publish one submission to Kafka, as the portal would."""
    from pipeline.publishing import KafkaPublisher
    from pipeline.wiring import build_documents
    from producers.portal import PortalPublisher, SubmissionError

    settings = get_settings()
    form = {
        "account_id": account,
        "site": site,
        "registered_country": country,
        "contact_email": email,
        "locale": locale,
        "mainland_resources": mainland,
        "company": {
            "company_name": company,
            "registration_number": regno,
            "state_province": state,
            "city": city,
            "address_line1": address,
            "address_line2": address2,
            "entity_type": "sole_proprietorship" if sole_proprietorship else "company",
        },
    }
    portal = PortalPublisher(KafkaPublisher(settings), build_documents(settings))
    try:
        event = portal.submit(form, front, back)
    except SubmissionError as exc:
        raise fail(str(exc)) from None
    typer.echo(json.dumps({"submission_id": event.submission_id, "event_id": str(event.event_id)}))
