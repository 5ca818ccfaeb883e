"""`chain.py`'s share of the cores while customers waited: read at the last answer itself, not
at the sample after it."""

from __future__ import annotations

import pytest

from benchmarks.chain import cpu_share_until


def test_a_worker_busy_until_the_last_answer_had_one_core() -> None:
    # One core busy from the start until the last answer at 1.23 s, then idle; sampled every
    # 0.1 s. Read at the sample after the answer and over its span, as before, it had 0.92.
    samples = [(t / 10, {"quality": min(t / 10, 1.23)}) for t in range(1, 14)]
    share = cpu_share_until(samples, started=0.0, until=1.23)["quality"]
    assert share == pytest.approx(1.0, abs=0.025)
    assert share > 1.23 / 1.3 + 0.02  # the sample after, over its own span


def test_between_two_samples_the_cpu_is_interpolated() -> None:
    samples = [(1.0, {"quality": 1.6, "verdict": 0.4}), (2.0, {"quality": 3.6, "verdict": 0.6})]
    assert cpu_share_until(samples, started=0.0, until=1.5) == {"quality": 1.73, "verdict": 0.33}


def test_before_the_first_sample_every_name_counts_from_zero() -> None:
    samples = [(1.0, {"quality": 1.6, "verdict": 0.4}), (2.0, {"quality": 3.6, "verdict": 0.6})]
    assert cpu_share_until(samples, started=0.0, until=0.5) == {"quality": 1.6, "verdict": 0.4}


def test_an_answer_after_the_last_sample_uses_that_sample() -> None:
    samples = [(0.5, {"broker": 0.05}), (1.0, {"broker": 0.1})]
    assert cpu_share_until(samples, started=0.0, until=1.0) == {"broker": 0.1}
    assert cpu_share_until(samples, started=0.0, until=2.0) == {"broker": 0.05}
