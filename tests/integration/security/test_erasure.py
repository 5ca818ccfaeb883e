"""`kyb erase`: an erased account's personal data leaves Redis and the document store, its open
tasks are cancelled without repeating the application, and records still on the topics (or
replayed) never bring it back; a submission made afterwards starts the account afresh."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis

from consumers.assign.ledger import ledger_for
from consumers.verdict import account_key, load_account
from pipeline.app.topology import stage_named
from pipeline.documents import DocumentStore
from pipeline.erasure import erased_at
from pipeline.local_runtime import LocalRuntime
from pipeline.settings import Settings
from pipeline.state import RedisStateStore
from pipeline.wiring import build_processor
from producers.decisions import DecisionPublisher
from producers.erasure import remaining, request_erasure
from schemas import Envelope, encode_event
from schemas.enums import Decision, ReasonCode, Recommendation, Side, TaskAction
from schemas.events import (
    AccountErasureRequested,
    FieldsMatched,
    NotificationRequested,
    ReviewTask,
    SubmissionReceived,
)
from tests.helpers import (
    application,
    document_ref,
    followed_by,
    read_topic,
    roster,
    run_kyb,
    submission,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SECRETS = ("Erasable Trading Ltd", "EX-99887766", "erase.me@customer.example")


class World:
    def __init__(self, store: RedisStateStore, root: Path) -> None:
        settings = Settings(
            document_roots=[root], mail_transport="outbox", outbox_dir=root / "mail"
        )
        self.documents = DocumentStore([root], 1_000_000)
        stages = ("compliance", "assign", "verdict", "notify")
        self.runtime = LocalRuntime(
            build_processor(stage_named(name), settings, store, self.documents) for name in stages
        )
        self.root = root
        self.store = store
        ledger_for(store).load(roster(ana={}, cy={"queues": ["compliance"]}), 0)

    def send(self, *events: Envelope) -> None:
        for event in events:
            self.runtime.publish(event)
        self.runtime.run_until_idle()

    def submit(self, account: str, at: datetime) -> tuple[SubmissionReceived, FieldsMatched]:
        submission_id = f"sub-{uuid.uuid4().hex[:8]}"
        folder = self.root / submission_id
        folder.mkdir()
        refs = []
        for side in Side:
            path = folder / f"{side.value}.jpg"
            path.write_bytes(b"\xff\xd8\xff" + side.value.encode() * 50)
            refs.append(document_ref(path, side))
        app = application(
            tuple(refs),
            mainland_resources=True,
            contact_email=SECRETS[2],
            company={
                "company_name": SECRETS[0],
                "registration_number": SECRETS[1],
                "state_province": "Central",
                "city": "Singapore",
                "address_line1": "1 Erase Road",
            },
        )
        sub = submission(account, submission_id=submission_id, occurred_at=at, application=app)
        fields = followed_by(
            sub,
            FieldsMatched,
            application=app,
            fields=(),
            recommendation=Recommendation.CLEAN,
            engine="test",
        )
        return sub, fields

    def submitted_account(self) -> tuple[str, SubmissionReceived, FieldsMatched]:
        """A new account whose submission (mainland yes) has gone through to its review tasks."""
        account = f"acct-{uuid.uuid4().hex[:6]}"
        sub, fields = self.submit(account, T0)
        self.send(sub, fields)
        return account, sub, fields

    def tasks(self, account: str) -> list[ReviewTask]:
        events = self.runtime.topics["kyb.review.tasks"]
        return [t for t in events if isinstance(t, ReviewTask) and t.account_id == account]

    def published(self) -> int:
        """Events on the topics, the operational ones (metrics, lag) aside."""
        return sum(len(v) for k, v in self.runtime.topics.items() if k != "kyb.metrics")


def value_of(client: redis.Redis, key: str) -> str:
    """A key's value as text, whatever its type."""
    read = {
        "string": client.get,
        "hash": client.hgetall,
        "list": lambda k: client.lrange(k, 0, -1),
        "set": client.smembers,
        "zset": lambda k: client.zrange(k, 0, -1),
    }
    return str(read[client.type(key)](key))


def redis_text(client: redis.Redis, prefix: str) -> str:
    """Every key and value under `prefix` as one string."""
    return "\n".join(f"{k}={value_of(client, k)}" for k in client.scan_iter(f"{prefix}*"))


def test_erasure_forgets_the_account_and_replays_do_not_bring_it_back(
    redis_store: RedisStateStore, tmp_path: Path
) -> None:
    world = World(redis_store, tmp_path)
    account, sub, fields = world.submitted_account()
    before = world.tasks(account)
    assert {(t.queue.value, t.action) for t in before} == {
        ("compliance", TaskAction.ASSIGNED),
        ("identity", TaskAction.ASSIGNED),
    }
    assert any(secret in redis_text(redis_store.client, redis_store.prefix) for secret in SECRETS)
    ledger = ledger_for(redis_store)
    assert remaining(redis_store, ledger, account) == [
        "status state (verdict)",
        "compliance state",
        "review tasks (assign)",
    ]

    event = request_erasure(world.runtime, redis_store, account, "ops-ticket-42")
    world.runtime.run_until_idle()

    assert remaining(redis_store, ledger, account) == []
    assert erased_at(redis_store, account) == event.occurred_at.timestamp()
    assert not (tmp_path / sub.submission_id).exists()  # both document files
    held = redis_text(redis_store.client, redis_store.prefix)
    assert not [secret for secret in SECRETS if secret in held]
    cancelled = world.tasks(account)[len(before) :]
    assert {(t.task_id, t.action) for t in cancelled} == {
        (t.task_id, TaskAction.CANCELLED) for t in before
    }
    assert all(t.application is None for t in cancelled)
    assert not [s for s in SECRETS for t in cancelled if s.encode() in encode_event(t)]

    # the same records replayed (or still waiting on the topics), and a decision on an
    # erased task: nothing is published, nothing comes back into Redis or the store
    (tmp_path / sub.submission_id).mkdir()
    for side in Side:
        (tmp_path / sub.submission_id / f"{side.value}.jpg").write_bytes(b"\xff\xd8\xff" * 3)
    quiet = world.published()
    DecisionPublisher(world.runtime).decide(before[0], Decision.APPROVE, [ReasonCode.OTHER])
    world.runtime.run_until_idle()
    world.send(sub, fields)
    assert world.published() == quiet + 3  # the three inputs, and nothing they caused
    assert remaining(redis_store, ledger, account) == []
    assert load_account(redis_store, account) is None
    assert not list((tmp_path / sub.submission_id).iterdir())  # a replay deletes its files
    held = redis_text(redis_store.client, redis_store.prefix)
    assert not [secret for secret in SECRETS if secret in held]

    # a submission made after the erasure is a new start
    later, later_fields = world.submit(account, event.occurred_at + timedelta(minutes=1))
    world.send(later, later_fields)
    state = load_account(redis_store, account)
    assert state is not None
    assert state.submission_id == later.submission_id
    assert {t.submission_id for t in world.tasks(account)[-2:]} == {later.submission_id}
    mails = [
        n
        for n in world.runtime.topics["kyb.notifications"]
        if isinstance(n, NotificationRequested) and n.account_id == account
    ]
    assert mails
    assert mails[-1].submission_id == later.submission_id


def test_account_state_expires_after_the_configured_days(
    redis_store: RedisStateStore, tmp_path: Path
) -> None:
    world = World(redis_store, tmp_path)
    account, _, _ = world.submitted_account()
    ttl = redis_store.client.ttl(redis_store.key(account_key(account)))
    assert 399 * 86_400 < ttl <= 400 * 86_400
    personal = [
        key
        for key in redis_store.client.scan_iter(f"{redis_store.prefix}*")
        if SECRETS[0] in value_of(redis_store.client, key)
    ]
    # what holds the company name: the verdict and compliance state, and the open tasks (they
    # live until decided, then 30 days); everything else about the account expires
    assert personal
    for key in personal:
        if ":assign:task:" not in key:
            assert redis_store.client.ttl(key) > 0, key


def test_kyb_erase_marks_publishes_and_reports_what_the_stages_still_hold(
    kafka_broker: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    env = {
        "KYB_BOOTSTRAP_SERVERS": kafka_broker,
        "KYB_REDIS_URL": redis_url,
        "KYB_KEY_PREFIX": redis_prefix,
        "KYB_STATE_BACKEND": "redis",
        "KYB_DOCUMENT_ROOTS": json.dumps([str(tmp_path)]),
    }
    assert run_kyb("topics", "create", env=env).returncode == 0
    store = RedisStateStore.from_url(redis_url, redis_prefix)

    refused = run_kyb("erase", "../etc", "--by", "ops", env=env)
    assert refused.returncode == 2
    assert "not an account id" in refused.stderr

    world = World(store, tmp_path)  # an account whose stages are not running
    held, fields = world.submit("acct-held", T0)
    world.send(held, fields)
    stalled = run_kyb("erase", "acct-held", "--by", "ops", "--wait", "1", env=env)
    assert stalled.returncode == 1, stalled.stderr
    report = json.loads(stalled.stdout)
    assert report["confirmed"] is False
    assert "status state (verdict)" in report["still_held"]
    assert "applied when they run" in stalled.stderr

    done = run_kyb("erase", "acct-never-seen", "--by", "ops-7", "--wait", "1", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["confirmed"] is True
    assert erased_at(store, "acct-never-seen") is not None
    records = read_topic(Settings(bootstrap_servers=kafka_broker), "kyb.submissions", want=2)
    requests = [r for r in records if isinstance(r, AccountErasureRequested)]
    assert {(r.account_id, r.requested_by) for r in requests} == {
        ("acct-held", "ops"),
        ("acct-never-seen", "ops-7"),
    }
