"""`kyb health`: the liveness probe reads the file a running worker touches every loop."""

from __future__ import annotations

import os
import time
from pathlib import Path

from pipeline.kafka_runtime import create_topics
from pipeline.settings import Settings
from tests.helpers import run_kyb


def test_a_running_worker_keeps_its_health_file_fresh(kafka_broker: str, tmp_path: Path) -> None:
    create_topics(Settings(bootstrap_servers=kafka_broker))
    health = tmp_path / "health"
    env = {"KYB_BOOTSTRAP_SERVERS": kafka_broker, "KYB_HEALTH_FILE": str(health)}
    assert run_kyb("health", env=env).returncode == 1  # not started yet
    worker = run_kyb("worker", "compliance", "--max-seconds", "3", env=env)
    assert worker.returncode == 0, worker.stderr
    ok = run_kyb("health", "--max-age", "30", env=env)
    assert ok.returncode == 0, ok.stderr
    stale = time.time() - 120
    os.utime(health, (stale, stale))
    old = run_kyb("health", "--max-age", "60", env=env)
    assert old.returncode == 1
    assert "the worker last reported 12" in old.stderr
