"""Builds stores and contexts from settings, so runtimes and the CLI wire stages the same way."""

from __future__ import annotations

from pipeline.documents import DocumentStore
from pipeline.erasure import ErasureGate
from pipeline.metrics import StageMetrics
from pipeline.processing import Retries, StageProcessor
from pipeline.sandbox import shared_sandbox
from pipeline.settings import Settings
from pipeline.stage import Context, Stage
from pipeline.state import RedisStateStore, StateStore, memory_state_store


def build_state(settings: Settings) -> StateStore:
    if settings.state_backend == "redis":
        return RedisStateStore.from_url(settings.redis_url, settings.key_prefix)
    return memory_state_store()


def build_documents(settings: Settings) -> DocumentStore:
    objects = None
    if settings.document_buckets:
        from pipeline.objects import ObjectDocuments

        objects = ObjectDocuments(settings)
    return DocumentStore(
        settings.document_roots, settings.document_max_bytes, objects, settings.document_upload_to
    )


def build_processor(
    stage: Stage,
    settings: Settings,
    state: StateStore | None = None,
    documents: DocumentStore | None = None,
) -> StageProcessor:
    sandbox = (
        shared_sandbox(
            settings.sandbox_memory_mb << 20, settings.native_threads, settings.sandbox_children
        )
        if settings.sandbox
        else None
    )
    if sandbox is not None and stage.prepare_child is not None:
        sandbox.warm(stage.prepare_child, settings)  # while the worker joins its group
    ctx = Context(
        stage=stage.name,
        settings=settings,
        state=state if state is not None else build_state(settings),
        documents=documents if documents is not None else build_documents(settings),
        sandbox=sandbox,
    )
    retries = Retries(
        max_attempts=settings.max_attempts, backoff_s=settings.retry_backoff_ms / 1000
    )
    metrics = StageMetrics(stage, settings.metrics_window_s, retries)
    return StageProcessor(
        stage,
        ctx,
        # metrics outermost: one latency per event, retries included; the erasure gate
        # innermost, so a state store that blinks is retried like any handler call
        [metrics, retries, ErasureGate()],
        metrics=metrics,
    )
