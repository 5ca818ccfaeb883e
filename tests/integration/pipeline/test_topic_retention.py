"""`kyb topics create` gives every topic its retention from the catalog (security issue 14.8):
personal data stays on the broker only as long as a case can take.

Tansu 0.6 accepts topic configs but describes none back (`describe_configs` answers `{}`), so
the configs sent are captured from the admin client, and the real broker must take them."""

from __future__ import annotations

from typing import Any

import pytest

import pipeline.kafka_runtime as kafka_runtime
from pipeline.settings import Settings
from schemas import TOPICS, catalog


def test_topics_are_created_with_their_retention(
    kafka_broker: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[Any] = []
    real_admin_client = kafka_runtime.admin_client

    def recording_admin(settings: Settings, purpose: str = "") -> Any:
        admin = real_admin_client(settings, purpose)
        create = admin.create_topics

        def create_topics(topics: list[Any], *args: Any, **kwargs: Any) -> Any:
            sent.extend(topics)
            return create(topics, *args, **kwargs)

        admin.create_topics = create_topics  # type: ignore[method-assign]
        return admin

    monkeypatch.setattr(kafka_runtime, "admin_client", recording_admin)
    settings = Settings(bootstrap_servers=kafka_broker)
    created = kafka_runtime.create_topics(settings)
    assert sorted(created) == sorted(topic.name for topic in TOPICS)  # the broker took them all
    retention = {topic.name: topic.topic_configs["retention.ms"] for topic in sent}
    assert retention[catalog.SUBMISSIONS.name] == str(30 * 86_400_000)
    assert retention[catalog.NOTIFICATIONS.name] == str(14 * 86_400_000)
    assert retention[catalog.STATUS.name] == str(400 * 86_400_000)
    assert retention[catalog.METRICS.name] == str(7 * 86_400_000)
    assert kafka_runtime.create_topics(settings) == []  # idempotent


def test_the_review_topics_are_short_lived_because_tools_start_from_the_ledger() -> None:
    lookback_days = Settings().review_decisions_lookback_s / 86_400
    assert catalog.REVIEW_DECISIONS.retention_days >= 2 * lookback_days
    assert catalog.REVIEW_TASKS.retention_days <= 7
