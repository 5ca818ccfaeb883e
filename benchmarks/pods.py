"""The chain as deployed: each process in a cgroup of its own, weighted as the kubelet weights a
pod by its CPU request (`Scaling.cpu_shares`).

On one machine every worker's threads share one run queue, and a reviewer stage's SCHED_IDLE
yields to every other thread. In a cluster each pod is a cgroup: a policy orders only the pod's
own threads, and a busy node's cores go to the pods by weight. `benchmarks/chain.py` runs one
configuration this way so the requests in `deploy/` are measured, not only the policies.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def cgroup_v2_weight(shares: int) -> int:
    """cgroup v2's `cpu.weight` for v1 `cpu.shares`, as runc and the kubelet convert it."""
    return 1 + ((shares - 2) * 9999) // 262_142


def own_cgroup(hierarchy: Path, unified: bool) -> Path:
    """The directory of this process's cgroup in the cpu `hierarchy` (v1) or the unified one."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if (controllers == "") if unified else ("cpu" in controllers.split(",")):
            return hierarchy / path.lstrip("/")
    return hierarchy


class Pods:
    """Named cgroups under one parent of their own; `close` moves every process back to the
    cgroup the opening process was in."""

    def __init__(self, parent: Path, version: int, home: Path) -> None:
        self._parent, self._version, self._home = parent, version, home
        self._groups: dict[str, Path] = {}

    @classmethod
    def open(cls, root: Path = CGROUP_ROOT) -> Pods:
        """A fresh parent cgroup; `OSError` where this process may not create one (not root,
        no cpu controller, a read-only cgroup filesystem)."""
        name = f"kyb-bench-{uuid.uuid4().hex[:8]}"
        if (root / "cgroup.controllers").exists():  # v2: one tree, controllers per subtree
            if "cpu" not in (root / "cgroup.controllers").read_text().split():
                raise OSError("the cgroup v2 tree has no cpu controller")
            (root / "cgroup.subtree_control").write_text("+cpu")
            parent = root / name
            parent.mkdir()
            (parent / "cgroup.subtree_control").write_text("+cpu")
            return cls(parent, 2, own_cgroup(root, unified=True))
        parent = root / "cpu" / name
        parent.mkdir()
        return cls(parent, 1, own_cgroup(root / "cpu", unified=False))

    def place(self, pod: str, shares: int, pids: Iterable[int]) -> None:
        """Move `pids` (each with all its threads) into `pod`, made with weight `shares` on first
        use; a process started there later (a sandbox child) stays there."""
        group = self._groups.get(pod)
        if group is None:
            group = self._parent / pod
            group.mkdir()
            if self._version == 2:
                (group / "cpu.weight").write_text(str(cgroup_v2_weight(shares)))
            else:
                (group / "cpu.shares").write_text(str(shares))
            self._groups[pod] = group
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                (group / "cgroup.procs").write_text(str(pid))

    def close(self) -> None:
        """Every process back in the opener's cgroup, and the cgroups removed."""
        home = self._home / "cgroup.procs"
        for group in [*self._groups.values(), self._parent]:
            for pid in (group / "cgroup.procs").read_text().split():
                with contextlib.suppress(ProcessLookupError):
                    home.write_text(pid)
            with contextlib.suppress(OSError):  # a process still leaving: the kernel's to clear
                group.rmdir()
