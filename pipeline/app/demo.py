"""`kyb demo`: the whole pipeline in one process on synthetic certificates, no servers needed."""

from __future__ import annotations

import random
import secrets
import shutil
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from pydantic import SecretStr
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from consumers.assign.ledger import ledger_for
from consumers.assign.roster import Reviewer, Roster, new_token
from consumers.verdict import load_account
from pipeline.app.topology import STAGES, validate
from pipeline.documents import DocumentStore
from pipeline.local_runtime import LocalRuntime
from pipeline.settings import Settings
from pipeline.state import memory_state_store
from pipeline.wiring import build_processor
from producers.decisions import SIMULATED_REVIEWER
from producers.photos import Defect, encode, make_case
from producers.portal import PortalPublisher
from producers.synthetic import (
    CertificateSpec,
    portal_form,
    random_spec,
    with_typo,
    write_pair,
)
from schemas.enums import EntityType, ReviewQueue
from schemas.events import NotificationSent, StatusChanged


@dataclass(frozen=True)
class Scenario:
    name: str
    spec: CertificateSpec
    typed: CertificateSpec
    mainland: bool = False
    tamper_back: bool = False
    front_defect: Defect | None = None
    locale: str = "en"


def scenarios(seed: int) -> list[Scenario]:
    rng = random.Random(seed)
    clean = [random_spec(rng, country) for country in ("SG", "GB", "AU", "JP", "SG")]
    sole = replace(clean[4], entity_type=EntityType.SOLE_PROPRIETORSHIP)
    return [
        Scenario("clean", clean[0], clean[0]),
        Scenario("clean, mainland yes, 中文", clean[1], clean[1], mainland=True, locale="zh-CN"),
        Scenario("registration no. typed wrong", clean[2], with_typo(clean[2], rng)),
        Scenario("back photo changed after upload", clean[3], clean[3], tamper_back=True),
        Scenario("sole proprietorship", sole, sole),
        Scenario("blurry photo of the front", clean[1], clean[1], front_defect=Defect.BLUR),
    ]


def demo_roster() -> Roster:
    """One reviewer for both queues and every country; its console token is random and unused."""
    return Roster(
        reviewers=(
            Reviewer(
                id="reviewer-1",
                name="Demo Reviewer",
                email="reviewer-1@kyb.example",
                token_sha256=new_token()[1],
                queues=frozenset(ReviewQueue),
                max_open=100,
            ),
        )
    )


def run(
    workdir: Path, outbox: Path, seed: int = 7, console: Console | None = None
) -> list[dict[str, str]]:
    console = console or Console(width=None if Console().is_terminal else 150)
    started = time.perf_counter()
    validate()
    for folder in (workdir, outbox):
        shutil.rmtree(folder, ignore_errors=True)
    settings = Settings(
        state_backend="memory",
        document_roots=[workdir / "documents"],
        mail_transport="outbox",
        outbox_dir=outbox,
        retry_backoff_ms=0,
    )
    if settings.decision_signing_key is None:  # one process: a key for this run only
        settings = settings.model_copy(
            update={"decision_signing_key": SecretStr(secrets.token_hex(32))}
        )
    (workdir / "documents").mkdir(parents=True)
    state = memory_state_store()
    ledger_for(state).load(demo_roster(), time.time())
    documents = DocumentStore(settings.document_roots, settings.document_max_bytes)
    runtime = LocalRuntime(
        build_processor(stage, settings, state, documents)
        for stage in (*STAGES, SIMULATED_REVIEWER)
    )
    portal = PortalPublisher(runtime, documents)
    console.print("[bold]kyb demo[/] — local runtime, in-memory state, synthetic certificates.")
    console.print(
        "[yellow]Reviews are decided by a SIMULATED reviewer[/] (approves clean evidence)."
    )
    rows = []
    cases = scenarios(seed)
    with Progress(console=console, transient=False) as progress:
        bar = progress.add_task("verifying", total=len(cases))
        for index, case in enumerate(cases, start=1):
            account_id = f"acct-demo-{index:03d}"
            front, back = write_pair(case.spec, workdir / "uploads", account_id)
            if case.front_defect is not None:
                rng = random.Random(f"{seed}-{index}")
                front.write_bytes(encode(make_case(case.spec, rng, case.front_defect)))
            event = portal.submit(_form(account_id, case), front, back)
            if case.tamper_back:
                back_ref = event.application.documents[1]
                documents.resolve(back_ref.uri).write_bytes(b"edited")
            runtime.run_until_idle()
            account = load_account(state, account_id)
            mails = sum(
                1
                for sent in runtime.topics["kyb.notifications.results"]
                if isinstance(sent, NotificationSent) and sent.account_id == account_id
            )
            reasons = [
                reason
                for change in runtime.topics["kyb.status"]
                if isinstance(change, StatusChanged) and change.account_id == account_id
                for reason in change.reasons
            ]
            rows.append(
                {
                    "account": account_id,
                    "scenario": case.name,
                    "identity": account.identity.value if account and account.identity else "-",
                    "compliance": account.compliance.value if account else "-",
                    "account type": account.account_type.value if account else "-",
                    "emails": str(mails),
                    "reasons": "; ".join(dict.fromkeys(reasons))[:90],
                }
            )
            progress.advance(bar)
    table = Table(title="Outcomes")
    for column in rows[0]:
        table.add_column(column)
    for row in rows:
        table.add_row(*row.values())
    console.print(table)
    dead = runtime.topics.get("kyb.deadletter", [])
    counts = Counter(topic for topic, events in runtime.topics.items() for _ in events)
    console.print(f"events per topic: {dict(sorted(counts.items()))}")
    console.print(
        f"dead letters: {len(dead)}; emails written to {outbox}/ "
        f"({len(list(outbox.glob('*.eml')))} .eml files)"
    )
    console.print(f"finished in {time.perf_counter() - started:.1f} s")
    return rows


def _form(account_id: str, case: Scenario) -> dict[str, object]:
    return portal_form(
        case.typed,
        account_id,
        f"{account_id}@customer.example",
        mainland_resources=case.mainland,
        locale=case.locale,
    )
