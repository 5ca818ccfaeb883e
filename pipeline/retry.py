"""Exponential backoff schedules, shared by the retry middleware and the mail sender."""

from __future__ import annotations

from collections.abc import Iterator


def backoff_delays(initial_s: float, attempts: int, max_delay_s: float = 60.0) -> Iterator[float]:
    """The waits between `attempts` tries: initial, 2x, 4x, … capped at `max_delay_s`."""
    for retry in range(attempts - 1):
        yield min(initial_s * 2**retry, max_delay_s)
