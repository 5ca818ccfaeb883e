"""Consumer lag from the real broker's committed and end offsets."""

from __future__ import annotations

import os
import subprocess

from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from pipeline.app.topology import stage_named
from pipeline.kafka_runtime import consumer_config, create_topics
from pipeline.lag import LagReader
from pipeline.publishing import KafkaPublisher
from pipeline.settings import Settings
from tests.helpers import kyb_command, submission


def test_lag_is_end_minus_committed_per_group_and_topic(kafka_broker: str) -> None:
    settings = Settings(bootstrap_servers=kafka_broker, default_partitions=1)
    create_topics(settings)
    publisher = KafkaPublisher(settings)
    events = [submission(account_id="acct-lag") for _ in range(5)]
    for event in events:  # one batch each: Tansu numbers offsets per batch, not per record
        publisher.publish(event)
        publisher.flush()
    reader = LagReader(settings)
    try:
        [quality] = reader.read([stage_named("quality")])
        assert (quality.group, quality.topic, quality.lag, quality.end) == (
            "kyb-quality",
            "kyb.submissions",
            5,
            5,
        )
        consumer = KafkaConsumer(**consumer_config(settings, "kyb-quality"))
        partitions = [
            TopicPartition("kyb.submissions", n)
            for n in consumer.partitions_for_topic("kyb.submissions")
        ]
        ends = consumer.end_offsets(partitions)
        [busy] = [tp for tp, end in ends.items() if end == 5]
        consumer.commit({busy: OffsetAndMetadata(3, "", -1)})
        consumer.close()
        [quality] = reader.read([stage_named("quality")])
        assert (quality.lag, quality.committed) == (2, 3)
        verdict = reader.read([stage_named("verdict")])
        assert {r.topic for r in verdict} == {t.name for t in stage_named("verdict").reads}
    finally:
        reader.close()
    run = subprocess.run(
        kyb_command("lag", "--once"),
        env=os.environ | {"KYB_BOOTSTRAP_SERVERS": kafka_broker},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "kyb-quality      kyb.submissions            lag=2" in run.stdout
