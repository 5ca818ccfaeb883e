"""Console sessions end on the server (idle, lifetime, sign-out, roster change) and sign-in
guessing is throttled (security issue 14.12); every response carries the headers (14.13)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pipeline.documents import DocumentStore
from pipeline.publishing import RecordingPublisher
from producers.decisions import DecisionPublisher
from producers.review.console import COOKIE, ConsoleState, create_app
from producers.review.inbox import Inbox
from producers.review.signin import SignInLimiter

TOKEN = "token-of-ana"
DIGEST = hashlib.sha256(TOKEN.encode()).hexdigest()


class World:
    def __init__(self, tmp_path: Path, limiter: SignInLimiter | None = None) -> None:
        self.now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
        self.roster = {DIGEST: "ana"}
        (tmp_path / "docs").mkdir()
        self.state = ConsoleState(
            inbox=Inbox(),
            documents=DocumentStore([tmp_path / "docs"], 1_000_000),
            decisions=DecisionPublisher(RecordingPublisher()),
            reviewer_for_token_hash=lambda digest: self.roster.get(digest),
            clock=lambda: self.now,
            limiter=limiter or SignInLimiter(),
        )
        self.app = create_app(self.state)

    def client(self, address: str = "10.0.0.1") -> TestClient:
        return TestClient(self.app, base_url="https://testserver", client=(address, 50000))

    def signed_in(self) -> TestClient:
        client = self.client()
        response = client.post("/login", data={"token": TOKEN}, follow_redirects=False)
        assert response.status_code == 303
        return client

    def later(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def signed_out(client: TestClient) -> bool:
    return client.get("/tasks", follow_redirects=False).status_code == 303


def test_an_idle_session_expires_on_the_server(tmp_path: Path) -> None:
    world = World(tmp_path)
    client = world.signed_in()
    world.later(minutes=29)
    assert not signed_out(client)
    world.later(minutes=31)
    assert signed_out(client)
    assert world.state.sessions == {}


def test_a_busy_session_still_ends_after_its_lifetime(tmp_path: Path) -> None:
    world = World(tmp_path)
    client = world.signed_in()
    for _ in range(35):  # a request every 20 minutes for 11 h 40 min
        world.later(minutes=20)
        assert not signed_out(client)
    world.later(minutes=25)
    assert signed_out(client)


def test_deactivating_a_reviewer_ends_their_session(tmp_path: Path) -> None:
    world = World(tmp_path)
    client = world.signed_in()
    del world.roster[DIGEST]  # deactivated, or the token was rotated
    world.later(seconds=world.state.recheck_s)
    assert signed_out(client)


def test_signing_out_ends_the_session_even_without_the_form_token(tmp_path: Path) -> None:
    world = World(tmp_path)
    client = world.signed_in()
    cookie = client.cookies[COOKIE]
    client.post("/logout", follow_redirects=False)
    stolen = world.client()
    stolen.cookies.set(COOKIE, cookie)
    assert signed_out(stolen)  # the old cookie no longer opens anything


def test_guessing_is_throttled_per_address_and_overall(tmp_path: Path) -> None:
    world = World(tmp_path, SignInLimiter(per_address="5/minute", overall="8/minute"))
    guesser = world.client("10.0.0.66")
    codes = [guesser.post("/login", data={"token": f"guess-{n}"}).status_code for n in range(7)]
    assert codes == [401] * 5 + [429] * 2
    throttled = guesser.post("/login", data={"token": TOKEN})
    assert throttled.status_code == 429  # even the right token waits: no oracle for guesses
    assert int(throttled.headers["Retry-After"]) >= 1
    # another address still signs in, until guesses from many addresses fill the overall limit
    assert world.client("10.0.0.7").post("/login", data={"token": TOKEN}).status_code == 200
    for n in range(3):
        world.client(f"10.1.0.{n}").post("/login", data={"token": "nope"})
    assert world.client("10.0.0.8").post("/login", data={"token": TOKEN}).status_code == 429


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/tasks"),  # a redirect to sign in
        ("GET", "/no-such-page"),  # Starlette's own 404
        ("GET", "/static/console.css"),
        ("POST", "/login"),  # the 401 page
        ("GET", "/"),
    ],
)
def test_every_response_carries_the_security_headers(
    tmp_path: Path, method: str, path: str
) -> None:
    response = World(tmp_path).client().request(method, path, follow_redirects=False)
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_the_session_cookie_is_secure_by_default(tmp_path: Path) -> None:
    response = (
        World(tmp_path).client().post("/login", data={"token": TOKEN}, follow_redirects=False)
    )
    cookie = response.headers["set-cookie"].lower()
    for attribute in ("secure", "httponly", "samesite=strict"):
        assert attribute in cookie
