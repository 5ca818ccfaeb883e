"""`kyb review`: a reviewer's open tasks, one at a time, in the terminal.

Shows what was typed against what the certificate says (scores, status), the quality and tamper
findings and both image paths; asks approve / reject / request resubmission, reason codes from
the schema and a note; publishes a `ReviewDecision`. The inbox is rebuilt from the topics at
start, so a restart continues where the reviewer stopped and decided tasks never come back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from urllib.parse import unquote, urlparse

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from producers.decisions import DecisionPublisher
from producers.review.feed import TaskFeed
from schemas.enums import Decision, MatchStatus, ReasonCode
from schemas.events import ReviewTask

REASONS: tuple[ReasonCode, ...] = tuple(ReasonCode)
CHOICES = {
    "a": Decision.APPROVE,
    "r": Decision.REJECT,
    "s": Decision.REQUEST_RESUBMISSION,
}
_STATUS_STYLE = {MatchStatus.MATCH: "green", MatchStatus.PARTIAL: "yellow"}

QUESTION = "[a]pprove / [r]eject / request re[s]ubmission / s[k]ip / [q]uit"
Ask = Callable[[str], str]


class Quit(Exception):
    """The reviewer asked to stop (or stdin ended)."""


_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)


def safe(value: object) -> str:
    """Customer- or topic-supplied text for the terminal: no escape codes, no bidi overrides,
    and rich markup shown literally (`[/bold]` or `[link=…]` in a company name is just text)."""
    return escape(_UNPRINTABLE.sub("\ufffd", str(value)))


def due_text(task: ReviewTask, now: datetime) -> str:
    """'due in 2d 3h' or 'OVERDUE by 5h' (the SLA countdown)."""
    seconds = int((task.due_at - now).total_seconds())
    days, rest = divmod(abs(seconds), 86_400)
    hours, rest = divmod(rest, 3_600)
    span = f"{days}d {hours}h" if days else f"{hours}h {rest // 60}m"
    return f"due in {span}" if seconds >= 0 else f"OVERDUE by {span}"


def render(task: ReviewTask, console: Console, now: datetime) -> None:
    app = task.details
    console.print(
        Panel.fit(
            f"[bold]{task.queue.value} review[/] {safe(task.task_id)}  ·  {due_text(task, now)} "
            f"({task.due_at:%Y-%m-%d %H:%M} UTC)  ·  priority {task.priority}  ·  "
            f"{safe(app.registered_country)} / {app.site.value}  ·  "
            f"{app.company.entity_type.value.replace('_', ' ')}",
            title=f"recommendation: {task.recommendation.value if task.recommendation else '-'}",
        )
    )
    for reason in task.reasons:
        console.print(f"  [yellow]•[/] {safe(reason)}")
    fields = Table(title="Typed vs found on the certificate", expand=False)
    for column in ("field", "typed", "found", "score", "status", "notes"):
        fields.add_column(column)
    if task.fields:
        for match in task.fields:
            style = _STATUS_STYLE.get(match.status, "red")
            fields.add_row(
                match.field.value,
                safe(match.submitted or "-"),
                safe(match.found or "-"),
                f"{match.score:.0f}",
                f"[{style}]{match.status.value}[/]",
                safe("; ".join(match.notes)),
            )
    else:
        company = app.company
        for name in ("company_name", "registration_number", "state_province", "city"):
            fields.add_row(name, safe(getattr(company, name)), "-", "-", "-", "not OCR-checked")
        fields.add_row("address", safe(company.address_line1), "-", "-", "-", "")
        fields.add_row(
            "mainland resources", "yes" if app.mainland_resources else "no", "", "", "", ""
        )
    console.print(fields)
    findings = [
        f"{'[red]blocking[/]' if f.blocking else 'advice'} {f.code.value}"
        f"{f' ({f.side.value})' if f.side else ''}: {safe(f.message)}"
        for f in task.quality_findings
    ]
    tamper = [
        f"[red]{safe(signal.name)}[/] ({m.side.value}) {safe(signal.detail)}"
        for m in task.measurements
        for signal in m.tamper
        if signal.flagged
    ]
    console.print("[bold]Quality:[/] " + ("none" if not findings else ""))
    for line in findings:
        console.print(f"  {line}")
    console.print("[bold]Tamper signals:[/] " + ("none flagged" if not tamper else ""))
    for line in tamper:
        console.print(f"  {line}")
    console.print("[bold]Images:[/]")
    for doc in app.documents:
        console.print(f"  {doc.side.value}: {safe(unquote(urlparse(doc.uri).path))}")
    moves = [h for h in task.history if h.action in ("unassigned", "assigned") and h.reason]
    if len(moves) > 1:
        console.print(
            "[bold]History:[/] "
            + "; ".join(f"{h.action} {safe(h.reviewer_id)} ({safe(h.reason)})" for h in moves)
        )


def parse_reasons(answer: str) -> tuple[ReasonCode, ...]:
    """'1, 3' or 'name_mismatch' → reason codes; raises ValueError with what was wrong."""
    codes: list[ReasonCode] = []
    for part in (p.strip() for p in answer.replace(" ", ",").split(",")):
        if not part:
            continue
        if part.isdigit() and 1 <= int(part) <= len(REASONS):
            codes.append(REASONS[int(part) - 1])
        elif part in ReasonCode.__members__.values():
            codes.append(ReasonCode(part))
        else:
            raise ValueError(f"{part!r} is not a reason number (1-{len(REASONS)}) or code")
    if not codes:
        raise ValueError("give at least one reason")
    return tuple(dict.fromkeys(codes))


def ask_decision(ask: Ask, console: Console) -> tuple[Decision, tuple[ReasonCode, ...], str] | None:
    """One decision from the reviewer; None means skip for now."""
    while True:
        answer = (
            ask("[a]pprove / [r]eject / request re[s]ubmission / s[k]ip / [q]uit").strip().lower()
        )
        if answer == "q":
            raise Quit
        if answer == "k":
            return None
        if answer in CHOICES:
            break
        console.print("[red]answer a, r, s, k or q[/]")
    listed = "  ".join(f"{n}={code.value}" for n, code in enumerate(REASONS, 1))
    console.print(f"Reasons: {listed}")
    while True:
        try:
            reasons = parse_reasons(ask("reason numbers or codes (comma separated)"))
            break
        except ValueError as exc:
            console.print(f"[red]{exc}[/]")
    note = ask("note for the record (optional)").strip()[:2000]
    return CHOICES[answer], reasons, note


def review_loop(
    reviewer_id: str,
    feed: TaskFeed,
    decisions: DecisionPublisher,
    ask: Ask,
    console: Console,
    exit_when_idle: bool = False,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """Present open tasks until the reviewer quits; returns how many were decided."""
    decided, skipped, waiting_said = 0, set[str](), False
    feed.catch_up()
    try:
        while True:
            tasks = [t for t in feed.inbox.open_tasks(reviewer_id) if t.task_id not in skipped]
            if not tasks:
                if exit_when_idle:
                    console.print(f"No open tasks for {safe(reviewer_id)}.")
                    return decided
                if not waiting_said:
                    console.print("Waiting for tasks… (Ctrl-C to stop)")
                    waiting_said = True
                feed.poll(timeout_ms=1000)
                continue
            waiting_said = False
            task = tasks[0]
            console.rule(f"{len(tasks)} open task(s)")
            render(task, console, clock())
            answer = ask_decision(ask, console)
            if answer is None:
                skipped.add(task.task_id)
                continue
            decision, reasons, note = answer
            decisions.decide(task, decision, reasons, note, reviewer_id=reviewer_id)
            feed.inbox.mark_decided(task.task_id, reviewer_id)
            decided += 1
            console.print(f"[green]{decision.value}[/] sent for {safe(task.task_id)}")
            feed.poll(timeout_ms=0)
    except (Quit, EOFError, KeyboardInterrupt):
        console.print(f"Stopped; {decided} decision(s) sent.")
        return decided


def prompt(console: Console) -> Ask:
    def ask(question: str) -> str:
        return console.input(f"{escape(question)}: ")

    return ask


__all__: Sequence[str] = ["parse_reasons", "render", "review_loop"]
