"""How the runtimes wire a stage: what a worker prepares before its first event."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline import wiring
from pipeline.app.topology import STAGES
from pipeline.settings import Settings
from pipeline.state import memory_state_store


class _RecordingSandbox:
    def __init__(self) -> None:
        self.warmed: list[tuple[Any, ...]] = []

    def warm(self, fn: Any, *args: Any) -> None:
        self.warmed.append((fn, *args))


@pytest.mark.parametrize("stage", STAGES, ids=lambda stage: stage.name)
def test_cpu_bound_stages_start_their_children_with_their_code_before_the_first_event(
    stage: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    sandbox = _RecordingSandbox()
    monkeypatch.setattr(wiring, "shared_sandbox", lambda *_args: sandbox)
    settings = Settings(document_roots=[tmp_path], sandbox=True)
    processor = wiring.build_processor(stage, settings, state=memory_state_store())
    assert processor.ctx.sandbox is sandbox
    assert (stage.prepare_child is not None) == stage.cpu_bound  # every stage with a sandbox
    expected = [(stage.prepare_child, settings)] if stage.cpu_bound else []
    assert sandbox.warmed == expected
