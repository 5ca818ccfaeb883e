"""The Kafka runtime's cost per hop, on the Tansu test broker, side by side in one run:

- events/s through one no-op stage (`KafkaWorker`: poll → decode/validate → handler → produce →
  commit once acknowledged) vs a bare kafka-python consume → produce loop (produce, flush,
  commit: the same commit-after-acknowledgement rule, awaited in turn);
- events/s through a chain of three no-op hops;
- peak RSS of each `kyb worker <stage>` process of the real topology, idle after start-up.

    python benchmarks/kafka_hop.py --events 5000
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kafka import KafkaConsumer, KafkaProducer
from kafka.structs import OffsetAndMetadata

from pipeline.app.topology import STAGES
from pipeline.delivery import Send
from pipeline.kafka_runtime import KafkaWorker, consumer_config, ensure_topics
from pipeline.settings import Settings
from pipeline.stage import Context, Stage
from pipeline.state import StateStore, memory_state_store
from pipeline.wiring import build_processor
from schemas import Envelope, TopicSpec, encode_event
from schemas.events import ComplianceSelectionChanged
from tests.conftest import start_broker, stop_process


def hop_topic(name: str) -> TopicSpec:
    return TopicSpec(name, (ComplianceSelectionChanged,), partitions=6)


def noop(event: ComplianceSelectionChanged, ctx: Context) -> Sequence[Envelope]:
    """Passes the event on as a new event (new id derived from the cause), like a real stage."""
    answer = event.mainland_resources
    return [ctx.derive(ComplianceSelectionChanged, event, mainland_resources=answer)]


class HopWorker(KafkaWorker):
    """A worker whose outputs go to the next hop's topic instead of the catalog's."""

    def __init__(
        self, stage: Stage, settings: Settings, target: str, state: StateStore | None = None
    ) -> None:
        state = memory_state_store() if state is None else state
        super().__init__(build_processor(stage, settings, state), settings)
        self.target = target

    def run(self, max_seconds: float | None = None) -> None:
        import pipeline.kafka_runtime as runtime

        original = runtime.KafkaPublisher

        target = self.target

        class ToHop(original):  # type: ignore[misc,valid-type]
            def publish(self, event: Envelope) -> Send:
                return self.publish_raw(target, encode_event(event), event.account_id.encode())

        runtime.KafkaPublisher = ToHop
        try:
            super().run(max_seconds)
        finally:
            runtime.KafkaPublisher = original


def events(n: int, tag: str = "acct", accounts: int = 500) -> list[bytes]:
    """`n` encoded no-op events for `accounts` accounts named `<tag>-<i>`."""
    now = datetime.now(UTC)
    return [
        encode_event(
            ComplianceSelectionChanged(
                event_id=uuid.uuid4(),
                occurred_at=now,
                account_id=f"{tag}-{i % accounts}",
                submission_id=f"sub-{tag}-{i % accounts}",
                producer="bench",
                mainland_resources=bool(i % 2),
            )
        )
        for i in range(n)
    ]


def count_until(settings: Settings, topic: str, want: int, timeout: float) -> float:
    """Seconds until `want` records are on `topic` (counted by consuming, not by offsets:
    Tansu numbers offsets per batch)."""
    consumer = KafkaConsumer(topic, **consumer_config(settings, None))
    seen, started = 0, time.perf_counter()
    deadline = started + timeout
    while seen < want and time.perf_counter() < deadline:
        seen += sum(len(r) for r in consumer.poll(timeout_ms=200).values())
    consumer.close()
    if seen < want:
        raise TimeoutError(f"only {seen}/{want} on {topic}")
    return time.perf_counter() - started


def produce(settings: Settings, topic: str, payloads: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=5)
    for raw in payloads:
        producer.send(topic, raw, key=raw[-20:])
    producer.flush()
    producer.close()


def warm_up(settings: Settings, source: str, sink: str) -> None:
    """One record through, so group joins and metadata are not in the timing."""
    produce(settings, source, events(1))
    count_until(settings, sink, 1, 60)


def bare_loop(settings: Settings, source: str, sink: str, stop: threading.Event) -> None:
    consumer = KafkaConsumer(source, **consumer_config(settings, "bench-bare"))
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, acks="all", linger_ms=5)
    while not stop.is_set():
        batch = consumer.poll(timeout_ms=200)
        done = {}
        for partition, records in batch.items():
            for record in records:
                producer.send(sink, record.value, key=record.key)
                done[partition] = OffsetAndMetadata(record.offset + 1, "", -1)
        if done:
            producer.flush()
            consumer.commit(done)
    consumer.close()
    producer.close()


def measure_bare(settings: Settings, n: int) -> float:
    stop = threading.Event()
    thread = threading.Thread(target=bare_loop, args=(settings, "bench.a", "bench.bare", stop))
    thread.start()
    warm_up(settings, "bench.a", "bench.bare")
    produce(settings, "bench.a", events(n))
    seconds = count_until(settings, "bench.bare", n, 300)
    stop.set()
    thread.join(30)
    return n / seconds


def measure_chain(settings: Settings, n: int, hops: int) -> float:
    names = [f"bench.h{i}" for i in range(hops + 1)]
    workers = []
    for i in range(hops):
        stage = Stage(
            f"bench-hop-{i}",
            (hop_topic(names[i]),),
            (ComplianceSelectionChanged,),
            (ComplianceSelectionChanged,),
            noop,
            "no-op hop",
        )
        worker = HopWorker(stage, settings, names[i + 1])
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        workers.append((worker, thread))
    warm_up(settings, names[0], names[-1])
    produce(settings, names[0], events(n))
    seconds = count_until(settings, names[-1], n, 300)
    for worker, thread in workers:
        worker.stop()
        thread.join(30)
    return n / seconds


def worker_rss(settings: Settings, tmp: Path) -> dict[str, float]:
    env = {"KYB_BOOTSTRAP_SERVERS": settings.bootstrap_servers, "PATH": "/usr/bin:/bin"}
    rss = {}
    for stage in STAGES:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.app.cli", "worker", stage.name, "--max-seconds", "8"],
            env=env | {"KYB_DOCUMENT_ROOTS": json.dumps([str(tmp)])},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(6)
        status = Path(f"/proc/{proc.pid}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        rss[stage.name] = round(int(match.group(1)) / 1024, 1) if match else float("nan")
        proc.wait(30)
    return rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        broker = start_broker(Path(tmp))
        try:
            settings = Settings(
                bootstrap_servers=broker.bootstrap,
                session_timeout_ms=6000,
                heartbeat_interval_ms=1000,
                max_poll_records=500,
                metrics_window_s=3600,
            )
            topics = {"bench.a": 6, "bench.bare": 6} | {f"bench.h{i}": 6 for i in range(4)}
            ensure_topics(settings, topics)
            ensure_topics(settings, {"kyb.metrics": 3, "kyb.deadletter": 6})
            bare = measure_bare(settings, args.events)
            hop = measure_chain(settings, args.events, hops=1)
            chain = measure_chain(settings, args.events, hops=3)
            from pipeline.kafka_runtime import create_topics

            create_topics(settings)
            rss = worker_rss(settings, Path(tmp))
        finally:
            stop_process(broker.process)
    report: dict[str, Any] = {
        "benchmark": "kafka_hop",
        "events": args.events,
        "bare_loop_events_per_s": round(bare, 1),
        "noop_stage_events_per_s": round(hop, 1),
        "noop_vs_bare": round(hop / bare, 3),
        "three_hop_chain_events_per_s": round(chain, 1),
        "goal_noop_ge_0_8_bare": hop / bare >= 0.8,
        "goal_noop_ge_2000_eps": hop >= 2000,
        "worker_peak_rss_mb_idle": rss,
        "goal_rss_le_250_mb": all(v <= 250 for v in rss.values()),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
