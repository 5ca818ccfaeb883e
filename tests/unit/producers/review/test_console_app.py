"""The console web app in-process (Starlette's test client): sign-in, only your own tasks and
images, CSRF, escaping, and a decision going out under the signed-in reviewer's id."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from starlette.testclient import TestClient

from pipeline.documents import DocumentStore
from pipeline.publishing import RecordingPublisher
from producers.decisions import DecisionPublisher
from producers.review.console import ConsoleState, create_app
from producers.review.inbox import Inbox
from schemas.enums import Decision, FieldName, MatchStatus, ReasonCode, Side
from schemas.events import Evidence, FieldMatch, ReviewDecision, ReviewTask
from tests.helpers import application, company, review_task, submission

TOKENS = {"ana": "token-of-ana", "bo": "token-of-bo"}
BY_HASH = {hashlib.sha256(t.encode()).hexdigest(): r for r, t in TOKENS.items()}


@pytest.fixture
def world(tmp_path: Path) -> tuple[TestClient, Inbox, RecordingPublisher, list[ReviewTask]]:
    documents = DocumentStore([tmp_path / "docs"], 10_000_000)
    (tmp_path / "docs").mkdir()
    refs = []
    for side, colour in ((Side.FRONT, "white"), (Side.BACK, "grey")):
        path = tmp_path / f"{side.value}.png"
        Image.new("RGB", (640, 480), colour).save(path)
        refs.append(documents.put(path, side, "sub-x"))
    app = application(
        documents=tuple(refs), company=company(company_name="<script>alert(1)</script> Pte")
    )
    name = FieldMatch(
        field=FieldName.COMPANY_NAME,
        submitted="x",
        found="y",
        score=40,
        status=MatchStatus.MISMATCH,
        evidence=Evidence(side=Side.FRONT, box=(10, 20, 300, 40), confidence=90),
    )
    mine = review_task(submission(application=app), "ana", fields=(name,))
    mine_later = review_task(
        submission(application=app), "ana", due_at=datetime(2026, 12, 9, tzinfo=UTC)
    )
    theirs = review_task(submission(application=app), "bo")
    inbox = Inbox()
    inbox.add_all([mine_later, mine, theirs])
    recorded = RecordingPublisher()
    state = ConsoleState(
        inbox=inbox,
        documents=documents,
        decisions=DecisionPublisher(recorded),
        reviewer_for_token_hash=BY_HASH.get,
        clock=lambda: datetime(2026, 11, 24, 9, 0, tzinfo=UTC),
    )
    return (
        TestClient(create_app(state), base_url="https://testserver"),
        inbox,
        recorded,
        [mine, mine_later, theirs],
    )


def sign_in(client: TestClient, reviewer: str) -> None:
    response = client.post("/login", data={"token": TOKENS[reviewer]}, follow_redirects=False)
    assert response.status_code == 303


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_unknown_tokens_are_refused_and_pages_need_a_session(world) -> None:  # type: ignore[no-untyped-def]
    client, *_ = world
    response = client.post("/login", data={"token": "guess"})
    assert response.status_code == 401
    assert "Unknown or inactive reviewer token" in response.text
    assert client.get("/tasks", follow_redirects=False).status_code == 303
    assert client.get("/tasks/x/documents/front").status_code == 401


def test_a_reviewer_sees_only_their_tasks_earliest_due_first(world) -> None:  # type: ignore[no-untyped-def]
    client, _, _, (mine, mine_later, theirs) = world
    sign_in(client, "ana")
    page = client.get("/tasks")
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.text.index(mine.task_id) < page.text.index(mine_later.task_id)
    assert theirs.task_id not in page.text
    assert "<script>alert(1)</script>" not in page.text  # escaped
    assert "&lt;script&gt;" in page.text
    assert client.get(f"/tasks/{theirs.task_id}").status_code == 404
    assert client.get(f"/tasks/{theirs.task_id}/documents/front").status_code == 404


def test_the_task_page_draws_word_boxes_over_both_images(world) -> None:  # type: ignore[no-untyped-def]
    client, _, _, (mine, *_rest) = world
    sign_in(client, "ana")
    page = client.get(f"/tasks/{mine.task_id}").text
    assert 'viewBox="0 0 640 480"' in page
    assert 'data-field="company_name" x="10" y="20" width="300" height="40"' in page
    image = client.get(f"/tasks/{mine.task_id}/documents/front")
    assert image.status_code == 200
    assert image.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get(f"/tasks/{mine.task_id}/documents/left").status_code == 404


def test_a_decision_needs_the_form_token_and_goes_out_as_the_signed_in_reviewer(world) -> None:  # type: ignore[no-untyped-def]
    client, inbox, recorded, (mine, *_rest) = world
    sign_in(client, "ana")
    csrf = csrf_of(client.get(f"/tasks/{mine.task_id}").text)
    form = {"decision": "reject", "reason": ["name_mismatch"], "note": "n", "reviewer_id": "bo"}
    forged = client.post(f"/tasks/{mine.task_id}/decision", data=form | {"csrf": "x"})
    assert forged.status_code == 403
    no_reason = client.post(
        f"/tasks/{mine.task_id}/decision",
        data={"decision": "reject", "csrf": csrf},
        follow_redirects=False,
    )
    assert "error=choose+a+reason" in no_reason.headers["location"]
    sent = client.post(f"/tasks/{mine.task_id}/decision", data=form | {"csrf": csrf})
    assert sent.status_code == 200
    assert f"Decision sent for {mine.task_id}" in sent.text
    [decision] = recorded.events
    assert isinstance(decision, ReviewDecision)
    assert (decision.reviewer_id, decision.decision, decision.reason_codes) == (
        "ana",
        Decision.REJECT,
        (ReasonCode.NAME_MISMATCH,),
    )
    assert inbox.task("ana", mine.task_id) is None


def _task_with_front(world, tmp_path: Path, content: bytes, media_type: str) -> ReviewTask:  # type: ignore[no-untyped-def]
    """A task for ana whose front document is `content`, its reference claiming `media_type`
    (what a hostile portal, or an attacker producing to the topic, can write)."""
    from tests.helpers import document_ref

    _, inbox, _, _ = world
    path = tmp_path / "docs" / "sub-x" / "evil.bin"
    path.write_bytes(content)
    ref = document_ref(path, Side.FRONT).model_copy(update={"media_type": media_type})
    task = review_task(submission(application=application(documents=(ref,))), "ana")
    inbox.add_all([task])
    return task


def test_documents_are_served_as_sniffed_pictures_that_can_run_nothing(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Attack (security issue 14.1): `front.html` + `back.js` ran a script in the console that
    approved a task; a JPEG named `.html` redirected the reviewer to a phishing page."""
    client, *_ = world
    sign_in(client, "ana")
    Image.new("RGB", (320, 200), "white").save(tmp_path / "real.jpg")
    jpeg = (tmp_path / "real.jpg").read_bytes()
    disguised = _task_with_front(world, tmp_path, jpeg, "text/html")
    image = client.get(f"/tasks/{disguised.task_id}/documents/front")
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/jpeg"  # from the bytes, not the reference
    assert image.headers["x-content-type-options"] == "nosniff"
    assert image.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert image.headers["content-disposition"] == 'inline; filename="document"'
    html = _task_with_front(world, tmp_path, b"<html><script>alert(1)</script>", "image/png")
    refused = client.get(f"/tasks/{html.task_id}/documents/front")
    assert refused.status_code == 415
    assert b"<script>" not in refused.content


def test_a_pdf_is_shown_as_its_rendered_page_never_as_the_pdf(world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from producers import corpus

    client, *_ = world
    sign_in(client, "ana")
    task = _task_with_front(world, tmp_path, corpus.by_id("dsp-milwaukee").data, "image/png")
    page = client.get(f"/tasks/{task.task_id}/documents/front")
    assert page.status_code == 200
    assert page.headers["content-type"] == "image/png"
    assert page.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"%PDF" not in page.content[:1024]
    scripted = _task_with_front(world, tmp_path, corpus.by_id("pdffill-javascript").data, "x")
    assert client.get(f"/tasks/{scripted.task_id}/documents/front").status_code == 415
