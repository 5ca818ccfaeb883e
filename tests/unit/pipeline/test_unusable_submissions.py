"""A submission no stage can read gets one dead letter (from quality, the topic's guard) and,
when its ids are readable, an identity `refused` status for the portal (from verdict, which owns
kyb.status)."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.app.topology import stage_named
from pipeline.documents import DocumentStore
from pipeline.processing import Source, StageProcessor
from pipeline.settings import Settings
from pipeline.state import memory_state_store
from pipeline.wiring import build_processor
from schemas import encode_event
from schemas.events import DeadLetter, StatusChanged
from tests.helpers import submission


def processors(tmp_path: Path) -> dict[str, StageProcessor]:
    documents = DocumentStore([tmp_path], 1000)
    return {
        name: build_processor(stage_named(name), Settings(), memory_state_store(), documents)
        for name in ("quality", "compliance", "assign", "verdict")
    }


def outputs_of(record: bytes, key: bytes, tmp_path: Path) -> dict[str, list[object]]:
    source = Source("kyb.submissions", 1, 7, key)
    return {n: p.process(record, source).outputs for n, p in processors(tmp_path).items()}


def test_a_newer_version_or_a_foreign_key_is_answered_once_with_a_refused_status(
    tmp_path: Path,
) -> None:
    event = submission("acct-9", submission_id="sub-unusable-1")
    newer = json.loads(encode_event(event))
    newer["schema_version"] = 2
    cases = {
        "unsupported_version": (json.dumps(newer).encode(), b"acct-9"),
        "wrong_key": (encode_event(event), b"acct-other"),
    }
    for reason, (record, key) in cases.items():
        outputs = outputs_of(record, key, tmp_path)
        assert outputs["compliance"] == outputs["assign"] == []
        [letter] = outputs["quality"]  # the topic's guard: the one dead letter
        [status] = outputs["verdict"]  # the owner of kyb.status: the portal's answer
        assert isinstance(status, StatusChanged)
        assert isinstance(letter, DeadLetter)
        assert (status.account_id, status.submission_id) == ("acct-9", "sub-unusable-1")
        assert (status.to_status, status.reasons) == ("refused", (reason,))
        assert letter.reason == reason
        again = outputs_of(record, key, tmp_path)["verdict"][0]
        assert isinstance(again, StatusChanged)
        assert again.event_id == status.event_id  # a redelivery is answered with the same id


def test_what_carries_no_readable_ids_is_only_dead_lettered(tmp_path: Path) -> None:
    for record in (b"not json", json.dumps({"event_type": "SubmissionReceived"}).encode()):
        outputs = outputs_of(record, b"acct-9", tmp_path)
        [letter] = outputs["quality"]
        assert isinstance(letter, DeadLetter)
        assert outputs["verdict"] == []
