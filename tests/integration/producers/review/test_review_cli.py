"""`kyb review` as a subprocess against the real broker and Redis: decide from the terminal,
restart, and see only what is still open. The open tasks come from the ledger (the topics are
not replayed), and a decision the assign stage has not applied yet still hides its task. The
reviewer signs in with their roster token (the first line of stdin here): naming a reviewer is
not enough, since reviewer ids are public on `kyb.review.tasks`."""

from __future__ import annotations

import os
import subprocess
import uuid
from datetime import UTC, datetime

import pytest
import redis

from consumers.assign.ledger import Ledger
from pipeline.publishing import KafkaPublisher
from pipeline.settings import Settings
from schemas.enums import Decision, ReasonCode, ReviewQueue
from tests.helpers import kyb_command, open_in_ledger, read_topic, roster, submission


@pytest.fixture
def env(kafka_broker: str, redis_url: str, redis_prefix: str) -> dict[str, str]:
    values = os.environ | {
        "KYB_BOOTSTRAP_SERVERS": kafka_broker,
        "KYB_REDIS_URL": redis_url,
        "KYB_KEY_PREFIX": redis_prefix,
    }
    created = subprocess.run(kyb_command("topics", "create"), env=values, capture_output=True)
    assert created.returncode == 0, created.stderr.decode()
    Ledger(redis.Redis.from_url(redis_url), redis_prefix).load(
        roster(
            ana={"token": "ana-token", "queues": ["identity"]},
            bo={"token": "bo-token", "queues": ["compliance"]},
        ),
        0,
    )
    return values


def review(env: dict[str, str], token: str, answers: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        kyb_command("review", "--exit-when-idle"),
        env=env | {"COLUMNS": "160"},
        input=f"{token}\n{answers}",
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_decide_in_the_terminal_and_pick_up_after_a_restart(env: dict[str, str]) -> None:
    settings = Settings(bootstrap_servers=env["KYB_BOOTSTRAP_SERVERS"])
    ledger = Ledger(redis.Redis.from_url(env["KYB_REDIS_URL"]), env["KYB_KEY_PREFIX"])
    identity, compliance = ReviewQueue.IDENTITY, ReviewQueue.COMPLIANCE
    due = datetime(2026, 12, 1, tzinfo=UTC)
    second = open_in_ledger(ledger, submission("acct-2"), identity, due.replace(day=2))
    theirs = open_in_ledger(ledger, submission("acct-3"), compliance, due)
    first = open_in_ledger(ledger, submission("acct-1"), identity, due)
    assert (first.reviewer_id, second.reviewer_id, theirs.reviewer_id) == ("ana", "ana", "bo")
    old = KafkaPublisher(settings)  # an old record on the topic is history, not the inbox
    old.publish(first.model_copy(update={"task_id": "old.identity", "event_id": uuid.uuid4()}))
    old.flush()

    run = review(env, "ana-token", "a\n1\nall consistent\nq\n")
    assert run.returncode == 0, run.stderr
    assert "2 open task(s)" in run.stdout
    assert f"approve sent for {first.task_id}" in run.stdout
    assert theirs.task_id not in run.stdout
    assert "old.identity" not in run.stdout

    run = review(env, "ana-token", "r\n2, 3\nname and number differ\n")  # a restart
    assert run.returncode == 0, run.stderr
    assert first.task_id not in run.stdout  # decided: never shown again
    assert f"reject sent for {second.task_id}" in run.stdout
    assert "No open tasks for ana." in run.stdout

    # two accounts, two partitions: no order between them
    sent = sorted(read_topic(settings, "kyb.review.decisions", want=2), key=lambda d: d.decision)
    assert [(d.task_id, d.reviewer_id, d.decision) for d in sent] == [
        (first.task_id, "ana", Decision.APPROVE),
        (second.task_id, "ana", Decision.REJECT),
    ]
    assert sent[1].reason_codes == (
        ReasonCode.NAME_MISMATCH,
        ReasonCode.REGISTRATION_NUMBER_MISMATCH,
    )
    assert sent[1].note == "name and number differ"


def test_a_reviewer_id_without_its_token_signs_nobody_in(env: dict[str, str]) -> None:
    for token in ("ana", "mallory", ""):
        run = review(env, token, "a\n")
        assert run.returncode == 2
        assert "unknown or inactive reviewer token" in run.stderr
