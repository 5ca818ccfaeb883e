"""The reviewers: the roster, `kyb review` in the terminal and the web console."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from pipeline import logs
from pipeline.app.cli.common import (
    app,
    fail,
    reviewers_app,
)
from pipeline.settings import get_settings


@reviewers_app.command("load")
def reviewers_load(path: Annotated[Path, typer.Argument(help="roster.yaml")]) -> None:
    """Add or update reviewers in Redis from a roster file. Open tasks are kept; those of removed
    or deactivated reviewers go back to the backlog for reassignment."""
    import time

    from pydantic import ValidationError

    from consumers.assign.roster import load_roster
    from schemas.catalog import describe_validation_error

    try:
        roster = load_roster(path)
    except FileNotFoundError:
        raise fail(f"no roster file at {path}") from None
    except ValidationError as exc:
        raise fail(f"invalid roster: {describe_validation_error(exc)}") from None
    put_back = reviewer_ledger().load(roster, time.time())
    typer.echo(f"loaded {len(roster.reviewers)} reviewer(s); {put_back} open task(s) put back")


@reviewers_app.command("token")
def reviewers_token() -> None:
    """Mint a console token: give the token to the reviewer, put the sha256 in the roster."""
    from consumers.assign.roster import new_token

    token, digest = new_token()
    typer.echo(f"token (give to the reviewer, shown once): {token}")
    typer.echo(f"token_sha256 (for roster.yaml): {digest}")


def reviewer_ledger() -> Any:
    """The ledger in Redis (the roster lives there); a clear error when Redis is unreachable."""
    import redis

    from consumers.assign.ledger import Ledger

    settings = get_settings()
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise fail(f"cannot reach Redis at {settings.redis_url}: {exc}") from None
    return Ledger(client, settings.key_prefix)


def _open_feed(ledger: Any) -> Any:
    """The open tasks from the ledger, then the review topics from now on; a clear error when
    the broker or topics are missing."""
    from kafka.errors import KafkaError

    from consumers.assign import open_tasks
    from pipeline.stage import utc_now
    from producers.review.feed import TaskFeed
    from producers.review.inbox import Inbox

    settings = get_settings()
    try:
        feed = TaskFeed(
            settings,
            Inbox(),
            snapshot=lambda: open_tasks(ledger, utc_now()),
            decisions_lookback_s=settings.review_decisions_lookback_s,
        )
        feed.catch_up()
    except (LookupError, KafkaError, TimeoutError) as exc:
        where = settings.bootstrap_servers
        raise fail(f"cannot read the review topics at {where}: {exc}") from None
    return feed


def _read_token() -> str:
    """The reviewer's token: hidden at a terminal, one line from stdin otherwise (scripts)."""
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass("Reviewer token: ").strip()
    return sys.stdin.readline().strip()


@app.command()
def review(
    exit_when_idle: Annotated[
        bool, typer.Option(help="Stop when no task is open instead of waiting.")
    ] = False,
) -> None:
    """Work through your open review tasks in the terminal (sign in with your roster token)."""
    from consumers.assign.roster import hash_token
    from pipeline.publishing import KafkaPublisher
    from producers.decisions import DecisionPublisher
    from producers.review.terminal import prompt, review_loop

    settings = get_settings()
    logs.configure("WARNING")
    ledger = reviewer_ledger()
    reviewer = ledger.reviewer_by_token_hash(hash_token(_read_token()))
    if reviewer is None:
        raise fail("unknown or inactive reviewer token (see `kyb reviewers token`)")
    feed = _open_feed(ledger)
    publisher = KafkaPublisher(settings)
    console = Console()
    try:
        review_loop(
            reviewer,
            feed,
            DecisionPublisher(publisher),
            prompt(console),
            console,
            exit_when_idle=exit_when_idle,
        )
    finally:
        feed.close()
        publisher.close()


@app.command("console")
def console_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
) -> None:
    """Serve the reviewers' web console (sign in with your roster token)."""
    import threading

    import uvicorn

    from pipeline.publishing import KafkaPublisher
    from pipeline.wiring import build_documents
    from producers.decisions import DecisionPublisher
    from producers.review.console import ConsoleState, create_app
    from producers.review.signin import SignInLimiter

    settings = get_settings()
    logs.configure(settings.log_level)
    ledger = reviewer_ledger()
    feed = _open_feed(ledger)
    follower = threading.Thread(target=feed.follow, name="task-feed", daemon=True)
    follower.start()
    publisher = KafkaPublisher(settings)
    state = ConsoleState(
        inbox=feed.inbox,
        documents=build_documents(settings),
        decisions=DecisionPublisher(publisher),
        reviewer_for_token_hash=ledger.reviewer_by_token_hash,
        secure_cookies=settings.console_secure_cookies,
        limiter=SignInLimiter(
            settings.console_signin_per_address,
            settings.console_signin_overall,
            settings.redis_url if settings.state_backend == "redis" else "memory://",
            settings.key_prefix,
        ),
        session_idle_s=settings.console_session_idle_s,
        session_lifetime_s=settings.console_session_lifetime_s,
    )
    try:
        uvicorn.run(create_app(state), host=host, port=port, access_log=False, log_level="warning")
    finally:
        feed.stop()
        follower.join(5)
        feed.close()
        publisher.close()
