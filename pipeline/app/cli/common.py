"""What every `kyb` command shares: the Typer apps, stage names from the topology, and one way
to fail with a clear message instead of a traceback."""

from __future__ import annotations

from enum import StrEnum

import typer
from rich.console import Console

from pipeline.app.topology import STAGES

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Enterprise identity verification (KYB) pipeline.",
)
topics_app = typer.Typer(no_args_is_help=True, help="Kafka topics from the catalog.")
schema_app = typer.Typer(no_args_is_help=True, help="Event schemas.")
deploy_app = typer.Typer(no_args_is_help=True, help="Deployment files from the topology.")
reviewers_app = typer.Typer(no_args_is_help=True, help="The reviewer roster.")
app.add_typer(topics_app, name="topics")
app.add_typer(reviewers_app, name="reviewers")
app.add_typer(schema_app, name="schema")
app.add_typer(deploy_app, name="deploy")

StageName = StrEnum("StageName", {stage.name: stage.name for stage in STAGES})  # type: ignore[misc]
STAGE_HELP = "; ".join(f"{stage.name}: {stage.description}" for stage in STAGES)
err = Console(stderr=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print `message` to stderr; raise the result to exit with `code`."""
    err.print(f"[red]error:[/] {message}")
    return typer.Exit(code)
