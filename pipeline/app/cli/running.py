"""Running the pipeline: the demo, one stage as a worker, the topology, health and lag."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from pipeline import logs
from pipeline.app.cli.common import (
    STAGE_HELP,
    StageName,
    app,
    fail,
)
from pipeline.app.topology import STAGES, STAGES_BY_NAME, mermaid, stage_named, validate
from pipeline.priority import take_priority
from pipeline.settings import get_settings
from schemas import TopicSpec


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="Scratch folder for documents.")] = Path(".demo"),
    outbox: Annotated[Path, typer.Option(help="Where the emails are written.")] = Path("outbox"),
    seed: Annotated[int, typer.Option(help="Seed of the synthetic certificates.")] = 7,
) -> None:
    """Run the whole pipeline locally on synthetic certificates (no servers)."""
    from pipeline.app.demo import run

    logs.configure("WARNING")
    run(workdir.resolve(), outbox.resolve(), seed)


@app.command()
def worker(
    stage: Annotated[StageName, typer.Argument(help=STAGE_HELP)],
    max_seconds: Annotated[float | None, typer.Option(help="Stop after this long.")] = None,
) -> None:
    """Run one stage as consumer group kyb-<stage> against Kafka."""
    from pipeline.kafka_runtime import KafkaWorker
    from pipeline.wiring import build_processor

    settings = get_settings()
    logs.configure(settings.log_level)
    validate()
    chosen = stage_named(stage.value)
    if chosen.cpu_bound:
        from pipeline.threads import limit_native_threads

        limit_native_threads(settings.native_threads)
    # before the Kafka client's threads and the sandbox children start: they inherit it
    take_priority(chosen.waiting, settings.yield_policy, settings.yield_nice)
    runner = KafkaWorker(build_processor(chosen, settings), settings)
    runner.install_signal_handlers()
    runner.run(max_seconds=max_seconds)


@app.command()
def topology(
    as_mermaid: Annotated[bool, typer.Option("--mermaid", help="Print a Mermaid diagram.")] = False,
) -> None:
    """Show which stage reads and writes which topics."""
    validate()
    if as_mermaid:
        typer.echo(mermaid())
        return
    for stage in STAGES:
        writes = sorted({t.name for t in _written(stage.name)})
        typer.echo(
            f"{stage.name:11} group={stage.group_id:15} reads={[t.name for t in stage.reads]} "
            f"writes={writes}"
        )


def _written(stage_name: str) -> list[TopicSpec]:
    from schemas.catalog import topic_for_type

    return [topic_for_type(cls) for cls in STAGES_BY_NAME[stage_name].emits]


@app.command()
def lag(
    every: Annotated[float, typer.Option(help="Seconds between reports.")] = 10.0,
    once: Annotated[bool, typer.Option(help="Report once and exit.")] = False,
) -> None:
    """Publish each stage's consumer-group lag per topic to kyb.metrics (and print it)."""
    import threading

    from pipeline.lag import LagReader
    from pipeline.publishing import KafkaPublisher

    settings = get_settings()
    logs.configure(settings.log_level)
    reader, publisher = LagReader(settings), KafkaPublisher(settings)
    stop = threading.Event()
    _stop_on_signals(stop)
    try:
        while not stop.is_set():
            for report in reader.read(STAGES):
                publisher.publish(report)
                typer.echo(f"{report.group:16} {report.topic:26} lag={report.lag}")
            publisher.flush()
            if once:
                break
            stop.wait(every)
    finally:
        reader.close()
        publisher.close()


def _stop_on_signals(stop: Any) -> None:
    import signal

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())


@app.command()
def health(
    max_age: Annotated[float, typer.Option(help="Seconds since the worker's last loop.")] = 60.0,
) -> None:
    """Liveness probe: exit 0 when this container's worker touched its health file recently."""
    import time

    path = get_settings().health_file
    if path is None:
        raise fail("KYB_HEALTH_FILE is not set")
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        raise fail(f"no health file at {path} (the worker has not started)", code=1) from None
    if age > max_age:
        raise fail(f"the worker last reported {age:.0f} s ago (limit {max_age:.0f} s)", code=1)
    typer.echo(f"ok: last loop {age:.1f} s ago")
