"""Sign-in throttling and session lifetime for the reviewers' console.

Failed sign-ins are counted in a moving window per client address and over all addresses (a
guesser spreading over many addresses still hits the second), with the `limits` library: in
memory for one console, in Redis when several consoles share the roster.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import limits
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

ANY_ADDRESS = "*"


class SignInLimiter:
    def __init__(
        self,
        per_address: str = "10/minute",
        overall: str = "100/minute",
        storage_uri: str = "memory://",
        key_prefix: str = "kyb:",
    ) -> None:
        options: dict[str, Any] = {}
        if storage_uri.startswith("redis"):
            options["key_prefix"] = f"{key_prefix}console-signin"
        self._limiter = MovingWindowRateLimiter(storage_from_string(storage_uri, **options))
        self._rules = (limits.parse(per_address), limits.parse(overall))

    def _keys(self, address: str) -> tuple[tuple[Any, str], ...]:
        return ((self._rules[0], address), (self._rules[1], ANY_ADDRESS))

    def allowed(self, address: str) -> bool:
        """May this address try a token now?"""
        return all(self._limiter.test(rule, "signin", key) for rule, key in self._keys(address))

    def failed(self, address: str) -> None:
        for rule, key in self._keys(address):
            self._limiter.hit(rule, "signin", key)

    def retry_after_s(self, address: str) -> int:
        resets = [
            self._limiter.get_window_stats(rule, "signin", key).reset_time
            for rule, key in self._keys(address)
        ]
        return max(1, round(max(resets) - time.time()))


@dataclass
class Session:
    """A signed-in reviewer: ends after `idle` without a request, after `lifetime` in any case,
    at sign-out, and when the roster no longer lets its token in (deactivated, token changed)."""

    reviewer_id: str
    token_sha256: str
    started: datetime
    last_seen: datetime
    checked: datetime
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
