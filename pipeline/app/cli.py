"""The `kyb` command line. Stage names and help text come from the topology."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from pipeline import logs
from pipeline.app.topology import STAGES, STAGES_BY_NAME, mermaid, stage_named, validate
from pipeline.settings import get_settings
from schemas import TopicSpec

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
_STAGE_HELP = "; ".join(f"{stage.name}: {stage.description}" for stage in STAGES)
err = Console(stderr=True)


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/] {message}")
    return typer.Exit(code)


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
    stage: Annotated[StageName, typer.Argument(help=_STAGE_HELP)],
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
        raise _fail(f"no roster file at {path}") from None
    except ValidationError as exc:
        raise _fail(f"invalid roster: {describe_validation_error(exc)}") from None
    put_back = _reviewer_ledger().load(roster, time.time())
    typer.echo(f"loaded {len(roster.reviewers)} reviewer(s); {put_back} open task(s) put back")


@reviewers_app.command("token")
def reviewers_token() -> None:
    """Mint a console token: give the token to the reviewer, put the sha256 in the roster."""
    from consumers.assign.roster import new_token

    token, digest = new_token()
    typer.echo(f"token (give to the reviewer, shown once): {token}")
    typer.echo(f"token_sha256 (for roster.yaml): {digest}")


def _reviewer_ledger() -> Any:
    """The ledger in Redis (the roster lives there); a clear error when Redis is unreachable."""
    import redis

    from consumers.assign.ledger import Ledger

    settings = get_settings()
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise _fail(f"cannot reach Redis at {settings.redis_url}: {exc}") from None
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
        raise _fail(f"cannot read the review topics at {where}: {exc}") from None
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
    ledger = _reviewer_ledger()
    reviewer = ledger.reviewer_by_token_hash(hash_token(_read_token()))
    if reviewer is None:
        raise _fail("unknown or inactive reviewer token (see `kyb reviewers token`)")
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
    ledger = _reviewer_ledger()
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


@app.command()
def status(account: Annotated[str, typer.Argument(help="The account id.")]) -> None:
    """Print an account's identity and compliance status and its full audit history."""
    from rich.table import Table

    from consumers.verdict import load_account
    from pipeline.wiring import build_state

    settings = get_settings()
    if settings.state_backend != "redis":
        raise _fail("set KYB_STATE_BACKEND=redis (the local runtime keeps nothing between runs)")
    try:
        state = load_account(build_state(settings), account)
    except Exception as exc:  # a clear message instead of a traceback, whatever Redis says
        raise _fail(f"cannot read the account from Redis at {settings.redis_url}: {exc}") from None
    if state is None:
        raise _fail(f"no account {account!r}", code=1)
    out = Console()
    out.print(f"[bold]{account}[/]  account type: {state.account_type.value}")
    identity = state.identity.value if state.identity else "-"
    out.print(f"identity:   {identity}   (submission {state.submission_id})")
    mainland = state.mainland_resources or "-"
    out.print(f"compliance: {state.compliance.value}   (mainland resources: {mainland})")
    if state.sole_proprietorship:
        out.print("sole proprietorship: verified with restrictions")
    table = Table(title="History (kyb.status)")
    for column in ("at (UTC)", "track", "from", "to", "refused", "reasons"):
        table.add_column(column)
    for entry in state.history:
        table.add_row(
            str(entry["occurred_at"])[:19].replace("T", " "),
            entry["track"],
            entry["from_status"] or "-",
            entry["to_status"],
            "REFUSED" if entry["refused"] else "",
            "; ".join(entry["reasons"]),
        )
    out.print(table)


@app.command()
def erase(
    account: Annotated[str, typer.Argument(help="The account id.")],
    by: Annotated[str, typer.Option(help="Who asks (operator id or ticket), for the audit.")],
    wait: Annotated[float, typer.Option(help="Seconds to wait for the stages to confirm.")] = 60,
) -> None:
    """Erase an account's personal data: Redis state, review tasks, document files; every
    stage drops the account's records made before now (see README, Security)."""
    import time

    from pydantic import ValidationError

    from pipeline.publishing import KafkaPublisher
    from pipeline.wiring import build_state
    from producers.erasure import remaining, request_erasure

    settings = get_settings()
    if settings.state_backend != "redis":
        raise _fail("set KYB_STATE_BACKEND=redis (the local runtime keeps nothing between runs)")
    ledger = _reviewer_ledger()
    state = build_state(settings)
    publisher = KafkaPublisher(settings)
    try:
        event = request_erasure(publisher, state, account, by)
    except ValidationError as exc:
        raise _fail(f"not an account id or operator id: {exc.errors()[0]['msg']}") from None
    except Exception as exc:  # the broker or Redis: say which, no traceback
        raise _fail(f"erasure not requested: {type(exc).__name__}: {exc}") from None
    finally:
        publisher.close()
    deadline = time.monotonic() + wait
    left = remaining(state, ledger, account)
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = remaining(state, ledger, account)
    report = {
        "account_id": account,
        "event_id": str(event.event_id),
        "erased_at": event.occurred_at.isoformat(),
        "confirmed": not left,
        "still_held": left,
    }
    typer.echo(json.dumps(report))
    if left:
        raise _fail(
            f"the stages have not erased {', '.join(left)} within {wait:g} s; the request is on "
            "kyb.submissions and is applied when they run",
            code=1,
        )


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


@app.command()
def health(
    max_age: Annotated[float, typer.Option(help="Seconds since the worker's last loop.")] = 60.0,
) -> None:
    """Liveness probe: exit 0 when this container's worker touched its health file recently."""
    import time

    path = get_settings().health_file
    if path is None:
        raise _fail("KYB_HEALTH_FILE is not set")
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        raise _fail(f"no health file at {path} (the worker has not started)", code=1) from None
    if age > max_age:
        raise _fail(f"the worker last reported {age:.0f} s ago (limit {max_age:.0f} s)", code=1)
    typer.echo(f"ok: last loop {age:.1f} s ago")


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
        raise _fail(str(exc)) from None
    if fields is None:
        typer.echo(quality.model_dump_json(indent=2))
        return
    document = {
        "quality": quality.model_dump(mode="json"),
        "fields": fields.model_dump(mode="json") if isinstance(fields, FieldsMatched) else None,
    }
    typer.echo(json.dumps(document, indent=2, ensure_ascii=False))


@app.command()
def submit(
    account: Annotated[str, typer.Option(help="Account id.")],
    front: Annotated[Path, typer.Option(help="Photo of the front side.")],
    back: Annotated[Path, typer.Option(help="Photo of the back side.")],
    company: Annotated[str, typer.Option(help="Company name as on the document.")],
    regno: Annotated[str, typer.Option(help="Business registration number.")],
    country: Annotated[str, typer.Option(help="Account's registered country (ISO 3166-1).")],
    state: Annotated[str, typer.Option(help="State or province.")],
    city: Annotated[str, typer.Option(help="City.")],
    address: Annotated[str, typer.Option(help="Address line 1.")],
    email: Annotated[str, typer.Option(help="Where the result is emailed.")],
    address2: Annotated[str | None, typer.Option(help="Address line 2.")] = None,
    site: Annotated[str, typer.Option(help="international or china.")] = "international",
    mainland: Annotated[
        bool, typer.Option(help="Will buy resources in the Chinese mainland.")
    ] = False,
    sole_proprietorship: Annotated[
        bool, typer.Option(help="Declared sole proprietorship.")
    ] = False,
    locale: Annotated[str, typer.Option(help="en or zh-CN.")] = "en",
) -> None:
    """Publish one submission to Kafka, as the portal would."""
    from pipeline.publishing import KafkaPublisher
    from pipeline.wiring import build_documents
    from producers.portal import PortalPublisher, SubmissionError

    settings = get_settings()
    form = {
        "account_id": account,
        "site": site,
        "registered_country": country,
        "contact_email": email,
        "locale": locale,
        "mainland_resources": mainland,
        "company": {
            "company_name": company,
            "registration_number": regno,
            "state_province": state,
            "city": city,
            "address_line1": address,
            "address_line2": address2,
            "entity_type": "sole_proprietorship" if sole_proprietorship else "company",
        },
    }
    portal = PortalPublisher(KafkaPublisher(settings), build_documents(settings))
    try:
        event = portal.submit(form, front, back)
    except SubmissionError as exc:
        raise _fail(str(exc)) from None
    typer.echo(json.dumps({"submission_id": event.submission_id, "event_id": str(event.event_id)}))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
