"""`pods.py`'s weights: cgroup v2's `cpu.weight` from v1 `cpu.shares` as runc converts it."""

from __future__ import annotations

import pytest

from benchmarks.pods import cgroup_v2_weight


@pytest.mark.parametrize(
    ("shares", "weight"), [(2, 1), (51, 2), (102, 4), (512, 20), (1024, 39), (262_144, 10_000)]
)
def test_shares_become_the_v2_weight_runc_gives_them(shares: int, weight: int) -> None:
    assert cgroup_v2_weight(shares) == weight
