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
