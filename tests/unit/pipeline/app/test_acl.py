"""The Kafka ACLs follow the topology: each topic has exactly the writers the design names."""

from __future__ import annotations

from pathlib import Path

from pipeline.app.acl import grants, kafka_users, markdown_table
from pipeline.app.topology import STAGES
from schemas import TOPICS, catalog

README = Path(__file__).parents[4] / "README.md"


def writers(topic: str) -> set[str]:
    return {grant.principal for grant in grants() if topic in grant.writes}


def test_only_verdict_can_ask_for_mail_and_only_the_reviewers_tools_can_decide() -> None:
    assert writers(catalog.NOTIFICATIONS.name) == {"kyb-verdict"}
    assert writers(catalog.REVIEW_DECISIONS.name) == {"kyb-reviewers"}
    # the portal, and people on call asking for an erasure (`kyb erase`)
    assert writers(catalog.SUBMISSIONS.name) == {"kyb-portal", "kyb-operator"}
    assert writers(catalog.STATUS.name) == {"kyb-verdict"}


def test_every_stage_may_read_what_it_consumes_and_nothing_else() -> None:
    by_principal = {grant.principal: grant for grant in grants()}
    for stage in STAGES:
        grant = by_principal[f"kyb-{stage.name}"]
        assert set(grant.reads) == {topic.name for topic in stage.reads}
        assert grant.group == stage.group_id


def test_every_topic_has_a_writer_and_the_kafka_users_carry_the_same_acls() -> None:
    for topic in TOPICS:
        assert writers(topic.name), topic.name
    for user, grant in zip(kafka_users(), grants(), strict=True):
        assert user["metadata"]["name"] == grant.principal
        written = {
            acl["resource"]["name"]
            for acl in user["spec"]["authorization"]["acls"]
            if "Write" in acl["operations"] and acl["resource"]["patternType"] == "literal"
        }
        assert written == set(grant.writes)


def test_readme_shows_the_current_acl_table() -> None:
    assert markdown_table() in README.read_text(), (
        "paste `python -c 'from pipeline.app.acl import markdown_table; print(markdown_table())'` "
        "into README's Security section"
    )
