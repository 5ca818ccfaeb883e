"""`pods.py` on the machine's real cgroup filesystem: a process placed in a pod runs in a cgroup
of that weight, a process it starts later stays there, and closing puts both back."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from benchmarks.pods import CGROUP_ROOT, Pods
from tests.conftest import stop_process

UNIFIED = (CGROUP_ROOT / "cgroup.controllers").exists()


def _cpu_cgroup(pid: int) -> str:
    """The process's cgroup in the cpu hierarchy (v1) or in the unified one (v2)."""
    lines = [line.split(":", 2) for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines()]
    for _, controllers, path in lines:
        if not UNIFIED and "cpu" in controllers.split(","):
            return path
    return next(path for _, controllers, path in lines if controllers == "")


def test_a_placed_process_and_its_later_child_run_with_the_pods_weight_until_closed() -> None:
    try:
        pods = Pods.open()
    except OSError as error:  # not root, or no writable cpu controller here
        pytest.skip(f"cannot make cgroups here: {error}")
    ours = _cpu_cgroup(os.getpid())
    starts_a_child = "import subprocess, time; subprocess.Popen(['sleep', '60']); time.sleep(60)"
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    starter = subprocess.Popen([sys.executable, "-c", starts_a_child])
    try:
        pods.place("reviewer-stage", 51, [worker.pid, starter.pid])
        group = _cpu_cgroup(worker.pid)
        assert group.endswith("/reviewer-stage"), group
        settings = (CGROUP_ROOT if UNIFIED else CGROUP_ROOT / "cpu") / group.lstrip("/")
        weight = (settings / ("cpu.weight" if UNIFIED else "cpu.shares")).read_text().strip()
        assert weight == ("2" if UNIFIED else "51")
        deadline = time.monotonic() + 10
        while not psutil.Process(starter.pid).children() and time.monotonic() < deadline:
            time.sleep(0.02)
        (child,) = psutil.Process(starter.pid).children()
        assert _cpu_cgroup(child.pid) == group  # started inside the pod, it stays there
    finally:
        pods.close()
    try:
        assert not settings.exists()
        assert _cpu_cgroup(worker.pid) == _cpu_cgroup(child.pid) == ours
        assert _cpu_cgroup(os.getpid()) == ours
    finally:
        child.kill()
        stop_process(worker)
        stop_process(starter)
