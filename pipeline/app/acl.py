"""Who may read and write which topic: Kafka ACLs derived from the topology.

Every stage runs as its own principal (`kyb-<stage>`); the broker refuses anything its grant
does not list. That is what stops a forged `ReviewDecision` from anyone but the reviewers' tools
(and the decision's HMAC signature is checked as well) and mail sent by anyone but `verdict`
producing to `kyb.notifications`. README's Security table and `deploy/k8s/kafka-users.yaml`
(Strimzi `KafkaUser`s) are rendered from `grants()`; a test keeps them in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.app.topology import STAGES
from schemas import catalog

DASHBOARD_GROUP = "kyb-dashboard"  # the faust app id; its changelog topics start with it


@dataclass(frozen=True)
class Grant:
    """One principal's rights: topics it reads, topics it writes, its consumer group."""

    principal: str
    runs: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    group: str | None = None
    prefix_topics: str | None = None  # may create/read/write its own topics with this prefix


_RUNTIME_WRITES = (catalog.METRICS.name, catalog.DEADLETTER.name)


def grants() -> list[Grant]:
    """Every principal, stages first (in topology order)."""
    found = []
    for stage in STAGES:
        emitted = {
            topic.name
            for cls in stage.emits
            if (topic := catalog.topic_for_type_or_none(cls)) is not None
        }
        found.append(
            Grant(
                principal=f"kyb-{stage.name}",
                runs=f"`kyb worker {stage.name}`",
                reads=tuple(topic.name for topic in stage.reads),
                writes=tuple(sorted(emitted | set(_RUNTIME_WRITES))),
                group=stage.group_id,
            )
        )
    found += [
        Grant(
            "kyb-portal",
            "the customer portal",
            reads=(catalog.STATUS.name,),
            writes=(catalog.SUBMISSIONS.name,),
        ),
        Grant(
            "kyb-reviewers",
            "`kyb console`, `kyb review` (hold the decision signing key)",
            reads=(catalog.REVIEW_TASKS.name, catalog.REVIEW_DECISIONS.name),
            writes=(catalog.REVIEW_DECISIONS.name,),
        ),
        Grant(
            "kyb-dashboard",
            "`kyb dashboard`",
            reads=(catalog.METRICS.name, catalog.STATUS.name),
            writes=(),
            group=DASHBOARD_GROUP,
            prefix_topics=f"{DASHBOARD_GROUP}-",
        ),
        Grant(
            "kyb-lag",
            "`kyb lag` (describes topics `kyb.*` and groups `kyb-*`, reads no record)",
            reads=(),
            writes=(catalog.METRICS.name,),
        ),
        Grant(
            "kyb-operator",
            "`kyb topics create`, `kyb inspect`, `kyb erase` (people on call)",
            reads=(catalog.DEADLETTER.name, catalog.STATUS.name),
            writes=(catalog.SUBMISSIONS.name,),
        ),
    ]
    return found


def markdown_table() -> str:
    """The table README's Security section shows."""
    rows = [
        "| principal | runs | reads | writes | group |",
        "|---|---|---|---|---|",
    ]
    for grant in grants():
        reads = ", ".join(f"`{name}`" for name in grant.reads) or "-"
        writes = ", ".join(f"`{name}`" for name in grant.writes) or "-"
        if grant.prefix_topics:
            own = f"`{grant.prefix_topics}*` (its own)"
            reads, writes = f"{reads}, {own}", own if writes == "-" else f"{writes}, {own}"
        group = f"`{grant.group}`" if grant.group else "-"
        rows.append(f"| `{grant.principal}` | {grant.runs} | {reads} | {writes} | {group} |")
    return "\n".join(rows)


def kafka_users() -> list[dict[str, Any]]:
    """Strimzi `KafkaUser` resources: SCRAM-SHA-512 credentials plus simple ACLs."""
    return [_kafka_user(grant) for grant in grants()]


def _kafka_user(grant: Grant) -> dict[str, Any]:
    acls: list[dict[str, Any]] = []
    for name in grant.reads:
        acls.append(_acl("topic", name, ["Read", "Describe"]))
    for name in grant.writes:
        acls.append(_acl("topic", name, ["Write", "Describe"]))
    if grant.group:
        acls.append(_acl("group", grant.group, ["Read"]))
    if grant.prefix_topics:
        everything = ["Create", "Read", "Write", "Describe"]
        acls.append(_acl("topic", grant.prefix_topics, everything, pattern="prefix"))
    if grant.principal == "kyb-lag":
        acls.append(_acl("topic", "kyb.", ["Describe"], pattern="prefix"))
        acls.append(_acl("group", "kyb-", ["Describe"], pattern="prefix"))
    if grant.principal == "kyb-operator":
        acls.append(_acl("cluster", None, ["Create", "Describe"]))
    return {
        "apiVersion": "kafka.strimzi.io/v1beta2",
        "kind": "KafkaUser",
        "metadata": {"name": grant.principal, "labels": {"strimzi.io/cluster": "kafka"}},
        "spec": {
            "authentication": {"type": "scram-sha-512"},
            "authorization": {"type": "simple", "acls": acls},
        },
    }


def _acl(kind: str, name: str | None, operations: list[str], pattern: str = "literal") -> Any:
    resource: dict[str, Any] = {"type": kind}
    if name is not None:
        resource |= {"name": name, "patternType": pattern}
    return {"resource": resource, "operations": operations, "host": "*"}
