from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.app.topology import STAGES, STAGES_BY_NAME, TopologyError, mermaid, problems, validate
from pipeline.priority import Waiting
from pipeline.stage import Scaling
from schemas import catalog
from schemas.events import DeadLetter, FieldsMatched, QualityChecked

README = Path(__file__).resolve().parents[4] / "README.md"


def test_declared_topology_is_valid() -> None:
    assert problems() == []
    validate()


def test_a_topic_nobody_writes_is_caught() -> None:
    without_ocr = [stage for stage in STAGES if FieldsMatched not in stage.emits]
    found = problems(without_ocr)
    assert any("reads 'kyb.ocr.matched', which nothing writes" in p for p in found)
    with pytest.raises(TopologyError, match=r"kyb\.ocr\.matched"):
        validate(without_ocr)


def test_accepting_an_event_from_an_unread_topic_is_caught() -> None:
    broken = replace(STAGES_BY_NAME["quality"], accepts=(QualityChecked,))
    found = problems([broken if s.name == "quality" else s for s in STAGES])
    assert any("accepts QualityChecked but reads no topic carrying it" in p for p in found)


def test_duplicate_stage_names_are_caught() -> None:
    assert any("declared twice" in p for p in problems([*STAGES, STAGES[0]]))


def test_every_stage_writes_only_catalog_topics() -> None:
    for stage in STAGES:
        for cls in stage.emits:
            assert catalog.topic_for_type(cls).name in catalog.TOPICS_BY_NAME
    assert catalog.topic_for_type(DeadLetter).name == "kyb.deadletter"


def test_readme_diagram_is_generated_from_the_topology() -> None:
    assert mermaid() in README.read_text(), "run `kyb topology --mermaid` and paste it into README"


def test_each_read_topic_has_exactly_one_stage_reporting_its_bad_records() -> None:
    twice = [replace(s, guards=None) if s.name == "verdict" else s for s in STAGES]
    assert any("'kyb.submissions' must have exactly one" in p for p in problems(twice))
    nobody = [replace(s, guards=()) if s.name == "quality" else s for s in STAGES]
    assert any("has none" in p for p in problems(nobody))
    readers = [s for s in STAGES if catalog.SUBMISSIONS in s.reads]
    assert len(readers) == 4
    # quality reports a bad submission; verdict, which owns kyb.status, answers the portal
    assert [s.name for s in readers if s.guards_topic("kyb.submissions")] == ["quality"]
    assert [s.name for s in readers if s.answer_unusable] == ["verdict"]


def test_cpu_requests_order_the_stages_as_who_waits_on_them() -> None:
    """On a busy node the requests are the pods' weights (SCHED_IDLE inside a pod yields only to
    its own threads): every stage the customer waits on now outweighs notify's email, which
    outweighs every stage only reviewers wait on; verdict, which makes quality's answer the
    status the portal shows, has at least half quality's weight so it keeps pace in a burst."""
    shares = {stage.name: stage.scaling.cpu_shares() for stage in STAGES}
    by_waiting: dict[Waiting, list[int]] = {}
    for stage in STAGES:
        by_waiting.setdefault(stage.waiting, []).append(shares[stage.name])
    now, later = by_waiting[Waiting.CUSTOMER_NOW], by_waiting[Waiting.CUSTOMER_LATER]
    assert max(by_waiting[Waiting.REVIEWERS]) < min(later) <= max(later) < min(now)
    assert shares["verdict"] * 2 >= shares["quality"]


@pytest.mark.parametrize(
    ("request_", "shares"),
    [("1", 1024), ("2", 2048), ("500m", 512), ("50m", 51), ("0.25", 256), ("1m", 2)],
)
def test_a_cpu_request_becomes_the_weight_the_kubelet_gives_it(request_: str, shares: int) -> None:
    assert Scaling(cpu_request=request_).cpu_shares() == shares
