"""Our stage runtime against the libraries a team would pick instead, side by side in one run.

Same Tansu broker, same records, same work, one process each:

- ours: `KafkaWorker` (poll → decode/validate → middleware → handler → produce → commit once
  acknowledged, while the next batch is handled), as `kyb worker` runs it;
- quixstreams: an `Application` with a `StreamingDataFrame` (`apply` then `to_topic`);
- faust-streaming: an agent (`async for key, value in stream.items()` then `topic.send`).

Two hops: a no-op (decode, validate, derive the next event, encode) and a CPU-bound one, the real
quality handler (`consumers.quality.handle`: decode both photos at once in two sandbox
children, measure, decide). The peers call the very same functions on each record. Measured
per runtime: events/s through a backlog (produced in full while the runtime is stopped, then
first to last output after it starts again), hop latency (send → output seen) at a paced
rate, and the peak RSS of the process tree (the quality hop decodes in child processes).
The machine is shared: every runtime is measured `--rounds` times, interleaved, each round in
another order, and compared on its median.

    python benchmarks/peers.py --noop-events 3000 --quality-events 120 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil
from kafka import KafkaConsumer, KafkaProducer

from benchmarks._common import summary_ms
from pipeline.kafka_runtime import consumer_config, ensure_topics
from pipeline.settings import Settings
from schemas import TopicSpec, decode_event, encode_event
from schemas.events import ComplianceSelectionChanged, QualityChecked, SubmissionReceived
from tests.conftest import start_broker, stop_process

RUNTIMES = ("ours", "quixstreams", "faust")
HOPS = ("noop", "quality")
PARTITIONS = 3


# ------------------------------------------------------------------ the work, written once
def noop_work(settings: Settings) -> Callable[[bytes], bytes]:
    """What a no-op stage does with a record: decode and validate it, derive the next event."""
    from pipeline.stage import Context
    from pipeline.state import memory_state_store
    from pipeline.wiring import build_documents

    ctx = Context("peer", settings, memory_state_store(), build_documents(settings))

    def work(raw: bytes) -> bytes:
        event = decode_event(raw)
        assert isinstance(event, ComplianceSelectionChanged)
        answer = event.mainland_resources
        return encode_event(
            ctx.derive(ComplianceSelectionChanged, event, mainland_resources=answer)
        )

    return work


def quality_work(settings: Settings) -> Callable[[bytes], bytes]:
    """The quality stage's handler on one record, with the sandbox the worker would give it."""
    from consumers import quality
    from pipeline.sandbox import shared_sandbox
    from pipeline.stage import Context
    from pipeline.state import memory_state_store
    from pipeline.wiring import build_documents

    ctx = Context(
        "peer",
        settings,
        memory_state_store(),
        build_documents(settings),
        sandbox=shared_sandbox(
            settings.sandbox_memory_mb << 20, settings.native_threads, settings.sandbox_children
        ),
    )

    def work(raw: bytes) -> bytes:
        event = decode_event(raw)
        assert isinstance(event, SubmissionReceived)
        [checked] = quality.handle(event, ctx)
        return encode_event(checked)

    return work


WORK = {"noop": noop_work, "quality": quality_work}


# ------------------------------------------------------------------ the three runtimes
def serve_ours(settings: Settings, hop: str, source: str, sink: str) -> None:
    from benchmarks.kafka_hop import HopWorker, hop_topic, noop
    from consumers import quality
    from pipeline.app.topology import stage_named
    from pipeline.stage import Stage
    from pipeline.wiring import build_state

    if hop == "noop":
        stage = Stage(
            "peer-ours",
            (hop_topic(source),),
            (ComplianceSelectionChanged,),
            (ComplianceSelectionChanged,),
            noop,
            "no-op hop",
        )
    else:
        stage = Stage(
            "peer-ours",
            (TopicSpec(source, (SubmissionReceived,), partitions=PARTITIONS),),
            (SubmissionReceived,),
            (QualityChecked,),
            quality.handle,
            "quality hop",
            cpu_bound=True,
            # as `kyb worker quality`
            records_at_once=stage_named("quality").records_at_once,
            records_per_poll=stage_named("quality").records_per_poll,
        )
    HopWorker(stage, settings, sink, build_state(settings)).run()


def serve_quixstreams(settings: Settings, hop: str, source: str, sink: str) -> None:
    from quixstreams import Application

    work = WORK[hop](settings)
    app = Application(
        broker_address=settings.bootstrap_servers,
        consumer_group="peer-quix",
        auto_offset_reset="earliest",
        auto_create_topics=False,
        use_changelog_topics=False,
        loglevel="WARNING",
    )
    source_topic = app.topic(source, value_deserializer="bytes", key_deserializer="bytes")
    sink_topic = app.topic(sink, value_serializer="bytes", key_serializer="bytes")
    frame = app.dataframe(source_topic).apply(work)
    frame.to_topic(sink_topic)
    app.run()


def serve_faust(settings: Settings, hop: str, source: str, sink: str) -> None:
    import faust

    work = WORK[hop](settings)
    app = faust.App(
        "peer-faust",
        broker=f"kafka://{settings.bootstrap_servers}",
        value_serializer="raw",
        key_serializer="raw",
        topic_disable_leader=True,
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        datadir=tempfile.mkdtemp(prefix="peer-faust-"),
    )
    source_topic = app.topic(source, value_type=bytes, key_type=bytes, partitions=PARTITIONS)
    sink_topic = app.topic(sink, value_type=bytes, key_type=bytes, partitions=PARTITIONS)

    @app.agent(source_topic)
    async def hop_agent(stream: Any) -> None:
        async for key, value in stream.items():
            await sink_topic.send(key=key, value=work(value))

    sys.argv = [sys.argv[0], "worker", "--loglevel", "warn", "--without-web"]
    app.main()


SERVE = {"ours": serve_ours, "quixstreams": serve_quixstreams, "faust": serve_faust}


# ------------------------------------------------------------------ records and measuring
def noop_records(n: int, tag: str) -> list[tuple[bytes, bytes]]:
    """`n` no-op events, one account each, keyed by the account (every runtime keeps it)."""
    from benchmarks.kafka_hop import events

    return [(f"{tag}-{i}".encode(), raw) for i, raw in enumerate(events(n, tag, accounts=n))]


def quality_records(n: int, tag: str, folder: Path) -> list[tuple[bytes, bytes]]:
    """Submissions of clean and blurry phone photos (6 distinct pairs, reused)."""
    from producers.photos import Defect, encode, make_case
    from producers.synthetic import portal_form, random_spec
    from tests.helpers import application, document_ref

    folder.mkdir(parents=True, exist_ok=True)
    pairs = []
    for index in range(6):
        rng = random.Random(index)
        spec = random_spec(rng)
        defect = Defect.BLUR if index % 3 == 2 else None
        paths = []
        for side in ("front", "back"):
            path = folder / f"{index}-{side}.jpg"
            path.write_bytes(encode(make_case(spec, rng, defect, side=side)))
            paths.append(path)
        pairs.append((spec, paths))
    records = []
    from schemas.enums import Side

    for i in range(n):
        spec, (front, back) = pairs[i % len(pairs)]
        form = portal_form(spec, f"{tag}-{i}", "ops@customer.example")
        app = application(
            (document_ref(front, Side.FRONT), document_ref(back, Side.BACK)),
            registered_country=spec.country,
            company=form["company"],
        )
        event = SubmissionReceived(
            event_id=uuid.uuid4(),
            occurred_at=datetime.now(UTC),
            account_id=f"{tag}-{i}",
            submission_id=f"sub-{tag}-{i}",
            producer="portal",
            application=app,
        )
        records.append((event.account_id.encode(), encode_event(event)))
    return records


class Sink:
    """Consumes the output topic from now on and notes when each key arrived."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self.arrived: dict[bytes, float] = {}
        self._consumer = KafkaConsumer(topic, **consumer_config(settings, None))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            for records in self._consumer.poll(timeout_ms=100).values():
                now = time.perf_counter()
                for record in records:
                    self.arrived.setdefault(record.key, now)

    def wait(self, keys: list[bytes], timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if all(key in self.arrived for key in keys):
                return
            time.sleep(0.05)
        missing = sum(key not in self.arrived for key in keys)
        raise TimeoutError(f"{missing} of {len(keys)} outputs missing after {timeout} s")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._consumer.close()


class TreeRss:
    """Peak RSS of a process and its children (sampled every 0.2 s)."""

    def __init__(self, pid: int) -> None:
        self.peak_mb = 0.0
        self._process = psutil.Process(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                tree = [self._process, *self._process.children(recursive=True)]
                total = sum(p.memory_info().rss for p in tree if p.is_running())
                self.peak_mb = max(self.peak_mb, total / 2**20)
            except psutil.Error:
                pass
            time.sleep(0.2)

    def close(self) -> float:
        self._stop.set()
        self._thread.join(5)
        return round(self.peak_mb, 1)


def send(settings: Settings, topic: str, records: list[tuple[bytes, bytes]]) -> dict[bytes, float]:
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=5)
    sent = {}
    for key, value in records:
        producer.send(topic, value, key=key)
        sent[key] = time.perf_counter()
    producer.flush()
    producer.close()
    return sent


def paced(
    settings: Settings, topic: str, records: list[tuple[bytes, bytes]], per_s: float
) -> dict[bytes, float]:
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers, linger_ms=0)
    sent = {}
    started = time.perf_counter()
    for index, (key, value) in enumerate(records):
        time.sleep(max(0.0, started + index / per_s - time.perf_counter()))
        sent[key] = time.perf_counter()
        producer.send(topic, value, key=key)
        producer.flush()
    producer.close()
    return sent


def measure(
    runtime: str,
    hop: str,
    settings: Settings,
    folder: Path,
    events: int,
    latency_events: int,
    per_s: float,
    round_no: int = 0,
) -> dict[str, Any]:
    source, sink = f"peers.{runtime}.{hop}.{round_no}.in", f"peers.{runtime}.{hop}.{round_no}.out"
    ensure_topics(settings, {source: PARTITIONS, sink: PARTITIONS})
    make = (
        noop_records
        if hop == "noop"
        else lambda n, tag: quality_records(n, tag, folder / "documents")
    )
    env = os.environ | {
        "KYB_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "KYB_DOCUMENT_ROOTS": json.dumps([str(folder / "documents")]),
        "KYB_METRICS_WINDOW_S": "3600",
        "OMP_THREAD_LIMIT": "1",
        # ours reads its state (the erasure gate) from Redis, as `kyb worker` does
        "KYB_STATE_BACKEND": "redis",
        "KYB_KEY_PREFIX": f"kyb-peers-{uuid.uuid4().hex[:8]}:",
    }
    log = folder / f"{runtime}-{hop}-{round_no}.log"

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, __file__, "serve", runtime, hop, source, sink],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("ab"),
        )

    output = Sink(settings, sink)
    process = start()
    rss = TreeRss(process.pid)
    try:
        # Joined, warm, offsets committed; then stopped so the backlog is all on the topic
        # before the runtime reads it again (otherwise the producer's pace is measured).
        warm = make(1, f"{runtime}-{hop}-warm-{round_no}")
        send(settings, source, warm)
        output.wait([key for key, _ in warm], 120)
        stop_process(process, 15)
        first_peak = rss.close()
        backlog = make(events, f"{runtime}-{hop}-backlog-{round_no}")
        send(settings, source, backlog)
        process = start()
        rss = TreeRss(process.pid)
        keys = [key for key, _ in backlog]
        output.wait(keys, 600)
        arrivals = sorted(output.arrived[key] for key in keys)
        throughput = (len(keys) - 1) / max(arrivals[-1] - arrivals[0], 1e-9)
        steady = make(latency_events, f"{runtime}-{hop}-paced-{round_no}")
        sent = paced(settings, source, steady, per_s)
        output.wait(list(sent), 300)
        latency = summary_ms([output.arrived[key] - at for key, at in sent.items()])
    except TimeoutError:
        tail = log.read_text(errors="replace")[-3000:]
        print(f"{runtime}/{hop} timed out; its log ends:\n{tail}", file=sys.stderr)
        raise
    finally:
        output.close()
        stop_process(process, 15)
        peak = rss.close()
    return {
        "events_per_s": round(throughput, 1),
        "hop_latency": latency,
        "peak_rss_mb": max(first_peak, peak),
    }


def combine(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One runtime's rounds: the median throughput and p95 (the machine is shared, so a single
    run can land on a busy moment), each round's throughput, the highest RSS."""
    return {
        "events_per_s": round(statistics.median(r["events_per_s"] for r in rounds), 1),
        "events_per_s_rounds": [r["events_per_s"] for r in rounds],
        "hop_latency_p95_ms": statistics.median(r["hop_latency"]["p95_ms"] for r in rounds),
        "hop_latency": [r["hop_latency"] for r in rounds],
        "peak_rss_mb": max(r["peak_rss_mb"] for r in rounds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--noop-events", type=int, default=3000)
    parser.add_argument("--quality-events", type=int, default=120)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="measure every runtime this many times, interleaved, each round in another order",
    )
    parser.add_argument("--runtimes", default=",".join(RUNTIMES))
    args = parser.parse_args()
    runtimes = [name for name in args.runtimes.split(",") if name]
    rounds: dict[str, dict[str, list[dict[str, Any]]]] = {
        hop: {runtime: [] for runtime in runtimes} for hop in HOPS
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        broker = start_broker(folder)
        try:
            settings = Settings(bootstrap_servers=broker.bootstrap)
            ensure_topics(settings, {"kyb.metrics": 3, "kyb.deadletter": 3})
            for round_no in range(args.rounds):
                shift = round_no % len(runtimes)
                for runtime in runtimes[shift:] + runtimes[:shift]:
                    rounds["noop"][runtime].append(
                        measure(
                            runtime,
                            "noop",
                            settings,
                            folder,
                            args.noop_events,
                            200,
                            100.0,
                            round_no,
                        )
                    )
                    rounds["quality"][runtime].append(
                        measure(
                            runtime,
                            "quality",
                            settings,
                            folder,
                            args.quality_events,
                            12,
                            1.0,
                            round_no,
                        )
                    )
        finally:
            stop_process(broker.process)
    results = {hop: {name: combine(runs) for name, runs in rounds[hop].items()} for hop in HOPS}
    report: dict[str, Any] = {"benchmark": "peers", "rounds": args.rounds, "results": results}
    for hop in HOPS:
        peers = [r["events_per_s"] for name, r in results[hop].items() if name != "ours"]
        if "ours" in results[hop] and peers:
            report[f"{hop}_ours_vs_best_peer"] = round(
                results[hop]["ours"]["events_per_s"] / max(peers), 3
            )
    if "noop_ours_vs_best_peer" in report:
        report["goal_noop_ge_0_8_best"] = report["noop_ours_vs_best_peer"] >= 0.8
    if "quality_ours_vs_best_peer" in report:
        report["goal_quality_ge_best"] = report["quality_ours_vs_best_peer"] >= 1.0
    print(json.dumps(report, indent=2))


def serve(runtime: str, hop: str, source: str, sink: str) -> None:
    from pipeline.threads import limit_native_threads

    limit_native_threads(1)
    SERVE[runtime](Settings(), hop, source, sink)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(*sys.argv[2:6])
    else:
        main()
