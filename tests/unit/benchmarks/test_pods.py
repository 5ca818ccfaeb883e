"""`pods.py`: cgroup v2's `cpu.weight` from v1 `cpu.shares` as runc converts it, and what it
writes in a unified (v2) tree, which this machine's v1 cgroups cannot show (the integration test
places real processes in v1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.pods import Pods, cgroup_v2_weight


@pytest.mark.parametrize(
    ("shares", "weight"), [(2, 1), (51, 2), (102, 4), (512, 20), (1024, 39), (262_144, 10_000)]
)
def test_shares_become_the_v2_weight_runc_gives_them(shares: int, weight: int) -> None:
    assert cgroup_v2_weight(shares) == weight


def test_on_a_unified_tree_the_pods_get_the_cpu_controller_and_v2_weights(tmp_path: Path) -> None:
    """cgroup v2 (a directory standing in for /sys/fs/cgroup): the cpu controller is enabled
    for the pods' parent and for its children, and each pod's weight is `cpu.weight`."""
    (tmp_path / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    pods = Pods.open(tmp_path)
    (parent,) = [p for p in tmp_path.iterdir() if p.name.startswith("kyb-bench-")]
    assert (tmp_path / "cgroup.subtree_control").read_text() == "+cpu"
    assert (parent / "cgroup.subtree_control").read_text() == "+cpu"
    pods.place("quality-0", 1024, [4242])
    pods.place("ocr-1", 51, [4343])
    assert (parent / "quality-0" / "cpu.weight").read_text() == "39"
    assert (parent / "ocr-1" / "cpu.weight").read_text() == "2"
    assert (parent / "ocr-1" / "cgroup.procs").read_text() == "4343"
    assert not (parent / "ocr-1" / "cpu.shares").exists()


def test_a_unified_tree_without_the_cpu_controller_is_refused(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").write_text("memory pids\n")
    with pytest.raises(OSError, match="no cpu controller"):
        Pods.open(tmp_path)
