"""The terminal reviewer's pure parts: reasons, SLA countdown, what a task shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from producers.review.terminal import ask_decision, due_text, parse_reasons, render
from schemas.enums import Decision, FieldName, MatchStatus, ReasonCode
from schemas.events import FieldMatch, QualityFinding, SideMeasurements, TamperSignal
from tests.helpers import review_task, submission

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_reasons_by_number_or_code() -> None:
    assert parse_reasons("1, 2") == (ReasonCode.DOCUMENTS_CONSISTENT, ReasonCode.NAME_MISMATCH)
    assert parse_reasons("name_mismatch,name_mismatch") == (ReasonCode.NAME_MISMATCH,)
    with pytest.raises(ValueError, match="not a reason"):
        parse_reasons("99")
    with pytest.raises(ValueError, match="at least one"):
        parse_reasons(" , ")


def test_sla_countdown() -> None:
    task = review_task(submission(), due_at=NOW + timedelta(days=2, hours=3))
    assert due_text(task, NOW) == "due in 2d 3h"
    assert due_text(task, NOW + timedelta(days=2, hours=8)) == "OVERDUE by 5h 0m"


def test_a_task_shows_typed_vs_found_findings_tamper_and_image_paths() -> None:
    sub = submission()
    task = review_task(
        sub,
        fields=(
            FieldMatch(
                field=FieldName.REGISTRATION_NUMBER,
                submitted="201912345K",
                found="201912346K",
                score=90,
                status=MatchStatus.MISMATCH,
                notes=("check digit fails",),
            ),
        ),
        quality_findings=(
            QualityFinding(code="glare", side="front", message="Glare hides text.", blocking=False),
        ),
        measurements=(
            SideMeasurements(
                side="back",
                tamper=(TamperSignal(name="ela", flagged=True, detail="edited region"),),
            ),
        ),
    )
    console = Console(record=True, width=200)
    render(task, console, NOW)
    text = console.export_text()
    for expected in (
        "201912345K",
        "201912346K",
        "mismatch",
        "check digit fails",
        "Glare hides",
        "ela",
        "edited region",
        "due in",
    ):
        assert expected in text, expected


def test_asking_a_decision_retries_bad_answers() -> None:
    answers = iter(["x", "r", "banana", "2,3", "typed name differs"])
    console = Console(record=True)
    decision = ask_decision(lambda _q: next(answers), console)
    assert decision == (
        Decision.REJECT,
        (ReasonCode.NAME_MISMATCH, ReasonCode.REGISTRATION_NUMBER_MISMATCH),
        "typed name differs",
    )
    assert "answer a, r, s, k or q" in console.export_text()
    assert ask_decision(lambda _q: "k", console) is None


def test_customer_text_cannot_inject_markup_links_or_escape_codes() -> None:
    import io

    hostile = "ACME [/bold] [link=https://evil.example]Sign in again[/link]"
    escapes = "x\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\\x1b[2J\u202eevil"
    task = review_task(
        submission(),
        fields=(
            FieldMatch(
                field=FieldName.COMPANY_NAME,
                submitted=hostile,
                found=escapes,
                score=10,
                status=MatchStatus.MISMATCH,
                notes=("[red]not red[/red]",),
            ),
        ),
        reasons=("[blink]urgent[/blink]",),
    )
    raw = io.StringIO()
    console = Console(file=raw, force_terminal=True, width=240, record=True)
    render(task, console, NOW)  # "[/bold]" made rich raise MarkupError before
    shown = console.export_text()
    assert "ACME [/bold] [link=https://evil.example]Sign in again[/link]" in shown
    assert "[red]not red[/red]" in shown
    assert "[blink]urgent[/blink]" in shown
    output = raw.getvalue()
    assert "\x1b]8;;" not in output  # no hyperlink (OSC 8) reached the terminal
    assert "\x1b[2J" not in output  # nor a clear-screen
    assert "\u202e" not in output  # nor a right-to-left override
