"""Exceptions that tell the runtime what to do with a failed event."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from schemas import Envelope


class PermanentError(Exception):
    """Retrying cannot help (bad reference, refused transition): dead-letter at once.

    `outputs` are still published next to the dead letter: the audit entry of a refusal, or the
    `NotificationFailed` of an email that can never be sent.
    """

    def __init__(self, message: str, outputs: Sequence[Envelope] = ()) -> None:
        super().__init__(message)
        self.outputs = tuple(outputs)


class RefusedError(PermanentError):
    """A request the business rules refuse (enterprise → individual): audited, dead-lettered."""


class TransientError(Exception):
    """A dependency is briefly unavailable; retry with backoff."""


class DependencyDown(Exception):
    """The state store (Redis) is unreachable: no record is at fault, so none is dead-lettered.

    The runtime stops the batch without committing, waits, and processes the record again.
    """


def is_dependency_down(exc: BaseException) -> bool:
    """Connection-level failures of Redis: an outage, not a bad record."""
    import redis

    return isinstance(exc, redis.ConnectionError | redis.TimeoutError)
