"""Operations: dashboards, topics, schemas, deploy files and dead-letter inspection."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pipeline.app.cli.common import (
    app,
    deploy_app,
    fail,
    schema_app,
    topics_app,
)
from pipeline.app.topology import STAGES
from pipeline.settings import get_settings


@app.command()
def dashboard(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port for the page, /metrics and /api/summary.")] = 6066,
) -> None:
    """Serve the ops dashboard: live charts, Prometheus /metrics (faust-streaming tables)."""
    import faust

    from pipeline.app.dashboard.app import Dashboard
    from pipeline.kafka_runtime import ensure_topics

    settings = get_settings()
    board = Dashboard(settings, host, port)
    ensure_topics(settings, board.changelog_topics())
    faust.Worker(
        board.app, loglevel=settings.log_level.lower(), quiet=True
    ).execute_from_commandline()


@app.command()
def top(
    url: Annotated[str, typer.Option(help="The dashboard's address.")] = "http://127.0.0.1:6066",
    every: Annotated[float, typer.Option(help="Seconds between refreshes.")] = 2.0,
    once: Annotated[bool, typer.Option(help="Print one screen and exit.")] = False,
) -> None:
    """The dashboard's numbers live in the terminal."""
    from pipeline.app.dashboard.top import run_top

    secret = get_settings().dashboard_token  # KYB_DASHBOARD_TOKEN, when the dashboard has one
    code = run_top(url, every, once, Console(), secret.get_secret_value() if secret else None)
    if code:
        raise typer.Exit(code)


@deploy_app.command("render")
def deploy_render(directory: Annotated[Path, typer.Argument(help="Usually deploy/.")]) -> None:
    """Write docker-compose.yml and k8s/*.yaml, derived from the topology."""
    from pipeline.app.deploy import write

    for path in write(directory):
        typer.echo(f"wrote {path}")


@topics_app.command("create")
def topics_create() -> None:
    """Create every topic of the catalog that does not exist yet."""
    from pipeline.kafka_runtime import create_topics

    created = create_topics(get_settings())
    typer.echo(f"created {len(created)} topic(s): {', '.join(created) or '-'}")


@schema_app.command("export")
def schema_export(directory: Annotated[Path, typer.Argument(help="Output folder.")]) -> None:
    """Write a JSON Schema per event and an AsyncAPI 3.0 document."""
    from pipeline.app.topology import EXTERNAL_READERS, EXTERNAL_WRITERS
    from schemas.catalog import topic_for_type
    from schemas.export import write_export

    operations = []
    for stage in STAGES:
        operations += [(stage.name, "receive", topic.name) for topic in stage.reads]
        operations += sorted({(stage.name, "send", topic_for_type(c).name) for c in stage.emits})
    operations += [
        (w.split(" ")[0], "send", t) for t, w in EXTERNAL_WRITERS.items() if "runtime" not in w
    ]
    operations += [(r.split(",")[0], "receive", t) for t, r in EXTERNAL_READERS.items()]
    written = write_export(directory, operations)
    typer.echo(f"wrote {len(written)} files to {directory}")


@app.command()
def inspect(
    front: Annotated[Path, typer.Option(help="Image of the front side.")],
    back: Annotated[Path, typer.Option(help="Image of the back side.")],
    company: Annotated[str | None, typer.Option(help="Typed company name: also run OCR.")] = None,
    regno: Annotated[str | None, typer.Option(help="Typed registration number.")] = None,
    country: Annotated[str, typer.Option(help="Account's registered country.")] = "SG",
    state: Annotated[str, typer.Option(help="Typed state or province.")] = "-",
    city: Annotated[str, typer.Option(help="Typed city.")] = "-",
    address: Annotated[str, typer.Option(help="Typed address line 1.")] = "-",
    site: Annotated[str, typer.Option(help="international or china.")] = "international",
) -> None:
    """Run the quality checks (and, given typed fields, the OCR matching) on local images.

    Prints QualityChecked as JSON, or {"quality": ..., "fields": ...} with typed fields.
    No broker and no Redis. Exit status 0 when the checks ran, whatever they found;
    2 when a file cannot be read.
    """
    from pipeline.app.inspection import InspectionError, Typed, inspect_files
    from schemas.events import FieldsMatched

    typed = None
    if company is not None or regno is not None:
        typed = Typed(company or "-", regno or "-", country, state, city, address, site)
    try:
        quality, fields = inspect_files(front, back, get_settings(), typed)
    except InspectionError as exc:
        raise fail(str(exc)) from None
    if fields is None:
        typer.echo(quality.model_dump_json(indent=2))
        return
    document = {
        "quality": quality.model_dump(mode="json"),
        "fields": fields.model_dump(mode="json") if isinstance(fields, FieldsMatched) else None,
    }
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
