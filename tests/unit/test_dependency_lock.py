"""The locks CI and the image install from agree with pyproject.toml (security issue 14.14)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def locked(name: str) -> dict[str, str]:
    text = (ROOT / name).read_text()
    return {
        canonicalize_name(match[1]): match[2]
        for match in re.finditer(r"^([A-Za-z0-9_.\-]+)==(\S+) \\$", text, re.MULTILINE)
    }


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [
        ("requirements.lock", PYPROJECT["dependencies"]),
        (
            "requirements-dev.lock",
            PYPROJECT["dependencies"] + PYPROJECT["optional-dependencies"]["dev"],
        ),
    ],
)
def test_every_dependency_is_locked_within_its_bounds(lock: str, requirements: list[str]) -> None:
    versions = locked(lock)
    for line in requirements:
        requirement = Requirement(line)
        version = versions.get(canonicalize_name(requirement.name))
        assert version is not None, f"{requirement.name} is not in {lock}: run `make lock`"
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{lock} pins {requirement.name}=={version}, outside {requirement.specifier}"
        )


def test_every_locked_package_has_a_hash_and_the_dev_lock_agrees_with_the_runtime_lock() -> None:
    for name in ("requirements.lock", "requirements-dev.lock"):
        entries = re.split(r"\n(?=\S)", (ROOT / name).read_text())
        pinned = [entry for entry in entries if "==" in entry.split("\n")[0]]
        assert pinned
        assert all("--hash=sha256:" in entry for entry in pinned), name
    runtime, dev = locked("requirements.lock"), locked("requirements-dev.lock")
    assert {name: dev[name] for name in runtime} == runtime
