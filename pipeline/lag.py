"""Consumer-group lag per stage and topic, from the broker's committed and end offsets.

`kyb lag` publishes one `ConsumerLag` per (stage, topic) to `kyb.metrics` every few seconds; the
dashboard and KEDA-style autoscalers read the same numbers. A partition a group never committed
counts from the beginning, as `auto_offset_reset=earliest` would read it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from kafka import KafkaConsumer, TopicPartition

from pipeline.kafka_runtime import admin_client, consumer_config
from pipeline.settings import Settings
from pipeline.stage import Stage
from schemas.events import ConsumerLag


class LagReader:
    def __init__(self, settings: Settings) -> None:
        self._admin = admin_client(settings, "lag")
        self._consumer = KafkaConsumer(**consumer_config(settings, None))

    def read(self, stages: Iterable[Stage]) -> list[ConsumerLag]:
        now = datetime.now(UTC)
        found = []
        for stage in stages:
            committed = self._admin.list_group_offsets(stage.group_id).get(stage.group_id, {})
            for topic in stage.reads:
                numbers = sorted(self._consumer.partitions_for_topic(topic.name) or ())
                partitions = [TopicPartition(topic.name, n) for n in numbers]
                ends = self._consumer.end_offsets(partitions) if partitions else {}
                done = {tp: committed[tp].offset if tp in committed else 0 for tp in partitions}
                end = sum(ends.values())
                position = sum(max(0, offset) for offset in done.values())
                found.append(
                    ConsumerLag(
                        event_id=uuid.uuid4(),
                        occurred_at=now,
                        account_id="-",
                        submission_id="-",
                        producer="lag-reporter",
                        stage=stage.name,
                        group=stage.group_id,
                        topic=topic.name,
                        partitions=len(partitions),
                        committed=position,
                        end=end,
                        lag=sum(max(0, ends[tp] - max(0, done[tp])) for tp in partitions),
                    )
                )
        return found

    def close(self) -> None:
        self._consumer.close()
        self._admin.close()
