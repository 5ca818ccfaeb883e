"""Every dashboard response: optional sign-in and the security headers (one aiohttp middleware).

The page itself only ever draws numbers and names as text, but a strict CSP makes sure nothing
else could run even if a topic carried markup; the token keeps internal numbers internal.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def presented_token(authorization: str) -> str | None:
    """The token from `Bearer <token>` or from basic auth's password (any user name)."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[2]
    return None


def guard(token: str | None) -> Any:
    """The middleware: 401 without the token (when one is configured), headers on everything."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if token is not None:
            given = presented_token(request.headers.get("Authorization", ""))
            if given is None or not hmac.compare_digest(given.encode(), token.encode()):
                response: web.StreamResponse = web.Response(
                    status=401,
                    text="sign in with the dashboard token",
                    headers={"WWW-Authenticate": 'Basic realm="kyb-dashboard", charset="UTF-8"'},
                )
                response.headers.update(HEADERS)
                return response
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # 404s and redirects get the headers too
            exc.headers.update(HEADERS)
            raise
        response.headers.update(HEADERS)
        return response

    return middleware
