"""The assignment ledger against real Redis (and fakeredis, which the local runtime uses):
capacity, fairness, backlog, decisions, reassignment and no over-assignment under concurrency."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from consumers.assign.ledger import Ledger, Refusal
from consumers.assign.roster import hash_token, load_roster, new_token
from pipeline.state import memory_state_store
from schemas.enums import ReviewQueue, TaskAction
from tests.helpers import roster

IDENTITY, COMPLIANCE = ReviewQueue.IDENTITY, ReviewQueue.COMPLIANCE
DAY = 86_400.0


def team(**changes: dict[str, object]) -> dict[str, dict[str, object]]:
    people: dict[str, dict[str, object]] = {
        "ana": {"queues": ["identity"], "countries": ["SG", "GB"], "max_open": 3},
        "bo": {"queues": ["identity", "compliance"], "countries": ["*"], "max_open": 2},
        "cy": {"queues": ["compliance"], "countries": ["CN"], "max_open": 5},
    }
    return {name: fields | changes.get(name, {}) for name, fields in people.items()}


@pytest.fixture(params=["redis", "fakeredis"])
def ledger(request: pytest.FixtureRequest) -> Iterator[Ledger]:
    if request.param == "fakeredis":
        store = memory_state_store()
        yield Ledger(store.client, store.prefix)
        return
    url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
    client = redis.Redis.from_url(url)
    yield Ledger(client, prefix)
    client.close()


def give(
    ledger: Ledger,
    task: str,
    queue: ReviewQueue = IDENTITY,
    country: str = "SG",
    now: float = 1.0,
    due: float = 10 * DAY,
    account: str | None = None,
    submission: str | None = None,
) -> str | None:
    """Open a task; returns its reviewer (None: it waits in the backlog)."""
    ledger.open(
        task,
        queue,
        country,
        due,
        now,
        "{}",
        account or f"acct-{task}",
        submission or f"sub-{task}",
        cause=f"cause-{task}",
    )
    record = ledger.task(task)
    assert record is not None
    return record.reviewer_id or None


def test_least_loaded_eligible_reviewer_then_least_recently_assigned(ledger: Ledger) -> None:
    ledger.load(roster(**team()), now=0)
    assert give(ledger, "t1", now=1) == "ana"  # tie on load: id order
    assert give(ledger, "t2", now=2) == "bo"  # ana now has 1 open
    assert give(ledger, "t3", now=3) == "ana"  # tie 1-1: ana assigned longer ago
    assert give(ledger, "t4", country="JP", now=4) == "bo"  # ana may not review JP
    assert give(ledger, "t5", COMPLIANCE, "CN", now=5) == "cy"  # bo is full (2 of 2)
    assert [n.action for n in ledger.caused_by("cause-t5")] == [TaskAction.ASSIGNED]


def test_full_or_unskilled_waits_in_the_backlog_by_due_time(ledger: Ledger) -> None:
    ledger.load(roster(**team(ana={"max_open": 0}, bo={"active": False})), now=0)
    assert give(ledger, "late", due=9 * DAY) is None
    assert give(ledger, "early", due=5 * DAY) is None
    assert give(ledger, "cn", COMPLIANCE, "GB", due=1 * DAY) is None  # cy only reviews CN
    assert ledger.backlog() == ["cn", "early", "late"]
    ledger.load(roster(**team(ana={"max_open": 1}, bo={"active": False})), now=2)
    assert ledger.drain(now=3) == 1
    assert ledger.backlog() == ["cn", "late"]  # the earliest-due task ana may take went first
    [notice] = ledger.outbox()
    assert (notice.action, notice.task_id, notice.reviewer_id) == (
        TaskAction.ASSIGNED,
        "early",
        "ana",
    )
    ledger.acknowledge([notice])
    assert ledger.outbox() == []


def test_opening_twice_is_idempotent(ledger: Ledger) -> None:
    ledger.load(roster(**team()), now=0)
    first = give(ledger, "t1", country="GB")
    assert give(ledger, "t1", country="GB", now=2) == first
    assert first is not None
    assert ledger.open_tasks(first) == 1
    assert len(ledger.caused_by("cause-t1")) == 1


def test_decisions_free_capacity_once_and_refuse_the_rest(ledger: Ledger) -> None:
    ledger.load(roster(**team(bo={"max_open": 0})), now=0)
    assert give(ledger, "t1", account="a1") == "ana"

    def decide(reviewer: str, event: str, task: str = "t1", account: str = "a1") -> object:
        return ledger.decide(task, reviewer, event, account, IDENTITY, now=5)

    assert decide("mallory", "e0") is Refusal.UNKNOWN_REVIEWER
    assert decide("bo", "e0") is Refusal.NOT_ASSIGNED
    assert decide("ana", "e0", task="t9") is Refusal.UNKNOWN_TASK
    assert decide("ana", "e0", account="a2") is Refusal.UNKNOWN_TASK
    assert decide("ana", "e1") is None
    assert ledger.open_tasks("ana") == 0
    assert decide("ana", "e1") is None  # the same decision again (replay, or the other stage)
    assert ledger.open_tasks("ana") == 0
    assert decide("ana", "e2") is Refusal.ALREADY_DECIDED
    record = ledger.task("t1")
    assert record is not None
    assert [h.action for h in record.history] == ["created", "assigned", "decided"]


def test_a_newer_submission_cancels_the_older_ones_tasks(ledger: Ledger) -> None:
    ledger.load(roster(**team()), now=0)
    assert give(ledger, "s1.identity", account="a", submission="s1") == "ana"
    ledger.submitted("a", "s1", submitted_at=1, now=1, cause="sub-s1")  # its own: no-op
    assert ledger.open_tasks("ana") == 1
    assert ledger.submitted("a", "s2", submitted_at=2, now=2, cause="sub-s2") == 1
    [notice] = ledger.caused_by("sub-s2")
    assert (notice.action, notice.task_id, notice.reviewer_id) == (
        TaskAction.CANCELLED,
        "s1.identity",
        "ana",
    )
    assert ledger.open_tasks("ana") == 0
    refused = ledger.decide("s1.identity", "ana", "e1", "a", IDENTITY, now=3)
    assert refused is Refusal.CANCELLED
    # s0 is older than s2 and arrives late: it never gets a task
    ledger.submitted("a", "s0", submitted_at=0.5, now=4, cause="sub-s0")
    ledger.open("s0.identity", IDENTITY, "SG", DAY, 5, "{}", "a", "s0", cause="ocr-s0")
    assert ledger.task("s0.identity") is None


def test_idle_tasks_move_to_another_reviewer_with_history(ledger: Ledger) -> None:
    ledger.load(roster(**team()), now=0)
    assert give(ledger, "t1", now=100) == "ana"
    assert ledger.reassign_idle(now=150, idle_s=100) == 0  # not idle yet
    assert ledger.reassign_idle(now=200, idle_s=100) == 1
    record = ledger.task("t1")
    assert record is not None
    assert record.reviewer_id == "bo"
    assert [(h.action, h.reviewer_id) for h in record.history][-2:] == [
        ("unassigned", "ana"),
        ("assigned", "bo"),
    ]
    assert "idle" in record.history[-1].reason
    assert (ledger.open_tasks("ana"), ledger.open_tasks("bo")) == (0, 1)
    ledger.load(roster(**team(ana={"active": False})), now=250)
    assert ledger.reassign_idle(now=400, idle_s=100) == 0  # nobody else: bo keeps it
    assert ledger.task("t1").reviewer_id == "bo"  # type: ignore[union-attr]


def test_deactivating_or_removing_a_reviewer_puts_their_tasks_back(ledger: Ledger) -> None:
    ledger.load(roster(**team()), now=0)
    assert give(ledger, "t1") == "ana"
    assert give(ledger, "t2", COMPLIANCE, "CN") == "bo"
    assert ledger.load(roster(**team(ana={"active": False})), now=5) == 1
    assert ledger.backlog() == ["t1"]
    assert [(n.action, n.reviewer_id) for n in ledger.outbox()] == [(TaskAction.UNASSIGNED, "ana")]
    assert ledger.drain(now=6) == 1  # bo has a free slot
    assert ledger.task("t1").reviewer_id == "bo"  # type: ignore[union-attr]
    people = team(ana={"active": False})
    del people["bo"]
    assert ledger.load(roster(**people), now=7) == 2
    assert "bo" not in ledger.reviewer_ids()
    assert ledger.drain(now=8) == 1  # cy takes the CN compliance task; t1 waits for someone
    assert ledger.backlog() == ["t1"]


def test_sla_breaches_are_counted_once_per_task(ledger: Ledger) -> None:
    ledger.load(roster(**team()), now=0)
    give(ledger, "t1", due=100)
    give(ledger, "t2", due=300, account="a2")
    assert ledger.check_sla(now=50) == 0
    assert ledger.check_sla(now=150) == 1
    assert ledger.check_sla(now=160) == 0
    assert ledger.decide("t2", "bo", "e", "a2", IDENTITY, now=400) is None  # decided late
    assert ledger.stats().breaches_total == 2
    assert ledger.check_sla(now=500) == 0


def test_reloading_the_roster_keeps_open_counts(ledger: Ledger) -> None:
    ledger.load(roster(**team()), now=0)
    give(ledger, "t1")
    ledger.load(roster(**team(ana={"max_open": 1})), now=1)
    assert ledger.open_tasks("ana") == 1
    assert give(ledger, "t2") == "bo"  # ana is now full


def test_token_lookup_finds_only_active_reviewers(ledger: Ledger) -> None:
    people = roster(**team(bo={"active": False}))
    ledger.load(people, now=0)
    ana, bo = people.reviewers[0], people.reviewers[1]
    assert ledger.reviewer_by_token_hash(ana.token_sha256) == "ana"
    assert ledger.reviewer_by_token_hash(bo.token_sha256) is None
    assert ledger.reviewer_by_token_hash("0" * 64) is None


def test_concurrent_workers_never_over_assign(ledger: Ledger) -> None:
    ledger.load(roster(**team(ana={"max_open": 120}, bo={"max_open": 130})), now=0)
    lock = threading.Lock()
    owners: list[str | None] = []

    def worker(offset: int) -> None:
        for i in range(offset, 500, 4):  # 4 threads x 125 tasks, each task opened twice
            for _ in range(2):
                owner = give(ledger, f"t{i}", country="GB", now=float(i))
                with lock:
                    owners.append(owner)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assigned = Counter(owner for owner in owners if owner is not None)
    # 250 slots for 500 tasks: exactly 250 assigned (each seen twice), 250 waiting.
    assert ledger.open_tasks("ana") == 120
    assert ledger.open_tasks("bo") == 130
    assert assigned == {"ana": 240, "bo": 260}
    assert len(ledger.backlog()) == 250


def test_roster_file_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "roster.yaml"
    path.write_text(
        "reviewers:\n"
        f"  - {{id: ana, name: Ana, email: ana@kyb.example, token_sha256: {'a' * 64},"
        " queues: [identity], countries: [sg]}\n"
    )
    loaded = load_roster(path)
    assert loaded.reviewers[0].countries == frozenset({"SG"})
    path.write_text(
        f"reviewers:\n  - {{id: ana, name: Ana, email: a@b.c, token_sha256: {'a' * 64},"
        " queues: [nope]}\n"
    )
    with pytest.raises(ValueError, match="queues"):
        load_roster(path)
    path.write_text("reviewers:\n  - {id: ana, name: Ana, email: a@b.c, queues: [identity]}\n")
    with pytest.raises(ValueError, match="token_sha256"):
        load_roster(path)


def test_a_plaintext_or_malformed_token_is_refused_in_the_roster(tmp_path: Path) -> None:
    path = tmp_path / "roster.yaml"
    path.write_text(
        "reviewers:\n  - {id: ana, name: Ana, email: a@b.c, token: '1', queues: [identity]}\n"
    )
    with pytest.raises(ValueError, match="plaintext `token` is not accepted"):
        load_roster(path)
    path.write_text(
        "reviewers:\n  - {id: ana, name: Ana, email: a@b.c, token_sha256: '1',"
        " queues: [identity]}\n"
    )
    with pytest.raises(ValueError, match="token_sha256"):
        load_roster(path)


def test_the_example_roster_holds_only_token_hashes() -> None:
    example = load_roster(Path(__file__).parents[4] / "deploy" / "roster.example.yaml")
    assert {r.id for r in example.reviewers} == {"rev-sg-1", "rev-any-1", "rev-compliance-1"}
    assert all(len(r.token_sha256) == 64 for r in example.reviewers)
    token, digest = new_token()
    assert hash_token(token) == digest


def test_kyb_reviewers_load(
    tmp_path: Path, redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from pipeline.app.cli import app
    from pipeline.settings import get_settings

    monkeypatch.setenv("KYB_REDIS_URL", redis_url)
    monkeypatch.setenv("KYB_KEY_PREFIX", redis_prefix)
    get_settings.cache_clear()
    path = tmp_path / "roster.yaml"
    path.write_text(
        f"reviewers:\n  - {{id: ana, name: Ana, email: ana@kyb.example, token_sha256: {'b' * 64},"
        " queues: [identity, compliance], max_open: 4}\n"
    )
    try:
        result = CliRunner().invoke(app, ["reviewers", "load", str(path)])
        assert result.exit_code == 0, result.output
        assert "loaded 1 reviewer(s); 0 open task(s) put back" in result.output
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        stored = client.hgetall(f"{redis_prefix}assign:reviewer:ana")
        assert stored["queues"] == "compliance,identity"
        assert stored["max_open"] == "4"
        assert stored["token_sha256"] == "b" * 64
        bad = CliRunner().invoke(app, ["reviewers", "load", str(tmp_path / "missing.yaml")])
        assert bad.exit_code == 2
    finally:
        get_settings.cache_clear()
