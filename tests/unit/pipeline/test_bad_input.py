"""Property-based bad input (hypothesis): malformed JSON, wrong and missing fields, enormous
strings, wrong types and unknown event types fed to every stage's processor. None raises; each
bad record becomes a dead letter with a reason; the next good record is still processed."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.app.topology import STAGES
from pipeline.documents import DocumentStore
from pipeline.processing import Source, StageProcessor
from pipeline.settings import Settings
from pipeline.state import memory_state_store
from pipeline.wiring import build_processor
from schemas import decode_event, encode_event
from schemas.enums import Side
from schemas.events import ComplianceSelectionChanged, DeadLetter, QualityChecked
from tests.helpers import application, document_ref, followed_by, submission

TRIED: Counter[str] = Counter()
GOOD = submission()
GOOD_JSON: dict[str, Any] = json.loads(encode_event(GOOD))
FIELDS = sorted(GOOD_JSON)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def mutated_events(draw: st.DrawFn) -> tuple[str, bytes]:
    doc = json.loads(json.dumps(GOOD_JSON))
    kind = draw(st.sampled_from(["drop", "wrong type", "huge", "unknown type", "extra", "nested"]))
    field = draw(st.sampled_from(FIELDS))
    if kind == "drop":
        doc.pop(field)
    elif kind == "wrong type":
        doc[field] = draw(json_values.filter(lambda v: not isinstance(v, str)))
    elif kind == "huge":
        doc[field] = "x" * draw(st.integers(10_000, 200_000))
    elif kind == "unknown type":
        doc["event_type"] = draw(st.text(min_size=1, max_size=30))
    elif kind == "extra":
        doc[draw(st.text(min_size=1, max_size=20).filter(lambda k: k not in doc))] = 1
    else:
        doc["application"]["company"][draw(st.sampled_from(["company_name", "city"]))] = draw(
            json_values.filter(lambda v: not isinstance(v, str))
        )
    return kind, json.dumps(doc).encode()


@pytest.fixture(scope="module")
def processors(tmp_path_factory: pytest.TempPathFactory) -> list[StageProcessor]:
    root = tmp_path_factory.mktemp("docs")
    config = Settings(
        document_roots=[root], mail_transport="outbox", outbox_dir=root / "out", retry_backoff_ms=0
    )
    state, documents = memory_state_store(), DocumentStore([root], 1_000_000)
    return [build_processor(stage, config, state, documents) for stage in STAGES]


def still_valid(raw: bytes) -> bool:
    try:
        decode_event(raw)
    except ValueError:  # UndecodableEvent and pydantic's ValidationError
        return False
    return True


def assert_dead_lettered(processors: list[StageProcessor], raw: bytes, kind: str) -> None:
    if still_valid(raw):  # e.g. an int where an int is fine: must simply not crash
        for processor in processors:
            processor.process(raw, Source(processor.stage.reads[0].name, 0, 1))
        TRIED["still valid"] += 1
        return
    for processor in processors:
        topic = processor.stage.reads[0].name
        result = processor.process(raw, Source(topic, 0, 1))
        if result.skipped:  # a valid event this stage does not take
            continue
        letters = [out for out in result.outputs if isinstance(out, DeadLetter)]
        assert letters, (processor.stage.name, kind, result.outputs)
        assert all(letter.error and letter.reason for letter in letters)
        TRIED[f"{processor.stage.name}:{kind}"] += 1


def still_works(processors: list[StageProcessor]) -> None:
    compliance = next(p for p in processors if p.stage.name == "compliance")
    answer = followed_by(GOOD, ComplianceSelectionChanged, mainland_resources=False)
    compliance.process(encode_event(GOOD), Source("kyb.submissions"))
    assert not compliance.process(encode_event(answer), Source("kyb.submissions")).dead_letters


@settings(PROPERTY, max_examples=150)
@given(raw=st.binary(max_size=2000))
def test_random_bytes_are_dead_lettered(processors: list[StageProcessor], raw: bytes) -> None:
    try:
        valid = isinstance(json.loads(raw), dict)
    except ValueError:
        valid = False
    if valid:
        return  # a JSON object is the next test's business
    assert_dead_lettered(processors, raw, "bytes")
    still_works(processors)


@settings(PROPERTY, max_examples=150)
@given(case=mutated_events())
def test_malformed_events_are_dead_lettered(
    processors: list[StageProcessor], case: tuple[str, bytes]
) -> None:
    kind, raw = case
    quality = [p for p in processors if p.stage.name == "quality"]
    assert_dead_lettered(quality, raw, kind)
    still_works(processors)


@settings(PROPERTY, max_examples=60)
@given(value=json_values)
def test_any_json_value_is_dead_lettered(processors: list[StageProcessor], value: Any) -> None:
    raw = json.dumps(value).encode()
    assert_dead_lettered(processors, raw, "json value" if not isinstance(value, dict) else "object")


@pytest.fixture(scope="module", autouse=True)
def report_what_was_tried() -> Iterator[None]:
    yield
    print(f"\nbad input tried: {sum(TRIED.values())} records: {dict(sorted(TRIED.items()))}")


@settings(PROPERTY, max_examples=60)
@given(
    head=st.sampled_from([b"", b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"%PDF"]),
    body=st.binary(max_size=4000),
)
def test_random_image_bytes_never_crash_the_quality_stage(
    processors: list[StageProcessor],
    tmp_path_factory: pytest.TempPathFactory,
    head: bytes,
    body: bytes,
) -> None:
    quality = next(p for p in processors if p.stage.name == "quality")
    root = quality.ctx.documents.roots[0]
    path = root / f"random-{hashlib.sha256(head + body).hexdigest()[:16]}.jpg"
    path.write_bytes(head + body)
    refs = (document_ref(path, Side.FRONT), document_ref(path, Side.BACK))
    event = submission(application=application(documents=refs))
    [out] = quality.process(encode_event(event), Source("kyb.submissions")).outputs
    if isinstance(out, QualityChecked):
        assert not out.passed
        assert out.findings
    else:
        assert isinstance(out, DeadLetter)
    TRIED[f"quality:image bytes -> {type(out).__name__}"] += 1
