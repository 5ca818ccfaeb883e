"""The whole pipeline against its own stages, side by side in one run on the same documents.

1. End to end on the local runtime (every stage, fakeredis): submissions/s and p50/p95 time from
   submission to its review task.
2. The quality and OCR handlers alone on the same submissions: the runtime's overhead is what
   end to end costs beyond those two handlers, as a share of the OCR stage alone.
3. OCR with 1 and with 2 worker processes (scaling ratio) and each worker's peak RSS.

    python benchmarks/end_to_end.py --submissions 200
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import peak_rss_mb, summary_ms

from consumers import ocr, quality
from consumers.assign.ledger import ledger_for
from pipeline.app.demo import demo_roster
from pipeline.app.topology import STAGES
from pipeline.documents import DocumentStore
from pipeline.local_runtime import LocalRuntime
from pipeline.settings import Settings
from pipeline.stage import Context
from pipeline.state import memory_state_store
from pipeline.threads import limit_native_threads
from pipeline.wiring import build_processor
from producers.portal import PortalPublisher
from producers.synthetic import random_spec, write_pair
from schemas import encode_event
from schemas.events import QualityChecked, ReviewTask, SubmissionReceived

COUNTRIES = ("SG", "GB", "HK", "AU", "CN")


def settings_for(root: Path) -> Settings:
    return Settings(
        document_roots=[root], mail_transport="outbox", outbox_dir=root.parent / "outbox"
    )


def end_to_end(root: Path, uploads: list[tuple[Path, Path, str]]) -> dict[str, Any]:
    settings = settings_for(root)
    state, documents = memory_state_store(), DocumentStore([root], 25_000_000)
    # one reviewer with room for every task: the benchmark measures the pipeline, not a backlog
    roster = demo_roster()
    reviewer = roster.reviewers[0].model_copy(update={"max_open": 10_000})
    ledger_for(state).load(roster.model_copy(update={"reviewers": (reviewer,)}), time.time())
    runtime = LocalRuntime(build_processor(stage, settings, state, documents) for stage in STAGES)
    portal = PortalPublisher(runtime, documents)
    task_seen: dict[str, float] = {}
    runtime.listeners.append(
        lambda topic, event: (
            task_seen.setdefault(event.submission_id, time.perf_counter())
            if isinstance(event, ReviewTask)
            else None
        )
    )
    latencies, submissions = [], []
    # one submission first, untimed: loads the OCR models, as the stage-alone run below has them
    warm = uploads[0]
    portal.submit(form(9999, warm[2]), warm[0], warm[1])
    runtime.run_until_idle()
    elapsed = 0.0
    for n, (front, back, country) in enumerate(uploads):
        event = portal.submit(form(n, country), front, back)  # the portal's upload, not timed
        sent = time.perf_counter()
        runtime.run_until_idle()
        elapsed += time.perf_counter() - sent
        submissions.append(event)
        if event.submission_id in task_seen:
            latencies.append(task_seen[event.submission_id] - sent)
    return {
        "seconds": round(elapsed, 2),
        "submissions_per_s": round(len(uploads) / elapsed, 3),
        "to_review_task": summary_ms(latencies),
        "reached_review": len(latencies),  # the others failed the quality check (as expected)
        "events": submissions,
    }


def form(n: int, country: str) -> dict[str, object]:
    return {
        "account_id": f"acct-bench-{n:04d}",
        "registered_country": country,
        "contact_email": f"owner{n}@customer.example",
        "company": {
            "company_name": "Bench Holdings Ltd",
            "registration_number": "12345678",
            "state_province": "Region",
            "city": "City",
            "address_line1": "1 Street",
        },
    }


def stages_alone(root: Path, events: list[SubmissionReceived]) -> dict[str, Any]:
    settings = settings_for(root)
    documents = DocumentStore([root], 25_000_000)
    ctx_q = Context("quality", settings, memory_state_store(), documents)
    ctx_o = Context("ocr", settings, memory_state_store(), documents)
    quality_s, ocr_s, checked = 0.0, 0.0, []
    for event in events:
        started = time.perf_counter()
        [result] = quality.handle(event, ctx_q)
        quality_s += time.perf_counter() - started
        assert isinstance(result, QualityChecked)
        if result.passed:
            checked.append(result)
            started = time.perf_counter()
            ocr.handle(result, ctx_o)
            ocr_s += time.perf_counter() - started
    return {"quality_s": quality_s, "ocr_s": ocr_s, "checked": checked}


def _ocr_worker(args: tuple[str, list[bytes]]) -> dict[str, float]:
    root, raw_events = args
    limit_native_threads(1)
    from schemas import decode_event

    ctx = Context(
        "ocr",
        settings_for(Path(root)),
        memory_state_store(),
        DocumentStore([Path(root)], 25_000_000),
    )
    started = time.perf_counter()
    for raw in raw_events:
        event = decode_event(raw)
        assert isinstance(event, QualityChecked)
        ocr.handle(event, ctx)
    return {"seconds": time.perf_counter() - started, "rss_mb": peak_rss_mb()}


def ocr_scaling(root: Path, checked: list[QualityChecked]) -> dict[str, Any]:
    raw = [encode_event(event) for event in checked]
    results: dict[str, Any] = {}
    for workers in (1, 2):
        shares = [raw[i::workers] for i in range(workers)]
        started = time.perf_counter()
        with ProcessPoolExecutor(max_workers=workers) as pool:
            outs = list(pool.map(_ocr_worker, [(str(root), share) for share in shares]))
        elapsed = time.perf_counter() - started
        results[f"{workers}_workers"] = {
            "seconds": round(elapsed, 2),
            "documents_per_s": round(len(raw) / elapsed, 3),
            "worker_peak_rss_mb": [round(o["rss_mb"], 1) for o in outs],
        }
    one, two = results["1_workers"]["documents_per_s"], results["2_workers"]["documents_per_s"]
    results["scaling_ratio"] = round(two / one, 3)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    limit_native_threads(1)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "documents"
        root.mkdir()
        uploads = []
        for n in range(args.submissions):
            country = COUNTRIES[n % len(COUNTRIES)]
            front, back = write_pair(random_spec(rng, country), Path(tmp) / "up", f"b{n}")
            uploads.append((front, back, country))
        e2e = end_to_end(root, uploads)
        alone = stages_alone(root, e2e.pop("events"))
        scaling = ocr_scaling(root, alone["checked"][: max(8, len(alone["checked"]) // 2)])
    stage_s = alone["quality_s"] + alone["ocr_s"]
    overhead_s = e2e["seconds"] - stage_s
    report = {
        "benchmark": "end_to_end",
        "submissions": args.submissions,
        "end_to_end_local": e2e,
        "quality_alone_s": round(alone["quality_s"], 2),
        "ocr_alone_s": round(alone["ocr_s"], 2),
        "runtime_overhead_s": round(overhead_s, 2),
        "overhead_vs_ocr_alone": round(overhead_s / alone["ocr_s"], 4),
        "end_to_end_vs_ocr_alone": round(e2e["seconds"] / alone["ocr_s"], 3),
        "goal_overhead_le_0_10": overhead_s / alone["ocr_s"] <= 0.10,
        "ocr_workers": scaling,
        "goal_scaling_ge_1_7": scaling["scaling_ratio"] >= 1.7,
        "benchmark_process_peak_rss_mb": peak_rss_mb(),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
