"""The whole chain under a burst: the six stages as `kyb worker` processes on the Tansu broker,
with real Redis and SMTP, N submissions published at once (mixed clean / blurry / mismatch).

Run nine times side by side: one worker per stage with the stages only reviewers wait on (OCR,
assignment, compliance) at normal priority, niced (`KYB_YIELD_POLICY=nice`) and under
SCHED_IDLE (`idle`, the default), and the defaults as deployed (each worker in a cgroup weighted
by its CPU request as the kubelet weights a pod, `pods.py`; needs root); two quality and two OCR
workers at normal priority and idle; one worker per stage checking a submission's sides one
after the other instead of at once (`KYB_SANDBOX_CHILDREN=1`, the design before); the quality
worker alone (the bound on the feedback: the run ends at the quality answers); and the quality
worker alone with the whole burst on the topic before it reads a record (`held`: the worker is
stopped while the portal publishes, and every submission's wait counts from its release), so
the figure does not depend on how fast the benchmark's portal publishes. Reports
submissions/s end to end; p50/p95/max of submission -> QualityChecked (the customer's instant
feedback) and -> the identity status verdict makes of it on `kyb.status` (the same answer as the
portal shows it), submission -> review task, decision -> email; peak RSS, CPU busy share and CPU per
submission per stage; who had the CPU until the last quality answer and what each stage spent a
submission in that time, and the feedback floor (what no scheduling could beat at quality's CPU
cost then); and consumer lag over time per stage,
drawn as a PNG next to the JSON (`--plot`).

    python benchmarks/chain.py --submissions 300
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2
import numpy as np
import psutil
from kafka import KafkaConsumer, TopicPartition

from benchmarks.pods import Pods
from consumers.assign.roster import hash_token
from pipeline.app.topology import STAGES, STAGES_BY_NAME
from pipeline.kafka_runtime import consumer_config
from pipeline.lag import LagReader
from pipeline.publishing import KafkaPublisher
from pipeline.settings import Settings
from pipeline.stage import Stage
from pipeline.wiring import build_documents
from producers.decisions import DecisionPublisher, simulated_decision
from producers.portal import PortalPublisher
from producers.synthetic import portal_form, random_spec, with_typo, write_pair
from schemas import decode_event
from schemas.enums import IdentityStatus, StatusTrack, TaskAction
from schemas.events import NotificationSent, QualityChecked, ReviewTask, StatusChanged
from tests.conftest import SmtpServer, start_broker, stop_process
from tests.helpers import kyb_command

ONE_EACH: dict[str, int] = {}
TWO_QUALITY_TWO_OCR = {"quality": 2, "ocr": 2}
#: The quality worker with nothing else on the machine but the broker and the benchmark: the
#: bound on the feedback that the rest of the chain can only lengthen.
QUALITY_ALONE = {stage.name: 0 for stage in STAGES if stage.name != "quality"}
#: (workers per stage, how the reviewer stages yield, quality sandbox children, burst held,
#: as deployed): the defaults (OCR, assign and compliance under SCHED_IDLE, both sides at once)
#: against those stages at normal priority ("nice 0") and niced, and against one side at a time;
#: the defaults as deployed (each worker, the broker and the benchmark in a cgroup weighted as
#: the kubelet weights a pod's CPU request, `pods.py`); the quality worker alone as the portal
#: publishes, and with the burst held until all of it is on the topic.
RUNS = (
    (ONE_EACH, "nice 0", 2, False, False),
    (ONE_EACH, "nice 10", 2, False, False),
    (ONE_EACH, "idle", 2, False, False),
    (ONE_EACH, "idle", 2, False, True),
    (ONE_EACH, "idle", 1, False, False),
    (TWO_QUALITY_TWO_OCR, "nice 0", 2, False, False),
    (TWO_QUALITY_TWO_OCR, "idle", 2, False, False),
    (QUALITY_ALONE, "idle", 2, False, False),
    (QUALITY_ALONE, "idle", 2, True, False),
)
#: The weight of a pod requesting one CPU: the broker's and the portal's (the benchmark's) pods.
ONE_CPU_SHARES = 1024
FINAL_MAILS = ("verified", "rejected", "resubmission_required")
WATCHED = ("kyb.quality.checked", "kyb.status", "kyb.review.tasks", "kyb.notifications.results")
QUALITY_CHECKED, STATUS_CHANGED, REVIEW_TASK, NOTIFICATION_SENT = (
    event.model_fields["event_type"].default
    for event in (QualityChecked, StatusChanged, ReviewTask, NotificationSent)
)
#: The identity statuses verdict makes of quality's answer: what the portal shows the customer.
ANSWERED_STATUSES = {
    status.value
    for status in (
        IdentityStatus.CHECKING,
        IdentityStatus.RESUBMISSION_REQUIRED,
        IdentityStatus.REFUSED,
    )
}


def percentiles(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    ordered = sorted(values)
    return {
        "p50_s": round(statistics.median(ordered), 2),
        "p95_s": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
        "max_s": round(ordered[-1], 2),
    }


class Observer(threading.Thread):
    """Reads the chain's outputs (no group) and the lag; answers review tasks like a reviewer."""

    def __init__(self, settings: Settings, stages: list[Stage]) -> None:
        super().__init__(daemon=True)
        self.settings, self.stop = settings, threading.Event()
        self.stages = stages  # the ones running: a stage with no worker has no lag to draw
        self.seen: dict[str, dict[str, float]] = defaultdict(dict)
        self.decided: dict[str, float] = {}
        self.lag: list[tuple[float, dict[str, int]]] = []
        self.clock_offset = time.time() - time.monotonic()  # record timestamps -> monotonic

    def run(self) -> None:
        consumer = KafkaConsumer(**consumer_config(self.settings, None))
        partitions = [
            TopicPartition(topic, p)
            for topic in WATCHED
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        decisions = DecisionPublisher(KafkaPublisher(self.settings))
        lag, next_lag = LagReader(self.settings), 0.0
        while not self.stop.is_set():
            for records in consumer.poll(timeout_ms=200).values():
                for record in records:
                    self._see(record.value, record.timestamp, decisions)
            if time.monotonic() >= next_lag:
                per_stage: dict[str, int] = defaultdict(int)
                for report in lag.read(self.stages):
                    per_stage[report.stage] += report.lag
                self.lag.append((time.monotonic(), dict(per_stage)))
                next_lag = time.monotonic() + 1.0
        lag.close()
        consumer.close()

    def _see(self, raw: bytes, produced_ms: int, decisions: DecisionPublisher) -> None:
        """Marks the time an output was produced: its record's timestamp, on this process's
        monotonic clock. Not the time this poll returned it: the broker holds a fetch that finds
        nothing new for about a quarter of a second and does not answer it early when a record
        arrives, so outputs reached the observer in steps of ~0.26 s, each latency up to that
        much too long (a shorter fetch wait fixed the steps, but its polling took 0.12 of a
        core from the workers measured). Only the review tasks it answers are decoded in full:
        validating every quality answer (the largest events) cost the benchmark CPU that the
        workers it measures would otherwise have had."""
        now, fields = produced_ms / 1000 - self.clock_offset, json.loads(raw)
        marks, event_type = self.seen[fields["submission_id"]], fields["event_type"]
        if event_type == QUALITY_CHECKED:
            marks.setdefault("quality", now)
        elif event_type == STATUS_CHANGED:
            if fields["track"] == StatusTrack.IDENTITY and fields["to_status"] in ANSWERED_STATUSES:
                marks.setdefault("status", now)
        elif event_type == REVIEW_TASK and fields["action"] == TaskAction.ASSIGNED:
            if "task" not in marks:
                marks["task"] = now
                event = decode_event(raw)
                assert isinstance(event, ReviewTask)
                decisions.decide(event, *simulated_decision(event), note="chain benchmark")
                self.decided[event.submission_id] = time.monotonic()
        elif event_type == NOTIFICATION_SENT and any(
            f".{mail}." in fields["notification_id"] for mail in FINAL_MAILS
        ):
            marks.setdefault("final_mail", now)


def make_submissions(
    count: int, folder: Path, seed: int
) -> list[tuple[dict[str, Any], Path, Path]]:
    """Clean (60 %), a blurred front (20 %) and a mistyped registration number (20 %)."""
    rng = random.Random(seed)
    made = []
    for n in range(count):
        spec = random_spec(rng, rng.choice(("SG", "GB", "HK", "AU")))
        kind = ("clean", "clean", "clean", "blurry", "mismatch")[n % 5]
        front, back = write_pair(spec, folder, f"s{n}", width=1400)
        if kind == "blurry":
            image = cv2.imread(str(front))
            cv2.imwrite(str(front), cv2.GaussianBlur(image, (0, 0), 6))
        typed = with_typo(spec, rng) if kind == "mismatch" else spec
        made.append((portal_form(typed, f"acct-chain-{n}", f"owner{n}@chain.example"), front, back))
    return made


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def _family(worker: subprocess.Popen[bytes]) -> list[psutil.Process]:
    """A worker process with its decode/OCR sandbox children."""
    process = psutil.Process(worker.pid)
    return [process, *process.children(recursive=True)]


class Families:
    """Each worker with its sandbox children, listed again at most once a second.

    Listing a process's children scans every process on the machine: done for seven workers at
    every 0.1-s sample, a sample took 15-17 ms of CPU (1.6-2.4 ms listed once a second), about
    0.14 of a core taken from the chain being measured while customers waited. Sandbox children
    live as long as their worker; one started later is counted from the next listing, and one
    gone keeps its last sample."""

    def __init__(
        self,
        workers: list[subprocess.Popen[bytes]],
        every_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._workers, self._every_s, self._clock = workers, every_s, clock
        self._members: list[list[psutil.Process]] = [[] for _ in workers]
        self._listed_at = float("-inf")

    def members(self) -> list[list[psutil.Process]]:
        """Per worker, the worker and its children as last listed."""
        now = self._clock()
        if now - self._listed_at >= self._every_s:
            for index, worker in enumerate(self._workers):
                with contextlib.suppress(psutil.Error):
                    self._members[index] = _family(worker)
            self._listed_at = now
        return self._members


def _listening_on(port: int) -> psutil.Process | None:
    """The process serving `port` on this machine (Redis here), to charge it its CPU."""
    for connection in psutil.net_connections(kind="tcp"):
        if (
            connection.status == psutil.CONN_LISTEN
            and connection.laddr
            and connection.laddr.port == port
            and connection.pid is not None
        ):
            return psutil.Process(connection.pid)
    return None


def _shared_services(broker_pid: int, redis_url: str) -> dict[str, psutil.Process]:
    """The servers every stage talks to, whose CPU is not any worker's."""
    services = {
        "broker": psutil.Process(broker_pid),
        "benchmark (portal + observer)": psutil.Process(),
    }
    redis_server = _listening_on(urlsplit(redis_url).port or 6379)
    if redis_server is not None:
        services["redis"] = redis_server
    return services


def run_chain(
    replicas: dict[str, int],
    submissions: list[tuple[dict[str, Any], Path, Path]],
    base: Path,
    yielding: str = "idle",
    sandbox_children: int = 2,
    held: bool = False,
    deployed: bool = False,
) -> dict[str, Any]:
    """`yielding`: how the reviewer stages yield the CPU, `idle` or `nice <increment>`;
    `held`: the quality workers (with their children) are stopped until the whole burst is on
    the topic, and every submission counts from their release: 300 arriving at the same
    instant, whatever the portal's pace; `deployed`: each worker in a cgroup weighted by its
    stage's CPU request, the broker and this process (the portal) by one CPU's (`pods.py`;
    `OSError` where cgroups cannot be made)."""
    policy, _, nice = yielding.partition(" ")
    pods = Pods.open() if deployed else None
    workdir = Path(tempfile.mkdtemp(dir=base))
    broker = start_broker(workdir)
    smtp = SmtpServer()
    smtp.start()
    prefix = f"kyb-chain-{uuid.uuid4().hex[:8]}:"
    (workdir / "documents").mkdir()
    env = os.environ | {
        "KYB_BOOTSTRAP_SERVERS": broker.bootstrap,
        "KYB_STATE_BACKEND": "redis",
        "KYB_KEY_PREFIX": prefix,
        "KYB_DOCUMENT_ROOTS": json.dumps([str(workdir / "documents")]),
        "KYB_SMTP_PORT": str(smtp.port),
        "KYB_SESSION_TIMEOUT_MS": "6000",
        "KYB_HEARTBEAT_INTERVAL_MS": "1000",
        "OMP_THREAD_LIMIT": "1",
        "KYB_YIELD_POLICY": policy,
        "KYB_YIELD_NICE": nice or "10",
        "KYB_SANDBOX_CHILDREN": str(sandbox_children),
    }
    settings = Settings(
        bootstrap_servers=broker.bootstrap,
        document_roots=[workdir / "documents"],
        key_prefix=prefix,
    )
    subprocess.run(kyb_command("topics", "create"), env=env, check=True, capture_output=True)
    roster = workdir / "roster.yaml"
    roster.write_text(
        "reviewers:\n  - {id: rev-chain, name: Chain, email: rev@kyb.example,"
        f" token_sha256: {hash_token('t-chain')}, max_open: 1000,"
        " queues: [identity, compliance]}\n"
    )
    subprocess.run(
        kyb_command("reviewers", "load", str(roster)), env=env, check=True, capture_output=True
    )
    workers = [
        subprocess.Popen(
            kyb_command("worker", stage.name),
            env=env,
            stdout=(workdir / f"{stage.name}-{n}.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        for stage in STAGES
        for n in range(replicas.get(stage.name, 1))
    ]
    names = [stage.name for stage in STAGES for _ in range(replicas.get(stage.name, 1))]
    weights: dict[str, int] = {}
    if pods is not None:
        weights = {"broker": ONE_CPU_SHARES, "benchmark (portal + observer)": ONE_CPU_SHARES}
        weights |= {name: STAGES_BY_NAME[name].scaling.cpu_shares() for name in names}
    running = [stage for stage in STAGES if replicas.get(stage.name, 1) > 0]
    # A run without every stage ends at the quality answer: no email follows it.
    last_mark = "final_mail" if len(running) == len(STAGES) else "quality"
    peak: dict[int, float] = defaultdict(float)
    # CPU seconds of each worker and its children, per process (a child that exits keeps its
    # last sample), from the burst's start: start-up (imports, preparing children) is not load.
    cpu_at_start: dict[int, float] = {}
    cpu_seen: dict[int, dict[int, float]] = defaultdict(dict)
    held_back: list[psutil.Process] = []  # the quality workers and children while stopped
    observer = Observer(settings, running)
    observer.start()
    try:
        if pods is not None:  # while the workers import, before they start sandbox children
            pods.place("broker", ONE_CPU_SHARES, [broker.process.pid])
            pods.place("benchmark", ONE_CPU_SHARES, [os.getpid()])
            _place_workers(pods, workers, names, weights)
        time.sleep(8)  # workers join their groups
        if pods is not None:  # a child started before its worker was placed joins it now
            _place_workers(pods, workers, names, weights)
        portal = PortalPublisher(KafkaPublisher(settings), build_documents(settings))
        published: dict[str, float] = {}
        services = _shared_services(broker.process.pid, settings.redis_url)
        services_before = {name: _cpu_seconds(p) for name, p in services.items()}
        cpu_at_start = _cpu_by_pid(workers)
        started = time.monotonic()
        while_waiting: dict[str, float] = {}  # cores by name until the last quality answer
        cpu_waiting: dict[str, float] = {}  # CPU seconds by name until then
        # (when, CPU seconds since the start by stage and shared service) until the feedback
        cpu_samples: list[tuple[float, dict[str, float]]] = []
        held_back = [
            member
            for proc, name in zip(workers, names, strict=True)
            if held and name == "quality"
            for member in _family(proc)
        ]
        _signal_all(held_back, signal.SIGSTOP)
        for form, front, back in submissions:
            event = portal.submit(form, front, back)
            published[event.submission_id] = time.monotonic()
        if held:
            # The run starts at the release: what the portal and the broker spent taking in
            # the burst is not charged to the time customers waited.
            services_before = {name: _cpu_seconds(p) for name, p in services.items()}
            cpu_at_start = _cpu_by_pid(workers)
            started = time.monotonic()
            _signal_all(held_back, signal.SIGCONT)
            held_back = []
            published = dict.fromkeys(published, started)
        deadline = started + 60 + 6 * len(submissions)
        families = Families(workers)
        while time.monotonic() < deadline:
            for index, family in enumerate(families.members()):
                rss = 0
                for member in family:
                    with contextlib.suppress(psutil.Error), member.oneshot():
                        rss += member.memory_info().rss
                        cpu_seen[index][member.pid] = _cpu_seconds(member)
                peak[index] = max(peak[index], rss)
            if not while_waiting:
                # The answers are read before the CPU, so the sample that finds them all was
                # taken after the last one.
                answered = [observer.seen.get(s, {}).get("quality") for s in published]
                cpu_samples.append(
                    (
                        time.monotonic(),
                        _stage_cpu(names, cpu_seen, cpu_at_start)
                        | {
                            name: _cpu_seconds(p) - services_before[name]
                            for name, p in services.items()
                            if p.is_running()
                        },
                    )
                )
                if all(at is not None for at in answered):
                    last_answer = max(at for at in answered if at is not None)
                    while_waiting = cpu_share_until(cpu_samples, started, last_answer)
                    cpu_waiting = cpu_until(cpu_samples, started, last_answer)
            done = [s for s in published if last_mark in observer.seen.get(s, {})]
            if len(done) == len(published):
                break
            # Finely while customers wait: the shares until the last answer are read there.
            time.sleep(0.5 if while_waiting else 0.1)
        finished = time.monotonic()
        services_cpu = {
            name: _cpu_seconds(process) - services_before[name]
            for name, process in services.items()
        }
    finally:
        # A stopped process ignores SIGTERM, and its stopped children would outlive it.
        _signal_all(held_back, signal.SIGCONT)
        observer.stop.set()
        observer.join(10)
        for proc in workers:
            stop_process(proc, timeout=20)
        smtp.stop()
        stop_process(broker.process)
        if pods is not None:
            pods.close()
    seen = {s: observer.seen.get(s, {}) for s in published}
    completed = [s for s, marks in seen.items() if last_mark in marks]
    last = max((seen[s][last_mark] for s in completed), default=finished)
    rss: dict[str, float] = defaultdict(float)
    for index, name in enumerate(names):
        rss[name] = max(rss[name], round(peak[index] / 2**20))
    stage_cpu = _stage_cpu(names, cpu_seen, cpu_at_start)
    busy = {name: seconds / max(last - started, 1e-9) for name, seconds in stage_cpu.items()}
    # Quality's CPU per submission while customers waited: a whole-chain run goes on for a
    # minute of OCR after the last answer, and the quality worker's polling then (~1 % of a
    # core) added ~2 ms a submission to the cost the feedback floor is drawn from.
    quality_cpu_s = (
        cpu_waiting["quality"] / len(published)
        if "quality" in cpu_waiting
        else stage_cpu["quality"] / max(len(completed), 1)
    )
    return {
        "workers": dict(replicas),
        "yielding": yielding,
        "sandbox_children": sandbox_children,
        "burst": "held until all published" if held else "as published",
        # cgroup weights (cpu.shares) as the kubelet gives the pods; {} where all share one
        "pod_cpu_shares": weights,
        "submissions": len(published),
        "completed": len(completed),
        "submissions_per_s": round(len(completed) / max(last - started, 1e-9), 2),
        "publish_s": round(max(published.values()) - started, 2),
        "submission_to_quality_checked": percentiles(
            [seen[s]["quality"] - t for s, t in published.items() if "quality" in seen[s]]
        ),
        # The same answer as the portal shows it: the status verdict makes of it on kyb.status.
        "submission_to_status": percentiles(
            [seen[s]["status"] - t for s, t in published.items() if "status" in seen[s]]
        ),
        "submission_to_review_task": percentiles(
            [seen[s]["task"] - t for s, t in published.items() if "task" in seen[s]]
        ),
        "decision_to_email": percentiles(
            [
                seen[s]["final_mail"] - observer.decided[s]
                for s in completed
                if s in observer.decided
            ]
        ),
        "peak_rss_mb": dict(rss),
        # CPU seconds of all of a stage's workers (and their sandbox children) per submission.
        "cpu_ms_per_submission": {
            name: round(seconds / max(len(completed), 1) * 1000, 1)
            for name, seconds in stage_cpu.items()
        },
        "feedback_floor": feedback_floor(
            sorted(t - started for t in published.values()), quality_cpu_s, os.cpu_count() or 1
        ),
        # CPU seconds per second of the run from the burst's start, all of a stage's workers
        # together (1.0 = one core busy throughout; the machine has two): which stage's CPU
        # limits the chain.
        "cpu_busy_share": {name: round(share, 2) for name, share in busy.items()},
        # The same for the shared servers (Redis is the machine's; it serves only this run),
        # from the burst's start to the end of the polling loop.
        "services_cpu_busy_share": {
            name: round(seconds / max(finished - started, 1e-9), 2)
            for name, seconds in services_cpu.items()
        },
        # The same from the burst's start until the last quality answer (sampled every 0.1 s,
        # interpolated at that answer): who had the CPU while customers waited for feedback.
        "cpu_share_until_feedback": while_waiting,
        # CPU per submission in that time, by stage and service: what each cost while the
        # feedback was due (verdict's and notify's whole-run figures are mostly work after it).
        "cpu_ms_per_submission_until_feedback": {
            name: round(seconds / len(published) * 1000, 1) for name, seconds in cpu_waiting.items()
        },
        "lag": [(round(t - started, 1), lags) for t, lags in observer.lag if t >= started],
    }


def _place_workers(
    pods: Pods, workers: list[subprocess.Popen[bytes]], names: list[str], weights: dict[str, int]
) -> None:
    """Each worker with its children so far in a pod of its own, at its stage's weight."""
    for index, (proc, name) in enumerate(zip(workers, names, strict=True)):
        with contextlib.suppress(psutil.Error):
            pods.place(f"{name}-{index}", weights[name], [p.pid for p in _family(proc)])


def _cpu_by_pid(workers: list[subprocess.Popen[bytes]]) -> dict[int, float]:
    """CPU seconds so far of every worker process and sandbox child, by pid."""
    seconds: dict[int, float] = {}
    for proc in workers:
        with contextlib.suppress(psutil.Error):
            for member in _family(proc):
                seconds[member.pid] = _cpu_seconds(member)
    return seconds


def _signal_all(processes: list[psutil.Process], signum: signal.Signals) -> None:
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.send_signal(signum)


def _stage_cpu(
    names: list[str], cpu_seen: dict[int, dict[int, float]], cpu_at_start: dict[int, float]
) -> dict[str, float]:
    """CPU seconds since the burst's start, all of a stage's workers (and children) together."""
    seconds: dict[str, float] = defaultdict(float)
    for index, name in enumerate(names):
        seconds[name] += sum(
            latest - cpu_at_start.get(pid, 0.0) for pid, latest in cpu_seen[index].items()
        )
    return dict(seconds)


def cpu_share_until(
    samples: list[tuple[float, dict[str, float]]], started: float, until: float
) -> dict[str, float]:
    """Cores each stage or service had from `started` to `until` (the last quality answer).

    `samples`: (when, CPU seconds since `started` by name), every 0.1 s. The CPU at `until` is
    interpolated between the samples around it. Read at the first half-second sample after it,
    as before, every share was divided by up to half a second more than customers waited (with
    the CPU of that time mostly idle): 1.4 cores for a worker that had kept ~1.75 busy."""
    span = max(until - started, 1e-9)
    return {
        name: round(seconds / span, 2)
        for name, seconds in cpu_until(samples, started, until).items()
    }


def cpu_until(
    samples: list[tuple[float, dict[str, float]]], started: float, until: float
) -> dict[str, float]:
    """CPU seconds each stage or service spent from `started` to `until`, interpolated between
    the samples around `until` (see `cpu_share_until`)."""
    points = [(started, dict.fromkeys(samples[0][1], 0.0) if samples else {}), *samples]
    after = next((i for i, (at, _) in enumerate(points) if at >= until), len(points) - 1)
    (t0, before_cpu), (t1, after_cpu) = points[max(after - 1, 0)], points[after]
    weight = 1.0 if t1 <= t0 else min(1.0, max(0.0, (until - t0) / (t1 - t0)))
    return {
        name: before_cpu.get(name, 0.0) * (1 - weight) + seconds * weight
        for name, seconds in after_cpu.items()
    }


def feedback_floor(
    published_at: list[float], cpu_s_per_submission: float, cores: int
) -> dict[str, float]:
    """The feedback no scheduling could beat at this CPU cost per submission: the k-th answer
    comes no sooner than k submissions' quality CPU spread over every core of the machine (and
    no sooner than its submission). p50/p95 of those bounds; a measured p95 near its floor says
    the quality checks' CPU, not waiting, makes the customer wait."""
    bounds = [
        max(0.0, (k + 1) * cpu_s_per_submission / cores - at) for k, at in enumerate(published_at)
    ]
    shown = percentiles(bounds) or {}
    return {
        "cores": cores,
        "quality_cpu_ms_per_submission": round(cpu_s_per_submission * 1000, 1),
        "p50_s": shown.get("p50_s", 0.0),
        "p95_s": shown.get("p95_s", 0.0),
    }


def _workers_label(replicas: dict[str, int]) -> str:
    if replicas == QUALITY_ALONE:
        return "quality worker alone"
    extra = ", ".join(f"{count} {stage}" for stage, count in replicas.items())
    return f"1 worker per stage, {extra} workers" if extra else "1 worker per stage"


def plot(runs: list[dict[str, Any]], path: Path) -> None:
    """Consumer lag per stage over time, one panel per run (OpenCV: no plotting library)."""
    width, height, margin = 900, 300, 40
    colours = [
        (200, 80, 40),
        (40, 160, 60),
        (40, 80, 200),
        (160, 40, 160),
        (0, 150, 150),
        (90, 90, 90),
        (0, 120, 240),
    ]
    canvas = np.full((height * len(runs), width, 3), 255, np.uint8)
    for row, run in enumerate(runs):
        top = row * height
        series = run["lag"]
        t_max = max([t for t, _ in series] or [1.0])
        y_max = max([v for _, lags in series for v in lags.values()] or [1])
        cv2.putText(
            canvas,
            f"{_workers_label(run['workers'])}, reviewer stages {run['yielding']},"
            f" quality sides at once: {run['sandbox_children']}, burst {run['burst']}",
            (margin, top + 20),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.45,
            (0, 0, 0),
            1,
        )
        drawn = {stage for _, lags in series for stage in lags}
        for index, stage in enumerate(s.name for s in STAGES):
            if stage not in drawn:
                continue
            points = [
                (
                    int(margin + (width - 2 * margin) * t / t_max),
                    int(top + height - margin - (height - 2 * margin) * lags.get(stage, 0) / y_max),
                )
                for t, lags in series
            ]
            if len(points) > 1:
                cv2.polylines(
                    canvas, [np.array(points, np.int32)], False, colours[index % len(colours)], 2
                )
            cv2.putText(
                canvas,
                stage,
                (width - 120, top + 40 + 16 * index),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.4,
                colours[index % len(colours)],
                1,
            )
        cv2.putText(
            canvas,
            f"lag max {y_max}, {t_max:.0f} s",
            (margin, top + height - 10),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.4,
            (0, 0, 0),
            1,
        )
    cv2.imwrite(str(path), canvas)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--submissions", type=int, default=300)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--plot", type=Path, default=Path("benchmarks/chain-lag.png"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        submissions = make_submissions(args.submissions, base / "uploads", args.seed)
        runs = []
        for replicas, yielding, children, held, deployed in RUNS:
            try:
                runs.append(
                    run_chain(
                        replicas, submissions, base, yielding, children, held, deployed=deployed
                    )
                )
            except OSError as error:  # no cgroups to make here (not root, read-only)
                runs.append({"workers": dict(replicas), "deployed": f"skipped: {error}"})
    plot([run for run in runs if "lag" in run], args.plot)
    for run in runs:
        run["lag_samples"] = len(run.pop("lag", []))
    print(json.dumps({"benchmark": "chain", "plot": str(args.plot), "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
