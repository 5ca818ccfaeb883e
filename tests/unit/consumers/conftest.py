from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.documents import DocumentStore
from pipeline.settings import Settings
from pipeline.stage import Context
from pipeline.state import memory_state_store


@pytest.fixture
def ctx_for(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Build a context for a named stage sharing one in-memory state and document root."""
    state = memory_state_store()
    settings = Settings(
        document_roots=[tmp_path], mail_transport="outbox", outbox_dir=tmp_path / "outbox"
    )
    documents = DocumentStore([tmp_path], 10_000_000)

    def build(stage: str) -> Context:
        return Context(
            stage,
            settings,
            state,
            documents,
            clock=lambda: datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        )

    return build
