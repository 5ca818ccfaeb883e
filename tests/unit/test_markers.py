"""Markers follow folders: `pytest -m "not integration"` runs exactly the unit tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def collected(*args: str) -> set[str]:
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return {line.split("::")[0] for line in run.stdout.splitlines() if "::" in line}


def test_not_integration_selects_the_unit_folder_and_nothing_else() -> None:
    unit = collected("-m", "not integration")
    assert unit
    assert all(path.startswith("tests/unit/") for path in unit), sorted(unit)[:5]
    every = collected()
    assert {path for path in every if path.startswith("tests/unit/")} == unit
    assert any(path.startswith("tests/e2e/") for path in every - unit)
