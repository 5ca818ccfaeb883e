"""The Kafka runtime's cost per hop, on the Tansu test broker, side by side in one run:

- events/s through one no-op stage (`KafkaWorker`: poll → decode/validate → handler → produce →
  commit once acknowledged) vs a bare kafka-python consume → produce loop (produce, flush,
  commit: the same commit-after-acknowledgement rule, awaited in turn);
- events/s through a chain of three no-op hops;
- CPU per record of one no-op hop worker (its own process) fed one record every 14 ms (as
  quality sends its answers in a burst) and its p50/p95 hop latency, at the default producer
  linger and longer ones (`producer_linger_ms`), alternated, two rounds;
- peak RSS of each `kyb worker <stage>` process of the real topology, idle after start-up.

    python benchmarks/kafka_hop.py --events 5000
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import statistics
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

import psutil
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


def hop_stage(name: str, source: str) -> Stage:
    return Stage(
        name,
        (hop_topic(source),),
        (ComplianceSelectionChanged,),
        (ComplianceSelectionChanged,),
        noop,
        "no-op hop",
    )


def measure_chain(settings: Settings, n: int, hops: int) -> float:
    names = [f"bench.h{i}" for i in range(hops + 1)]
    workers = []
    for i in range(hops):
        worker = HopWorker(hop_stage(f"bench-hop-{i}", names[i]), settings, names[i + 1])
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


PACE_S = 0.014  # quality's answers in a burst: one every ~14 ms
#: Producer lingers tried on the paced hop, ms (the first is the settings' default).
PACED_LINGERS = (Settings().producer_linger_ms, 20, 50)


def _paced_hop(settings: Settings, source: str, sink: str) -> None:
    """A no-op hop worker in a process of its own (its CPU is all the hop's), until SIGTERM."""
    worker = HopWorker(hop_stage("bench-paced", source), settings, sink)
    worker.install_signal_handlers()
    worker.run()


def _arrivals(settings: Settings, topic: str, want: int, seen: dict[str, float]) -> None:
    """When each account's record reached `topic` (read as soon as the broker has it)."""
    consumer = KafkaConsumer(topic, **consumer_config(settings, None, fetch_max_wait_ms=20))
    deadline = time.monotonic() + 120
    while len(seen) < want and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=100).values():
            for record in records:
                seen.setdefault(record.key.decode(), time.monotonic())
    consumer.close()


def measure_paced(settings: Settings, n: int, linger_ms: int, run: int) -> dict[str, float]:
    """CPU ms per record of a no-op hop worker fed one record every `PACE_S`, and the hop's
    p50/p95 latency (sent by the feeder -> read from the hop's output)."""
    source, sink = f"bench.paced{run}.in", f"bench.paced{run}.out"
    ensure_topics(settings, {source: 6, sink: 6})
    lingering = settings.model_copy(update={"producer_linger_ms": linger_ms})
    hop = multiprocessing.get_context("spawn").Process(
        target=_paced_hop, args=(lingering, source, sink)
    )
    hop.start()
    try:
        warm_up(settings, source, sink)
        feeder = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=0)
        tag = f"paced{run}"
        payloads = events(n, tag=tag, accounts=n)  # account i is `<tag>-<i>`, the record key
        arrived: dict[str, float] = {}
        reader = threading.Thread(target=_arrivals, args=(settings, sink, n + 1, arrived))
        reader.start()
        time.sleep(1.0)  # the reader has joined and the hop is idle again
        process = psutil.Process(hop.pid)
        cpu_before = sum(process.cpu_times()[:2])
        sent: dict[str, float] = {}
        for i, raw in enumerate(payloads):
            account = f"{tag}-{i}"
            sent[account] = time.monotonic()
            feeder.send(source, raw, key=account.encode())
            time.sleep(max(0.0, sent[account] + PACE_S - time.monotonic()))
        feeder.flush()
        reader.join(130)
        cpu = sum(process.cpu_times()[:2]) - cpu_before
        feeder.close()
    finally:
        hop.terminate()
        hop.join(30)
    latencies = sorted(arrived[account] - at for account, at in sent.items() if account in arrived)
    if len(latencies) < n:
        raise TimeoutError(f"only {len(latencies)}/{n} records went through the paced hop")
    return {
        "cpu_ms_per_record": round(cpu / n * 1000, 3),
        "hop_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "hop_p95_ms": round(latencies[int(0.95 * (n - 1))] * 1000, 1),
    }


def measure_paced_lingers(settings: Settings, n: int, rounds: int = 2) -> dict[str, Any]:
    """Each linger of `PACED_LINGERS`, alternated (the order reversed in every other round):
    the medians of the rounds, and the CPU as a ratio to the default linger's."""
    runs: dict[int, list[dict[str, float]]] = {linger: [] for linger in PACED_LINGERS}
    for round_ in range(rounds):
        order = PACED_LINGERS if round_ % 2 == 0 else tuple(reversed(PACED_LINGERS))
        for index, linger in enumerate(order):
            runs[linger].append(measure_paced(settings, n, linger, round_ * 10 + index))
    result: dict[str, Any] = {"pace_ms": PACE_S * 1000, "records": n}
    default = statistics.median(run["cpu_ms_per_record"] for run in runs[PACED_LINGERS[0]])
    for linger, measured in runs.items():
        medians = {
            key: round(statistics.median(run[key] for run in measured), 3) for key in measured[0]
        }
        result[f"linger_{linger}_ms"] = medians | {
            "rounds_cpu_ms_per_record": [run["cpu_ms_per_record"] for run in measured],
            "cpu_vs_default": round(medians["cpu_ms_per_record"] / default, 3),
        }
    return result


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
    parser.add_argument("--paced", type=int, default=300, help="records per paced-hop run")
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
            paced = measure_paced_lingers(settings, args.paced)
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
        "paced_hop": paced,
        "goal_noop_ge_0_8_bare": hop / bare >= 0.8,
        "goal_noop_ge_2000_eps": hop >= 2000,
        "worker_peak_rss_mb_idle": rss,
        "goal_rss_le_250_mb": all(v <= 250 for v in rss.values()),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
