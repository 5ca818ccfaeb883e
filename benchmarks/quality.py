"""Time of the image-quality checks per side, as one worker runs them (one native thread), and
per submission through the stage's handler with its sandbox: the two sides one after the other
(one child) against both at once (two children, the default), alternated in one process.

Prints JSON: median / p95 per side for 12-MP phone photos and 2-MP scans, images per second
per worker, per-submission wall and CPU time (worker and children), and peak RSS; and, for
1,400-px scans and 5-MP photos, the CPU per side with the JPEG taken from the decoder at
640-800 px (DCT scaling) against decoded whole and resized to 800, alternated. The images
are generated first and excluded from the timing. Also the first call after a worker starts and
the call after a child was killed, with the sandbox's children prepared (`prepare_child`, the
default) and not, each round in a fresh process.

    python benchmarks/quality.py --images 30
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import peak_rss_mb, summary_ms

from consumers import quality
from consumers.quality import check_image
from pipeline.documents import DocumentStore
from pipeline.publishing import RecordingPublisher
from pipeline.sandbox import Sandbox, SandboxTimeout
from pipeline.settings import Settings
from pipeline.stage import Context
from pipeline.state import memory_state_store
from pipeline.threads import limit_native_threads
from producers.photos import Shot, capture, encode
from producers.portal import PortalPublisher
from producers.synthetic import portal_form, random_spec, render_back, render_front
from schemas.enums import Side
from schemas.events import SubmissionReceived

#: Phone photos: (size, range of the picture the document covers).
PHOTOS = {
    "photo_12mp": ((4000, 3000), (0.4, 0.6)),
    "photo_5mp": ((2592, 1944), (0.5, 0.7)),
}
#: Flat-bed scans: their size.
SCANS = {"scan_2mp": (1700, 1200), "scan_1400": (1400, 990)}


def corpus(kind: str, count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    images = []
    for index in range(count):
        spec = random_spec(rng)
        document = render_front(spec) if index % 2 == 0 else render_back(spec)
        if kind in PHOTOS:
            size, coverage = PHOTOS[kind]
            shot = Shot(
                "photo",
                size,
                coverage=rng.uniform(*coverage),
                angle=rng.uniform(-3, 3),
                noise=rng.uniform(1, 3),
            )
            images.append(encode(capture(document, shot, rng), ".jpg", rng.randint(85, 95)))
        else:
            shot = Shot("scan", SCANS[kind], perspective=0, noise=1.0)
            images.append(encode(capture(document, shot, rng), ".jpg", 92))
    return images


def time_kind(images: list[bytes], repeats: int) -> dict[str, float]:
    limit_native_threads(1)
    limits = Settings().quality
    for data in images[:2]:
        check_image(data, Side.FRONT, limits)  # warm up
    seconds = []
    for _ in range(repeats):
        for data in images:
            started = time.perf_counter()
            check_image(data, Side.FRONT, limits)
            seconds.append(time.perf_counter() - started)
    stats: dict[str, float] = summary_ms(seconds)
    stats["images_per_second_per_worker"] = round(len(seconds) / sum(seconds), 1)
    return stats


def time_dct_floor(images: list[bytes], repeats: int) -> dict[str, Any]:
    """Per side, the pixel checks taking a JPEG from the decoder at 640-800 px by DCT scaling
    alone (`decode_min_long_side`, the default) against decoding it whole and resizing it to
    800 (the floor at `decode_long_side`, the design before), alternated round by round."""
    limit_native_threads(1)
    limits = Settings().quality
    variants = {
        "dct_scaled": limits,
        "whole_then_resized": limits.model_copy(
            update={"decode_min_long_side": limits.decode_long_side}
        ),
    }
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for chosen in variants.values():
        check_image(images[0], Side.FRONT, chosen)  # warm up
    for repeat in range(repeats):
        for name in variants if repeat % 2 == 0 else reversed(variants):
            for data in images:
                started = time.process_time()
                check_image(data, Side.FRONT, variants[name])
                seconds[name].append(time.process_time() - started)
    result: dict[str, Any] = {name: summary_ms(taken) for name, taken in seconds.items()}
    result["cpu_ratio"] = round(
        result["dct_scaled"]["median_ms"] / result["whole_then_resized"]["median_ms"], 3
    )
    return result


def _cpu_seconds() -> float:
    """CPU time of this process and its (sandbox) children so far."""
    total = 0.0
    for process in (psutil.Process(), *psutil.Process().children(recursive=True)):
        times = process.cpu_times()
        total += times.user + times.system
    return total


def time_submissions(images: list[bytes], repeats: int) -> dict[str, Any]:
    """The quality handler on front/back pairs, as a worker calls it, with its sides checked by
    one sandbox child and by two; the two runs alternate so both see the same machine."""
    limit_native_threads(1)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        settings = Settings(document_roots=[root])
        documents = DocumentStore([root], settings.document_max_bytes)
        recorded = RecordingPublisher()
        portal = PortalPublisher(recorded, documents)
        rng = random.Random(1)
        for index in range(0, len(images) - 1, 2):
            front, back = root / f"{index}-front.jpg", root / f"{index}-back.jpg"
            front.write_bytes(images[index])
            back.write_bytes(images[index + 1])
            form = portal_form(random_spec(rng), f"acct-bench-{index}", "bench@kyb.example")
            portal.submit(form, front, back)
        events = [e for e in recorded.events if isinstance(e, SubmissionReceived)]
        sandboxes = {
            children: Sandbox(settings.sandbox_memory_mb << 20, 1, children) for children in (1, 2)
        }
        contexts = {
            children: Context("quality", settings, memory_state_store(), documents, sandbox=box)
            for children, box in sandboxes.items()
        }
        wall: dict[int, list[float]] = {1: [], 2: []}
        cpu: dict[int, float] = {1: 0.0, 2: 0.0}
        try:
            for ctx in contexts.values():
                quality.handle(events[0], ctx)  # children started, imports warm
            for repeat in range(repeats):
                for children in (1, 2) if repeat % 2 == 0 else (2, 1):
                    ctx = contexts[children]
                    cpu_before = _cpu_seconds()
                    for event in events:
                        started = time.perf_counter()
                        quality.handle(event, ctx)
                        wall[children].append(time.perf_counter() - started)
                    cpu[children] += _cpu_seconds() - cpu_before
        finally:
            for box in sandboxes.values():
                box.close()
    result: dict[str, Any] = {}
    for children in (1, 2):
        stats: dict[str, Any] = summary_ms(wall[children])
        stats["cpu_ms_per_submission"] = round(cpu[children] / len(wall[children]) * 1000, 1)
        result[f"sandbox_children_{children}"] = stats
    result["wall_ratio_two_vs_one"] = round(
        result["sandbox_children_2"]["median_ms"] / result["sandbox_children_1"]["median_ms"], 3
    )
    return result


def _stall(seconds: float) -> None:
    time.sleep(seconds)


def time_first_calls(image: bytes, prepared: bool) -> dict[str, float]:
    """In a fresh process (its own forkserver): the first check after a worker starts (its
    group join stands for 3 s here) and the one after a call that passed its limit (the next
    submission 1 s later)."""
    limit_native_threads(1)
    settings = Settings()
    sandbox = Sandbox(settings.sandbox_memory_mb << 20, 1, 1)
    try:
        if prepared:
            sandbox.warm(quality.prepare_child, settings)
        time.sleep(3.0)
        started = time.perf_counter()
        sandbox.run(30.0, check_image, image, Side.FRONT, settings.quality)
        first = time.perf_counter() - started
        try:
            sandbox.run(0.3, _stall, 10.0)
        except SandboxTimeout:
            pass  # what was meant: the child that ran it is replaced
        else:
            raise RuntimeError("the stalled call was not stopped")
        time.sleep(1.0)
        started = time.perf_counter()
        sandbox.run(30.0, check_image, image, Side.FRONT, settings.quality)
        after_kill = time.perf_counter() - started
    finally:
        sandbox.close()
    return {"first_call_s": first, "after_kill_s": after_kill}


def first_calls(image: bytes, rounds: int) -> dict[str, Any]:
    """`time_first_calls` prepared and not, alternated, each in a fresh spawned process."""
    runs: dict[str, list[dict[str, float]]] = {"prepared": [], "unprepared": []}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context, max_tasks_per_child=1) as fresh:
        for round_no in range(rounds):
            for prepared in (True, False) if round_no % 2 == 0 else (False, True):
                key = "prepared" if prepared else "unprepared"
                runs[key].append(fresh.submit(time_first_calls, image, prepared).result())
    return {
        key: {
            name: round(statistics.median(r[name] for r in results), 3)
            for name in ("first_call_s", "after_kill_s")
        }
        for key, results in runs.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    results, per_submission = {}, {}
    # The worker is a fresh process, so its peak RSS is not the generator's.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as worker:
        for kind in ("photo_12mp", "scan_2mp"):
            images = corpus(kind, args.images, args.seed)
            results[kind] = worker.submit(time_kind, images, args.repeats).result()
            per_submission[kind] = worker.submit(time_submissions, images, args.repeats).result()
        dct_floor = {
            kind: worker.submit(
                time_dct_floor, corpus(kind, args.images, args.seed), args.repeats
            ).result()
            for kind in ("scan_1400", "photo_5mp")
        }
        worker_rss = worker.submit(peak_rss_mb).result()
    start_up = first_calls(corpus("scan_2mp", 1, args.seed)[0], args.repeats)
    goal_ms = 60.0
    print(
        json.dumps(
            {
                "benchmark": "quality",
                "native_threads": 1,
                "per_side": results,
                "per_submission": per_submission,
                "first_calls": start_up,
                "dct_floor_cpu_per_side": dct_floor,
                "goal_median_ms_12mp": goal_ms,
                "meets_goal": results["photo_12mp"]["median_ms"] <= goal_ms,
                "worker_peak_rss_mb": worker_rss,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
