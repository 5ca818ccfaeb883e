"""`kyb console`: the reviewers' web app (Starlette, Jinja2 autoescaped templates).

A reviewer signs in with the per-reviewer token from the roster (only its sha256 is stored, in
Redis) and sees only their own open tasks, ordered by due time with an SLA countdown. A task page
shows both document images side by side with the OCR word boxes of each matched field drawn over
them, the field table, the quality and tamper signals, and the decision form. Images are served
only to the reviewer who owns the task, read through the document store (allowed roots, sha256
checked). Sessions live in memory; every form carries a per-session CSRF token.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consumers.assign.roster import hash_token
from consumers.quality import decoding
from pipeline import filetypes
from pipeline.documents import DocumentError, DocumentStore
from producers.decisions import DecisionPublisher
from producers.review.inbox import Inbox
from producers.review.signin import Session, SignInLimiter
from producers.review.terminal import REASONS, due_text
from schemas.enums import Decision, MatchStatus, ReasonCode, Side
from schemas.events import ReviewTask

log = logging.getLogger(__name__)

COOKIE = "kyb_session"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


# Customer files are shown as pictures only: never sniffed into something else, never able to
# run a script even when opened on their own, never saved under a name the customer chose.
DOCUMENT_HEADERS = SECURITY_HEADERS | {
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Content-Disposition": 'inline; filename="document"',
    "Cache-Control": "no-store, private",
}
DISPLAY_LONG_SIDE = 2000


def displayable(content: bytes) -> tuple[bytes, str] | None:
    """The upload as a picture a browser may show: JPEG, PNG and WebP as they are (their type
    from magic bytes), TIFF and PDF pages rendered to PNG, anything else None."""
    media_type = filetypes.sniff(content)
    if media_type in filetypes.IMAGES:
        return content, media_type
    if media_type not in filetypes.ACCEPTED:
        return None
    try:
        header = decoding.read_header(content)
        pixels = decoding.decode(content, header, DISPLAY_LONG_SIDE).pixels
    except decoding.ImageRejected:
        return None
    ok, png = cv2.imencode(".png", pixels)
    return (png.tobytes(), "image/png") if ok else None


@dataclass
class ConsoleState:
    """What the web app works with; built by the CLI, or by a test."""

    inbox: Inbox
    documents: DocumentStore
    decisions: DecisionPublisher
    reviewer_for_token_hash: Callable[[str], str | None]
    secure_cookies: bool = True
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    limiter: SignInLimiter = field(default_factory=SignInLimiter)
    session_idle_s: float = 30 * 60
    session_lifetime_s: float = 12 * 3600
    recheck_s: float = 10.0  # how stale the roster check of a session may be
    sessions: dict[str, Session] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_templates = Environment(
    loader=PackageLoader("producers.review", "templates"),
    autoescape=select_autoescape(["html", "j2"], default=True),
)


class SecurityHeaders:
    """Adds `SECURITY_HEADERS` to every response that did not set its own: redirects, error
    pages, static files (pure ASGI, so streaming responses pass through untouched)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(state: ConsoleState) -> Starlette:
    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = _templates.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def session_of(request: Request) -> Session | None:
        """The live session behind the cookie; an expired or revoked one is dropped here."""
        session_id, now = request.cookies.get(COOKIE, ""), state.clock()
        with state.lock:
            session = state.sessions.get(session_id)
        if session is None:
            return None
        idle = (now - session.last_seen).total_seconds() > state.session_idle_s
        old = (now - session.started).total_seconds() > state.session_lifetime_s
        revoked = False
        if not (idle or old) and (now - session.checked).total_seconds() >= state.recheck_s:
            revoked = state.reviewer_for_token_hash(session.token_sha256) != session.reviewer_id
            session.checked = now
        if idle or old or revoked:
            with state.lock:
                state.sessions.pop(session_id, None)
            return None
        session.last_seen = now
        return session

    def sweep(now: datetime) -> None:
        with state.lock:
            for session_id, session in list(state.sessions.items()):
                if (now - session.last_seen).total_seconds() > state.session_idle_s:
                    del state.sessions[session_id]

    def to_login() -> Response:
        return RedirectResponse("/", status_code=303, headers=SECURITY_HEADERS)

    async def index(request: Request) -> Response:
        if session_of(request):
            return RedirectResponse("/tasks", status_code=303)
        return page("login.html.j2")

    async def login(request: Request) -> Response:
        address = request.client.host if request.client else "unknown"
        if not state.limiter.allowed(address):
            log.warning("console: sign-in attempts throttled")
            wait = state.limiter.retry_after_s(address)
            throttled = page(
                "login.html.j2", 429, error=f"Too many failed sign-ins. Try again in {wait} s."
            )
            throttled.headers["Retry-After"] = str(wait)
            return throttled
        form = await request.form()
        token = str(form.get("token", ""))
        digest = hash_token(token)
        reviewer_id = state.reviewer_for_token_hash(digest) if token else None
        if reviewer_id is None:
            state.limiter.failed(address)
            log.warning("console: a sign-in with an unknown token was refused")
            return page("login.html.j2", 401, error="Unknown or inactive reviewer token.")
        now = state.clock()
        sweep(now)
        session_id = secrets.token_urlsafe(32)
        with state.lock:
            state.sessions[session_id] = Session(reviewer_id, digest, now, now, now)
        response = RedirectResponse("/tasks", status_code=303)
        response.set_cookie(
            COOKIE,
            session_id,
            httponly=True,
            samesite="strict",
            secure=state.secure_cookies,
            max_age=int(state.session_lifetime_s),
        )
        return response

    async def logout(request: Request) -> Response:
        # signing out always ends the session on the server, whatever the form carries
        with state.lock:
            state.sessions.pop(request.cookies.get(COOKIE, ""), None)
        response = to_login()
        response.delete_cookie(COOKIE)
        return response

    async def tasks(request: Request) -> Response:
        session = session_of(request)
        if session is None:
            return to_login()
        now = state.clock()
        rows = [
            {"task": task, "due": due_text(task, now), "overdue": task.due_at < now}
            for task in state.inbox.open_tasks(session.reviewer_id)
        ]
        notice = request.query_params.get("sent", "")
        return page(
            "tasks.html.j2", reviewer=session.reviewer_id, rows=rows, session=session, sent=notice
        )

    async def task_page(request: Request) -> Response:
        session = session_of(request)
        if session is None:
            return to_login()
        task = state.inbox.task(session.reviewer_id, request.path_params["task_id"])
        if task is None:
            return page("missing.html.j2", 404, reviewer=session.reviewer_id, session=session)
        now = state.clock()
        return page(
            "task.html.j2",
            reviewer=session.reviewer_id,
            session=session,
            task=task,
            due=due_text(task, now),
            overdue=task.due_at < now,
            sides=[_side_view(task, doc.side, state.documents) for doc in task.details.documents],
            reasons=REASONS,
            decisions=list(Decision),
            error=request.query_params.get("error", ""),
        )

    async def document(request: Request) -> Response:
        session = session_of(request)
        if session is None:
            return Response(status_code=401, headers=SECURITY_HEADERS)
        task = state.inbox.task(session.reviewer_id, request.path_params["task_id"])
        try:
            side = Side(request.path_params["side"])
        except ValueError:
            return Response(status_code=404, headers=SECURITY_HEADERS)
        ref = task.details.document(side) if task else None
        if ref is None:
            return Response(status_code=404, headers=SECURITY_HEADERS)
        try:
            content = state.documents.read(ref)
        except DocumentError as exc:
            log.warning("console: document refused (%s)", type(exc).__name__)
            return Response(status_code=410, headers=SECURITY_HEADERS)
        shown = displayable(content)
        if shown is None:
            log.warning("console: document is not an image it may show")
            return Response(status_code=415, headers=SECURITY_HEADERS)
        image, media_type = shown
        return Response(image, media_type=media_type, headers=DOCUMENT_HEADERS)

    async def decide(request: Request) -> Response:
        session = session_of(request)
        if session is None:
            return to_login()
        task_id = request.path_params["task_id"]
        form = await request.form()
        if not secrets.compare_digest(str(form.get("csrf", "")), session.csrf):
            return Response("invalid form token", status_code=403, headers=SECURITY_HEADERS)
        task = state.inbox.task(session.reviewer_id, task_id)
        if task is None:
            return page("missing.html.j2", 404, reviewer=session.reviewer_id, session=session)
        try:
            decision = Decision(str(form.get("decision", "")))
            reasons = tuple(ReasonCode(str(code)) for code in form.getlist("reason"))
        except ValueError:
            return RedirectResponse(f"/tasks/{task_id}?error=choose+a+decision", status_code=303)
        if not reasons:
            return RedirectResponse(f"/tasks/{task_id}?error=choose+a+reason", status_code=303)
        note = str(form.get("note", ""))[:2000]
        state.decisions.decide(task, decision, reasons, note, reviewer_id=session.reviewer_id)
        state.inbox.mark_decided(task.task_id, session.reviewer_id)
        return RedirectResponse(f"/tasks?sent={task.task_id}", status_code=303)

    async def health(_: Request) -> Response:
        return Response("ok")

    static = Path(__file__).with_name("static")
    return Starlette(
        middleware=[Middleware(SecurityHeaders)],
        routes=[
            Route("/", index),
            Route("/login", login, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/tasks", tasks),
            Route("/tasks/{task_id}", task_page),
            Route("/tasks/{task_id}/documents/{side}", document),
            Route("/tasks/{task_id}/decision", decide, methods=["POST"]),
            Route("/healthz", health),
            Mount("/static", StaticFiles(directory=static), name="static"),
        ],
    )


@dataclass(frozen=True)
class Box:
    field: str
    status: str
    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class SideView:
    side: str
    width: int
    height: int
    boxes: tuple[Box, ...]
    tamper: tuple[str, ...]


def _side_view(task: ReviewTask, side: Side, documents: DocumentStore) -> SideView:
    """One image with the word boxes of the fields OCR found on it."""
    measured = next((m for m in task.measurements if m.side == side), None)
    width, height = (measured.width, measured.height) if measured else (None, None)
    if not width or not height:
        width, height = _image_size(task, side, documents)
    boxes = tuple(
        Box(match.field.value, match.status.value, *match.evidence.box)
        for match in task.fields
        if match.evidence is not None
        and match.evidence.side == side
        and match.evidence.box is not None
        and match.status is not MatchStatus.NOT_FOUND
    )
    tamper = tuple(
        f"{signal.name}: {signal.detail or signal.value}"
        for signal in (measured.tamper if measured else ())
        if signal.flagged
    )
    return SideView(side.value, width, height, boxes, tamper)


def _image_size(task: ReviewTask, side: Side, documents: DocumentStore) -> tuple[int, int]:
    """Read from the image header when quality did not measure it."""
    ref = task.details.document(side)
    if ref is None:
        return 1000, 700
    try:
        header = decoding.read_header(documents.read(ref))
    except (DocumentError, decoding.ImageRejected):
        return 1000, 700
    return header.width, header.height
