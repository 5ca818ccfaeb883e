"""The assignment ledger against real Redis (and its in-memory twin): capacity, fairness,
idempotence, and no over-assignment under concurrent workers."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from consumers.assign.ledger import Ledger, MemoryLedger, RedisLedger
from consumers.assign.roster import Roster, load_roster
from schemas.enums import ReviewQueue

IDENTITY, COMPLIANCE = ReviewQueue.IDENTITY, ReviewQueue.COMPLIANCE


def roster(**changes: dict[str, object]) -> Roster:
    people: dict[str, dict[str, object]] = {
        "ana": {"queues": ["identity"], "countries": ["SG", "GB"], "max_open": 3},
        "bo": {"queues": ["identity", "compliance"], "countries": ["*"], "max_open": 2},
        "cy": {"queues": ["compliance"], "countries": ["CN"], "max_open": 5},
    }
    for name, change in changes.items():
        people[name] = people[name] | change
    return Roster.model_validate(
        {
            "reviewers": [
                {
                    "id": name,
                    "name": name.title(),
                    "email": f"{name}@kyb.example",
                    "token": f"t-{name}",
                }
                | fields
                for name, fields in people.items()
            ]
        }
    )


@pytest.fixture(params=["redis", "memory"])
def ledger(request: pytest.FixtureRequest) -> Iterator[Ledger]:
    if request.param == "memory":
        yield MemoryLedger()
        return
    url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
    client = redis.Redis.from_url(url)
    yield RedisLedger(client, prefix)
    client.close()


def test_least_loaded_eligible_reviewer_then_least_recently_assigned(ledger: Ledger) -> None:
    ledger.load(roster())
    assert ledger.assign("t1", IDENTITY, "SG", now=1) == "ana"  # tie on load: id order
    assert ledger.assign("t2", IDENTITY, "SG", now=2) == "bo"  # ana now has 1 open
    assert ledger.assign("t3", IDENTITY, "SG", now=3) == "ana"  # tie 1-1: ana assigned longer ago
    assert ledger.assign("t4", IDENTITY, "JP", now=4) == "bo"  # ana may not review JP
    assert ledger.assign("t5", COMPLIANCE, "CN", now=5) == "cy"  # bo is full (2 of 2)


def test_full_or_unskilled_means_no_one(ledger: Ledger) -> None:
    ledger.load(roster(ana={"max_open": 0}, bo={"active": False}))
    assert ledger.assign("t1", IDENTITY, "SG", now=1) is None
    assert ledger.assign("t2", COMPLIANCE, "GB", now=1) is None


def test_assigning_twice_is_idempotent_and_release_frees_once(ledger: Ledger) -> None:
    ledger.load(roster())
    first = ledger.assign("t1", IDENTITY, "GB", now=1)
    assert ledger.assign("t1", IDENTITY, "GB", now=2) == first
    assert first is not None
    assert ledger.open_tasks(first) == 1
    assert ledger.release("t1") == first
    assert ledger.release("t1") is None  # a second decision frees nothing
    assert ledger.open_tasks(first) == 0


def test_reloading_the_roster_keeps_open_counts(ledger: Ledger) -> None:
    ledger.load(roster())
    ledger.assign("t1", IDENTITY, "SG", now=1)
    ledger.load(roster(ana={"max_open": 1}))
    assert ledger.open_tasks("ana") == 1
    assert ledger.assign("t2", IDENTITY, "SG", now=2) == "bo"  # ana is now full


def test_concurrent_workers_never_over_assign(ledger: Ledger) -> None:
    ledger.load(roster(ana={"max_open": 120}, bo={"max_open": 130}))
    results: list[str | None] = []
    lock = threading.Lock()

    def worker(offset: int) -> None:
        for i in range(offset, 500, 4):  # 4 threads x 125 tasks, each task asked for twice
            for _ in range(2):
                chosen = ledger.assign(f"t{i}", IDENTITY, "GB", now=float(i))
                with lock:
                    results.append(chosen)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assigned = Counter(r for r in results if r is not None)
    # 250 slots for 500 tasks: exactly 250 assigned (each counted twice), 250 waiting.
    assert ledger.open_tasks("ana") == 120
    assert ledger.open_tasks("bo") == 130
    assert assigned == {"ana": 240, "bo": 260}
    assert results.count(None) == 500


def test_roster_file_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "roster.yaml"
    path.write_text(
        "reviewers:\n"
        "  - {id: ana, name: Ana, email: ana@kyb.example, token: s3cret, queues: [identity],"
        " countries: [sg]}\n"
    )
    loaded = load_roster(path)
    assert loaded.reviewers[0].countries == frozenset({"SG"})
    assert "s3cret" not in repr(loaded)  # the token is a secret
    path.write_text(
        "reviewers:\n  - {id: ana, name: Ana, email: a@b.c, token: t, queues: [nope]}\n"
    )
    with pytest.raises(ValueError, match="queues"):
        load_roster(path)


def test_kyb_reviewers_load(
    tmp_path: Path, redis_url: str, redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from pipeline.cli import app
    from pipeline.settings import get_settings

    monkeypatch.setenv("KYB_REDIS_URL", redis_url)
    monkeypatch.setenv("KYB_KEY_PREFIX", redis_prefix)
    get_settings.cache_clear()
    path = tmp_path / "roster.yaml"
    path.write_text(
        "reviewers:\n  - {id: ana, name: Ana, email: ana@kyb.example, token: t,"
        " queues: [identity, compliance], max_open: 4}\n"
    )
    try:
        result = CliRunner().invoke(app, ["reviewers", "load", str(path)])
        assert result.exit_code == 0, result.output
        assert "loaded 1 reviewer(s)" in result.output
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        stored = client.hgetall(f"{redis_prefix}assign:reviewer:ana")
        assert stored["queues"] == "compliance,identity"
        assert stored["max_open"] == "4"
        assert stored["token_sha256"] != "t"
        bad = CliRunner().invoke(app, ["reviewers", "load", str(tmp_path / "missing.yaml")])
        assert bad.exit_code == 2
    finally:
        get_settings.cache_clear()
