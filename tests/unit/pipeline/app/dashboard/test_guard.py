"""How the dashboard reads a presented token (bearer for Prometheus, basic auth for browsers)."""

from __future__ import annotations

import base64

from pipeline.app.dashboard.guard import presented_token


def basic(user_password: str) -> str:
    return "Basic " + base64.b64encode(user_password.encode()).decode()


def test_bearer_and_basic_password_are_the_token() -> None:
    assert presented_token("Bearer abc") == "abc"
    assert presented_token(basic("ops:abc")) == "abc"
    assert presented_token(basic("abc")) == ""  # a user name alone is no token


def test_anything_else_is_no_token() -> None:
    assert presented_token("") is None
    assert presented_token("Digest abc") is None
    assert presented_token("Basic !!notbase64") is None
    assert presented_token("Basic " + base64.b64encode(b"\xff:\xfe").decode()) is None
