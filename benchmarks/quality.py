"""Time of the image-quality checks per side, as one worker runs them (one native thread).

Prints JSON: median / p95 per side for 12-MP phone photos and 2-MP scans, images per second
per worker, and peak RSS. The images are generated first and excluded from the timing.

    python benchmarks/quality.py --images 30
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import peak_rss_mb, summary_ms

from consumers.quality import check_image
from pipeline.settings import Settings
from pipeline.threads import limit_native_threads
from producers.photos import Shot, capture, encode
from producers.synthetic import random_spec, render_back, render_front
from schemas.enums import Side


def corpus(kind: str, count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    images = []
    for index in range(count):
        spec = random_spec(rng)
        document = render_front(spec) if index % 2 == 0 else render_back(spec)
        if kind == "photo_12mp":
            shot = Shot(
                "photo",
                (4000, 3000),
                coverage=rng.uniform(0.4, 0.6),
                angle=rng.uniform(-3, 3),
                noise=rng.uniform(1, 3),
            )
            images.append(encode(capture(document, shot, rng), ".jpg", rng.randint(85, 95)))
        else:
            shot = Shot("scan", (1700, 1200), perspective=0, noise=1.0)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    results = {}
    # The worker is a fresh process, so its peak RSS is not the generator's.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as worker:
        for kind in ("photo_12mp", "scan_2mp"):
            images = corpus(kind, args.images, args.seed)
            results[kind] = worker.submit(time_kind, images, args.repeats).result()
        worker_rss = worker.submit(peak_rss_mb).result()
    goal_ms = 60.0
    print(
        json.dumps(
            {
                "benchmark": "quality",
                "native_threads": 1,
                "per_side": results,
                "goal_median_ms_12mp": goal_ms,
                "meets_goal": results["photo_12mp"]["median_ms"] <= goal_ms,
                "worker_peak_rss_mb": worker_rss,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
