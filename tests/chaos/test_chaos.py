"""Chaos: many submissions through every stage as separate `kyb worker` processes while a fault
injector kill -9's random workers (and restarts them), stops the SMTP server for a while and
restarts Redis. Real broker (Tansu), real Redis (its own, with AOF), real SMTP (aiosmtpd),
real tesseract. An automatic TEST reviewer decides from the evidence.

`make test` runs it small (KYB_CHAOS_SCALE unset: 24 submissions); `make chaos` runs it full
(KYB_CHAOS_SCALE=full: 300 submissions). At the end every submission must have exactly one final
status and exactly one final email; the report (lost, duplicate emails, dead letters by reason,
kills, time) is printed as JSON.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from kafka import KafkaConsumer

from consumers.assign.ledger import Ledger
from consumers.verdict import load_account
from pipeline.app.topology import STAGES
from pipeline.documents import DocumentStore
from pipeline.kafka_runtime import consumer_config
from pipeline.publishing import KafkaPublisher
from pipeline.settings import Settings
from pipeline.state import RedisStateStore
from producers.decisions import DecisionPublisher, simulated_decision
from producers.photos import Defect, encode, make_case
from producers.portal import PortalPublisher
from producers.synthetic import portal_form, random_spec, with_typo, write_pair
from schemas import decode_event
from schemas.enums import FINAL_IDENTITY_STATUSES, EntityType, TaskAction
from schemas.events import DeadLetter, ReviewTask
from tests.conftest import SmtpServer, stop_process
from tests.helpers import (
    free_port,
    kyb_command,
    port_open,
    read_topic,
    roster,
    start_kyb,
    wait_for,
)

pytestmark = pytest.mark.chaos

FULL = os.environ.get("KYB_CHAOS_SCALE") == "full"
SUBMISSIONS = int(os.environ.get("KYB_CHAOS_SUBMISSIONS", 300 if FULL else 24))
KILL_EVERY_S = 4.0 if FULL else 3.0
DEADLINE_S = 1500 if FULL else 420
REPLICAS = {"quality": 2, "ocr": 2}
FINAL_MAIL = re.compile(r"<(.+)\.(verified|rejected|resubmission_required)\.")
KINDS = ("clean", "bad photo", "mismatch", "mainland yes", "sole proprietorship", "mainland no")


# ------------------------------------------------------------------ restartable services
class Redis:
    """A redis-server of our own with AOF (fsync always), so a restart keeps every write."""

    def __init__(self, folder: Path) -> None:
        self.port, self.folder = free_port(), folder
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(self.folder),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: port_open(self.port), 20, what="redis-server")

    def restart(self, down_s: float) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(10)
        time.sleep(down_s)
        self.start()

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)


class Smtp:
    """aiosmtpd that can go away and come back on the same port, keeping what it received."""

    def __init__(self) -> None:
        self.server = SmtpServer()
        self.server.start()
        self.lock = threading.Lock()
        self.outages: list[float] = []  # when each outage began

    def outage(self, seconds: float) -> None:
        from aiosmtpd.controller import Controller

        with self.lock:
            self.outages.append(time.monotonic())
            self.server.stop()
            time.sleep(seconds)
            self.server.controller = Controller(
                self.server.handler, hostname="127.0.0.1", port=self.server.port
            )
            self.server.start()


# ------------------------------------------------------------------ workers and faults
@dataclass
class Workers:
    env: dict[str, str]
    logs: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    kills: Counter[str] = field(default_factory=Counter)
    killed_at: list[tuple[str, float]] = field(default_factory=list)  # (stage, monotonic)

    def start(self, name: str) -> None:
        stage = name.rsplit("-", 1)[0]
        self.procs[name] = start_kyb(["worker", stage], self.env, self.logs / f"{name}.log")

    def kill_one(self, rng: random.Random) -> None:
        name = rng.choice(sorted(self.procs))
        self.killed_at.append((name.rsplit("-", 1)[0], time.monotonic()))
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(10)
        self.kills[name.rsplit("-", 1)[0]] += 1
        time.sleep(0.5)
        self.start(name)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            stop_process(proc, timeout=20)


class Faults(threading.Thread):
    def __init__(self, workers: Workers, smtp: Smtp, store: Redis, seconds_to_faults: float):
        super().__init__(daemon=True)
        self.workers, self.smtp, self.store = workers, smtp, store
        self.stop = threading.Event()
        self.at = seconds_to_faults
        self.smtp_outages = self.redis_restarts = 0
        self.rng = random.Random(99)

    def run(self) -> None:
        started = time.monotonic()
        while not self.stop.wait(KILL_EVERY_S):
            self.workers.kill_one(self.rng)
            elapsed = time.monotonic() - started
            if self.smtp_outages == 0 and elapsed > self.at:
                self.smtp.outage(8)
                self.smtp_outages += 1
            elif self.redis_restarts == 0 and elapsed > 2 * self.at:
                self.store.restart(1.0)
                self.redis_restarts += 1


class TestReviewer(threading.Thread):
    """A TEST reviewer, not a person: approves clean evidence, rejects mismatches."""

    __test__ = False  # not a pytest class

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        self.settings, self.stop = settings, threading.Event()
        self.decided: set[str] = set()

    def run(self) -> None:
        consumer = KafkaConsumer(
            "kyb.review.tasks", **consumer_config(self.settings, "chaos-test-reviewer")
        )
        decisions = DecisionPublisher(KafkaPublisher(self.settings))
        while not self.stop.is_set():
            for records in consumer.poll(timeout_ms=300).values():
                for record in records:
                    task = decode_event(record.value)
                    assert isinstance(task, ReviewTask)
                    if task.action is not TaskAction.ASSIGNED or task.task_id in self.decided:
                        continue
                    decision, reasons = simulated_decision(task)
                    decisions.decide(task, decision, reasons, note="chaos TEST reviewer")
                    self.decided.add(task.task_id)
            consumer.commit()
        consumer.close()


# ------------------------------------------------------------------ the run
@pytest.fixture
def world(kafka_broker: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    (tmp_path / "documents").mkdir()
    (tmp_path / "redis").mkdir()
    store = Redis(tmp_path / "redis")
    smtp = Smtp()
    prefix = "chaos:"
    env = os.environ | {
        "KYB_BOOTSTRAP_SERVERS": kafka_broker,
        "KYB_STATE_BACKEND": "redis",
        "KYB_REDIS_URL": store.url,
        "KYB_KEY_PREFIX": prefix,
        "KYB_DOCUMENT_ROOTS": json.dumps([str(tmp_path / "documents")]),
        "KYB_SMTP_PORT": str(smtp.server.port),
        "KYB_SESSION_TIMEOUT_MS": "6000",
        "KYB_HEARTBEAT_INTERVAL_MS": "1000",
        "KYB_TICK_INTERVAL_S": "1",
        "KYB_RETRY_BACKOFF_MS": "200",
        "KYB_LOG_LEVEL": "WARNING",
        "OMP_THREAD_LIMIT": "1",
    }
    created = subprocess.run(kyb_command("topics", "create"), env=env, capture_output=True)
    assert created.returncode == 0, created.stderr.decode()
    client = redis.Redis.from_url(store.url, decode_responses=True)
    Ledger(client, prefix).load(roster(ana={"max_open": 30}, bo={"max_open": 30}), time.time())
    workers = Workers(env, tmp_path)
    for stage in STAGES:
        for n in range(REPLICAS.get(stage.name, 1)):
            workers.start(f"{stage.name}-{n}")
    try:
        yield {
            "env": env,
            "store": store,
            "smtp": smtp,
            "workers": workers,
            "prefix": prefix,
            "tmp": tmp_path,
        }
    finally:
        workers.stop_all()
        smtp.server.stop()
        store.stop()


def submit_all(settings: Settings, root: Path, tmp: Path) -> dict[str, tuple[str, str]]:
    """Publishes the mix; returns submission id → (account, kind)."""
    rng = random.Random(2026)
    portal = PortalPublisher(KafkaPublisher(settings), DocumentStore([root], 25_000_000))
    made: dict[str, tuple[str, str]] = {}
    for n in range(SUBMISSIONS):
        kind = KINDS[n % len(KINDS)]
        spec = random_spec(rng, rng.choice(["SG", "GB", "HK", "AU"]))
        if kind == "sole proprietorship":
            spec = spec.__class__(
                **(spec.__dict__ | {"entity_type": EntityType.SOLE_PROPRIETORSHIP})
            )
        typed = with_typo(spec, rng) if kind == "mismatch" else spec
        front, back = write_pair(spec, tmp / "uploads", f"s{n}")
        if kind == "bad photo":
            front.write_bytes(encode(make_case(spec, rng, Defect.BLUR)))
        account = f"acct-chaos-{n:04d}"
        email = f"owner{n}@customer.example"
        form = portal_form(typed, account, email, mainland_resources=kind == "mainland yes")
        event = portal.submit(form, front, back)
        made[event.submission_id] = (account, kind)
    return made


@pytest.mark.timeout(DEADLINE_S + 300)
def test_chaos(world: dict[str, Any], kafka_broker: str) -> None:
    started = time.monotonic()
    settings = Settings(bootstrap_servers=kafka_broker)
    reviewer = TestReviewer(settings)
    reviewer.start()
    faults = Faults(world["workers"], world["smtp"], world["store"], seconds_to_faults=15)
    faults.start()
    made = submit_all(
        settings, Path(json.loads(world["env"]["KYB_DOCUMENT_ROOTS"])[0]), world["tmp"]
    )
    client = redis.Redis.from_url(world["store"].url, decode_responses=True)
    state = RedisStateStore(client, world["prefix"])

    def final_emails() -> Counter[str]:
        """Distinct final emails per submission (copies of one Message-ID are one email to a
        mailbox; they are accounted for below)."""
        found: Counter[str] = Counter()
        for identifier in {message_id(m) for m in world["smtp"].server.messages}:
            match = FINAL_MAIL.match(identifier)
            if match:
                found[match.group(1)] += 1
        return found

    progress = {"next": time.monotonic()}

    def finished() -> bool:
        try:
            accounts = {account: load_account(state, account) for account, _ in made.values()}
        except redis.RedisError as exc:
            print(f"chaos: Redis unavailable ({type(exc).__name__})", flush=True)
            return False  # Redis is restarting
        done = 0
        for account, kind in made.values():
            doc = accounts[account]
            if doc is None or doc.identity not in FINAL_IDENTITY_STATUSES:
                continue
            if kind == "mainland yes" and doc.identity == "verified":
                done += doc.compliance in ("approved", "rejected")
            else:
                done += 1
        emails = final_emails()
        mailed = sum(1 for s in made if emails[s] >= 1)
        if time.monotonic() >= progress["next"]:
            progress["next"] = time.monotonic() + 20
            kills = sum(world["workers"].kills.values())
            print(f"chaos: {done}/{len(made)} final, {mailed} mailed, {kills} kills", flush=True)
        return done == len(made) and mailed == len(made)

    timed_out = False
    try:
        wait_for(finished, DEADLINE_S, interval=2, what="every submission to finish")
    except TimeoutError:
        timed_out = True  # report first, then fail below
    finally:
        faults.stop.set()
        faults.join(60)
        reviewer.stop.set()
        reviewer.join(30)
    elapsed = time.monotonic() - started

    statuses = Counter(load_account(state, a).identity.value for a, _ in made.values())  # type: ignore[union-attr]
    emails = final_emails()
    ids = Counter(message_id(m) for m in world["smtp"].server.messages)
    duplicates = sum(n - 1 for n in ids.values() if n > 1)
    unexplained = unexplained_copies(
        world["smtp"].server,
        [at for stage, at in world["workers"].killed_at if stage == "notify"],
        world["smtp"].outages,
    )
    lost = sum(1 for s in made if emails[s] == 0)
    letters = read_topic(settings, "kyb.deadletter", timeout=10)
    by_reason = Counter(f"{d.stage}:{d.reason.value}" for d in letters if isinstance(d, DeadLetter))
    ledger = Ledger(client, world["prefix"])
    report = {
        "submissions": len(made),
        "final_status": dict(statuses),
        "lost": lost,
        "duplicate_emails": duplicates,
        "duplicate_kinds": sorted({i.split(".")[1] for i, n in ids.items() if n > 1}),
        "duplicates_unexplained": unexplained,
        "final_emails_per_submission": sorted(set(emails[s] for s in made)),
        "dead_letters": dict(by_reason),
        "kills": dict(world["workers"].kills),
        "smtp_outages": faults.smtp_outages,
        "redis_restarts": faults.redis_restarts,
        "open_tasks_after": {r: ledger.open_tasks(r) for r in ("ana", "bo")},
        "seconds": round(elapsed, 1),
    }
    print("\nchaos report: " + json.dumps(report, sort_keys=True))
    missing = sorted(s for s in made if emails[s] != 1)
    if missing:
        print("chaos: final emails not exactly once for", missing)
        print("chaos: all Message-IDs:", sorted(ids))
    assert not timed_out, "not every submission finished in time"
    assert sum(statuses.values()) == len(made)
    assert lost == 0
    # A second copy of one Message-ID can only come from a notify worker killed (or the SMTP
    # server stopped) after the server took the message and before the worker could record it:
    # SMTP has no exactly-once. Any other copy is a bug.
    assert unexplained == [], unexplained
    assert duplicates <= world["workers"].kills["notify"] + faults.smtp_outages
    assert all(emails[s] == 1 for s in made), "exactly one final email per submission"
    assert sum(world["workers"].kills.values()) >= 3
    assert faults.smtp_outages == 1
    for reviewer_id in ("ana", "bo"):  # assignment counts consistent after the Redis restart
        assert ledger.open_tasks(reviewer_id) == len(ledger.tasks_of(reviewer_id)) == 0


def unexplained_copies(
    smtp: SmtpServer, notify_kills: list[float], outages: list[float]
) -> list[str]:
    """Message-IDs received more than once with no notify kill and no SMTP outage between
    two copies (from a second before the first copy arrived, as the server may record it
    after the sender already died)."""
    arrivals: dict[str, list[float]] = {}
    for message, at in zip(smtp.messages, smtp.handler.received_at, strict=True):
        arrivals.setdefault(message_id(message), []).append(at)
    faults = sorted(notify_kills + outages)
    return sorted(
        identifier
        for identifier, times in arrivals.items()
        for first, second in itertools.pairwise(times)
        if not any(first - 1.0 <= fault <= second for fault in faults)
    )


def message_id(message: Any) -> str:
    """The Message-ID without folding whitespace (a long header is folded, legally)."""
    return str(message["Message-ID"]).strip()
